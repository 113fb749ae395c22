"""Officers in the web view: their queue and each move on their department's reports."""
import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from feedback.models import ExtensionRequest, OutboxMessage, Photo, PhotoKind
from feedback.services import workflow
from tests import factories
from tests.samples import phone_jpeg


def test_the_queue_is_sorted_by_due_time_and_marks_overdue_and_due_soon(
        staff_client, db_session, now):
    overdue = factories.routed_report(db_session, now=now - timedelta(days=10))
    fresh = factories.routed_report(db_session, now=now)
    due_soon = factories.routed_report(db_session, now=now - timedelta(hours=1))
    due_soon.warn_at = now - timedelta(minutes=5)
    due_soon.due_at = now + timedelta(minutes=30)
    db_session.flush()
    page = staff_client("officer").text("/staff/department/")
    assert page.index(overdue.tracking_code) < page.index(due_soon.tracking_code) < page.index(
        fresh.tracking_code)
    assert 'tr class="overdue"' in page and 'tr class="due_soon"' in page


def test_the_queue_filters_by_status_category_and_commune(staff_client, db_session, now):
    road = factories.routed_report(db_session, now=now)
    other_ward = factories.routed_report(db_session, now=now, commune="31120")
    started = factories.acknowledged_report(db_session, now=now, category="ha-tang")
    officer = staff_client("officer")
    page = officer.text("/staff/department/?status=in_progress")
    assert started.tracking_code in page and road.tracking_code not in page
    category_id = started.category_id
    page = officer.text(f"/staff/department/?category={category_id}")
    assert started.tracking_code in page and road.tracking_code not in page
    page = officer.text("/staff/department/?commune=31120")
    assert other_ward.tracking_code in page and road.tracking_code not in page


def test_acknowledge_ask_for_more_and_answer_with_a_photo(staff_client, db_session, now):
    report = factories.routed_report(db_session, now=now)
    officer = staff_client("officer")
    officer.get(f"/staff/reports/{report.tracking_code}")
    officer.post(f"/staff/department/reports/{report.tracking_code}/acknowledge",
                 {"version": report.version})
    assert report.status == "in_progress"
    officer.post(f"/staff/department/reports/{report.tracking_code}/request-info",
                 {"version": report.version, "question": "Số nhà chính xác là gì?"})
    assert report.status == "awaiting_citizen"
    workflow.provide_info(db_session, report, actor=report.citizen, now=now, text="Số 12.")
    db_session.commit()  # the refused answer below rolls back to here
    # Fixed needs a photo: refused without one, nothing changes.
    officer.post(f"/staff/department/reports/{report.tracking_code}/answer",
                 {"version": report.version, "outcome": "fixed", "text": "Đã vá."})
    assert report.status == "in_progress"
    officer.post(f"/staff/department/reports/{report.tracking_code}/answer",
                 {"version": report.version, "outcome": "fixed", "text": "Đã vá ổ gà.",
                  "photos": [(io.BytesIO(phone_jpeg(800, 600)), "proof.jpg")]},
                 content_type="multipart/form-data")
    assert report.status == "resolved" and report.answer_text == "Đã vá ổ gà."
    photo = db_session.execute(select(Photo).where(Photo.report_id == report.id,
                                                   Photo.kind == PhotoKind.ANSWER)).scalar_one()
    assert photo.event_id is not None and photo.state == "pending"
    assert db_session.execute(select(OutboxMessage).where(
        OutboxMessage.function == "feedback.services.intake.process_photo",
        OutboxMessage.args == [photo.id])).scalar_one()


def test_a_file_that_is_not_a_photo_is_refused(staff_client, db_session, now):
    report = factories.acknowledged_report(db_session, now=now)
    officer = staff_client("officer")
    officer.get(f"/staff/reports/{report.tracking_code}")
    officer.post(f"/staff/department/reports/{report.tracking_code}/answer",
                 {"version": report.version, "outcome": "fixed", "text": "Đã vá.",
                  "photos": [(io.BytesIO(b"%PDF-1.4 not a photo"), "proof.jpg")]},
                 content_type="multipart/form-data")
    assert report.status == "in_progress"
    page = officer.text(f"/staff/reports/{report.tracking_code}")
    assert "Ảnh không hợp lệ: ảnh 1: không phải là ảnh" in page  # said in Vietnamese
    assert "not a picture" not in page


