"""RQ job functions: importable by path, taking ids, safe to run twice.

They run inside an application context that the worker pushes per job.
"""
from datetime import datetime, timezone

from flask import current_app

from feedback.redis import redis_connection

HEARTBEAT_KEY = "phananh:scheduler:heartbeat"


def record_heartbeat() -> str:
    """Proves the scheduler enqueues and a worker runs: /healthz reads the age."""
    now = datetime.now(timezone.utc).isoformat()
    redis_connection(current_app._get_current_object()).set(HEARTBEAT_KEY, now, ex=3600)
    return now
