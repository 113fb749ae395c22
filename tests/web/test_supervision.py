"""Supervisors in the web view: overdue and due-soon queues, the dashboard and its exports."""
import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from feedback.models import Outcome, Rating
from feedback.services import deadlines, stats, workflow
from feedback.web.supervision import Choice, buckets, choice_from
from tests import factories

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _resolved(db_session, now, **kwargs):
    report = factories.acknowledged_report(db_session, now=now, **kwargs)
    workflow.answer(db_session, report, actor=factories.staff(db_session, "officer"), now=now,
                    outcome=Outcome.PLANNED, text="Đưa vào kế hoạch sửa chữa quý tới.")
    workflow.rate(db_session, report, actor=report.citizen, now=now, rating=Rating.SATISFIED)
    return report


def test_the_overdue_and_due_soon_queues(staff_client, db_session, now):
    overdue = factories.routed_report(db_session, now=now - timedelta(days=10))
    soon = factories.routed_report(db_session, now=now - timedelta(hours=1))
    soon.warn_at, soon.due_at = now - timedelta(minutes=1), now + timedelta(minutes=20)
    fine = factories.routed_report(db_session, now=now)
    db_session.flush()
    supervisor = staff_client("supervisor")
    page = supervisor.text("/staff/supervision/overdue")
    assert overdue.tracking_code in page and soon.tracking_code not in page
    assert fine.tracking_code not in page
    page = supervisor.text(f"/staff/supervision/overdue?department={overdue.lead_department_id}")
    assert overdue.tracking_code in page
    page = supervisor.text("/staff/supervision/due-soon")
    assert soon.tracking_code in page and overdue.tracking_code not in page
    assert fine.tracking_code not in page


def test_the_overdue_queue_shows_late_moderation_and_who_holds_each_report(
        staff_client, db_session, now):
    in_moderation = factories.report(db_session, now=now - timedelta(days=3))
    routed = factories.routed_report(db_session, now=now - timedelta(days=10))
    db_session.flush()
    supervisor = staff_client("supervisor")
    page = supervisor.text("/staff/supervision/overdue")
    assert in_moderation.tracking_code in page and routed.tracking_code in page
    row = page[page.index(in_moderation.tracking_code):]
    row = row[:row.index("</tr>")]
    assert "Trung tâm Giám sát, điều hành đô thị thông minh" in row and "chờ kiểm duyệt" in row
    # The dashboard's overdue card counts both, and links to this queue.
    dashboard = supervisor.text("/staff/supervision/dashboard?period=month&fresh=1")
    assert 'href="/staff/supervision/overdue"' in dashboard


def test_the_dashboard_shows_the_figures_of_stats_to_the_unit(staff_client, db_session, now):
    for _ in range(3):
        _resolved(db_session, now)
    factories.routed_report(db_session, now=now - timedelta(days=10))
    db_session.commit()
    choice = choice_from({"period": "month"}, now.astimezone(ZONE).date())
    groups, total = stats.figures(db_session, group_by="department", period=choice.period,
                                  now=now)
    supervisor = staff_client("supervisor")
    page = supervisor.text("/staff/supervision/dashboard?period=month")
    table = page[page.index('id="figures"'):]
    footer = table[table.index("<tfoot>"):]
    for value in (total.received, total.resolved, total.on_time, total.late, total.open_overdue):
        assert f'<td class="num">{value}</td>' in footer
    assert "Sở Xây dựng thành phố Cần Thơ" in table


