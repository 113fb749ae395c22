from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from feedback.models import Category, Department, Report, ReportStatus, User


def _department(db_session, code):
    return db_session.execute(select(Department).where(Department.code == code)).scalar_one()


def _report(db_session, n, department, *, due_in_hours, status=ReportStatus.ASSIGNED,
            anonymous=False):
    category = db_session.execute(select(Category).where(Category.code == "giao-thong")).scalar_one()
    citizen = db_session.execute(select(User).where(User.phone == "+84900000001")).scalar_one()
    report = Report(
        tracking_code=f"PA-2026-9{n:05d}", citizen=citizen, category=category,
        description="Ổ gà lớn giữa đường", status=status, lead_department=department,
        due_at=datetime.now(timezone.utc) + timedelta(hours=due_in_hours),
        is_anonymous=anonymous, contact_phone="+84900000001", contact_name="Nguyễn Văn Dân",
    )
    db_session.add(report)
    db_session.flush()
    return report


@pytest.mark.embedded
def test_an_officer_sees_their_own_departments_queue_soonest_deadline_first(
        client, db_session, auth_header):
    department = _department(db_session, "ct-so-xay-dung")
    later = _report(db_session, 1, department, due_in_hours=30)
    sooner = _report(db_session, 2, department, due_in_hours=3)
    _report(db_session, 3, department, due_in_hours=1, status=ReportStatus.RESOLVED)
    response = client.get("/api/v1/departments/ct-so-xay-dung/queue",
                          headers=auth_header("officer"))
    assert response.status_code == 200
    assert [item["tracking_code"] for item in response.json] == [
        sooner.tracking_code, later.tracking_code]
    assert response.json[0]["status_label"] == "Chờ xử lý"


@pytest.mark.embedded
def test_an_officer_cannot_open_another_departments_queue(client, auth_header):
    response = client.get("/api/v1/departments/ct-so-xay-dung/queue",
                          headers=auth_header("officer.ninhkieu"))
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"


@pytest.mark.parametrize("username", ["moderator", "supervisor", "admin"])
def test_province_wide_staff_may_open_any_departments_queue(client, auth_header, username):
    response = client.get("/api/v1/departments/ct-ubnd-31135/queue", headers=auth_header(username))
    assert response.status_code == 200


def test_a_queue_shows_no_citizen_identity(client, db_session, auth_header):
    department = _department(db_session, "ct-so-xay-dung")
    _report(db_session, 4, department, due_in_hours=2, anonymous=True)
    response = client.get("/api/v1/departments/ct-so-xay-dung/queue",
                          headers=auth_header("officer"))
    body = response.get_data(as_text=True)
    assert "+84900000001" not in body
    assert "Nguyễn Văn Dân" not in body
    assert "citizen" not in body


def test_a_department_queue_lists_the_reports_it_coordinates_marked_as_such(
        client, db_session, auth_header):
    building = _department(db_session, "ct-so-xay-dung")
    water = _department(db_session, "ct-cap-thoat-nuoc")
    own = _report(db_session, 5, building, due_in_hours=5)
    coordinated = _report(db_session, 6, water, due_in_hours=2)
    coordinated.coordinators = [building]
    db_session.flush()
    response = client.get("/api/v1/departments/ct-so-xay-dung/queue",
                          headers=auth_header("officer"))
    assert response.status_code == 200
    codes = [item["tracking_code"] for item in response.json]
    assert codes.index(coordinated.tracking_code) < codes.index(own.tracking_code)
    marks = {item["tracking_code"]: item["coordinating"] for item in response.json}
    assert marks[coordinated.tracking_code] is True and marks[own.tracking_code] is False
    lead = client.get("/api/v1/departments/ct-cap-thoat-nuoc/queue",
                      headers=auth_header("supervisor"))
    marks = {item["tracking_code"]: item["coordinating"] for item in lead.json}
    assert marks[coordinated.tracking_code] is False


def test_an_unknown_department_is_404(client, auth_header):
    response = client.get("/api/v1/departments/nope/queue", headers=auth_header("supervisor"))
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_the_department_list_is_for_staff_only(client, auth_header):
    assert client.get("/api/v1/departments").status_code == 401
    response = client.get("/api/v1/departments", headers=auth_header("officer"))
    assert response.status_code == 200
    codes = {department["code"] for department in response.json}
    assert {"ct-so-xay-dung", "ct-dien-luc", "ct-ubnd-31135"} <= codes


def test_a_queue_limit_out_of_range_is_a_validation_error(client, auth_header):
    response = client.get("/api/v1/departments/ct-so-xay-dung/queue?limit=100000",
                          headers=auth_header("officer"))
    assert response.status_code == 422
    assert "limit" in response.json["details"]
