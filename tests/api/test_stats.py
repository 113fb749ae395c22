"""GET /api/v1/stats: the figures supervisors read, and who may read them."""
from datetime import datetime, timedelta, timezone

import pytest

from feedback.models import Outcome
from feedback.services import workflow
from tests import factories


def _october_path(**params) -> str:
    query = {"start": "2026-10-01", "end": "2026-11-01", **params}
    return "/api/v1/stats?" + "&".join(f"{key}={value}" for key, value in query.items())


@pytest.fixture
def a_month_of_work(db_session):
    """Two reports for Sở Xây dựng three weeks ago: one answered the next day, one still
    open long past its five working days."""
    began = datetime.now(timezone.utc) - timedelta(days=21)
    done = factories.acknowledged_report(db_session, now=began)
    workflow.answer(db_session, done, actor=factories.staff(db_session, "officer"),
                    now=began + timedelta(days=1), outcome=Outcome.PLANNED, text="Sẽ sửa")
    factories.acknowledged_report(db_session, now=began)
    db_session.flush()
    now = datetime.now(timezone.utc)
    return {"start": (now - timedelta(days=30)).isoformat(),
            "end": (now + timedelta(days=1)).isoformat()}


def test_a_supervisor_reads_each_departments_on_time_rate_with_open_overdue_work_counted(
        client, auth_header, a_month_of_work):
    response = client.get("/api/v1/stats", query_string={"group_by": "department",
                                                         **a_month_of_work},
                          headers=auth_header("supervisor"))
    assert response.status_code == 200, response.json
    [works] = response.json["groups"]
    assert works["key"] == "ct-so-xay-dung" and works["name"].startswith("Sở Xây dựng")
    assert {name: works[name] for name in ("received", "resolved", "on_time", "late",
                                           "open_overdue", "on_time_rate")} == {
        "received": 2, "resolved": 1, "on_time": 1, "late": 0, "open_overdue": 1,
        "on_time_rate": 0.5}
    assert response.json["total"]["on_time_rate"] == 0.5
    assert response.json["group_by"] == "department"
    assert response.json["as_of"] is not None


def test_figures_by_category_and_by_commune_name_their_groups(client, auth_header,
                                                              a_month_of_work):
    headers = auth_header("admin")
    by_category = client.get("/api/v1/stats", query_string={"group_by": "category",
                                                            **a_month_of_work},
                             headers=headers).json
    assert [(g["key"], g["name"]) for g in by_category["groups"]] == [("giao-thong",
                                                                       "Giao thông")]
    by_area = client.get("/api/v1/stats", query_string={"group_by": "area", **a_month_of_work},
                         headers=headers).json
    assert [(g["key"], g["name"]) for g in by_area["groups"]] == [("31135", "Phường Ninh Kiều")]


@pytest.mark.embedded
def test_a_date_alone_means_midnight_in_vietnam_and_the_end_is_excluded(client, auth_header):
    response = client.get(_october_path(), headers=auth_header("supervisor"))
    assert response.status_code == 200
    assert response.json["start"] == "2026-09-30T17:00:00+00:00"
    assert response.json["end"] == "2026-10-31T17:00:00+00:00"
    assert response.json["groups"] == []
    assert response.json["total"]["on_time_rate"] is None  # nothing to judge


def test_without_a_period_the_figures_are_this_months(client, auth_header):
    response = client.get("/api/v1/stats", headers=auth_header("supervisor"))
    assert response.status_code == 200
    start = datetime.fromisoformat(response.json["start"])
    assert start.astimezone(timezone(timedelta(hours=7))).day == 1


@pytest.mark.embedded
@pytest.mark.parametrize("username", ["officer", "moderator"])
def test_only_supervisors_and_admins_read_the_figures(client, auth_header, username):
    response = client.get(_october_path(), headers=auth_header(username))
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"
    assert client.get(_october_path()).status_code == 401


@pytest.mark.embedded
@pytest.mark.parametrize("params, field", [
    ({"group_by": "district"}, "group_by"),
    ({"start": "2026-11-01", "end": "2026-10-01"}, "end"),
    ({"start": "2024-01-01", "end": "2026-01-01"}, "end"),
    ({"start": "1/10/2026"}, "start"),
    ({"start": "2026-10-01T07:30:00"}, "start"),  # no offset: which time zone?
])
def test_a_bad_query_is_422_naming_the_field(client, auth_header, params, field):
    response = client.get(_october_path(**params), headers=auth_header("supervisor"))
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert field in response.json["details"]


def test_the_figures_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/stats"]
    assert set(paths["/api/v1/admin/calendar-overrides"]) >= {"get", "post"}
    assert "delete" in paths["/api/v1/admin/calendar-overrides/{day}"]