def test_the_csv_and_excel_exports_hold_the_same_table(staff_client, db_session, now):
    _resolved(db_session, now)
    db_session.commit()
    supervisor = staff_client("supervisor")
    response = supervisor.get("/staff/supervision/dashboard.csv?period=month&by=category")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, *lines = rows
    assert header[:4] == ["Mã", "Lĩnh vực", "Tiếp nhận", "Đã xử lý"]
    by_name = {line[1]: dict(zip(header, line)) for line in lines}
    assert int(by_name["Giao thông"]["Đã xử lý"]) >= 1
    assert by_name["Tổng cộng"]["Tiếp nhận"] == str(sum(
        int(line[2]) for line in lines if line[1] != "Tổng cộng"))
    response = supervisor.get("/staff/supervision/dashboard.xlsx?period=month&by=category")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    xlsx_rows = [list(row) for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert [row[1] for row in xlsx_rows] == [line[1] for line in lines]
    assert [row[3] for row in xlsx_rows] == [int(line[3]) for line in lines]


def test_periods_and_chart_buckets():
    today = datetime(2026, 11, 18, tzinfo=ZONE).date()  # a Wednesday
    week = choice_from({"period": "week"}, today)
    assert (week.first.isoformat(), week.last.isoformat()) == ("2026-11-16", "2026-11-22")
    assert len(buckets(week)) == 7
    month = choice_from({}, today)
    assert (month.first.isoformat(), month.last.isoformat()) == ("2026-11-01", "2026-11-30")
    assert [b[0] for b in buckets(month)] == ["01/11", "02/11", "09/11", "16/11", "23/11", "30/11"]
    year = choice_from({"period": "range", "from": "2026-01-01", "to": "2026-12-31"}, today)
    assert len(buckets(year)) == 12
    backwards = choice_from({"period": "range", "from": "2026-05-01", "to": "2026-04-01"}, today)
    assert backwards.kind == "month"
    assert choice_from({"by": "nonsense"}, today).group_by == "department"
    assert Choice("month", month.first, month.last, "area").query(by="category")["by"] == "category"


def test_answers_waiting_for_review_are_approved_by_a_supervisor(staff_client, db_session, now,
                                                                   app):
    app.config["RESULT_REVIEW"] = True
    try:
        report = factories.acknowledged_report(db_session, now=now)
        workflow.answer(db_session, report, actor=factories.staff(db_session, "officer"),
                        now=now, outcome=Outcome.NO_ACTION, text="Không thuộc phạm vi.")
        db_session.flush()
        supervisor = staff_client("supervisor")
        assert "Duyệt kết quả" in supervisor.text(f"/staff/reports/{report.tracking_code}")
        supervisor.post(f"/staff/supervision/reports/{report.tracking_code}/review",
                        {"version": report.version, "approve": "true"})
        assert report.status == "resolved" and report.answer_review == "approved"
    finally:
        app.config["RESULT_REVIEW"] = False


def _pending_extension(db_session, now):
    report = factories.acknowledged_report(db_session, now=now)
    latest = deadlines.latest_extension_due(report, calendar=deadlines.calendar_for(db_session))
    extension = workflow.request_extension(
        db_session, report, actor=factories.staff(db_session, "officer"), now=now,
        reason="Cần thêm vật tư.", new_due_at=latest)
    db_session.flush()
    return report, extension


def test_an_extension_is_decided_from_the_queue_with_the_reports_version(
        staff_client, db_session, now):
    report, extension = _pending_extension(db_session, now)
    supervisor = staff_client("supervisor")
    page = supervisor.text("/staff/supervision/extensions")
    form = page[page.index(f"/staff/supervision/extensions/{extension.id}/decision"):]
    assert f'name="version" value="{report.version}"' in form[:form.index("</form>")]
    response = supervisor.post(f"/staff/supervision/extensions/{extension.id}/decision",
                               {"version": report.version, "approve": "true"})
    assert response.status_code == 302
    assert extension.state == "approved" and report.resolve_due_at == extension.requested_due_at


def test_a_decision_made_from_an_older_page_is_refused_as_stale(staff_client, db_session, now):
    report, extension = _pending_extension(db_session, now)
    supervisor = staff_client("supervisor")
    supervisor.get("/staff/supervision/extensions")
    stale = report.version
    workflow.request_info(db_session, report, actor=factories.staff(db_session, "officer"),
                          now=now, question="Ảnh toàn cảnh?")
    db_session.flush()
    response = supervisor.post(f"/staff/supervision/extensions/{extension.id}/decision",
                               {"version": stale, "approve": "true"})
    assert response.status_code == 302 and extension.state == "pending"
    assert "Người khác vừa thay đổi phản ánh này" in supervisor.text(response.location)
    # A form without a version (an old page) is refused the same way.
    supervisor.post(f"/staff/supervision/extensions/{extension.id}/decision", {"approve": "true"})
    assert extension.state == "pending"


def test_a_lost_race_on_a_decision_is_said_not_a_500(staff_client, db_session, now,
                                                     monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    report, extension = _pending_extension(db_session, now)
    supervisor = staff_client("supervisor")
    supervisor.get("/staff/supervision/extensions")

    def lost(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'reports' expected to update 1 row")

    monkeypatch.setattr(workflow, "decide_extension", lost)
    response = supervisor.post(f"/staff/supervision/extensions/{extension.id}/decision",
                               {"version": report.version, "approve": "false"})
    assert response.status_code == 302
    assert "Người khác vừa thay đổi phản ánh này" in supervisor.text(response.location)


def test_a_withdrawn_request_is_gone_from_the_queue_and_cannot_be_decided(
        staff_client, db_session, now):
    report, extension = _pending_extension(db_session, now)
    workflow.return_report(db_session, report, actor=factories.staff(db_session, "officer"),
                           now=now, reason_code="not_our_competence")
    db_session.flush()
    supervisor = staff_client("supervisor")
    assert report.tracking_code not in supervisor.text("/staff/supervision/extensions")
    response = supervisor.post(f"/staff/supervision/extensions/{extension.id}/decision",
                               {"version": report.version, "approve": "true"})
    assert extension.state == "withdrawn"
    assert "không còn" in supervisor.text(response.location)
