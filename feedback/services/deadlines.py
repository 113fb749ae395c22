"""A report's clock: which step is running, when it is due, when to warn.

DESIGN.md's steps (moderate and route; acknowledge or return; resolve) each have a
limit on the category, counted in working time (clock time when urgent). The due
times live on the report and are recomputed here when something changes them; the
periodic sweep reads them, and no timer is kept per report.
"""
import enum
import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from feedback.models import CalendarOverride, Category, OverrideKind, Report, Urgency
from feedback.services.calendar import WorkCalendar, add_clock_time, clock_minutes_between


_CALENDAR_KEY = "work_calendar"


class Step(enum.StrEnum):
    MODERATE = "moderate"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


def calendar_for(session: Session, config=None) -> WorkCalendar:
    """The working calendar in force: configured hours, national holidays, overrides.

    Read once per transaction: a move that needs it several times asks once.
    """
    if isinstance(session, scoped_session):
        session = session()
    cached = session.info.get(_CALENDAR_KEY)
    if cached is not None and cached[0] is session.get_transaction():
        return cached[1]
    config = config if config is not None else current_app.config
    overrides = session.execute(select(CalendarOverride.day, CalendarOverride.kind)).all()
    calendar = WorkCalendar(
        periods=tuple(config["WORKING_HOURS"]),
        extra_days_off=frozenset(day for day, kind in overrides if kind == OverrideKind.DAY_OFF),
        extra_working_days=frozenset(
            day for day, kind in overrides if kind == OverrideKind.WORKING_DAY),
    )
    session.info[_CALENDAR_KEY] = (session.get_transaction(), calendar)
    return calendar


def is_urgent(category: Category) -> bool:
    return category.urgency == Urgency.URGENT


def limit_for(category: Category, step: Step) -> str:
    return {
        Step.MODERATE: category.moderate_limit,
        Step.ACKNOWLEDGE: category.acknowledge_limit,
        Step.RESOLVE: category.resolve_limit,
    }[step]


def _remaining_minutes(calendar: WorkCalendar, urgent: bool, now: datetime, due: datetime) -> float:
    if urgent:
        return clock_minutes_between(now, due)
    return calendar.working_minutes_between(now, due)


def _add(calendar: WorkCalendar, urgent: bool, start: datetime, minutes: float) -> datetime:
    if urgent:
        return add_clock_time(start, minutes)
    return calendar.add_working_time(start, minutes)


def _set_due(report: Report, calendar: WorkCalendar, *, start: datetime, due: datetime,
             step: Step) -> None:
    urgent = is_urgent(report.category)
    report.step_started_at = start
    report.due_at = due
    report.warn_at = calendar.warn_at(start, due, urgent=urgent)
    report.warned_at = None
    report.overdue_at = None
    report.escalated_at = None
    report.remind_at = None
    if step == Step.RESOLVE:
        report.resolve_due_at = due


def start_clock(report: Report, step: Step, *, now: datetime, calendar: WorkCalendar) -> None:
    """Start `step`'s clock from `now` with the category's limit."""
    due = calendar.due_at(now, limit_for(report.category, step), urgent=is_urgent(report.category))
    _set_due(report, calendar, start=now, due=due, step=step)
    report.paused_at = None
    report.paused_remaining_minutes = None


def stop_clock(report: Report) -> None:
    """No clock runs: the report is resolved, closed, rejected or merged."""
    report.due_at = None
    report.warn_at = None
    report.remind_at = None
    report.paused_at = None
    report.paused_remaining_minutes = None


def pause_clock(report: Report, *, now: datetime, calendar: WorkCalendar) -> None:
    """The department asked the citizen for more: keep what time was left, stop counting."""
    if report.due_at is None:
        return
    remaining = _remaining_minutes(calendar, is_urgent(report.category), now, report.due_at)
    report.paused_remaining_minutes = max(0, math.ceil(remaining))
    report.paused_at = now
    report.due_at = None
    report.warn_at = None
    report.remind_at = None


def resume_clock(report: Report, *, now: datetime, calendar: WorkCalendar) -> None:
    """The citizen answered: the time that was left runs again from now."""
    if report.paused_at is None:
        return
    urgent = is_urgent(report.category)
    due = _add(calendar, urgent, now, report.paused_remaining_minutes or 0)
    was_overdue = report.overdue_at is not None
    _set_due(report, calendar, start=now, due=due, step=Step.RESOLVE)
    if was_overdue and report.paused_remaining_minutes == 0:
        report.overdue_at = now  # it was overdue before the pause and still is
    report.paused_at = None
    report.paused_remaining_minutes = None


def extend(report: Report, new_due: datetime, *, now: datetime, calendar: WorkCalendar) -> None:
    """An approved extension: the resolution deadline moves, the warnings start over."""
    _set_due(report, calendar, start=now, due=new_due, step=Step.RESOLVE)


def latest_extension_due(report: Report, *, calendar: WorkCalendar) -> datetime | None:
    """The furthest date an extension may ask for, or None when the category has none."""
    limit = report.category.extension_limit
    if not limit or report.resolve_due_at is None:
        return None
    return calendar.due_at(report.resolve_due_at, limit, urgent=is_urgent(report.category))


def progress_reminder_after(report: Report) -> timedelta:
    """How long after being marked overdue, and between reminders, to remind again."""
    return timedelta(hours=4) if is_urgent(report.category) else timedelta(days=1)
