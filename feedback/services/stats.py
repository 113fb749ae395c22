"""Figures everyone reads the same way: received, resolved, on time, late, open and
overdue, the on-time rate, time to first response and to resolution, satisfaction,
reopenings; per department, category or commune over a period [start, end).

The definitions are the pure functions at the top (`is_on_time`, `missed_deadline`,
`on_time_rate`, ...) and `tally()` applies them to rows in Python; `figures()` counts
the same with SQL aggregates (PostgreSQL and SQLite alike) and takes medians in Python
from the period's durations. A test holds the two to the same numbers.

Which reports count in a period (docs/decisions.md, "Deadlines, sweep and figures"):
- received: submitted in the period, not rejected and not merged as a duplicate;
- resolved, on time, late, reopened: answered (their latest answer) in the period;
- open overdue: not answered as of `now`, past the deadline it missed, that deadline
  in the period;
- satisfaction: the ratings of the reports answered in the period;
- time to first response: of the reports received in the period; time to resolution:
  of the reports answered in the period.
Every read goes through an index on submitted_at or resolved_at, or the partial
indexes of the open queues, so a month of a table spread over years reads a month.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    case,
    column,
    event,
    func,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session, object_session

from feedback.models import Area, Category, Department, Rating, Report, ReportStatus, Urgency
from feedback.services.calendar import WorkCalendar

__all__ = [
    "GROUPINGS",
    "Figures",
    "Period",
    "WorkingMinutes",
    "figures",
    "group_labels",
    "hours_taken",
    "is_on_time",
    "due_soon_condition",
    "durations",
    "durations_of",
    "fill_in_durations",
    "keep_durations",
    "median",
    "missed_deadline",
    "missed_deadline_column",
    "open_overdue_conditions",
    "on_time_rate",
    "series",
    "share",
    "tally",
]

S = ReportStatus
GROUPINGS = ("department", "category", "area")
NOT_RECEIVED = (S.REJECTED, S.DUPLICATE)
# Statuses whose running clock can be missed: moderation, acknowledging, resolving.
RUNNING = (S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS)
RATINGS = tuple(Rating)


@dataclass(frozen=True)
class Period:
    """[start, end): aware instants, start before end."""

    start: datetime
    end: datetime

    def __post_init__(self):
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
            object.__setattr__(self, name, value.astimezone(timezone.utc))
        if self.start >= self.end:
            raise ValueError("the period must end after it starts")

    def __contains__(self, instant: datetime | None) -> bool:
        return instant is not None and self.start <= instant < self.end

    @classmethod
    def of_days(cls, first: date, after_last: date, tz) -> "Period":
        """From local midnight of `first` to local midnight of `after_last` (exclusive)."""
        return cls(datetime.combine(first, time(), tz), datetime.combine(after_last, time(), tz))


# The definitions -------------------------------------------------------------------------

def is_on_time(resolved_at: datetime, resolve_due_at: datetime | None,
               overdue_at: datetime | None) -> bool:
    """A resolved report is on time when answered by its resolution deadline, which an
    approved extension has already moved. Answered before it was even acknowledged (no
    resolution deadline yet), it is on time unless that step went overdue first."""
    if resolve_due_at is not None:
        return resolved_at <= resolve_due_at
    return overdue_at is None


def missed_deadline(status: ReportStatus, *, due_at: datetime | None,
                    resolve_due_at: datetime | None, paused_remaining_minutes: int | None,
                    now: datetime) -> datetime | None:
    """The deadline an open report has missed as of `now`, or None if it is not overdue.

    A running clock is missed once `now` is past its due time (moderation,
    acknowledging or resolving). Waiting for the citizen stops the clock: such a
    report is overdue only if it was already when the clock stopped (no time left),
    and then it missed its resolution deadline. Resolved, closed, rejected and merged
    reports are not open.
    """
    if status in RUNNING:
        return due_at if due_at is not None and now > due_at else None
    if status == S.AWAITING_CITIZEN and paused_remaining_minutes == 0:
        return resolve_due_at
    return None


def on_time_rate(on_time: int, resolved: int, open_overdue: int) -> float | None:
    """on time / (resolved + open and overdue): late work left open counts against it."""
    return share(on_time, resolved + open_overdue)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def hours_taken(start: datetime, end: datetime, *, urgent: bool, calendar) -> float:
    """Working hours from start to end (clock hours for an urgent category); 0 if end
    is not after start. `calendar` is a WorkCalendar or a WorkingMinutes built from one."""
    if urgent:
        return max((end - start).total_seconds(), 0) / 3600
    return calendar.working_minutes_between(start, end) / 60


class WorkingMinutes:
    """WorkCalendar.working_minutes_between for many pairs: working minutes before each
    day of a range are summed once, so each pair costs a lookup, not a walk over its
    days. Instants outside the range fall back to the calendar."""

    def __init__(self, calendar: WorkCalendar, first: date, last: date):
        self.calendar = calendar
        self.first, self.last = first, last
        self._before: list[float] = []  # working minutes from `first` to each day's start
        self._periods: list[tuple[tuple[datetime, datetime], ...]] = []
        total = 0.0
        day = first
        while day <= last:
            periods = ()
            if calendar.is_working_day(day):
                periods = tuple(
                    (datetime.combine(day, start, calendar.tz).astimezone(timezone.utc),
                     datetime.combine(day, end, calendar.tz).astimezone(timezone.utc))
                    for start, end in calendar.periods)
            self._before.append(total)
            self._periods.append(periods)
            total += sum((end - start).total_seconds() / 60 for start, end in periods)
            day += timedelta(days=1)

    @classmethod
    def covering(cls, calendar: WorkCalendar, instants: Iterable[datetime]) -> "WorkingMinutes":
        days = [moment.astimezone(calendar.tz).date() for moment in instants]
        today = datetime.now(calendar.tz).date()
        return cls(calendar, min(days, default=today), max(days, default=today))

    def _position(self, instant: datetime) -> float | None:
        day = instant.astimezone(self.calendar.tz).date()
        if not self.first <= day <= self.last:
            return None
        index = (day - self.first).days
        within = 0.0
        for start, end in self._periods[index]:
            if instant <= start:
                break
            within += (min(instant, end) - start).total_seconds() / 60
        return self._before[index] + within

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        if b <= a:
            return 0.0
        start, end = self._position(a), self._position(b)
        if start is None or end is None:
            return self.calendar.working_minutes_between(a, b)
        return end - start


# What a period's figures are ---------------------------------------------------------------

@dataclass
class Figures:
    received: int = 0
    resolved: int = 0
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    reopened: int = 0  # of the resolved: reports answered again after a reopening
    rated: int = 0  # of the resolved: reports the citizen rated
    ratings: dict = field(default_factory=lambda: {str(r): 0 for r in RATINGS})
    first_response_hours: list = field(default_factory=list, repr=False)
    resolution_hours: list = field(default_factory=list, repr=False)
    # Medians the database took (PostgreSQL's percentile_cont), in place of the lists.
    medians: dict = field(default_factory=dict, repr=False)

    @property
    def on_time_rate(self) -> float | None:
        return on_time_rate(self.on_time, self.resolved, self.open_overdue)

    @property
    def reopen_rate(self) -> float | None:
        return share(self.reopened, self.resolved)

    @property
    def satisfaction(self) -> dict:
        return {rating: share(count, self.rated) for rating, count in self.ratings.items()}

    @property
    def median_first_response_hours(self) -> float | None:
        if "first_response_hours" in self.medians:
            return self.medians["first_response_hours"]
        return median(self.first_response_hours)

    @property
    def median_resolution_hours(self) -> float | None:
        if "resolution_hours" in self.medians:
            return self.medians["resolution_hours"]
        return median(self.resolution_hours)

    def add(self, other: "Figures") -> None:
        for name in ("received", "resolved", "on_time", "late", "open_overdue", "reopened",
                     "rated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for rating, count in other.ratings.items():
            self.ratings[rating] += count
        self.first_response_hours.extend(other.first_response_hours)
        self.resolution_hours.extend(other.resolution_hours)

    def as_dict(self) -> dict:
        return {
            "received": self.received, "resolved": self.resolved, "on_time": self.on_time,
            "late": self.late, "open_overdue": self.open_overdue,
            "on_time_rate": self.on_time_rate,
            "median_first_response_hours": self.median_first_response_hours,
            "median_resolution_hours": self.median_resolution_hours,
            "rated": self.rated, "satisfaction": self.satisfaction,
            "reopened": self.reopened, "reopen_rate": self.reopen_rate,
        }


def group_key(report, group_by: str):
    return {"department": report.lead_department_id, "category": report.category_id,
            "area": report.area_code}[group_by]


def tally(reports: Iterable, *, group_by: str, period: Period, now: datetime,
          calendar: WorkCalendar) -> dict:
    """The figures of `reports` (Report rows, with their category) per group, in Python:
    the reference `figures()` must agree with."""
    result: dict = {}
    for report in reports:
        figures_ = Figures()
        urgent = report.category.urgency == Urgency.URGENT
        if report.submitted_at in period and report.status not in NOT_RECEIVED:
            figures_.received += 1
        if report.resolved_at in period:
            figures_.resolved += 1
            if is_on_time(report.resolved_at, report.resolve_due_at, report.overdue_at):
                figures_.on_time += 1
            else:
                figures_.late += 1
            if report.reopen_count > 0:
                figures_.reopened += 1
            if report.rating is not None:
                figures_.rated += 1
                figures_.ratings[str(report.rating)] += 1
            if report.assigned_at is not None:
                figures_.resolution_hours.append(hours_taken(
                    report.assigned_at, report.resolved_at, urgent=urgent, calendar=calendar))
        missed = missed_deadline(report.status, due_at=report.due_at,
                                 resolve_due_at=report.resolve_due_at,
                                 paused_remaining_minutes=report.paused_remaining_minutes,
                                 now=now)
        if missed in period:
            figures_.open_overdue += 1
        if (report.submitted_at in period and report.first_response_at is not None
                and report.assigned_at is not None
                and report.first_response_at >= report.assigned_at):
            figures_.first_response_hours.append(hours_taken(
                report.assigned_at, report.first_response_at, urgent=urgent,
                calendar=calendar))
        # A group appears when one of its reports counts for something, as in SQL.
        if (figures_.received or figures_.resolved or figures_.open_overdue
                or figures_.first_response_hours):
            result.setdefault(group_key(report, group_by), Figures()).add(figures_)
    return result


# The same in SQL ---------------------------------------------------------------------------

def _column(group_by: str):
    try:
        return {"department": Report.lead_department_id, "category": Report.category_id,
                "area": Report.area_code}[group_by]
    except KeyError:
        raise ValueError(f"group_by must be one of {', '.join(GROUPINGS)}") from None


def _in(column, start, end):
    return and_(column >= start, column < end)


def _statuses(*statuses: ReportStatus):
    # Literals, not parameters, so the partial indexes named by status can be used.
    return [literal_column(f"'{status.value}'") for status in statuses]


# The definitions as SQL conditions, for the figures and the supervisors' queues alike.

def missed_deadline_column():
    """The deadline `missed_deadline` judges, as a column: the resolution deadline of a
    report waiting for the citizen, else the running clock's due time."""
    return case((Report.status == literal_column(f"'{S.AWAITING_CITIZEN.value}'"),
                 Report.resolve_due_at), else_=Report.due_at)


