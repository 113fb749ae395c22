"""A citizen downloads their data and deletes their account through the API."""
from datetime import datetime, timedelta, timezone

from feedback.services.auth import issue_token
from tests import factories


def _headers(app, user):
    token = issue_token(user, secret=app.config["SECRET_KEY"], now=datetime.now(timezone.utc),
                        lifetime=timedelta(hours=1)).token
    return {"Authorization": f"Bearer {token}"}


def test_a_citizen_downloads_their_data(app, client, db_session):
    citizen = factories.citizen(db_session, phone="+84981112222", name="Võ Thị Sáu")
    report = factories.report(db_session, sender=citizen)
    response = client.get("/api/v1/me/data", headers=_headers(app, citizen))
    assert response.status_code == 200
    assert response.json["account"]["full_name"] == "Võ Thị Sáu"
    assert response.json["reports"][0]["tracking_code"] == report.tracking_code


def test_a_deleted_account_signs_out_everywhere_and_its_report_stays_anonymised(
        app, client, db_session, auth_header):
    citizen = factories.citizen(db_session, phone="+84981113333", name="Đặng Văn Ngữ")
    report = factories.report(db_session, sender=citizen)
    headers = _headers(app, citizen)
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    staff = client.get(f"/api/v1/staff/reports/{report.tracking_code}",
                       headers=auth_header("moderator"))
    assert staff.status_code == 200
    assert staff.json["reporter"] is None
    assert "+84981113333" not in staff.get_data(as_text=True)


def test_staff_cannot_use_the_citizen_deletion(client, auth_header):
    assert client.delete("/api/v1/me", headers=auth_header("officer")).status_code == 403