def test_returning_a_report_that_is_not_ours(staff_client, db_session, now):
    report = factories.routed_report(db_session, now=now)
    officer = staff_client("officer")
    officer.get(f"/staff/reports/{report.tracking_code}")
    response = officer.post(f"/staff/department/reports/{report.tracking_code}/return",
                            {"version": report.version, "reason_code": "wrong_area",
                             "note": "Thuộc phường."})
    assert response.location == "/staff/department/"
    assert report.manual_routing == "returned" and report.lead_department_id is None


def test_asking_for_an_extension_then_a_supervisor_approves_it(staff_client, db_session, now):
    report = factories.acknowledged_report(db_session, now=now)
    officer = staff_client("officer")
    page = officer.text(f"/staff/reports/{report.tracking_code}")
    day = page.split('name="new_due_date"')[1].split('max="')[1][:10]
    officer.post(f"/staff/department/reports/{report.tracking_code}/extension",
                 {"version": report.version, "new_due_date": day, "reason": "Chờ vật tư."})
    extension = db_session.execute(select(ExtensionRequest).where(
        ExtensionRequest.report_id == report.id)).scalar_one()
    assert extension.requested_due_at.astimezone().date().isoformat() <= day
    supervisor = staff_client("supervisor")
    assert report.tracking_code in supervisor.text("/staff/supervision/extensions")
    supervisor.post(f"/staff/supervision/extensions/{extension.id}/decision",
                    {"version": report.version, "approve": "true", "note": "Đồng ý."})
    assert extension.state == "approved"
    assert report.resolve_due_at == extension.requested_due_at
    assert "Không có đề nghị gia hạn nào chờ quyết định" in supervisor.text(
        "/staff/supervision/extensions")


def test_the_last_day_the_extension_form_offers_is_accepted_up_to_the_limit_itself(
        staff_client, db_session, now):
    report = factories.acknowledged_report(db_session, now=now)
    # A deadline at 10:00 on a working day: the limit falls at 10:00 too, before that
    # day's close, so the last day offered cannot mean its close.
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    day = (now + timedelta(days=8)).astimezone(zone).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    report.resolve_due_at = datetime.combine(day, time(10), zone)
    db_session.flush()
    officer = staff_client("officer")
    page = officer.text(f"/staff/reports/{report.tracking_code}")
    last_day = page.split('name="new_due_date"')[1].split('max="')[1][:10]
    officer.post(f"/staff/department/reports/{report.tracking_code}/extension",
                 {"version": report.version, "new_due_date": last_day, "reason": "Chờ vật tư."})
    extension = db_session.execute(select(ExtensionRequest).where(
        ExtensionRequest.report_id == report.id)).scalar_one()
    local = extension.requested_due_at.astimezone(zone)
    assert local.date().isoformat() == last_day and local.time() == time(10)


def _row(page: str, tracking_code: str) -> str:
    return next(row for row in page.split("<tr") if tracking_code in row)


def test_a_coordinating_department_sees_the_report_marked_in_its_queue_but_cannot_move_it(
        app, staff_client, db_session, now):
    from feedback.services.intake import photo_storage

    sender = factories.citizen(db_session, name="Lê Văn Kín")
    coordinated = factories.routed_report(db_session, now=now - timedelta(days=1),
                                          category="cap-thoat-nuoc-ngap", sender=sender,
                                          anonymous=True)
    own = factories.routed_report(db_session, now=now)
    photo = factories.ready_photo(db_session, coordinated)
    photo_storage(app).put(photo.thumbnail_key, b"\xff\xd8 a thumbnail", "image/jpeg")
    officer = staff_client("officer")  # Sở Xây dựng coordinates the water report
    queue = officer.text("/staff/department/")
    assert "Phối hợp" in _row(queue, coordinated.tracking_code)
    assert "Phối hợp" not in _row(queue, own.tracking_code)
    page = officer.text(f"/staff/reports/{coordinated.tracking_code}")
    assert "Lê Văn Kín" not in page and photo.thumbnail_key in page
    assert f"/staff/department/reports/{coordinated.tracking_code}/" not in page  # no move forms
    assert officer.get(f"/staff/reports/photos/{photo.id}/{photo.thumbnail_key}").status_code == 200
    officer.post(f"/staff/department/reports/{coordinated.tracking_code}/acknowledge",
                 {"version": coordinated.version})
    db_session.refresh(coordinated)
    assert coordinated.status == "assigned"
    assert "không thuộc đơn vị của bạn" in officer.text(
        f"/staff/reports/{coordinated.tracking_code}")
    # Its commune and category are offered by the queue's filters.
    page = officer.text(f"/staff/department/?category={coordinated.category_id}")
    assert coordinated.tracking_code in page and own.tracking_code not in page


