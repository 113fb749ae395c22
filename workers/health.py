"""What /healthz says of workers and the scheduler."""
from datetime import datetime, timezone

from redis import Redis
from rq import Worker
from rq.cron import CronScheduler

from workers.jobs import HEARTBEAT_KEY


def worker_status(connection: Redis) -> dict:
    heartbeat = connection.get(HEARTBEAT_KEY)
    age = None
    if heartbeat:
        then = datetime.fromisoformat(heartbeat.decode())
        age = round((datetime.now(timezone.utc) - then).total_seconds(), 1)
    return {
        "workers": Worker.count(connection=connection),
        "schedulers": len(CronScheduler.all(connection)),
        "last_heartbeat_seconds_ago": age,
    }
