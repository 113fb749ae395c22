"""Report intake as a service: checks, the tracking code, retries, the photo job."""
import os
import unicodedata
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, select

from feedback.models import (
    Notification,
    OutboxMessage,
    Photo,
    PhotoState,
    Report,
    ReportEvent,
    ReportStatus,
    Role,
    User,
)
from feedback.schemas.reports import CitizenReportSchema
from feedback.services import intake, notifications
from feedback.services.deadlines import calendar_for
from feedback.services.storage import FolderStorage
from tests.samples import PDF, assert_no_metadata, opened, phone_jpeg

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 09:00 in Cần Thơ
FIELDS = {"category": "thu-tuc-hanh-chinh", "description": "Trả hồ sơ trễ hẹn.",
          "commune_code": "31135", "latitude": 10.034, "longitude": 105.788,
          "address": "2 Hai Bà Trưng", "anonymous": False, "public": True}


@pytest.fixture
def citizen(db_session):
    user = User(role=Role.CITIZEN, phone=f"+849{uuid.uuid4().int % 10**8:08d}")
    db_session.add(user)
    db_session.flush()
    return user


@pytest.fixture
def storage(tmp_path):
    return FolderStorage(tmp_path / "photos")


@pytest.fixture
def submit(app, db_session, citizen, storage):
    def submit(fields=None, photos=(), key=None, user=None, **config):
        return intake.submit_report(
            db_session, citizen=user or citizen, fields={**FIELDS, **(fields or {})},
            photos=list(photos), idempotency_key=key, now=NOW, storage=storage,
            config={**app.config, **config})

    return submit


def files(storage) -> set[str]:
    return set(os.listdir(storage.root)) if os.path.isdir(storage.root) else set()


def count(db_session, model, *where) -> int:
    return db_session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# -- text and codes ----------------------------------------------------------------------

def test_text_is_put_in_nfc_and_tidied():
    nfd = unicodedata.normalize("NFD", "  Nước   ngập\u00a0sâu\x07 ")
    submission = intake.normalise({**FIELDS, "title": nfd, "description": "a\r\n\r\n\r\n\r\nb  \n"})

    assert submission.title == "Nước ngập sâu"
    assert submission.description == "a\n\nb"
    assert not submission.errors


def test_lengths_are_counted_after_nfc():
    title = unicodedata.normalize("NFD", "ệ" * 200)
    assert len(title) > 200
    assert not intake.normalise({**FIELDS, "title": title}).errors
    assert intake.normalise({**FIELDS, "title": "e" * 201}).errors == {
        "title": ["Longer than 200 characters."]}


def test_latitude_and_longitude_come_together_and_in_range():
    assert intake.normalise({**FIELDS, "longitude": None}).errors == {
        "longitude": ["Send latitude and longitude together, or neither."]}
    assert set(intake.normalise({**FIELDS, "latitude": 90.5, "longitude": -181}).errors) == {
        "latitude", "longitude"}
    assert intake.normalise({**FIELDS, "latitude": float("nan")}).errors["latitude"]


def test_the_tracking_code_is_the_year_in_vietnam_and_the_id():
    assert intake.tracking_code(123, NOW, "Asia/Ho_Chi_Minh") == "PA-2026-000123"
    new_year_in_can_tho = datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc)
    assert intake.tracking_code(1, new_year_in_can_tho, "Asia/Ho_Chi_Minh") == "PA-2027-000001"
    assert intake.tracking_code(1234567, NOW, "Asia/Ho_Chi_Minh") == "PA-2026-1234567"


def test_an_idempotency_key_is_1_to_100_visible_ascii_characters():
    assert intake.check_idempotency_key(None) is None
    assert intake.check_idempotency_key("") is None
    key = str(uuid.uuid4())
    assert intake.check_idempotency_key(key) == key
    for bad in ("a b", "x" * 101, "khóa"):
        with pytest.raises(ValueError):
            intake.check_idempotency_key(bad)