def _original_stored(app, data: bytes) -> bool:
    from feedback.services import intake

    return intake.photo_storage(app).exists(
        intake.original_key(intake.inspect_photos([data], app.config)[0]))


def test_an_answer_the_move_refuses_leaves_no_photo_in_storage(app, staff_client, db_session,
                                                               now, monkeypatch):
    officer = staff_client("officer")
    # Refused by the move's own rules once the photos are in hand: an answer already
    # waits for a supervisor's review.
    monkeypatch.setitem(app.config, "RESULT_REVIEW", True)
    reviewed = factories.acknowledged_report(db_session, now=now)
    workflow.answer(db_session, reviewed, actor=factories.staff(db_session, "officer"), now=now,
                    outcome="planned", text="Đưa vào kế hoạch quý 3.")
    db_session.commit()
    proof = phone_jpeg(640, 480, seed=501)
    officer.get(f"/staff/reports/{reviewed.tracking_code}")
    officer.post(f"/staff/department/reports/{reviewed.tracking_code}/answer",
                 {"version": reviewed.version, "outcome": "fixed", "text": "Đã vá.",
                  "photos": [(io.BytesIO(proof), "proof.jpg")]},
                 content_type="multipart/form-data")
    assert reviewed.outcome == "planned"
    assert not _original_stored(app, proof)
    # Refused before anything is stored: the department only coordinates the report.
    coordinated = factories.routed_report(db_session, now=now, category="cap-thoat-nuoc-ngap")
    proof = phone_jpeg(640, 480, seed=502)
    officer.post(f"/staff/department/reports/{coordinated.tracking_code}/answer",
                 {"version": coordinated.version, "outcome": "fixed", "text": "Đã vá.",
                  "photos": [(io.BytesIO(proof), "proof.jpg")]},
                 content_type="multipart/form-data")
    assert coordinated.status == "assigned" and not _original_stored(app, proof)


def test_a_photo_another_answer_already_uses_is_kept_when_an_answer_is_refused(
        app, staff_client, db_session, now, monkeypatch):
    officer = staff_client("officer")
    proof = phone_jpeg(640, 480, seed=503)
    first = factories.acknowledged_report(db_session, now=now)
    officer.get(f"/staff/reports/{first.tracking_code}")
    officer.post(f"/staff/department/reports/{first.tracking_code}/answer",
                 {"version": first.version, "outcome": "fixed", "text": "Đã vá.",
                  "photos": [(io.BytesIO(proof), "proof.jpg")]},
                 content_type="multipart/form-data")
    assert first.status == "resolved" and _original_stored(app, proof)
    monkeypatch.setitem(app.config, "RESULT_REVIEW", True)
    second = factories.acknowledged_report(db_session, now=now)
    workflow.answer(db_session, second, actor=factories.staff(db_session, "officer"), now=now,
                    outcome="planned", text="Đưa vào kế hoạch.")
    db_session.commit()
    officer.post(f"/staff/department/reports/{second.tracking_code}/answer",
                 {"version": second.version, "outcome": "fixed", "text": "Đã vá.",
                  "photos": [(io.BytesIO(proof), "proof.jpg")]},
                 content_type="multipart/form-data")
    assert second.outcome == "planned" and _original_stored(app, proof)
