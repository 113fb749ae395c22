"""RQ job functions: importable by path, taking ids, safe to run twice.

They run inside an application context that the worker pushes per job. Work that
follows a commit comes through the outbox: `perform(message_id)` runs the message's
function and marks the message completed in one transaction.
"""
import logging
from datetime import datetime, timezone

from flask import current_app
from werkzeug.utils import import_string

from feedback.extensions import db
from feedback.logs import current_request_id
from feedback.redis import redis_connection
from feedback.services import outbox

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "phananh:scheduler:heartbeat"


def perform(message_id: int):
    """Run one outbox message's work, once, however often RQ runs this job."""
    session = db.session
    claimed = outbox.claim(session, message_id, datetime.now(timezone.utc))
    if claimed is None:
        session.rollback()
        log.info("outbox message %s: already completed", message_id)
        return "already completed"
    function, args, request_id = claimed
    token = current_request_id.set(request_id or f"job-{message_id}")
    try:
        log.info("outbox message %s: %s%s", message_id, function, tuple(args))
        result = import_string(function)(*args)
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        current_request_id.reset(token)
    return result


def relay_outbox() -> int:
    """Hand RQ what it lost or never got (Redis was away, a worker died)."""
    app = current_app._get_current_object()
    count = outbox.relay(db.session, redis_connection(app), now=datetime.now(timezone.utc))
    db.session.commit()
    return count


def record_heartbeat() -> str:
    """Proves the scheduler enqueues and a worker runs: /healthz reads the age."""
    now = datetime.now(timezone.utc).isoformat()
    redis_connection(current_app._get_current_object()).set(HEARTBEAT_KEY, now, ex=3600)
    return now


def run_sweep() -> dict:
    """The deadline sweep (every minute): warnings, overdue marks, reminders, closing."""
    from feedback.services.sweep import run_sweep as sweep_once

    return sweep_once()


def purge_photo_originals() -> int:
    """Delete photo originals past the retention period (Nghị định 13/2023)."""
    from feedback.services.intake import photo_storage
    from feedback.services.privacy import purge_expired_originals

    app = current_app._get_current_object()
    total = 0
    while True:
        deleted = purge_expired_originals(
            db.session, now=datetime.now(timezone.utc),
            retention_days=app.config["PHOTO_ORIGINAL_RETENTION_DAYS"],
            storage=photo_storage(app))
        db.session.commit()
        total += deleted
        if deleted == 0:
            return total
