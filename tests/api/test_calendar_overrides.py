"""/api/v1/admin/calendar-overrides: days off and working days an administrator declares."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from feedback.models import CalendarOverride
from tests import factories

ICT = ZoneInfo("Asia/Ho_Chi_Minh")
PATH = "/api/v1/admin/calendar-overrides"


def local(month, day, hour) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ICT)


def _count(db_session) -> int:
    return db_session.execute(select(func.count()).select_from(CalendarOverride)).scalar()


def test_an_admin_adds_a_day_off_and_a_due_time_computed_after_it_skips_that_day(
        client, db_session, auth_header):
    monday_16 = local(10, 5, 16)
    before = factories.routed_report(db_session, now=monday_16)
    # Eight working hours to acknowledge: one on Monday, seven on Tuesday.
    assert before.due_at == local(10, 6, 16)

    response = client.post(PATH, headers=auth_header("admin"), json={
        "day": "2026-10-06", "kind": "day_off", "note": "Nghỉ phòng chống bão số 10"})
    assert response.status_code == 201, response.json
    assert response.json["day"] == "2026-10-06" and response.json["kind"] == "day_off"

    after = factories.routed_report(db_session, now=monday_16)
    assert after.due_at == local(10, 7, 16)  # Tuesday skipped
    db_session.refresh(before)
    assert before.due_at == local(10, 6, 16)  # a due time already set stays


def test_a_saturday_declared_a_working_day_counts_for_clocks_started_after(
        client, db_session, auth_header):
    response = client.post(PATH, headers=auth_header("admin"),
                           json={"day": "2026-10-10", "kind": "working_day"})
    assert response.status_code == 201
    report = factories.routed_report(db_session, now=local(10, 9, 16))  # Friday 16:00
    assert report.due_at == local(10, 10, 16)  # Saturday, not Monday


def test_a_date_with_an_override_already_is_409_and_changes_nothing(client, db_session,
                                                                     auth_header):
    headers = auth_header("admin")
    assert client.post(PATH, headers=headers,
                       json={"day": "2026-10-06", "kind": "day_off"}).status_code == 201
    again = client.post(PATH, headers=headers,
                        json={"day": "2026-10-06", "kind": "working_day", "note": "Làm bù"})
    assert again.status_code == 409
    assert again.json["code"] == "conflict" and "day" in again.json["details"]
    [override] = client.get(PATH, headers=headers).json
    assert (override["kind"], override["note"]) == ("day_off", None)


@pytest.mark.embedded
@pytest.mark.parametrize("body, field", [
    ({"day": "2026-10-06", "kind": "holiday"}, "kind"),
    ({"day": "06/10/2026", "kind": "day_off"}, "day"),
    ({"kind": "day_off"}, "day"),
    ({"day": "2026-10-06", "kind": "day_off", "note": "x" * 301}, "note"),
    ({"day": "2026-10-11", "kind": "day_off"}, "day"),  # a Sunday: off already
    ({"day": "2026-09-02", "kind": "day_off"}, "day"),  # National Day
    ({"day": "2026-10-07", "kind": "working_day"}, "day"),  # a Wednesday: worked already
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(client, db_session,
                                                                auth_header, body, field):
    response = client.post(PATH, headers=auth_header("admin"), json=body)
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert field in response.json["details"]
    assert _count(db_session) == 0


def test_overrides_are_listed_by_date_and_by_year(client, auth_header):
    headers = auth_header("admin")
    for day, kind in (("2027-02-13", "working_day"), ("2026-10-06", "day_off"),
                      ("2026-12-31", "day_off")):
        assert client.post(PATH, headers=headers, json={"day": day, "kind": kind}
                           ).status_code == 201
    assert [o["day"] for o in client.get(PATH, headers=headers).json] == [
        "2026-10-06", "2026-12-31", "2027-02-13"]
    assert [o["day"] for o in client.get(PATH, headers=headers,
                                         query_string={"year": 2027}).json] == ["2027-02-13"]


def test_removing_an_override_gives_the_national_calendar_back(client, db_session,
                                                               auth_header):
    headers = auth_header("admin")
    client.post(PATH, headers=headers, json={"day": "2026-10-06", "kind": "day_off"})
    assert client.delete(f"{PATH}/2026-10-06", headers=headers).status_code == 204
    assert client.delete(f"{PATH}/2026-10-06", headers=headers).status_code == 404
    assert client.delete(f"{PATH}/not-a-date", headers=headers).status_code == 404
    report = factories.routed_report(db_session, now=local(10, 5, 16))
    assert report.due_at == local(10, 6, 16)


@pytest.mark.embedded
@pytest.mark.parametrize("username", ["supervisor", "moderator", "officer"])
def test_only_admins_keep_the_calendar(client, db_session, auth_header, username):
    headers = auth_header(username)
    assert client.get(PATH, headers=headers).status_code == 403
    assert client.post(PATH, headers=headers,
                       json={"day": "2026-10-06", "kind": "day_off"}).status_code == 403
    assert client.delete(f"{PATH}/2026-10-06", headers=headers).status_code == 403
    assert _count(db_session) == 0
