"""The public pages under /cong-khai/: Vietnamese, server-rendered, escaped, no sign-in."""
from datetime import datetime, timedelta, timezone

import pytest

from feedback.models import Outcome
from feedback.services import workflow
from tests import factories


@pytest.fixture
def now():
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_the_list_shows_public_reports_with_their_status_and_department(
        client, db_session, now):
    shown = factories.acknowledged_report(db_session, now=now,
                                          description="Đèn đường hỏng trước chợ")
    hidden = factories.routed_report(db_session, now=now, description="Không được hiện")
    hidden.is_hidden = True
    db_session.commit()

    html = page(client, "/cong-khai/")
    assert '<html lang="vi">' in html
    assert "Đèn đường hỏng trước chợ" in html and shown.tracking_code in html
    assert "Đang xử lý" in html and "Sở Xây dựng thành phố Cần Thơ" in html
    assert "Không được hiện" not in html
    assert "Content-Security-Policy" in client.get("/cong-khai/").headers


def test_filters_narrow_the_list_and_the_pager_keeps_them(client, db_session, now):
    for minutes in range(22):
        factories.routed_report(db_session, now=now - timedelta(minutes=minutes),
                                category="trat-tu-do-thi", description=f"Lấn chiếm số {minutes}")
    factories.routed_report(db_session, now=now, description="Ổ gà giao thông")
    db_session.commit()

    html = page(client, "/cong-khai/?category=trat-tu-do-thi&status=assigned")
    assert "Ổ gà giao thông" not in html
    assert html.count("Lấn chiếm số") == 20
    assert "page=2" in html and "category=trat-tu-do-thi" in html
    second = page(client, "/cong-khai/?category=trat-tu-do-thi&status=assigned&page=2")
    assert second.count("Lấn chiếm số") == 2


def test_a_bad_period_is_explained_in_vietnamese(client):
    html = page(client, "/cong-khai/?from=2026-05-01&to=2026-01-01", status=400)
    assert "Ngày kết thúc phải sau ngày bắt đầu." in html


@pytest.mark.parametrize("url", ["/cong-khai/?from=0001-01-01", "/cong-khai/?to=9999-12-31",
                                 "/cong-khai/don-vi?from=0001-01-01"])
def test_a_day_out_of_any_calendar_is_a_clear_400_not_a_crash(client, url):
    page(client, url, status=400)


def test_a_report_page_shows_the_answer_its_photos_and_the_timeline(client, db_session, now):
    report = factories.acknowledged_report(db_session, now=now)
    picture = factories.ready_photo(db_session, report)
    proof = factories.ready_photo(db_session, report, kind="answer")
    workflow.answer(db_session, report, actor=factories.staff(db_session, "officer"), now=now,
                    outcome=Outcome.FIXED, text="Đã thay bóng đèn", photos=[proof])
    db_session.commit()

    html = page(client, f"/cong-khai/phan-anh/{report.tracking_code}")
    assert "Đã khắc phục" in html and "Đã thay bóng đèn" in html
    assert picture.thumbnail_key in html and proof.thumbnail_key in html
    assert picture.original_key not in html
    assert "Chuyển đơn vị xử lý" in html and "Đơn vị tiếp nhận xử lý" in html


def test_what_people_wrote_is_escaped(client, db_session, now):
    report = factories.routed_report(db_session, now=now,
                                     description='<script>alert("x")</script> & <b>đậm</b>')
    report.title = "<img src=x onerror=alert(1)>"
    db_session.commit()
    for url in ("/cong-khai/", f"/cong-khai/phan-anh/{report.tracking_code}"):
        html = page(client, url)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_report_that_is_not_public_is_not_found(client, db_session, now):
    report = factories.report(db_session, now=now)
    db_session.commit()
    html = page(client, f"/cong-khai/phan-anh/{report.tracking_code}", status=404)
    assert "Không tìm thấy phản ánh" in html


def test_the_scorecards_page_shows_each_department_and_the_total(app, client, db_session, now,
                                                                 monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_SCORECARD_CACHE_SECONDS", 0)
    factories.resolved_report(db_session, now=now - timedelta(days=2))
    db_session.commit()
    html = page(client, "/cong-khai/don-vi")
    assert "Sở Xây dựng thành phố Cần Thơ" in html
    assert "100,0%" in html  # resolved on time, in Vietnamese number format
    page(client, "/cong-khai/don-vi?from=2020-01-01&to=2026-01-01", status=400)
