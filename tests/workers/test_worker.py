"""A real RQ worker, on real Redis, runs jobs inside the app."""
from rq import Queue

from workers import jobs, queues
from workers.jobs import HEARTBEAT_KEY
from workers.schedule import PERIODIC_JOBS
from workers.worker import make_worker


def test_a_worker_runs_the_heartbeat_job_and_health_sees_it(app, client, redis):
    queue = Queue(queues.MAINTENANCE, connection=redis)
    job = queue.enqueue(jobs.record_heartbeat, job_timeout=30)
    worker = make_worker(app, queues.ALL, redis)
    worker.work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    assert redis.get(HEARTBEAT_KEY).decode() == job.return_value()
    assert client.get("/healthz").json["workers"]["last_heartbeat_seconds_ago"] < 60


def test_every_periodic_job_names_a_known_queue_and_a_time_limit():
    for job in PERIODIC_JOBS:
        assert job["queue_name"] in queues.ALL
        assert job["job_timeout"] > 0
        assert job.get("interval", 0) >= 10 or "cron" in job


def test_the_worker_command_refuses_an_unknown_queue(runner):
    result = runner.invoke(args=["worker", "--burst", "nope"])
    assert result.exit_code != 0
    assert "unknown queues" in result.output


def test_a_niced_worker_yields_the_cpu_in_its_own_session_too():
    # In a session of its own, as `make run` starts the worker: the kernel's autogroup
    # scheduling shares CPU between sessions first, so the session's nice must rise too.
    import subprocess
    import sys
    from pathlib import Path

    code = ("import os; from workers.cli import lower_priority; lower_priority(7); "
            "print(os.nice(0)); print(open('/proc/self/autogroup').read().strip() "
            "if os.path.exists('/proc/self/autogroup') else 'nice 7')")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2],
                          capture_output=True, text=True, check=True, start_new_session=True)
    own_nice, autogroup = done.stdout.splitlines()
    assert own_nice == "7"
    assert autogroup.endswith("nice 7")
