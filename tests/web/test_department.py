"""Officers in the web view: their queue and each move on their department's reports."""
import io
from datetime import timedelta

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
    assert "Ảnh không hợp lệ" in officer.text(f"/staff/reports/{report.tracking_code}")


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
                    {"approve": "true", "note": "Đồng ý."})
    assert extension.state == "approved"
    assert report.resolve_due_at == extension.requested_due_at
    assert "Không có đề nghị gia hạn nào chờ quyết định" in supervisor.text(
        "/staff/supervision/extensions")
