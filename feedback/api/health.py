"""GET /healthz: is the database reachable, is Redis, are workers and the scheduler alive."""
from datetime import datetime, timezone

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from feedback.extensions import db
from feedback.redis import redis_connection
from workers.health import worker_status

blp = Blueprint("health", __name__, url_prefix="/healthz", description="Liveness")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok, or degraded"})
    database = ma.fields.Dict()
    redis = ma.fields.Dict()
    workers = ma.fields.Dict()
    checked_at = ma.fields.AwareDateTime()


def _check(probe) -> dict:
    try:
        return {"ok": True, **(probe() or {})}
    except Exception as exc:  # noqa: BLE001 - health reports any failure, it does not raise
        return {"ok": False, "error": type(exc).__name__}


@blp.route("")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="Database unreachable")
def health():
    """Whether the database and Redis answer; workers and scheduler are reported too.

    503 when the database does not answer, so a load balancer takes this process out
    of rotation. With Redis away the status is `degraded` but the answer 200: reports
    are still taken (their work waits in the database's outbox), and every web process
    would be taken out at once.
    """
    database = _check(lambda: {
        "backend": db.engine.dialect.name,
        "reached": db.session.execute(text("SELECT 1")).scalar() == 1,
    })
    redis = _check(lambda: {"reached": redis_connection(current_app).ping()})
    workers = _check(lambda: worker_status(redis_connection(current_app))) if redis["ok"] else {}
    body = {
        "status": "ok" if database["ok"] and redis["ok"] else "degraded",
        "database": database,
        "redis": redis,
        "workers": workers,
        "checked_at": datetime.now(timezone.utc),
    }
    return body, 200 if database["ok"] else 503
