"""The moves over HTTP: who may make them, illegal ones refused, and no double wins."""
import io
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from feedback.extensions import db
from feedback.models import Report, ReportEvent, ReportStatus
from feedback.services import routing, workflow
from tests import factories


def _routed(db_session, **kwargs):
    report = factories.report(db_session, **kwargs)
    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"),
                     now=datetime.now(timezone.utc))
    routing.route(db_session, report, now=datetime.now(timezone.utc))
    return report


def test_a_moderator_approves_a_new_report_from_the_queue(client, db_session, auth_header):
    report = factories.report(db_session)
    headers = auth_header("moderator")
    queue = client.get("/api/v1/moderation/queue", headers=headers).json
    assert report.tracking_code in [item["tracking_code"] for item in queue]
    response = client.post(f"/api/v1/reports/{report.tracking_code}/approve", headers=headers)
    assert response.status_code == 200
    assert response.json["status"] == "submitted"
    assert response.json["events"][-1]["kind"] == "approved"
    queue = client.get("/api/v1/moderation/queue", headers=headers).json
    assert report.tracking_code not in [item["tracking_code"] for item in queue]


def test_an_illegal_move_is_409_in_the_json_shape_and_changes_nothing(client, db_session,
                                                                      auth_header):
    report = _routed(db_session)
    headers = auth_header("officer")
    assert client.post(f"/api/v1/reports/{report.tracking_code}/acknowledge",
                       headers=headers).status_code == 200
    again = client.post(f"/api/v1/reports/{report.tracking_code}/acknowledge", headers=headers)
    assert again.status_code == 409
    assert again.json["code"] == "illegal_move"
    assert again.json["details"]["status"] == ["in_progress"]
    events = db_session.execute(select(func.count()).select_from(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.kind == "acknowledged")).scalar()
    assert events == 1


def test_an_officer_cannot_open_or_move_another_departments_report(client, db_session,
                                                                   auth_header):
    report = _routed(db_session)  # Sở Xây dựng's
    headers = auth_header("officer.ninhkieu")
    assert client.get(f"/api/v1/staff/reports/{report.tracking_code}",
                      headers=headers).status_code == 403
    response = client.post(f"/api/v1/reports/{report.tracking_code}/acknowledge",
                           headers=headers)
    assert response.status_code == 403
    assert response.json["code"] == "not_allowed"


