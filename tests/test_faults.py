"""Nothing accepted is lost, nothing is done twice: Redis going away, a worker killed in
the middle of routing a report or of processing its photo.

These tests commit for real, in a database of their own, against a Redis server of
their own that they stop and start, with real worker processes.
"""
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import redis as redis_client
from sqlalchemy import func, select, text

from feedback import create_app
from feedback.extensions import db
from feedback.models import OutboxMessage, Photo, PhotoState, Report, ReportEvent, ReportStatus
from feedback.services import intake, outbox, workflow
from tests import factories, samples
from tests.conftest import POSTGRES_URL
from tests.faults import (
    citizen_headers,
    kill,
    prepared_database,
    start_worker,
    stop,
    waiting_on_a_lock,
    wait_until,
)
from workers import queues
from workers.worker import make_worker


@pytest.fixture
def fault_app(own_redis, tmp_path):
    # Named after TEST_DATABASE_URL's database, so runs with another one never collide.
    database = prepared_database(POSTGRES_URL + "_faults")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": own_redis.url,
        "SECRET_KEY": "fault-tests-" + uuid.uuid4().hex, "PHOTO_FOLDER": str(tmp_path / "photos"),
        "LOG_FORMAT": "none",
    })
    app.config["TEST_ENV"] = {"DATABASE_URL": database, "REDIS_URL": own_redis.url,
                              "SECRET_KEY": app.config["SECRET_KEY"],
                              "INSTANCE_PATH": str(tmp_path / "instance"),
                              "PHOTO_FOLDER": app.config["PHOTO_FOLDER"]}
    yield app
    with app.app_context():
        db.engine.dispose()


def _approve(app, count: int) -> list[int]:
    """`count` reports submitted and approved by a moderator, committed one by one."""
    ids = []
    with app.app_context():
        moderator = factories.staff(db.session, "moderator")
        for _ in range(count):
            report = factories.report(db.session)
            workflow.approve(db.session, report, actor=moderator, now=datetime.now(timezone.utc))
            db.session.commit()
            ids.append(report.id)
        db.session.remove()
    return ids


def _assigned_events(app, ids) -> dict[int, int]:
    with app.app_context():
        rows = db.session.execute(
            select(ReportEvent.report_id, func.count())
            .where(ReportEvent.report_id.in_(ids), ReportEvent.kind == "assigned")
            .group_by(ReportEvent.report_id)
        ).all()
        db.session.remove()
    return dict(rows)


def _relay(app, *, at: datetime) -> int:
    with app.app_context():
        from feedback.redis import redis_connection
        handed = outbox.relay(db.session, redis_connection(app), now=at)
        db.session.commit()
        db.session.remove()
    return handed


def test_with_redis_stopped_approvals_succeed_and_are_routed_exactly_once_when_it_returns(
        fault_app, own_redis):
    own_redis.stop()
    ids = _approve(fault_app, 100)  # every commit succeeds with Redis away
    with fault_app.app_context():
        pending = db.session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.completed_at.is_(None))).scalar()
        db.session.remove()
    assert pending == 100
    own_redis.start()
    fault_app.extensions.pop("feedback_redis", None)
    assert _relay(fault_app, at=datetime.now(timezone.utc) + timedelta(seconds=10)) == 100
    connection = redis_client.Redis.from_url(own_redis.url)
    make_worker(fault_app, queues.ALL, connection).work(burst=True)
    assert _assigned_events(fault_app, ids) == {report_id: 1 for report_id in ids}
    # The relay finds nothing more to do, and running it again routes nothing twice.
    assert _relay(fault_app, at=datetime.now(timezone.utc) + timedelta(minutes=5)) == 0


