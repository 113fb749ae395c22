"""The outbox: work to do after a commit, written in the same transaction as the change.

`schedule()` adds a message to the session. Right after that session commits, the
messages are handed to RQ (`hand_over_after_commit`); if Redis is away nothing is
lost, because the periodic relay (`relay()`) hands over whatever is not completed
and has no live RQ job. Every RQ job runs `workers.jobs.perform(message_id)`, which
does the work and marks the message completed in one transaction, so a message
handed over twice, or a job run twice, does its work once.
"""
import logging
import re
from datetime import datetime, timedelta, timezone

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from feedback.logs import current_request_id
from feedback.models import OutboxMessage
from feedback.models.types import utcnow

log = logging.getLogger(__name__)

PERFORM = "workers.jobs.perform"
JOB_TIMEOUT_SECONDS = 120
# RQ retries a failed job itself; the relay steps in only for jobs RQ lost.
RETRY = Retry(max=3, interval=[5, 30, 120])
# A message still not completed this long after it was handed over is looked at again.
RELAY_GRACE = timedelta(seconds=30)
# The request that wrote a message hands it over itself; the relay waits this long first.
HAND_OVER_DELAY = timedelta(seconds=5)
_SESSION_KEY = "outbox_pending"
_READY_KEY = "outbox_ready"
_INSTALLED: set = set()
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,160}")


def schedule(session: Session, function: str, *args, queue: str, key: str,
             available_at: datetime | None = None) -> OutboxMessage:
    """Do `function(*args)` in a worker once this session commits.

    `key` makes the job id deterministic (`<function name>-<key>`, letters,
    digits, `_` and `-` only, as RQ wants): scheduling the same key twice is a
    bug the unique job id refuses.
    """
    job_id = f"{function.rsplit('.', 1)[-1]}-{key}"
    if not _JOB_ID.fullmatch(job_id):
        raise ValueError(f"job id {job_id!r}: use letters, digits, '_' and '-' in the key")
    message = OutboxMessage(queue=queue, function=function, args=list(args), job_id=job_id,
                            available_at=available_at or utcnow(),
                            request_id=current_request_id.get())
    session.add(message)
    session.info.setdefault(_SESSION_KEY, []).append(message)
    return message


def _enqueue(connection: Redis, messages: list[tuple[int, str, str]]) -> None:
    """Hand (id, queue, job id) triples to RQ in one round trip."""
    by_queue: dict[str, list] = {}
    for message_id, queue_name, job_id in messages:
        by_queue.setdefault(queue_name, []).append(Queue.prepare_data(
            PERFORM, args=(message_id,), job_id=job_id, timeout=JOB_TIMEOUT_SECONDS,
            retry=RETRY, result_ttl=3600, failure_ttl=7 * 86400,
            description=f"outbox message {message_id} ({job_id})",
        ))
    with connection.pipeline() as pipeline:
        for queue_name, datas in by_queue.items():
            Queue(queue_name, connection=connection).enqueue_many(datas, pipeline=pipeline)
        pipeline.execute()


def _app_redis() -> Redis | None:
    from flask import current_app, has_app_context

    from feedback.redis import redis_connection

    if not has_app_context() or not current_app.config.get("REDIS_URL"):
        return None
    return redis_connection(current_app._get_current_object())


def install_after_commit_hand_over(session_class=Session, connection_for=_app_redis) -> None:
    """After any session of `session_class` commits, hand its new messages to RQ.

    `connection_for()` returns the Redis connection, or None when there is none.
    Failure here is not an error: the relay will hand the messages over later.
    """
    if session_class in _INSTALLED:
        return
    _INSTALLED.add(session_class)

    @event.listens_for(session_class, "before_commit")
    def _before_commit(session):
        messages = session.info.pop(_SESSION_KEY, None)
        if messages:
            session.flush()  # ids now, while the session may still emit SQL
            session.info[_READY_KEY] = [(m.id, m.queue, m.job_id) for m in messages]

    @event.listens_for(session_class, "after_commit")
    def _after_commit(session):
        ready = session.info.pop(_READY_KEY, None)
        if not ready:
            return
        try:
            connection = connection_for()
            if connection is not None:
                _enqueue(connection, ready)
        except RedisError as exc:
            log.warning("outbox: Redis unavailable, %d message(s) left for the relay: %s",
                        len(ready), exc)
        except Exception:  # noqa: BLE001 - the commit stands; the relay retries
            log.exception("outbox: hand-over failed, %d message(s) left for the relay",
                          len(ready))

    @event.listens_for(session_class, "after_rollback")
    def _after_rollback(session):
        session.info.pop(_SESSION_KEY, None)
        session.info.pop(_READY_KEY, None)


