"""A department's queue with the reports it coordinates: marked, in deadline order with
its own, counted, filtered, and read through indexes."""
from datetime import timedelta

import pytest
from sqlalchemy import text

from feedback.models import ReportStatus
from feedback.services import coordination, workflow
from feedback.services.queues import QueueFilter
from tests import factories


def _water_report(db_session, now):
    """Led by the water company, coordinated by Sở Xây dựng (the demo rule)."""
    report = factories.routed_report(db_session, now=now, category="cap-thoat-nuoc-ngap")
    assert [department.code for department in report.coordinators] == ["ct-so-xay-dung"]
    return report


@pytest.mark.embedded
def test_the_queue_merges_the_coordinated_reports_into_deadline_order_marked(db_session, now):
    building = factories.staff(db_session, "officer").department_id
    late = factories.routed_report(db_session, now=now - timedelta(days=8))
    coordinated = _water_report(db_session, now - timedelta(days=2))
    new = factories.routed_report(db_session, now=now)
    waiting = factories.acknowledged_report(db_session, now=now)
    workflow.request_info(db_session, waiting, actor=factories.staff(db_session, "officer"),
                          now=now, question="Ảnh toàn cảnh?")
    elsewhere = factories.routed_report(db_session, now=now, category="trat-tu-do-thi")
    db_session.flush()
    items, total = coordination.department_queue(db_session, building, filters=QueueFilter())
    codes = [item.tracking_code for item in items]
    assert codes.index(late.tracking_code) < codes.index(coordinated.tracking_code) < codes.index(
        new.tracking_code)
    assert codes[-1] == waiting.tracking_code and elsewhere.tracking_code not in codes
    assert total == len(codes)
    assert {item.tracking_code for item in items if item.coordinating} == {
        coordinated.tracking_code}
    items, _ = coordination.department_queue(
        db_session, building, filters=QueueFilter(status=ReportStatus.AWAITING_CITIZEN))
    assert [item.tracking_code for item in items] == [waiting.tracking_code]
    # The lead department's queue has it too, as its own.
    items, _ = coordination.department_queue(db_session, coordinated.lead_department_id,
                                             filters=QueueFilter())
    assert [item.coordinating for item in items
            if item.tracking_code == coordinated.tracking_code] == [False]


@pytest.mark.embedded
def test_paging_and_counting_take_both_parts(db_session, now):
    building = factories.staff(db_session, "officer").department_id
    reports = [factories.routed_report(db_session, now=now - timedelta(hours=hours))
               for hours in range(3)]
    reports += [_water_report(db_session, now - timedelta(hours=hours, minutes=30))
                for hours in range(3)]
    db_session.flush()
    seen, total = [], None
    for page in range(4):
        items, total = coordination.department_queue(db_session, building,
                                                     filters=QueueFilter(), limit=2,
                                                     offset=page * 2)
        seen += [item.id for item in items]
    assert len(seen) == len(set(seen)) == total >= 6
    assert {report.id for report in reports} <= set(seen)


@pytest.mark.embedded
def test_filters_and_facets_cover_the_coordinated_reports(db_session, now):
    building = factories.staff(db_session, "officer").department_id
    coordinated = _water_report(db_session, now)
    own = factories.routed_report(db_session, now=now)
    db_session.flush()
    items, total = coordination.department_queue(
        db_session, building, filters=QueueFilter(category_id=coordinated.category_id))
    assert [item.tracking_code for item in items] == [coordinated.tracking_code] and total == 1
    items, _ = coordination.department_queue(
        db_session, building, filters=QueueFilter(status=ReportStatus.ASSIGNED))
    assert {coordinated.tracking_code, own.tracking_code} <= {item.tracking_code for item in items}
    categories, communes = coordination.department_facets(db_session, building)
    assert {"cap-thoat-nuoc-ngap", "giao-thong"} <= {category.code for category in categories}
    assert "31135" in {area.code for area in communes}


@pytest.mark.embedded
def test_answered_coordinated_reports_show_under_resolved_newest_first(db_session, now):
    building = factories.staff(db_session, "officer").department_id
    coordinated = _water_report(db_session, now - timedelta(days=1))
    coordinated.status, coordinated.resolved_at = ReportStatus.RESOLVED, now
    older = factories.resolved_report(db_session, now=now - timedelta(hours=2))
    db_session.flush()
    items, _ = coordination.department_queue(
        db_session, building, filters=QueueFilter(status=ReportStatus.RESOLVED))
    codes = [item.tracking_code for item in items]
    assert codes.index(coordinated.tracking_code) < codes.index(older.tracking_code)
    open_items, _ = coordination.department_queue(db_session, building, filters=QueueFilter())
    assert coordinated.tracking_code not in {item.tracking_code for item in open_items}


def test_the_queue_reads_the_lead_index_and_the_coordinators_index(db_session, backend):
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    building = factories.staff(db_session, "officer").department_id
    statement = coordination.queue_statement(building, filters=QueueFilter(), window=50).limit(50)
    compiled = statement.compile(db_session.get_bind(), compile_kwargs={"literal_binds": True})
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(row[0] for row in db_session.execute(text(f"EXPLAIN {compiled}")))
    db_session.execute(text("SET LOCAL enable_seqscan = on"))
    assert "ix_reports_department_queue" in plan
    assert "ix_report_coordinators_department_id" in plan
    assert "Seq Scan" not in plan
