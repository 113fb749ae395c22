"""A department's queue with coordinating departments in it (DESIGN.md: "A report can also
name coordinating departments beside the lead one"): the reports the department leads
and, marked, those it coordinates.

Coordinators see a report as the lead does (`access.can_see_report`) and hear of it; every
move on it stays the lead department's (`workflow.check` refuses any other officer).
"""
from dataclasses import dataclass

from sqlalchemy import Select, false, func, literal_column, select, true, union_all
from sqlalchemy.orm import Session, joinedload, selectinload

from feedback.models import OPEN_STATUSES, Area, Category, Report
from feedback.models.reports import report_coordinators
from feedback.services.queues import CLOSED_VIEW, QueueFilter


@dataclass(frozen=True)
class QueueEntry:
    """A report in a department's queue; `coordinating` when another department leads it.
    Reads as the report itself (templates and schemas take either)."""

    report: Report
    coordinating: bool

    def __getattr__(self, name):
        if name.startswith("__") or name == "report":  # not a report's (copy, pickle)
            raise AttributeError(name)
        return getattr(self.report, name)


def _conditions(filters: QueueFilter) -> list:
    if filters.status in CLOSED_VIEW:
        conditions = [Report.status == filters.status]
    else:
        # The predicate of ix_reports_department_queue, so the index serves the lead part;
        # literals, not parameters, so a generic plan (and SQLite) can see they match.
        conditions = [Report.status.in_(
            [literal_column(f"'{status}'") for status in sorted(OPEN_STATUSES)])]
        if filters.status is not None:
            conditions.append(Report.status == filters.status)
    if filters.category_id is not None:
        conditions.append(Report.category_id == filters.category_id)
    if filters.area_code:
        conditions.append(Report.area_code == filters.area_code)
    return conditions


def _sort_columns(filters: QueueFilter):
    if filters.status in CLOSED_VIEW:
        return (Report.resolved_at, Report.id)
    return (Report.due_at, Report.priority, Report.id)


def _order(filters: QueueFilter, columns):
    """Open reports soonest deadline first (those waiting for the citizen, whose clock is
    stopped, last); answered ones newest first."""
    if filters.status in CLOSED_VIEW:
        resolved_at, report_id = columns
        return (resolved_at.desc(), report_id.desc())
    due_at, priority, report_id = columns
    return (due_at.asc().nulls_last(), priority, report_id)


def _led(department_id: int, conditions) -> Select:
    return select(Report.id).where(Report.lead_department_id == department_id, *conditions)


def _coordinated(department_id: int, conditions) -> Select:
    return (select(Report.id)
            .join(report_coordinators, report_coordinators.c.report_id == Report.id)
            .where(report_coordinators.c.department_id == department_id,
                   Report.lead_department_id.is_distinct_from(department_id), *conditions))


def queue_statement(department_id: int, *, filters: QueueFilter, window: int) -> Select:
    """The department's reports, led or coordinated, with `coordinating`, in queue order,
    for the first `window` of them. Each part is read in order and cut at `window` before
    the two are merged, so the lead part stays a scan of ix_reports_department_queue
    however many reports the department has, and the coordinated part (few) starts from
    ix_report_coordinators_department_id."""
    conditions = _conditions(filters)
    sort = _sort_columns(filters)
    parts = []
    for part, coordinating in ((_led(department_id, conditions), false()),
                               (_coordinated(department_id, conditions), true())):
        part = (part.add_columns(coordinating.label("coordinating"), *sort)
                .order_by(*_order(filters, sort)).limit(window).subquery())
        # Each part as a subquery of its own: SQLite takes no ORDER BY or LIMIT inside
        # a UNION's members.
        parts.append(select(part))
    merged = union_all(*parts).subquery()
    return (select(Report, merged.c.coordinating).join(merged, Report.id == merged.c.id)
            .order_by(*_order(filters, [merged.c[column.key] for column in sort])))


def department_queue(session: Session, department_id: int, *, filters: QueueFilter,
                     limit: int = 50, offset: int = 0,
                     count: bool = True) -> tuple[list[QueueEntry], int | None]:
    """A page of the department's reports in queue order, those it coordinates among
    them (marked), and how many there are (None when not `count`)."""
    rows = session.execute(
        queue_statement(department_id, filters=filters, window=offset + limit)
        .options(joinedload(Report.category), joinedload(Report.area),
                 joinedload(Report.lead_department), selectinload(Report.photos))
        .limit(limit).offset(offset)
    ).unique().all()
    items = [QueueEntry(report, bool(coordinating)) for report, coordinating in rows]
    if offset == 0 and len(items) < limit:
        return items, len(items)
    if not count:
        return items, None
    conditions = _conditions(filters)
    total = sum(session.execute(select(func.count()).select_from(part.subquery())).scalar_one()
                for part in (_led(department_id, conditions),
                             _coordinated(department_id, conditions)))
    return items, total


def department_facets(session: Session, department_id: int):
    """The categories and communes of the department's open reports, led or coordinated,
    for its queue's filters."""
    conditions = _conditions(QueueFilter())
    ids = union_all(_led(department_id, conditions),
                    _coordinated(department_id, conditions)).subquery()
    of_queue = Report.id.in_(select(ids.c.id))
    categories = session.execute(
        select(Category).where(Category.id.in_(
            select(Report.category_id).where(of_queue).distinct()))
        .order_by(Category.sort_order, Category.code)
    ).scalars().all()
    communes = session.execute(
        select(Area).where(Area.code.in_(select(Report.area_code).where(of_queue).distinct()))
        .order_by(Area.name)
    ).scalars().all()
    return categories, communes