def open_overdue_conditions(now: datetime, period: Period | None = None) -> tuple:
    """`missed_deadline(...) is not None` (the deadline missed in `period`, if given) as
    two conditions, each matching one partial index so that it reads open reports only:
    the departments' open queue (`ix_reports_department_queue`), and the moderators'
    (`ix_reports_moderation_queue`: in moderation or manual routing). ORed together
    they are every open overdue report."""
    running_late = [Report.due_at < now]
    waiting_late = [Report.paused_remaining_minutes == 0, Report.resolve_due_at.is_not(None)]
    if period is not None:
        running_late.append(_in(Report.due_at, period.start, period.end))
        waiting_late.append(_in(Report.resolve_due_at, period.start, period.end))
    with_departments = and_(
        Report.status.in_(_statuses(S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_CITIZEN)),
        or_(and_(Report.status.in_(_statuses(S.ASSIGNED, S.IN_PROGRESS)), *running_late),
            and_(Report.status == literal_column(f"'{S.AWAITING_CITIZEN.value}'"),
                 *waiting_late)))
    in_moderation = and_(Report.status == literal_column(f"'{S.SUBMITTED.value}'"),
                         *running_late)
    return with_departments, in_moderation


def due_soon_condition(now: datetime):
    """A running clock past its warning point (75% of the time used) and not yet missed,
    so never open overdue by `missed_deadline`. It matches the sweep's partial index
    `ix_reports_sweep_due`: a report the sweep marked overdue has missed its time."""
    return and_(Report.status.in_(_statuses(*RUNNING)), Report.due_at.is_not(None),
                Report.overdue_at.is_(None), Report.due_at >= now, Report.warn_at <= now)