def test_a_coordinating_department_opens_the_report_but_only_the_lead_moves_it(
        client, db_session, auth_header):
    report = _routed(db_session, category="cap-thoat-nuoc-ngap", anonymous=True)
    assert report.lead_department.code == "ct-cap-thoat-nuoc"
    headers = auth_header("officer")  # Sở Xây dựng coordinates
    response = client.get(f"/api/v1/staff/reports/{report.tracking_code}", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["coordinators"] == ["ct-so-xay-dung"]
    assert response.json["reporter"] is None  # the same privacy as the lead's
    assert report.citizen.phone not in response.get_data(as_text=True)
    due = (datetime.now(timezone.utc) + timedelta(days=20)).isoformat()
    for move, body in (("acknowledge", None), ("request-info", {"question": "Ở đâu?"}),
                       ("answer", {"outcome": "planned", "text": "Đưa vào kế hoạch."}),
                       ("return", {"reason_code": "other", "note": "Không phải của chúng tôi."}),
                       ("extensions", {"reason": "Chờ vật tư", "new_due_at": due})):
        response = client.post(f"/api/v1/reports/{report.tracking_code}/{move}", json=body,
                               headers=headers)
        assert response.status_code == 403, (move, response.json)
        assert response.json["code"] == "not_allowed"
    assert db_session.get(Report, report.id).status == ReportStatus.ASSIGNED


def test_a_moderator_cannot_approve_an_extension(client, db_session, auth_header):
    report = _routed(db_session)
    officer = auth_header("officer")
    client.post(f"/api/v1/reports/{report.tracking_code}/acknowledge", headers=officer)
    due = db_session.get(Report, report.id).resolve_due_at
    asked = client.post(f"/api/v1/reports/{report.tracking_code}/extensions", headers=officer,
                        json={"reason": "Chờ vật tư",
                              "new_due_at": (due + timedelta(days=1)).isoformat()})
    assert asked.status_code == 201
    decision = {"approve": True}
    path = f"/api/v1/extensions/{asked.json['id']}/decision"
    assert client.post(path, json=decision, headers=auth_header("moderator")).status_code == 403
    approved = client.post(path, json=decision, headers=auth_header("supervisor"))
    assert approved.status_code == 200 and approved.json["state"] == "approved"


def test_a_department_never_sees_who_sent_an_anonymous_report(client, db_session, auth_header):
    report = _routed(db_session, anonymous=True)
    as_officer = client.get(f"/api/v1/staff/reports/{report.tracking_code}",
                            headers=auth_header("officer"))
    assert as_officer.json["reporter"] is None
    assert report.citizen.phone not in as_officer.get_data(as_text=True)
    as_moderator = client.get(f"/api/v1/staff/reports/{report.tracking_code}",
                              headers=auth_header("moderator"))
    assert as_moderator.json["reporter"]["phone"] == report.citizen.phone


def test_a_rejection_reason_outside_the_list_is_a_validation_error(client, db_session,
                                                                   auth_header):
    report = factories.report(db_session)
    response = client.post(f"/api/v1/reports/{report.tracking_code}/reject",
                           json={"reason_code": "bored"}, headers=auth_header("moderator"))
    assert response.status_code == 422
    assert "reason_code" in response.json["details"]
    assert db_session.get(Report, report.id).status == ReportStatus.SUBMITTED


def test_a_citizen_cannot_act_on_someone_elses_report(app, client, db_session):
    from feedback.services.auth import issue_token
    report = _routed(db_session)
    stranger = factories.citizen(db_session)
    token = issue_token(stranger, secret=app.config["SECRET_KEY"],
                        now=datetime.now(timezone.utc), lifetime=timedelta(hours=1)).token
    response = client.post(f"/api/v1/reports/{report.tracking_code}/reopen",
                           json={"reason": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


@pytest.fixture
def committed_report(app):
    """A routed report committed for real, so two connections can race over it."""
    with app.app_context():
        report = _routed(db.session)
        db.session.commit()
        report_id = report.id
        db.session.remove()
    yield report_id
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM notifications WHERE report_id = :id"),
                               {"id": report_id})
            connection.execute(text("DELETE FROM outbox_messages WHERE args::text LIKE :a"),
                               {"a": f"[{report_id}]"}) if connection.dialect.name == \
                "postgresql" else None
            connection.execute(text("DELETE FROM report_events WHERE report_id = :id"),
                               {"id": report_id})
            connection.execute(delete(Report).where(Report.id == report_id))


def test_two_concurrent_acknowledgements_make_one_event(app, committed_report):
    results = []
    barrier = threading.Barrier(2)

    def acknowledge():
        with app.app_context():
            with Session(db.engine) as session:
                officer = factories.staff(session, "officer")
                barrier.wait()
                try:
                    report = workflow.load_for_move(session, committed_report)
                    workflow.acknowledge(session, report, actor=officer,
                                         now=datetime.now(timezone.utc))
                    session.commit()
                    results.append("won")
                except workflow.IllegalMove:
                    session.rollback()
                    results.append("refused")

    threads = [threading.Thread(target=acknowledge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["refused", "won"]
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(ReportEvent).where(
            ReportEvent.report_id == committed_report, ReportEvent.kind == "acknowledged")
        ).scalar()
        db.session.remove()
    assert count == 1


def test_an_officer_answers_fixed_with_proof_photos_in_one_multipart_request(
        app, client, db_session, auth_header, now):
    from tests.samples import phone_jpeg

    report = factories.acknowledged_report(db_session, now=now - timedelta(hours=1))
    db_session.commit()
    response = client.post(
        f"/api/v1/reports/{report.tracking_code}/answer-with-photos",
        headers=auth_header("officer"), content_type="multipart/form-data",
        data={"outcome": "fixed", "text": "Đã vá ổ gà.",
              "photos": [(io.BytesIO(phone_jpeg(800, 600, seed=5)), "after.jpg")]})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "resolved"
    [photo] = [p for p in db_session.get(Report, report.id).photos if p.kind == "answer"]
    assert photo.state == "pending" and photo.event_id is not None
    assert (photo_folder(app) / photo.original_key).exists()  # for the photo job


def test_an_answer_with_a_bad_photo_is_422_names_it_and_keeps_nothing(
        app, client, db_session, auth_header, now):
    report = factories.acknowledged_report(db_session, now=now - timedelta(hours=1))
    db_session.commit()
    before = set(photo_folder(app).iterdir())
    response = client.post(
        f"/api/v1/reports/{report.tracking_code}/answer-with-photos",
        headers=auth_header("officer"), content_type="multipart/form-data",
        data={"outcome": "fixed", "text": "Đã vá ổ gà.",
              "photos": [(io.BytesIO(b"%PDF-1.4 not a photo"), "after.jpg")]})
    assert response.status_code == 422
    assert response.json["code"] == "photo_rejected" and "photos[0]" in response.json["details"]
    db_session.expire_all()
    assert db_session.get(Report, report.id).status == ReportStatus.IN_PROGRESS
    assert set(photo_folder(app).iterdir()) == before


def test_another_departments_officer_cannot_answer_with_photos_and_nothing_is_stored(
        app, client, db_session, auth_header, now):
    from tests.samples import phone_jpeg

    report = factories.acknowledged_report(db_session, now=now - timedelta(hours=1))
    db_session.commit()
    before = set(photo_folder(app).iterdir())
    response = client.post(
        f"/api/v1/reports/{report.tracking_code}/answer-with-photos",
        headers=auth_header("officer.ninhkieu"), content_type="multipart/form-data",
        data={"outcome": "fixed", "text": "Đã vá.",
              "photos": [(io.BytesIO(phone_jpeg(300, 200, seed=6)), "after.jpg")]})
    assert response.status_code == 403
    assert set(photo_folder(app).iterdir()) == before


def photo_folder(app):
    from pathlib import Path

    return Path(app.config["PHOTO_FOLDER"])
