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