def figures(session: Session, *, group_by: str, period: Period, now: datetime,
            durations: bool = True) -> tuple[dict, Figures]:
    """The figures per group ({group key: Figures}) and for all groups together.

    Group keys: the lead department's id, the category's id, or the commune's code;
    None for reports without one (not yet routed, or sent without a location).
    Without `durations`, the times to first response and to resolution are left empty
    (a ranking of on-time rates has no use for them). On PostgreSQL the medians are
    taken in SQL, in the statements that count (`_counts_and_medians`).
    """
    g = _column(group_by)
    now = now.astimezone(timezone.utc)
    groups: dict = {}

    def at(key) -> Figures:
        found = groups.get(key)
        if found is None:
            found = groups[key] = Figures()
        return found

    total = Figures()
    in_sql = durations and session.get_bind().dialect.name == "postgresql"
    if in_sql:
        _counts_and_medians(session, g, period, at, total)
    else:
        _counts(session, g, period, at)

    # Open and overdue, in two reads so each matches a partial index: the departments'
    # open queue, and the moderators' queue.
    for where in open_overdue_conditions(now, period):
        for key, count in session.execute(select(g, func.count()).where(where).group_by(g)):
            at(key).open_overdue += count

    if durations and not in_sql:
        _durations_in_python(session, g, period, at)
    for figures_ in groups.values():
        total.add(figures_)
    return groups, total