def _needs_hand_over(job: Job | None, now: datetime) -> bool:
    """Whether RQ has lost this job: gone, failed for good, stopped, or abandoned."""
    if job is None:
        return True
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return False
    if status == JobStatus.STARTED:
        # A worker killed mid-job leaves it "started" for ever.
        started = job.started_at
        timeout = job.timeout or JOB_TIMEOUT_SECONDS
        return started is not None and now - _aware(started) > timedelta(seconds=timeout + 60)
    return True  # finished without completing the message, failed, stopped, canceled


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def relay(session: Session, connection: Redis, *, now: datetime, limit: int = 500) -> int:
    """Hand over every due message that is not completed and that RQ does not hold.

    Safe from two processes at once: on PostgreSQL rows are claimed with SKIP
    LOCKED, and handing a message over twice runs its work once anyway.
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.completed_at.is_(None),
               OutboxMessage.available_at <= now - HAND_OVER_DELAY)
        .where((OutboxMessage.dispatched_at.is_(None))
               | (OutboxMessage.dispatched_at <= now - RELAY_GRACE))
        .order_by(OutboxMessage.available_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    release_due_retries(connection, now=now)
    messages = session.execute(query).scalars().all()
    if not messages:
        return 0
    jobs = Job.fetch_many([m.job_id for m in messages], connection=connection)
    lost = []
    for message, job in zip(messages, jobs):
        if _needs_hand_over(job, now):
            if job is not None:
                try:
                    job.delete()
                except NoSuchJobError:
                    pass
            lost.append(message)
        else:
            # RQ still holds it: look again after another grace period.
            message.dispatched_at = now
    _enqueue(connection, [(m.id, m.queue, m.job_id) for m in lost])
    if lost:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([m.id for m in lost]))
            .values(dispatched_at=now, attempts=OutboxMessage.attempts + 1)
        )
        log.info("outbox relay handed over %d message(s)", len(lost))
    return len(lost)


def release_due_retries(connection: Redis, *, now: datetime) -> int:
    """Put back in their queues the failed jobs whose retry (`RETRY`) has fallen due.

    RQ leaves a retry with an interval in the queue's scheduled registry for an RQ
    scheduler to move; the workers run none (it would fork from every worker), so the
    relay, every few seconds, does that scheduler's work. Two relays at once may enqueue
    a job twice; it runs its work once.
    """
    released = 0
    for queue in Queue.all(connection=connection):
        registry = ScheduledJobRegistry(queue.name, connection=connection)
        job_ids = registry.get_jobs_to_schedule(int(now.timestamp()))
        if not job_ids:
            continue
        with connection.pipeline() as pipeline:
            for job in Job.fetch_many(job_ids, connection=connection):
                if job is not None:
                    queue.enqueue_job(job, pipeline=pipeline)
            for job_id in job_ids:
                registry.remove(job_id, pipeline=pipeline)
            pipeline.execute()
        released += len(job_ids)
    if released:
        log.info("outbox relay put back %d job(s) whose retry fell due", released)
    return released


def claim(session: Session, message_id: int, now: datetime) -> tuple[str, list, str] | None:
    """Mark the message completed in the current transaction and answer its
    (function, args, request id), or None if it was completed already.

    The UPDATE locks the row (PostgreSQL) or the database (SQLite) until commit,
    so a second run of the same job waits, then finds it completed. If the work
    that follows fails, the rollback undoes the mark.
    """
    claimed = session.execute(_CLAIM, {"message_id": message_id, "now": now}).first()
    return tuple(claimed) if claimed else None


# On the table, not the mapped class: an ORM-enabled UPDATE would look for the message in
# the session to keep it in step, which no job has loaded (a third of the claim's time).
_MESSAGES = OutboxMessage.__table__
_CLAIM = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("message_id"), _MESSAGES.c.completed_at.is_(None))
    .values(completed_at=bindparam("now", type_=_MESSAGES.c.completed_at.type))
    .returning(_MESSAGES.c.function, _MESSAGES.c.args, _MESSAGES.c.request_id)
)
