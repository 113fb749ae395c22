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


def test_a_departments_queue(db_session, now):
    late = factories.routed_report(db_session, now=now - timedelta(days=8))
    new = factories.routed_report(db_session, now=now)
    waiting = factories.acknowledged_report(db_session, now=now)
    workflow.request_info(db_session, waiting, actor=factories.staff(db_session, "officer"),
                          now=now, question="Ảnh toàn cảnh?")
    elsewhere = factories.routed_report(db_session, now=now, category="trat-tu-do-thi")
    db_session.flush()
    items, total = queues.department_queue(db_session, late.lead_department_id,
                                           filters=queues.QueueFilter())
    codes = [item.tracking_code for item in items]
    assert codes.index(late.tracking_code) < codes.index(new.tracking_code)
    assert codes[-1] == waiting.tracking_code  # its clock is stopped: last
    assert elsewhere.tracking_code not in codes and total == len(codes)
    items, total = queues.department_queue(
        db_session, late.lead_department_id,
        filters=queues.QueueFilter(status=ReportStatus.AWAITING_CITIZEN))
    assert [item.tracking_code for item in items] == [waiting.tracking_code]
    categories, communes = queues.department_facets(db_session, late.lead_department_id)
    assert {c.code for c in categories} >= {"giao-thong"}
    assert {a.code for a in communes} >= {"31135"}


def test_paging_counts_every_report(db_session, now):
    for hours in range(5):
        factories.routed_report(db_session, now=now - timedelta(hours=hours))
    department_id = factories.staff(db_session, "officer").department_id
    first, total = queues.department_queue(db_session, department_id,
                                           filters=queues.QueueFilter(), limit=2)
    second, _ = queues.department_queue(db_session, department_id,
                                        filters=queues.QueueFilter(), limit=2, offset=2)
    assert total >= 5 and len(first) == len(second) == 2
    assert not {r.id for r in first} & {r.id for r in second}