def test_the_fingerprint_tells_a_different_body_or_photo_apart():
    submission = intake.normalise(FIELDS)
    same = intake.normalise(dict(FIELDS))
    other = intake.normalise({**FIELDS, "description": "Khác."})
    assert submission.fingerprint(["a"]) == same.fingerprint(["a"])
    assert submission.fingerprint(["a"]) != other.fingerprint(["a"])
    assert submission.fingerprint(["a"]) != submission.fingerprint(["b"])


# -- submitting --------------------------------------------------------------------------

@pytest.mark.embedded
def test_a_report_is_committed_with_its_event_clock_and_notification(
        db_session, citizen, submit):
    report, created = submit()

    assert created
    assert report.tracking_code == f"PA-2026-{report.id:06d}"
    assert (report.status, report.category.code, report.area_code, report.province_code) == (
        ReportStatus.SUBMITTED, "thu-tuc-hanh-chinh", "31135", "92")
    assert report.step_started_at == NOW
    # The moderation clock: the category's 8 working hours from submission.
    assert report.due_at == calendar_for(db_session).due_at(NOW, "8h", urgent=False)
    assert NOW < report.warn_at < report.due_at
    [submitted] = report.events
    assert (submitted.kind, submitted.to_status, submitted.is_public, submitted.actor_id) == (
        "submitted", ReportStatus.SUBMITTED, True, citizen.id)
    assert count(db_session, Notification, Notification.report_id == report.id,
                 Notification.kind == "received", Notification.user_id == citizen.id) == 1
    assert report.version == 1


def test_the_answer_is_made_from_what_was_written_without_reading_it_back(
        db_session, submit):
    report, _ = submit(photos=[phone_jpeg(300, 200)])
    statements = []
    connection = db_session.connection()

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        body = CitizenReportSchema().dump(report)
    finally:
        event.remove(connection, "before_cursor_execute", record)

    assert statements == []
    assert body["tracking_code"] == report.tracking_code
    assert body["timeline"][0]["status_label"] == "Chờ tiếp nhận"


def test_a_retry_gives_back_the_report_already_taken_and_creates_nothing(
        db_session, citizen, submit, storage):
    photo = phone_jpeg(300, 200, seed=1)
    first, created = submit(photos=[photo], key="retry-1")
    before = (count(db_session, Report), count(db_session, Notification),
              count(db_session, ReportEvent), count(db_session, OutboxMessage), files(storage))

    again, created_again = submit(photos=[photo], key="retry-1")

    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert (count(db_session, Report), count(db_session, Notification),
            count(db_session, ReportEvent), count(db_session, OutboxMessage),
            files(storage)) == before


def test_a_reused_key_with_another_body_is_a_conflict_and_leaves_nothing(
        db_session, submit, storage):
    first, _ = submit(key="reused")
    before = files(storage)

    with pytest.raises(intake.IdempotencyConflict) as conflict:
        submit(fields={"description": "Một chuyện khác."}, key="reused",
               photos=[phone_jpeg(300, 200, seed=2)])

    assert conflict.value.tracking_code == first.tracking_code
    assert files(storage) == before
    assert count(db_session, Report, Report.idempotency_key == "reused") == 1


def test_a_category_that_needs_a_photo_is_refused_without_one(submit):
    with pytest.raises(intake.SubmissionRefused) as refusal:
        submit(fields={"category": "giao-thong"})
    assert refusal.value.code == "validation_failed"
    assert "photos" in refusal.value.details


def test_an_unknown_or_inactive_category_and_a_province_for_a_commune_are_refused(
        db_session, submit):
    with pytest.raises(intake.SubmissionRefused) as refusal:
        submit(fields={"category": "nope", "commune_code": "92"})
    assert set(refusal.value.details) == {"category", "commune_code"}


def test_the_first_photos_gps_suggests_the_position_only_when_none_was_sent(submit):
    with_position, _ = submit(photos=[phone_jpeg(300, 200, seed=3)])
    without, _ = submit(fields={"latitude": None, "longitude": None},
                        photos=[phone_jpeg(300, 200, seed=4)])

    assert (with_position.latitude, with_position.location_from_photo) == (10.034, False)
    assert without.location_from_photo is True
    assert (without.latitude, without.longitude) == pytest.approx((10.0333, 105.79), abs=1e-3)


