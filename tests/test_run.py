"""`make run` from nothing: the whole system comes up with the demo, and Ctrl-C stops it all."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, REDIS_URL, fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_marked(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _get(url: str, data: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def run_system(tmp_path, extra_env: dict):
    port = _free_port()
    marker = f"RUN_TEST_{uuid.uuid4().hex}"
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update({"INSTANCE_PATH": str(tmp_path / "instance"), "PORT": str(port),
                "WEB_CONCURRENCY": "1", marker: "1",
                # The demo activity has its own test (tests/test_commands.py).
                "DEMO_ACTIVITY": "0", **extra_env})
    # Started as a shell starts a background job: with SIGINT ignored. Ctrl-C
    # (SIGINT) must still stop everything.
    process = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    output = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        output.append(line)
        if "[run] ready" in line:
            return process, port, marker, output
    process.kill()
    pytest.fail("the system did not come up:\n" + "".join(output[-60:]))


def stop_and_check_nothing_is_left(process, marker):
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 0
    time.sleep(0.5)
    assert _processes_marked(marker) == []


def check_the_system_answers(port):
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        health = _get(f"{base}/healthz")
        if health["workers"].get("workers", 0) >= 1 and health["workers"].get("schedulers", 0) >= 1:
            break
        assert time.monotonic() < deadline, health
        time.sleep(0.5)
    assert health["status"] == "ok"
    token = _get(f"{base}/api/v1/auth/login",
                 {"username": "supervisor", "password": "supervisor-demo-2026"})
    assert token["access_token"]
    return health


def test_the_run_command_starts_everything_on_the_embedded_default_and_ctrl_c_stops_it(tmp_path):
    process, port, marker, output = run_system(tmp_path, {})
    try:
        health = check_the_system_answers(port)
        assert health["database"]["backend"] == "sqlite"
        assert "embedded Redis-compatible server" in "".join(output)
        assert "password=moderator-demo-2026" in "".join(output)
        assert (tmp_path / "instance" / "feedback.sqlite3").exists()
    finally:
        stop_and_check_nothing_is_left(process, marker)


def test_the_run_command_uses_postgresql_and_redis_when_they_are_configured(tmp_path):
    database = fresh_postgres_database(POSTGRES_URL + "_run")
    redis_url = REDIS_URL.rsplit("/", 1)[0] + "/14"
    process, port, marker, output = run_system(
        tmp_path, {"DATABASE_URL": database.replace("+psycopg", ""), "REDIS_URL": redis_url})
    try:
        health = check_the_system_answers(port)
        assert health["database"]["backend"] == "postgresql"
        assert "embedded" not in "".join(output)
    finally:
        stop_and_check_nothing_is_left(process, marker)