def series(session: Session, periods: list[Period], *, now: datetime) -> list[Figures]:
    """Received, resolved, on time, late and open overdue for each of `periods`
    (contiguous, in order), as `figures()` counts them for that period alone: a chart's
    points in three grouped reads, however many periods, rather than a `figures()` call
    each. Durations, ratings and reopenings are left empty."""
    if not periods:
        return []
    now = now.astimezone(timezone.utc)
    whole = Period(periods[0].start, periods[-1].end)
    points = [Figures() for _ in periods]

    def bucket(column):
        return case(*[(_in(column, period.start, period.end), index)
                      for index, period in enumerate(periods)], else_=None)

    received = bucket(Report.submitted_at)
    for index, count in session.execute(
        select(received, func.count())
        .where(_in(Report.submitted_at, whole.start, whole.end),
               Report.status.not_in(NOT_RECEIVED)).group_by(received)
    ):
        if index is not None:
            points[index].received = count
    resolved = bucket(Report.resolved_at)
    for index, count, in_time in session.execute(
        select(resolved, func.count(), func.sum(case((_on_time(), 1), else_=0)))
        .where(_in(Report.resolved_at, whole.start, whole.end)).group_by(resolved)
    ):
        if index is not None:
            points[index].resolved, points[index].on_time = count, in_time
            points[index].late = count - in_time
    missed = bucket(missed_deadline_column())
    for where in open_overdue_conditions(now, whole):
        for index, count in session.execute(
                select(missed, func.count()).where(where).group_by(missed)):
            if index is not None:
                points[index].open_overdue += count
    return points


def _on_time():
    """`is_on_time` as a condition on resolved reports."""
    return or_(
        and_(Report.resolve_due_at.is_not(None), Report.resolved_at <= Report.resolve_due_at),
        and_(Report.resolve_due_at.is_(None), Report.overdue_at.is_(None)),
    )


def _counts(session: Session, g, period: Period, at) -> None:
    """Received, resolved, on time, late, reopened and the ratings, per group."""
    start, end = period.start, period.end
    for key, count in session.execute(
        select(g, func.count()).where(_in(Report.submitted_at, start, end),
                                      Report.status.not_in(NOT_RECEIVED)).group_by(g)
    ):
        at(key).received = count
    for key, rating, resolved, in_time, reopened in session.execute(
        select(g, Report.rating, func.count(), func.sum(case((_on_time(), 1), else_=0)),
               func.sum(case((Report.reopen_count > 0, 1), else_=0)))
        .where(_in(Report.resolved_at, start, end)).group_by(g, Report.rating)
    ):
        figures_ = at(key)
        figures_.resolved += resolved
        figures_.on_time += in_time
        figures_.late += resolved - in_time
        figures_.reopened += reopened
        if rating is not None:
            figures_.rated += resolved
            figures_.ratings[str(rating)] += resolved