def test_each_photo_is_stored_as_it_came_and_waits_for_its_job(db_session, submit, storage):
    photos = [phone_jpeg(300, 200, seed=5), phone_jpeg(300, 200, seed=6)]
    report, _ = submit(photos=photos)

    assert [p.state for p in report.photos] == [PhotoState.PENDING] * 2
    assert [storage.get(p.original_key) for p in report.photos] == photos
    assert all(p.original_key.startswith("original-") for p in report.photos)
    jobs = db_session.execute(select(OutboxMessage).where(
        OutboxMessage.function == "feedback.services.intake.process_photo")
        .order_by(OutboxMessage.id)).scalars().all()[-2:]
    assert [(m.queue, m.args) for m in jobs] == [("photos", [p.id]) for p in report.photos]


def test_without_pre_moderation_routing_is_scheduled_with_the_report(db_session, submit):
    report, _ = submit(PRE_MODERATION=False)

    routing = db_session.execute(select(OutboxMessage).where(
        OutboxMessage.function == "feedback.services.routing.route_report",
        OutboxMessage.args == [report.id])).scalar_one()
    assert (routing.queue, routing.job_id) == ("routing", f"route_report-route-{report.id}-0")


def test_with_pre_moderation_nothing_is_routed_yet(db_session, submit):
    report, _ = submit()
    assert count(db_session, OutboxMessage,
                 OutboxMessage.function == "feedback.services.routing.route_report",
                 OutboxMessage.args == [report.id]) == 0


def test_a_failure_after_the_originals_were_stored_removes_them(
        db_session, citizen, submit, storage, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(notifications, "notify_citizen", broken)
    with pytest.raises(RuntimeError):
        submit(photos=[phone_jpeg(300, 200, seed=7)])

    assert files(storage) == set()
    assert count(db_session, Report, Report.citizen_id == citizen.id) == 0


def test_a_failure_never_removes_an_original_another_report_holds(
        db_session, submit, storage, monkeypatch):
    photo = phone_jpeg(300, 200, seed=8)
    kept, _ = submit(photos=[photo])
    monkeypatch.setattr(notifications, "notify_citizen",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))

    with pytest.raises(RuntimeError):
        submit(photos=[photo])

    assert storage.get(kept.photos[0].original_key) == photo


def test_a_bad_photo_is_named_and_nothing_is_stored(db_session, submit, storage):
    with pytest.raises(intake.PhotosRefused) as refusal:
        submit(photos=[phone_jpeg(300, 200, seed=9), PDF])

    assert refusal.value.code == "photo_rejected"
    assert list(refusal.value.details) == ["photos[1]"]
    assert files(storage) == set()


# -- the photo job -----------------------------------------------------------------------

def test_the_photo_job_makes_stripped_copies_and_running_it_again_changes_nothing(
        app, db_session, submit, storage, monkeypatch):
    monkeypatch.setitem(app.extensions, "feedback_photo_storage", storage)
    report, _ = submit(photos=[phone_jpeg(1000, 750, seed=10)])
    photo_id = report.photos[0].id

    assert intake.process_photo(photo_id) == "ready"
    photo = db_session.get(Photo, photo_id)
    assert photo.state == PhotoState.READY and photo.processed_at is not None
    assert (photo.width, photo.height) == (750, 1000)
    for key in (photo.display_key, photo.thumbnail_key):
        assert_no_metadata(storage.get(key))
    assert max(opened(storage.get(photo.thumbnail_key)).size) == 320
    stored = files(storage)

    assert intake.process_photo(photo_id) == "already ready"
    assert files(storage) == stored


