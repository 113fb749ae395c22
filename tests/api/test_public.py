"""The public JSON API under /api/v1/public: which reports show, what of them, filters,
paging, one report in full, and the departments' scorecards."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feedback.models import Outcome, Rating
from feedback.services import stats, workflow
from tests import factories

ICT = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def now():
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)


def codes(client, query=""):
    response = client.get(f"/api/v1/public/reports?{query}")
    assert response.status_code == 200, response.json
    return [item["tracking_code"] for item in response.json["items"]]


def test_only_approved_reports_the_citizen_allowed_and_no_moderator_hid_are_listed(
        client, db_session, now):
    moderator = factories.staff(db_session, "moderator")
    shown = factories.routed_report(db_session, now=now)
    # Approved, waiting for a moderator to route it by hand: public, "Chờ tiếp nhận".
    approved = factories.report(db_session, category="khac", now=now - timedelta(minutes=1))
    workflow.approve(db_session, approved, actor=moderator, now=now)
    waiting = factories.report(db_session, now=now)
    rejected = factories.routed_report(db_session, now=now)
    workflow.reject(db_session, rejected, actor=moderator, now=now, reason_code="abusive")
    hidden = factories.routed_report(db_session, now=now)
    hidden.is_hidden = True
    private = factories.routed_report(db_session, now=now)
    private.is_public = False
    db_session.commit()

    listed = codes(client)
    assert listed == [shown.tracking_code, approved.tracking_code]
    for report in (waiting, rejected, hidden, private):
        assert client.get(f"/api/v1/public/reports/{report.tracking_code}").status_code == 404
    item = client.get("/api/v1/public/reports").json["items"][1]
    assert (item["status"], item["status_label"]) == ("submitted", "Chờ tiếp nhận")


def test_a_listed_report_shows_where_who_handles_it_and_by_when(client, db_session, now):
    report = factories.acknowledged_report(db_session, now=now)
    report.latitude, report.longitude = 10.0345678, 105.7812345
    report.title = "Ổ gà"
    db_session.commit()

    item = client.get("/api/v1/public/reports").json["items"][0]
    assert item["category"] == {"code": "giao-thong", "name": "Giao thông"}
    assert item["commune"] == {"code": "31135", "name": "Phường Ninh Kiều"}
    assert item["province"] == "Thành phố Cần Thơ"
    assert item["department"] == {"code": "ct-so-xay-dung",
                                  "name": "Sở Xây dựng thành phố Cần Thơ"}
    assert (item["status"], item["status_label"], item["overdue"]) == (
        "in_progress", "Đang xử lý", False)
    assert item["due_at"] == report.resolve_due_at.isoformat()
    # About 100 m: three decimals of a degree.
    assert (item["latitude"], item["longitude"]) == (10.035, 105.781)
    assert item["title"] == "Ổ gà" and item["outcome"] is None
    assert client.get("/api/v1/public/reports").headers["Cache-Control"] == "public, max-age=60"


def test_filters_by_category_commune_department_and_status(client, db_session, now):
    traffic = factories.acknowledged_report(db_session, now=now)
    order = factories.routed_report(db_session, category="trat-tu-do-thi", commune="31135",
                                    now=now - timedelta(minutes=1))
    elsewhere = factories.routed_report(db_session, category="trat-tu-do-thi", commune="31120",
                                        now=now - timedelta(minutes=2))
    db_session.commit()

    assert codes(client, "category=giao-thong") == [traffic.tracking_code]
    assert codes(client, "commune=31135") == [traffic.tracking_code, order.tracking_code]
    assert codes(client, "department=ct-ubnd-31120") == [elsewhere.tracking_code]
    assert codes(client, "status=assigned") == [order.tracking_code, elsewhere.tracking_code]
    assert codes(client, "status=in_progress,assigned&commune=31135") == [
        traffic.tracking_code, order.tracking_code]
    assert codes(client, "status=in_progress&status=assigned&category=trat-tu-do-thi") == [
        order.tracking_code, elsewhere.tracking_code]
    assert codes(client, "category=&commune=&status=") == codes(client)


def test_the_period_is_the_last_90_days_unless_asked(client, db_session, now):
    recent = factories.routed_report(db_session, now=now)
    old = factories.routed_report(db_session, now=now - timedelta(days=200))
    db_session.commit()
    assert codes(client) == [recent.tracking_code]
    day = (now - timedelta(days=200)).astimezone(ICT).date()
    assert codes(client, f"from={day}&to={day}") == [old.tracking_code]
    body = client.get(f"/api/v1/public/reports?from={day}").json
    assert body["period"] == {"from": day.isoformat(),
                              "to": (day + timedelta(days=89)).isoformat()}


@pytest.mark.parametrize("query, field", [
    ("status=rejected", "status"),
    ("status=nothing", "status"),
    ("from=2025-01-01&to=2026-06-01", "from"),
    ("from=2026-02-01&to=2026-01-01", "to"),
    ("from=yesterday", "from"),
    ("per_page=101", "per_page"),
    ("page=900&per_page=100", "page"),
])
def test_filters_that_cannot_be_used_are_422_with_the_field_named(client, query, field):
    response = client.get(f"/api/v1/public/reports?{query}")
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert field in response.json["details"]


def test_pages_follow_each_other_newest_first(client, db_session, now):
    made = [factories.routed_report(db_session, now=now - timedelta(minutes=i))
            for i in range(5)]
    db_session.commit()
    first = client.get("/api/v1/public/reports?per_page=2").json
    last = client.get("/api/v1/public/reports?per_page=2&page=3").json
    assert [i["tracking_code"] for i in first["items"]] == [r.tracking_code for r in made[:2]]
    assert first["has_next"] is True
    assert [i["tracking_code"] for i in last["items"]] == [made[4].tracking_code]
    assert last["has_next"] is False


def test_one_report_shows_its_photos_the_answer_with_its_photos_and_the_public_timeline(
        client, db_session, now):
    report = factories.acknowledged_report(db_session, now=now)
    shown = factories.ready_photo(db_session, report, position=0)
    hidden = factories.ready_photo(db_session, report, position=1, hidden=True)
    pending = factories.ready_photo(db_session, report, position=2)
    pending.state = "pending"
    proof = factories.ready_photo(db_session, report, kind="answer")
    hidden_proof = factories.ready_photo(db_session, report, kind="answer", position=1,
                                         hidden=True)
    officer = factories.staff(db_session, "officer")
    workflow.answer(db_session, report, actor=officer, now=now, outcome=Outcome.FIXED,
                    text="Đã vá ổ gà", photos=[proof, hidden_proof])
    db_session.commit()

    detail = client.get(f"/api/v1/public/reports/{report.tracking_code.lower()}").json
    assert [p["url"] for p in detail["photos"]] == [
        f"/api/v1/photos/{shown.id}/{shown.display_key}"]
    assert detail["thumbnail_url"] == f"/api/v1/photos/{shown.id}/{shown.thumbnail_key}"
    answer = detail["answer"]
    assert (answer["outcome"], answer["outcome_label"], answer["text"]) == (
        "fixed", "Đã khắc phục", "Đã vá ổ gà")
    assert [p["url"] for p in answer["photos"]] == [
        f"/api/v1/photos/{proof.id}/{proof.display_key}"]
    body = str(detail)
    for photo in (hidden, pending, hidden_proof):
        assert photo.display_key not in body and photo.thumbnail_key not in body
    for photo in (shown, hidden, pending, proof, hidden_proof):
        assert photo.original_key not in body
    assert [(e["kind"], e["status"]) for e in detail["timeline"]] == [
        ("submitted", "submitted"), ("approved", None), ("assigned", "assigned"),
        ("acknowledged", "in_progress"), ("resolved", "resolved")]
    assigned = detail["timeline"][2]
    assert assigned["department"] == "Sở Xây dựng thành phố Cần Thơ"
    assert detail["timeline"][-1]["note"] == "Đã vá ổ gà"
    assert detail["coordinators"] == []


def test_the_citizens_own_words_on_reopening_stay_off_the_public_timeline(
        client, db_session, now):
    citizen = factories.citizen(db_session)
    report = factories.resolved_report(db_session, now=now, sender=citizen)
    workflow.reopen(db_session, report, actor=citizen, now=now,
                    reason="Vẫn chưa sửa, gọi tôi 0912345678")
    workflow.request_info(db_session, report, actor=factories.staff(db_session, "officer"),
                          now=now, question="Xin ảnh chụp mới")
    db_session.commit()
    detail = client.get(f"/api/v1/public/reports/{report.tracking_code}").json
    reopened = next(e for e in detail["timeline"] if e["kind"] == "reopened")
    assert reopened["note"] is None
    assert "0912345678" not in str(detail)
    asked = next(e for e in detail["timeline"] if e["kind"] == "info_requested")
    assert asked["note"] == "Xin ảnh chụp mới"
    # Reopened: the earlier answer no longer stands.
    assert detail["answer"] is None and detail["status"] == "awaiting_citizen"


def test_an_answer_waiting_for_a_supervisors_review_is_not_shown(app, client, db_session, now,
                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "RESULT_REVIEW", True)
    report = factories.acknowledged_report(db_session, now=now)
    workflow.answer(db_session, report, actor=factories.staff(db_session, "officer"), now=now,
                    outcome=Outcome.PLANNED, text="Chờ duyệt")
    db_session.commit()
    detail = client.get(f"/api/v1/public/reports/{report.tracking_code}").json
    assert detail["answer"] is None and "Chờ duyệt" not in str(detail)


def test_an_overdue_report_says_so(client, db_session, now):
    report = factories.acknowledged_report(db_session, now=now - timedelta(days=30))
    report.overdue_at = now - timedelta(days=2)
    db_session.commit()
    item = client.get("/api/v1/public/reports").json["items"][0]
    assert item["overdue"] is True


def test_a_duplicate_points_to_the_report_it_was_merged_into(client, db_session, now):
    original = factories.routed_report(db_session, now=now - timedelta(minutes=1))
    copy = factories.report(db_session, now=now)
    workflow.mark_duplicate(db_session, copy, original,
                            actor=factories.staff(db_session, "moderator"), now=now)
    db_session.commit()
    detail = client.get(f"/api/v1/public/reports/{copy.tracking_code}").json
    assert detail["status_label"] == "Trùng"
    assert detail["duplicate_of"] == original.tracking_code
    assert detail["timeline"][-1]["note"] == f"Trùng với phản ánh {original.tracking_code}"


def test_the_departments_filter_values_are_listed(client):
    departments = client.get("/api/v1/public/departments").json
    assert {"code": "ct-so-xay-dung", "name": "Sở Xây dựng thành phố Cần Thơ"} in departments
    assert all(set(d) == {"code", "name"} for d in departments)


@pytest.fixture
def fresh_scorecards(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_SCORECARD_CACHE_SECONDS", 0)


def test_scorecards_are_the_supervisors_figures_per_department(client, db_session, now,
                                                               fresh_scorecards):
    citizen = factories.citizen(db_session)
    on_time = factories.resolved_report(db_session, now=now - timedelta(days=3), sender=citizen)
    workflow.rate(db_session, on_time, actor=citizen, now=now, rating=Rating.SATISFIED)
    factories.acknowledged_report(db_session, now=now - timedelta(days=1))
    factories.routed_report(db_session, category="trat-tu-do-thi", now=now)
    db_session.commit()

    body = client.get("/api/v1/public/scorecards").json
    today = datetime.now(ICT).date()
    assert body["period"] == {"from": (today - timedelta(days=29)).isoformat(),
                              "to": today.isoformat()}
    by_code = {d["code"]: d for d in body["departments"]}
    works = by_code["ct-so-xay-dung"]
    assert works["name"] == "Sở Xây dựng thành phố Cần Thơ"
    assert (works["received"], works["resolved"], works["on_time"], works["late"]) == (2, 1, 1, 0)
    assert works["on_time_rate"] == 1.0
    assert works["rated"] == 1 and works["satisfied_rate"] == 1.0
    assert by_code["ct-ubnd-31135"]["received"] == 1

    # One source of truth: the same numbers as the supervisors' figures.
    period = stats.Period.of_days(today - timedelta(days=29), today + timedelta(days=1), ICT)
    _, total = stats.figures(db_session, group_by="department", period=period,
                                  now=datetime.now(timezone.utc))
    assert body["total"]["received"] == total.received
    assert body["total"]["resolved"] == total.resolved


def test_scorecards_refuse_a_period_of_more_than_a_year(client):
    response = client.get("/api/v1/public/scorecards?from=2024-01-01&to=2026-01-01")
    assert response.status_code == 422


def test_scorecards_are_computed_at_most_every_few_minutes_per_period(
        app, client, db_session, now, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_SCORECARD_CACHE_SECONDS", 300)
    query = "/api/v1/public/scorecards?from=2026-01-01&to=2026-01-31"
    first = client.get(query).json
    factories.routed_report(db_session, now=datetime(2026, 1, 15, 3, tzinfo=timezone.utc))
    db_session.commit()
    assert client.get(query).json == first  # from the cache
    monkeypatch.setitem(app.config, "PUBLIC_SCORECARD_CACHE_SECONDS", 0)
    assert client.get(query).json["total"]["received"] == first["total"]["received"] + 1


def test_scorecards_are_asked_for_a_limited_number_of_times_per_address(
        app, client, redis, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_SCORECARD_RATE_LIMIT", "2 per minute")
    # The page and the JSON count together: the same figures behind both.
    assert client.get("/api/v1/public/scorecards").status_code == 200
    assert client.get("/cong-khai/don-vi").status_code == 200
    limited = client.get("/api/v1/public/scorecards")
    assert limited.status_code == 429 and limited.json["code"] == "rate_limited"
    assert client.get("/cong-khai/don-vi").status_code == 429