def _durations_in_python(session: Session, g, period: Period, at) -> None:
    """Times to first response (of the reports received in the period) and to resolution
    (of those answered in it), from the hours kept on each report (`keep_durations`),
    read a report at a time; the medians are taken in Python."""
    for name, hours_column, of_period in _measures(period):
        for key, hours in session.execute(
                select(g, hours_column).where(of_period, hours_column.is_not(None))):
            getattr(at(key), name).append(hours)


def _measures(period: Period) -> tuple:
    return (("first_response_hours", Report.first_response_hours,
             _in(Report.submitted_at, period.start, period.end)),
            ("resolution_hours", Report.resolution_hours,
             _in(Report.resolved_at, period.start, period.end)))


def _counts_and_medians(session: Session, g, period: Period, at, total: Figures) -> None:
    """`_counts` and the medians of the hours together, on PostgreSQL: one read of the
    period's reports by submission and one by answer, each grouped with ROLLUP so the
    same statement gives the medians of all groups together (medians do not add up).
    percentile_cont leaves out the reports without hours, as `_durations_in_python` does."""
    (first_name, first_hours, submitted), (resolution_name, resolution_hours, answered) = \
        _measures(period)

    def median_of(column):
        return func.percentile_cont(0.5).within_group(column)

    for key, overall, received, middle in session.execute(
        select(g, func.grouping(g), func.count().filter(Report.status.not_in(NOT_RECEIVED)),
               median_of(first_hours))
        .where(submitted).group_by(func.rollup(g))
    ):
        if overall:
            total.medians[first_name] = middle
        elif received or middle is not None:
            figures_ = at(key)
            figures_.received = received
            figures_.medians[first_name] = middle

    ratings = [func.count().filter(Report.rating == literal_column(f"'{rating.value}'"))
               for rating in RATINGS]
    for key, overall, resolved, in_time, reopened, middle, *rated in session.execute(
        select(g, func.grouping(g), func.count(), func.count().filter(_on_time()),
               func.count().filter(Report.reopen_count > 0), median_of(resolution_hours),
               *ratings)
        .where(answered).group_by(func.rollup(g))
    ):
        if overall:
            total.medians[resolution_name] = middle
            continue
        figures_ = at(key)
        figures_.resolved, figures_.on_time = resolved, in_time
        figures_.late, figures_.reopened = resolved - in_time, reopened
        figures_.medians[resolution_name] = middle
        for rating, count in zip(RATINGS, rated, strict=True):
            figures_.ratings[str(rating)] = count
        figures_.rated = sum(rated)


def durations_of(report: Report, calendar: WorkCalendar) -> tuple[float | None, float | None]:
    """(hours to first response, hours to resolution) of a report, as the figures count
    them (`durations`)."""
    if report.assigned_at is None:
        return None, None
    category = report.category
    if category is None and report.category_id is not None:
        # A report not yet flushed, named by its category's id: no lazy load for it.
        category = object_session(report).get(Category, report.category_id)
    return durations(report.assigned_at, report.first_response_at, report.resolved_at,
                     urgent=category is not None and category.urgency == Urgency.URGENT,
                     calendar=calendar)


def durations(assigned_at: datetime | None, first_response_at: datetime | None,
              resolved_at: datetime | None, *, urgent: bool,
              calendar) -> tuple[float | None, float | None]:
    """Working hours from assignment to the first response and to the answer (clock
    hours for an urgent category); None where there is no such time (a first response
    before the latest assignment counts as none)."""
    if assigned_at is None:
        return None, None
    return (
        hours_taken(assigned_at, first_response_at, urgent=urgent, calendar=calendar)
        if first_response_at is not None and first_response_at >= assigned_at else None,
        hours_taken(assigned_at, resolved_at, urgent=urgent, calendar=calendar)
        if resolved_at is not None else None,
    )