def test_a_worker_killed_mid_routing_leaves_no_report_unrouted_and_none_routed_twice(
        fault_app, own_redis):
    env = fault_app.config["TEST_ENV"]
    [report_id] = _approve(fault_app, 1)
    with fault_app.app_context():
        # Hold the report locked, so the worker's routing job blocks in the middle.
        blocker = db.engine.connect()
        blocking = blocker.begin()
        blocker.execute(text("SELECT id FROM reports WHERE id = :id FOR UPDATE"),
                        {"id": report_id})
    connection = redis_client.Redis.from_url(own_redis.url)
    worker = start_worker(env, queues.ROUTING)
    try:
        # In the job, past claiming its message, waiting for the report's row.
        wait_until(lambda: waiting_on_a_lock(fault_app, "SELECT reports."), timeout=60,
                   message="the routing job to wait for the report")
        kill(worker)  # SIGKILL, mid-job
    finally:
        blocking.rollback()
        blocker.close()
        stop(worker)
    with fault_app.app_context():
        report = db.session.get(Report, report_id)
        assert report.status == ReportStatus.SUBMITTED  # the killed job changed nothing
        db.session.remove()
    # Later, the relay sees the job abandoned and hands it over again; a new worker routes it.
    later = datetime.now(timezone.utc) + timedelta(seconds=outbox.JOB_TIMEOUT_SECONDS + 120)
    assert _relay(fault_app, at=later) == 1
    make_worker(fault_app, queues.ALL, connection).work(burst=True)
    assert _assigned_events(fault_app, [report_id]) == {report_id: 1}
    with fault_app.app_context():
        assert db.session.get(Report, report_id).status == ReportStatus.ASSIGNED
        message = db.session.execute(select(OutboxMessage).where(
            OutboxMessage.function.like("%route_report"))).scalar_one()
        assert message.completed_at is not None and message.attempts == 1
        db.session.remove()


def test_a_worker_killed_mid_photo_leaves_the_photo_unserved_then_processed_exactly_once(
        fault_app, own_redis, tmp_path):
    env = fault_app.config["TEST_ENV"]
    [headers] = citizen_headers(fault_app)
    client = fault_app.test_client()
    response = client.post("/api/v1/reports", headers=headers, content_type="multipart/form-data",
                           data={"category": "giao-thong", "description": "Ổ gà giữa đường",
                                 "commune_code": "31135",
                                 "photos": [(io.BytesIO(samples.phone_jpeg(800, 600)), "a.jpg")]})
    assert response.status_code == 201, response.json
    with fault_app.app_context():
        [photo_id] = db.session.execute(select(Photo.id)).scalars().all()
        # Hold the photo's row: the job makes and stores both copies, then waits to mark it.
        blocker = db.engine.connect()
        blocking = blocker.begin()
        blocker.execute(text("SELECT id FROM photos WHERE id = :id FOR UPDATE"), {"id": photo_id})
    folder = tmp_path / "photos"
    worker = start_worker(env, queues.PHOTOS)
    try:
        wait_until(lambda: waiting_on_a_lock(fault_app, "UPDATE photos"), timeout=60,
                   message="the photo job to store its copies and wait for the row")
        kill(worker)  # SIGKILL, mid-job: its copies are on disk, its transaction is lost
    finally:
        blocking.rollback()
        blocker.close()
        stop(worker)
    copies = sorted(p.name for p in folder.iterdir() if not p.name.startswith("original-"))
    assert len(copies) == 2  # display and thumbnail, each written whole, under their hash
    with fault_app.app_context():
        photo = db.session.get(Photo, photo_id)
        assert (photo.state, photo.display_key, photo.processed_at) == (
            PhotoState.PENDING, None, None)
        db.session.remove()
    for key in copies:  # a photo not marked ready is served to no one
        assert client.get(f"/api/v1/photos/{photo_id}/{key}").status_code == 404

    later = datetime.now(timezone.utc) + timedelta(seconds=outbox.JOB_TIMEOUT_SECONDS + 120)
    assert _relay(fault_app, at=later) == 1
    make_worker(fault_app, queues.ALL, redis_client.Redis.from_url(own_redis.url)).work(burst=True)
    with fault_app.app_context():
        photo = db.session.get(Photo, photo_id)
        assert photo.state == PhotoState.READY and photo.processed_at is not None
        assert sorted([photo.display_key, photo.thumbnail_key]) == copies  # the same bytes
        message = db.session.execute(select(OutboxMessage).where(
            OutboxMessage.function.like("%process_photo"))).scalar_one()
        assert message.completed_at is not None and message.attempts == 1
        display = photo.display_key
        db.session.remove()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("original-")) == copies
    served = client.get(f"/api/v1/photos/{photo_id}/{display}")
    assert served.status_code == 200 and served.data == (folder / display).read_bytes()
    # Running the job again changes nothing.
    with fault_app.app_context():
        assert intake.process_photo(photo_id) == "already ready"
