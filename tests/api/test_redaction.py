"""Moderators edit personal data out of a report's title and text over the API; the
citizen's own words stay for admins only."""
from tests import factories


def test_a_moderator_redacts_the_title_and_the_text_and_only_admins_read_the_originals(
        client, db_session, auth_header, now):
    report = factories.report(db_session, now=now, description="Gọi anh Tuấn 0912345678.")
    report.title = "Ổ gà nhà anh Tuấn"
    db_session.flush()
    url = f"/api/v1/reports/{report.tracking_code}/redaction"
    response = client.post(url, json={"title": "Ổ gà", "description": "Gọi [đã ẩn]."},
                           headers=auth_header("moderator"))
    assert response.status_code == 200, response.json
    assert response.json["title"] == "Ổ gà" and response.json["description"] == "Gọi [đã ẩn]."
    assert response.json["title_original"] is None  # a moderator does not read them back
    assert report.title_original == "Ổ gà nhà anh Tuấn"
    staff = client.get(f"/api/v1/staff/reports/{report.tracking_code}",
                       headers=auth_header("admin")).json
    assert staff["title_original"] == "Ổ gà nhà anh Tuấn"
    assert staff["description_original"] == "Gọi anh Tuấn 0912345678."
    staff = client.get(f"/api/v1/staff/reports/{report.tracking_code}",
                       headers=auth_header("supervisor")).json
    assert staff["title_original"] is None and staff["description_original"] is None
    public = client.get(f"/api/v1/public/reports/{report.tracking_code}")
    assert "Tuấn" not in public.get_data(as_text=True)


def test_redaction_is_for_moderators_and_needs_a_change(client, db_session, auth_header, now):
    report = factories.routed_report(db_session, now=now)
    url = f"/api/v1/reports/{report.tracking_code}/redaction"
    assert client.post(url, json={"title": "x"},
                       headers=auth_header("officer")).status_code == 403
    response = client.post(url, json={}, headers=auth_header("moderator"))
    assert response.status_code == 422
    response = client.post(url, json={"description": report.description},
                           headers=auth_header("moderator"))
    assert response.status_code == 422 and "description" in response.json["details"]


def test_the_originals_never_appear_in_a_queue(client, db_session, auth_header, now):
    report = factories.report(db_session, now=now, description="Gọi anh Tuấn 0912345678.")
    client.post(f"/api/v1/reports/{report.tracking_code}/redaction",
                json={"description": "Gọi [đã ẩn]."}, headers=auth_header("moderator"))
    queue = client.get("/api/v1/moderation/queue", headers=auth_header("moderator"))
    assert queue.status_code == 200 and report.tracking_code in queue.get_data(as_text=True)
    assert "0912345678" not in queue.get_data(as_text=True)
