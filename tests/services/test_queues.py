"""Work queues: a department's soonest deadline first, overdue and due soon across departments."""
from datetime import timedelta

from feedback.models import Report, ReportStatus
from feedback.services import queues, workflow
from tests import factories


def test_deadline_state_is_a_pure_reading_of_the_clock(now):
    report = Report(status=ReportStatus.IN_PROGRESS, due_at=now + timedelta(hours=4),
                    warn_at=now + timedelta(hours=1))
    assert queues.deadline_state(report, now) == "on_time"
    report.warn_at = now - timedelta(minutes=1)
    assert queues.deadline_state(report, now) == "due_soon"
    report.due_at = now
    assert queues.deadline_state(report, now) == "overdue"
    report.due_at, report.overdue_at = now + timedelta(days=1), now  # marked by the sweep
    assert queues.deadline_state(report, now) == "overdue"
    paused = Report(status=ReportStatus.AWAITING_CITIZEN, due_at=None, paused_at=now)
    assert queues.deadline_state(paused, now) == "paused"
    assert queues.deadline_state(Report(status=ReportStatus.CLOSED), now) is None


def _open_overdue_figure(db_session, now) -> int:
    from feedback.services import stats

    _groups, total = stats.figures(
        db_session, group_by="department", now=now,
        period=stats.Period(now - timedelta(days=400), now + timedelta(days=1)))
    return total.open_overdue


def _late_reports(db_session, now):
    """One report of each kind the figures count as open and overdue, and two they do not."""
    from feedback.services import routing

    moderator = factories.staff(db_session, "moderator")
    officer = factories.staff(db_session, "officer")
    in_moderation = factories.report(db_session, now=now - timedelta(days=3))
    no_rule = factories.report(db_session, now=now - timedelta(days=3), category="khac")
    workflow.approve(db_session, no_rule, actor=moderator, now=now - timedelta(days=3))
    routing.route(db_session, no_rule, now=now - timedelta(days=3))
    assigned = factories.routed_report(db_session, now=now - timedelta(days=10))
    waiting_late = factories.acknowledged_report(db_session, now=now - timedelta(days=30))
    workflow.request_info(db_session, waiting_late, actor=officer, now=now,
                          question="Ảnh toàn cảnh?")
    waiting_in_time = factories.acknowledged_report(db_session, now=now)
    workflow.request_info(db_session, waiting_in_time, actor=officer, now=now,
                          question="Ảnh toàn cảnh?")
    fine = factories.routed_report(db_session, now=now)
    db_session.flush()
    assert no_rule.manual_routing == "no_rule" and waiting_late.paused_remaining_minutes == 0
    return [in_moderation, no_rule, assigned, waiting_late], [waiting_in_time, fine]


def test_the_overdue_queue_holds_every_report_the_figures_count_as_open_overdue(db_session, now):
    late, not_late = _late_reports(db_session, now)
    items, total = queues.overdue_queue(db_session, now=now)
    assert {item.id for item in items} == {report.id for report in late}
    assert total == len(late) == _open_overdue_figure(db_session, now)
    # Longest overdue first, by the deadline each missed.
    missed = [item.due_at or item.resolve_due_at for item in items]
    assert missed == sorted(missed)
    assert all(queues.deadline_state(item, now) == "overdue" for item in items)


def test_the_overdue_queue_by_department_gives_the_operations_centre_what_no_department_holds(
        db_session, now):
    late, _not_late = _late_reports(db_session, now)
    operations = queues.operations_department(db_session)
    items, _total = queues.overdue_queue(db_session, now=now, department_id=operations.id)
    assert {item.id for item in items} == {late[0].id, late[1].id}
    items, _total = queues.overdue_queue(db_session, now=now,
                                         department_id=late[2].lead_department_id)
    assert {item.id for item in items} == {late[2].id, late[3].id}


def test_the_due_soon_queue_includes_reports_in_moderation(db_session, now):
    in_moderation = factories.report(db_session, now=now - timedelta(hours=1))
    assigned = factories.routed_report(db_session, now=now - timedelta(hours=1))
    for report in (in_moderation, assigned):
        report.warn_at, report.due_at = now - timedelta(minutes=1), now + timedelta(minutes=20)
    overdue = factories.routed_report(db_session, now=now - timedelta(days=10))
    db_session.flush()
    items, total = queues.due_soon_queue(db_session, now=now)
    assert {item.id for item in items} == {in_moderation.id, assigned.id} and total == 2
    assert overdue.id not in {item.id for item in items}


def _plan(db_session, statement) -> str:
    from sqlalchemy import text

    compiled = statement.compile(db_session.get_bind(), compile_kwargs={"literal_binds": True})
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        return "\n".join(row[0] for row in db_session.execute(text(f"EXPLAIN {compiled}")))
    finally:
        db_session.execute(text("SET LOCAL enable_seqscan = on"))


def test_the_supervisors_queues_read_partial_indexes_not_the_whole_table(db_session, now,
                                                                          backend):
    import pytest

    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    overdue = _plan(db_session, queues.overdue_statement(now=now))
    assert "Seq Scan" not in overdue
    assert "ix_reports_department_queue" in overdue and "ix_reports_moderation_queue" in overdue
    due_soon = _plan(db_session, queues.due_soon_statement(now=now))
    assert "Seq Scan" not in due_soon and "ix_reports_sweep_due" in due_soon
