"""The outbox hands work to RQ after commit, and the relay hands over what was lost."""
from datetime import datetime, timedelta, timezone

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from feedback.models import OutboxMessage
from feedback.services import outbox
from workers import queues
from workers.jobs import perform
from workers.worker import make_worker

CALLS_KEY = "test:outbox:calls"


def record_call(value):
    """A job function for these tests: counts its runs in Redis (outside the database)."""
    from flask import current_app

    from feedback.redis import redis_connection
    redis_connection(current_app._get_current_object()).rpush(CALLS_KEY, value)
    return value


def fail_always(value):
    raise RuntimeError("this job always fails")


def fail_the_first_time(value):
    """Fails on its first run, as a job meeting a database restart would; then records."""
    from flask import current_app

    from feedback.redis import redis_connection
    if redis_connection(current_app._get_current_object()).incr(f"{CALLS_KEY}:runs") == 1:
        raise RuntimeError("the first run fails")
    return record_call(value)


FUNCTION = "tests.services.test_outbox.record_call"


def _messages(db_session):
    return db_session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


def test_a_message_is_handed_to_rq_only_after_the_commit(db_session, redis):
    outbox.schedule(db_session, FUNCTION, "a", queue=queues.ROUTING, key="a")
    db_session.flush()
    assert Queue(queues.ROUTING, connection=redis).count == 0
    db_session.commit()
    queue = Queue(queues.ROUTING, connection=redis)
    assert queue.job_ids == ["record_call-a"]


def test_a_rolled_back_message_is_never_handed_over(db_session, redis):
    outbox.schedule(db_session, FUNCTION, "b", queue=queues.ROUTING, key="b")
    db_session.flush()
    db_session.rollback()
    assert Queue(queues.ROUTING, connection=redis).count == 0


def test_a_job_run_twice_does_its_work_once(app, db_session, redis):
    message = outbox.schedule(db_session, FUNCTION, "c", queue=queues.ROUTING, key="c")
    db_session.commit()
    assert perform(message.id) == "c"
    assert perform(message.id) == "already completed"
    assert redis.lrange(CALLS_KEY, 0, -1) == [b"c"]
    assert db_session.get(OutboxMessage, message.id).completed_at is not None


def test_a_failing_job_leaves_its_message_pending(app, db_session, redis):
    message = outbox.schedule(db_session, "tests.services.test_outbox.fail_always", 1,
                              queue=queues.ROUTING, key="fails")
    db_session.commit()
    with pytest.raises(RuntimeError):
        perform(message.id)
    db_session.expire_all()
    assert db_session.get(OutboxMessage, message.id).completed_at is None


def test_a_job_that_failed_once_is_run_again_when_its_retry_falls_due(app, db_session, redis):
    # The workers run no RQ scheduler of their own: the relay puts due retries back.
    message = outbox.schedule(db_session, "tests.services.test_outbox.fail_the_first_time",
                              "h", queue=queues.ROUTING, key="h")
    db_session.commit()
    message_id, job_id = message.id, message.job_id
    make_worker(app, queues.ALL, redis).work(burst=True)
    assert Job.fetch(job_id, connection=redis).get_status() == "scheduled"
    later = datetime.now(timezone.utc) + timedelta(seconds=outbox.RETRY.intervals[0] + 1)
    outbox.relay(db_session, redis, now=later)
    db_session.commit()
    make_worker(app, queues.ALL, redis).work(burst=True)
    assert redis.lrange(CALLS_KEY, 0, -1) == [b"h"]
    db_session.expire_all()
    assert db_session.get(OutboxMessage, message_id).completed_at is not None


def test_a_retry_not_yet_due_stays_where_it_is(app, db_session, redis):
    message = outbox.schedule(db_session, "tests.services.test_outbox.fail_the_first_time",
                              "i", queue=queues.ROUTING, key="i")
    db_session.commit()
    job_id = message.job_id
    make_worker(app, queues.ALL, redis).work(burst=True)
    outbox.relay(db_session, redis, now=datetime.now(timezone.utc))
    assert Job.fetch(job_id, connection=redis).get_status() == "scheduled"


def test_the_relay_hands_over_what_redis_never_got_and_a_worker_then_runs_it_once(
        app, db_session, redis):
    outbox.schedule(db_session, FUNCTION, "d", queue=queues.ROUTING, key="d")
    db_session.commit()
    message_id = _messages(db_session)[-1].id
    redis.flushdb()  # Redis lost everything (or was away at commit)
    later = datetime.now(timezone.utc) + timedelta(seconds=10)
    assert outbox.relay(db_session, redis, now=later) == 1
    db_session.commit()
    assert outbox.relay(db_session, redis, now=later) == 0  # RQ holds it now
    make_worker(app, queues.ALL, redis).work(burst=True)
    assert redis.lrange(CALLS_KEY, 0, -1) == [b"d"]
    stored = db_session.get(OutboxMessage, message_id)
    assert stored.completed_at is not None and stored.attempts == 1


def test_the_relay_leaves_alone_a_message_rq_still_holds(db_session, redis):
    outbox.schedule(db_session, FUNCTION, "e", queue=queues.ROUTING, key="e")
    db_session.commit()
    later = datetime.now(timezone.utc) + timedelta(seconds=10)
    assert outbox.relay(db_session, redis, now=later) == 0
    assert len(Queue(queues.ROUTING, connection=redis).job_ids) == 1


def test_the_relay_hands_over_a_job_abandoned_by_a_killed_worker(db_session, redis):
    message = outbox.schedule(db_session, FUNCTION, "f", queue=queues.ROUTING, key="f")
    db_session.commit()
    job = Job.fetch(message.job_id, connection=redis)
    job.set_status("started")  # what a SIGKILLed worker leaves behind
    job.started_at = datetime.now(timezone.utc)
    job.save()
    soon = datetime.now(timezone.utc) + timedelta(seconds=10)
    assert outbox.relay(db_session, redis, now=soon) == 0
    db_session.commit()
    much_later = datetime.now(timezone.utc) + timedelta(seconds=outbox.JOB_TIMEOUT_SECONDS + 120)
    assert outbox.relay(db_session, redis, now=much_later) == 1


def test_with_redis_away_the_commit_still_succeeds(app, db_session):
    original = app.config["REDIS_URL"]
    app.extensions.pop("feedback_redis", None)
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        outbox.schedule(db_session, FUNCTION, "g", queue=queues.ROUTING, key="g")
        db_session.commit()
    finally:
        app.config["REDIS_URL"] = original
        app.extensions.pop("feedback_redis", None)
    assert [m.job_id for m in _messages(db_session)][-1] == "record_call-g"