def fill_in_durations(connection, calendar: WorkCalendar, *, batch: int = 20_000) -> int:
    """Set the hours of every assigned report that has a first response or an answer,
    a batch at a time, reading the tables as they are (no models): for migration 0005,
    and for benchmarks that write reports in SQL. Answers how many were set."""
    from feedback.models.types import UTCDateTime

    reports = table("reports", column("id", BigInteger), column("category_id", Integer),
                    column("assigned_at", UTCDateTime()),
                    column("first_response_at", UTCDateTime()),
                    column("resolved_at", UTCDateTime()))
    categories = table("categories", column("id", Integer), column("urgency", String))
    postgresql = connection.dialect.name == "postgresql"
    done, last_id = 0, 0
    while True:
        rows = connection.execute(
            select(reports.c.id, categories.c.urgency == Urgency.URGENT.value,
                   reports.c.assigned_at, reports.c.first_response_at, reports.c.resolved_at)
            .join(categories, categories.c.id == reports.c.category_id)
            .where(reports.c.id > last_id, reports.c.assigned_at.is_not(None),
                   reports.c.first_response_at.is_not(None)
                   | reports.c.resolved_at.is_not(None))
            .order_by(reports.c.id).limit(batch)
        ).all()
        if not rows:
            return done
        working = WorkingMinutes.covering(
            calendar, [moment for row in rows for moment in row[2:] if moment is not None])
        hours = [durations(began, first, ended, urgent=bool(urgent), calendar=working)
                 for _id, urgent, began, first, ended in rows]
        ids = [row[0] for row in rows]
        if postgresql:
            connection.execute(text(
                "UPDATE reports SET first_response_hours = v.first, resolution_hours = v.resolution "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:firsts AS float8[]), "
                "CAST(:resolutions AS float8[])) AS v(id, first, resolution) "
                "WHERE reports.id = v.id"),
                {"ids": ids, "firsts": [h[0] for h in hours],
                 "resolutions": [h[1] for h in hours]})
        else:
            connection.execute(text(
                "UPDATE reports SET first_response_hours = :first, "
                "resolution_hours = :resolution WHERE id = :id"),
                [{"id": report_id, "first": first, "resolution": resolution}
                 for report_id, (first, resolution) in zip(ids, hours, strict=True)])
        done += len(rows)
        last_id = ids[-1]


_DURATION_INPUTS = ("assigned_at", "first_response_at", "resolved_at", "category_id",
                    "category")


def keep_durations(session_class=Session) -> None:
    """Before each flush, set `first_response_hours` and `resolution_hours` on every
    report whose assignment, first response, answer or category changed, with the
    calendar in force (`deadlines.calendar_for`)."""
    if session_class in _KEEPING:
        return
    _KEEPING.add(session_class)

    @event.listens_for(session_class, "before_flush")
    def _before_flush(session, _context, _instances):
        changed = [report for report in (*session.new, *session.dirty)
                   if isinstance(report, Report) and _inputs_changed(report)]
        if not changed:
            return
        from feedback.services.deadlines import calendar_for

        calendar = None
        for report in changed:
            if report.assigned_at is None or (report.first_response_at is None
                                              and report.resolved_at is None):
                report.first_response_hours = report.resolution_hours = None
                continue
            calendar = calendar or calendar_for(session)
            report.first_response_hours, report.resolution_hours = durations_of(
                report, calendar)


_KEEPING: set = set()


def _inputs_changed(report: Report) -> bool:
    state = inspect(report)
    if state.pending or state.transient:
        return True
    return any(state.attrs[name].history.has_changes() for name in _DURATION_INPUTS)


def group_labels(session: Session, group_by: str, keys: Iterable) -> dict:
    """{group key: (code, name)} for the groups `figures()` answered."""
    keys = [key for key in keys if key is not None]
    if not keys:
        return {}
    if group_by == "department":
        rows = session.execute(select(Department.id, Department.code, Department.name)
                               .where(Department.id.in_(keys)))
    elif group_by == "category":
        rows = session.execute(select(Category.id, Category.code, Category.name_vi)
                               .where(Category.id.in_(keys)))
    else:
        rows = session.execute(select(Area.code, Area.code, Area.name)
                               .where(Area.code.in_(keys)))
    return {key: (code, name) for key, code, name in rows}
