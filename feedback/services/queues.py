"""The work queues staff read: new reports to moderate, reports to route by hand, and the
supervisors' overdue, due-soon and extension queues, with the filter and the closed
statuses a department's queue (feedback/services/coordination.py) takes. Each reads
through an index of `reports`.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from feedback.models import (
    OPEN_STATUSES,
    Department,
    DepartmentKind,
    ExtensionRequest,
    ExtensionState,
    ManualRouting,
    Report,
    ReportStatus,
)
from feedback.services import stats

# A due-soon report has used 75% of its time (DESIGN.md: warn at 75%); no limit is
# longer than this, so the scan for them stops here.
DUE_SOON_HORIZON = timedelta(days=45)


def deadline_state(report: Report, now: datetime) -> str | None:
    """How a report stands against its clock: overdue, due_soon (75% used), paused
    (waiting for the citizen with time left), on_time, or None when no clock applies."""
    if report.status not in OPEN_STATUSES and report.status != ReportStatus.SUBMITTED:
        return None
    if report.due_at is None:
        if stats.missed_deadline(report.status, due_at=None, now=now,
                                 resolve_due_at=report.resolve_due_at,
                                 paused_remaining_minutes=report.paused_remaining_minutes):
            return "overdue"  # waiting for the citizen, but the time was up already
        return "paused" if report.paused_at is not None else None
    if report.overdue_at is not None or report.due_at <= now:
        return "overdue"
    if report.warn_at is not None and report.warn_at <= now:
        return "due_soon"
    return "on_time"


def _listing_options():
    # Each in a query of its own by primary key, not joined: the queues' conditions are
    # ORs the planner estimates at a row or two, and a join it plans for one row became a
    # nested loop over every commune per report (1.4 s for the overdue queue at 5,000).
    return (selectinload(Report.category), selectinload(Report.area),
            selectinload(Report.lead_department), selectinload(Report.photos))


def moderation_queue(session: Session, *, limit: int = 100) -> tuple[list[Report], int]:
    """New reports not yet moderated, oldest first, and how many there are."""
    where = (Report.status == ReportStatus.SUBMITTED, Report.moderated_at.is_(None),
             Report.manual_routing.is_(None))
    items = session.execute(
        select(Report).where(*where).options(*_listing_options(), joinedload(Report.citizen))
        .order_by(Report.submitted_at, Report.id).limit(limit)
    ).unique().scalars().all()
    total = len(items) if len(items) < limit else session.execute(
        select(func.count()).select_from(Report).where(*where)).scalar_one()
    return items, total


def manual_routing_queue(session: Session, *, limit: int = 100) -> tuple[list[Report], int]:
    """Reports no rule matched, or that a department returned, oldest first."""
    where = (Report.manual_routing.in_(list(ManualRouting)),
             Report.status == ReportStatus.SUBMITTED)
    items = session.execute(
        select(Report).where(*where).options(*_listing_options())
        .order_by(Report.submitted_at, Report.id).limit(limit)
    ).unique().scalars().all()
    total = len(items) if len(items) < limit else session.execute(
        select(func.count()).select_from(Report).where(*where)).scalar_one()
    return items, total


@dataclass(frozen=True)
class QueueFilter:
    status: ReportStatus | None = None
    category_id: int | None = None
    area_code: str | None = None


CLOSED_VIEW = (ReportStatus.RESOLVED, ReportStatus.CLOSED)


def operations_department(session: Session) -> Department | None:
    """The operations centre (IOC): a report no department holds yet is its to move."""
    return session.execute(
        select(Department).where(Department.kind == DepartmentKind.OPERATIONS)
        .order_by(Department.active.desc(), Department.id).limit(1)
    ).scalar_one_or_none()


def overdue_statement(*, now: datetime, department_id: int | None = None,
                      operations_id: int | None = None):
    """Every open report the figures count as overdue (`stats.open_overdue_conditions`),
    longest overdue first by the deadline it missed; of one department if given, and
    for the operations centre (`operations_id`) with those no department holds."""
    conditions = [or_(*stats.open_overdue_conditions(now))]
    if department_id is not None and department_id == operations_id:
        conditions.append(or_(Report.lead_department_id == department_id,
                              Report.lead_department_id.is_(None)))
    elif department_id is not None:
        conditions.append(Report.lead_department_id == department_id)
    return (select(Report).where(*conditions)
            .order_by(stats.missed_deadline_column(), Report.id))


def overdue_queue(session: Session, *, now: datetime, department_id: int | None = None,
                  limit: int = 200) -> tuple[list[Report], int]:
    """Open reports past their deadline, across departments and in moderation, longest
    overdue first: the reports the dashboard counts as open overdue, whatever period
    their deadline fell in."""
    operations = operations_department(session) if department_id is not None else None
    statement = overdue_statement(now=now, department_id=department_id,
                                  operations_id=operations.id if operations else None)
    items = session.execute(
        statement.options(*_listing_options()).limit(limit)).unique().scalars().all()
    total = len(items) if len(items) < limit else session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
    return items, total


def due_soon_statement(*, now: datetime):
    """Running clocks past 75% of their time and not overdue, soonest due first. No limit
    is longer than DUE_SOON_HORIZON, so the index is read no further than that."""
    return (select(Report)
            .where(stats.due_soon_condition(now), Report.due_at <= now + DUE_SOON_HORIZON)
            .order_by(Report.due_at, Report.id))


def due_soon_queue(session: Session, *, now: datetime,
                   limit: int = 200) -> tuple[list[Report], int]:
    """Open reports, in moderation too, that used 75% of their time and are not yet
    overdue, soonest first."""
    statement = due_soon_statement(now=now)
    items = session.execute(
        statement.options(*_listing_options()).limit(limit)).unique().scalars().all()
    total = len(items) if len(items) < limit else session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
    return items, total


def pending_extensions(session: Session) -> list[ExtensionRequest]:
    """Extension requests waiting for a supervisor, oldest first: those a supervisor can
    still decide, the asking department holding the report."""
    return session.execute(
        select(ExtensionRequest)
        .join(Report, Report.id == ExtensionRequest.report_id)
        .where(ExtensionRequest.state == ExtensionState.PENDING,
               Report.lead_department_id == ExtensionRequest.department_id,
               Report.status.in_(sorted(OPEN_STATUSES)))
        .options(joinedload(ExtensionRequest.report).joinedload(Report.lead_department),
                 joinedload(ExtensionRequest.report).joinedload(Report.category))
        .order_by(ExtensionRequest.created_at)
    ).unique().scalars().all()