def test_a_photo_the_pipeline_refuses_is_marked_failed_with_the_reason(
        app, db_session, submit, storage, monkeypatch):
    monkeypatch.setitem(app.extensions, "feedback_photo_storage", storage)
    report, _ = submit(photos=[phone_jpeg(300, 200, seed=12)])
    photo = report.photos[0]
    storage.put(photo.original_key, b"\xff\xd8\xff" + b"\x00" * 64 + b"\xff\xd9", "image/jpeg")

    assert intake.process_photo(photo.id) == "failed"
    assert photo.state == PhotoState.FAILED
    assert photo.failure.split(":")[0] in {"corrupt", "truncated"}
    assert photo.display_key is None and photo.thumbnail_key is None


def test_a_photo_whose_original_is_gone_is_marked_failed(
        app, db_session, submit, storage, monkeypatch):
    monkeypatch.setitem(app.extensions, "feedback_photo_storage", storage)
    report, _ = submit(photos=[phone_jpeg(300, 200, seed=13)])
    photo = report.photos[0]
    storage.delete(photo.original_key)

    assert intake.process_photo(photo.id) == "failed"
    assert photo.failure.startswith("original_missing")


# -- nearby ------------------------------------------------------------------------------

def test_the_haversine_distance_is_in_metres():
    assert intake.distance_m(10.0, 105.0, 10.0, 105.0) == 0
    # One degree of latitude is about 111.2 km.
    assert intake.distance_m(10.0, 105.0, 11.0, 105.0) == pytest.approx(111_195, rel=1e-4)
    # Ninh Kiều wharf to Cần Thơ bridge, about 7.1 km.
    assert intake.distance_m(10.0333, 105.7900, 10.0326, 105.8552) == pytest.approx(
        7140, rel=0.01)


# -- two retries at once -----------------------------------------------------------------

def test_two_retries_racing_each_other_make_one_report(app, backend, tmp_path, monkeypatch):
    """Real concurrency, on committed data: the first retry holds its INSERT uncommitted
    while the second one's INSERT waits on the unique (citizen, key) index, then fails
    and answers the first one's report."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing to race")
    import threading

    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from feedback.extensions import db

    storage = FolderStorage(tmp_path / "race")
    with app.app_context():
        with Session(db.engine) as setup:
            user = User(role=Role.CITIZEN, phone=f"+849{uuid.uuid4().int % 10**8:08d}")
            setup.add(user)
            setup.commit()
            user_id = user.id

    first_holds_its_insert, release_first = threading.Event(), threading.Event()
    commit = intake._commit_keeping_loaded

    def held_commit(session):
        if threading.current_thread().name == "first":
            first_holds_its_insert.set()
            release_first.wait(10)
        commit(session)

    monkeypatch.setattr(intake, "_commit_keeping_loaded", held_commit)
    results, errors = {}, []

    def retry():
        try:
            with app.app_context(), Session(db.engine) as session:
                citizen = session.get(User, user_id)
                report, created = intake.submit_report(
                    session, citizen=citizen, fields=FIELDS, photos=[],
                    idempotency_key="racing-retries", now=NOW, storage=storage,
                    config=app.config)
                results[threading.current_thread().name] = (report.id, created)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first = threading.Thread(target=retry, name="first")
    second = threading.Thread(target=retry, name="second")
    try:
        first.start()
        assert first_holds_its_insert.wait(10)
        second.start()
        second.join(0.5)
        assert second.is_alive(), "the second INSERT should wait for the first transaction"
        release_first.set()
        first.join(10)
        second.join(10)

        assert errors == []
        assert results["first"][1] is True and results["second"][1] is False
        assert results["first"][0] == results["second"][0]
        with app.app_context(), Session(db.engine) as check:
            assert count(check, Report, Report.citizen_id == user_id) == 1
    finally:
        release_first.set()
        with app.app_context(), db.engine.begin() as connection:
            ids = select(Report.id).where(Report.citizen_id == user_id).scalar_subquery()
            connection.execute(delete(Notification).where(Notification.user_id == user_id))
            connection.execute(delete(ReportEvent).where(ReportEvent.report_id.in_(ids)))
            connection.execute(delete(Report).where(Report.citizen_id == user_id))
            connection.execute(delete(User).where(User.id == user_id))
