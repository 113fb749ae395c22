"""The deadline sweep: one periodic pass that finds what fell due and acts on it.

Warnings at 75% of the time, overdue marks with escalation to supervisors, progress
reminders for overdue work, and closing resolved reports whose rating window passed.
Each part reads only what is due, through its partial index, a batch at a time. On
PostgreSQL a batch is claimed with `FOR UPDATE SKIP LOCKED` and its condition checked
again by the UPDATE that marks it, so two sweeps at once (or a sweep run twice) never
warn twice; SQLite runs one writer at a time and the UPDATE's own check does the rest.

A mark writes one event and one notification per report (and one per supervisor for an
escalation). On PostgreSQL a batch is one statement: the UPDATE ... RETURNING feeds the
INSERTs of events and notifications in the same statement, texts made in SQL from the
same templates (`notifications.MESSAGES`); elsewhere the rows come back to Python and go
in with one `insert()` per table. Both write the same rows; the tests hold them to it.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import (
    Boolean,
    String,
    any_,
    case,
    cast,
    false,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from feedback.models import (
    STATUS_LABELS,
    Category,
    Department,
    DepartmentKind,
    Notification,
    Report,
    ReportEvent,
    ReportStatus,
    Role,
    User,
)
from feedback.models.types import UTCDateTime
from feedback.services import deadlines, notifications, outbox, workflow
from feedback.services.calendar import WorkCalendar
from feedback.services.deadlines import Step

log = logging.getLogger(__name__)

__all__ = ["SweepResult", "claiming_statements", "init_app", "run_sweep", "sweep"]

# Which step's clock runs in each status (the others run no clock).
STEP_BY_STATUS = {
    ReportStatus.SUBMITTED: Step.MODERATE,
    ReportStatus.ASSIGNED: Step.ACKNOWLEDGE,
    ReportStatus.IN_PROGRESS: Step.RESOLVE,
}
NO_DEPARTMENT = "đơn vị xử lý"  # what a message says when no department holds the report
# Written as SQL literals, not bound parameters: a partial index whose predicate names
# a status is only provably usable when the query names the same constant (a generic
# plan of a prepared statement, or SQLite, cannot see a parameter's value).
_RESOLVED = literal_column("'resolved'")
_FIELD = re.compile(r"\{(\w+)\}")

REPORTS = Report.__table__
EVENTS = ReportEvent.__table__
NOTIFICATIONS = Notification.__table__
# What a claim answers about each report it marked.
_CLAIMED = (REPORTS.c.id, REPORTS.c.tracking_code, REPORTS.c.status,
            REPORTS.c.lead_department_id, REPORTS.c.due_at, REPORTS.c.overdue_at)
_NOTIFICATION_COLUMNS = ("user_id", "department_id", "report_id", "kind", "title", "body",
                         "created_at")


@dataclass
class SweepResult:
    """What one pass did: reports warned, marked overdue, escalated, reminded, closed."""

    warned: int = 0
    overdue: int = 0
    escalated: int = 0
    reminded: int = 0
    closed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Mark:
    """One kind of mark: which reports, what it sets on them, what it writes for each."""

    conditions: tuple  # the index's predicate, then the key range
    order_by: object  # the index's key
    values: dict
    event: str | None = None  # the event's kind; None: no event
    event_data: dict = field(default_factory=dict)  # constants beside step and due_at
    notices: tuple = ()  # (message kind, "department" | "supervisors")
    # Write nothing for a report already overdue (a warning would say "75% used").
    skip_overdue: bool = False


def sweep(session: Session, *, now: datetime, calendar: WorkCalendar, batch_size: int = 1000,
          commit_each_batch: bool = False) -> SweepResult:
    """One pass over what fell due at `now`. Safe to run twice, or from two processes at once.

    Order matters: overdue first (a report past both its warning point and its due time
    gets the overdue notice only), then warnings, then reminders (a report marked overdue
    in this pass is not reminded in it), then closing unrated reports.

    Nothing is committed unless `commit_each_batch`: the periodic job commits each batch
    that changed something, so a long pass holds its row locks for one batch only and
    keeps what it did if it is stopped; a test passes nothing and sees one transaction.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    run = _Pass(session, now=now, calendar=calendar, batch_size=batch_size,
                commit_each_batch=commit_each_batch)
    result = SweepResult()
    result.overdue = result.escalated = run.drain(lambda: run.apply(run.overdue()))
    result.warned = run.drain(lambda: run.apply(run.warning()))
    result.reminded = run.drain(lambda: run.apply(run.reminder()))
    result.closed = run.drain(run.close_unrated)
    if commit_each_batch:
        session.commit()
    return result


def claiming_statements(session: Session, *, now: datetime, calendar: WorkCalendar,
                        batch_size: int = 1000) -> dict:
    """The statements the sweep claims with, by part, for EXPLAIN (bench/sweep.py)."""
    run = _Pass(session, now=now, calendar=calendar, batch_size=batch_size,
                commit_each_batch=False)
    return {
        "overdue": run.statement(run.overdue()),
        "warn": run.statement(run.warning()),
        "remind": run.statement(run.reminder()),
        "close": run.close_statement(),
    }


class _Pass:
    """The state of one sweep: its clock, calendar and what it looked up once."""

    def __init__(self, session: Session, *, now: datetime, calendar: WorkCalendar,
                 batch_size: int, commit_each_batch: bool):
        self.session = session
        self.now = now.astimezone(timezone.utc)
        self.calendar = calendar
        self.batch_size = batch_size
        self.commit_each_batch = commit_each_batch
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self._next_reminder = None
        self._department_names = None
        self._supervisor_ids = None
        self._operations = None

    def drain(self, part) -> int:
        """Run `part` a batch at a time until a batch comes back short."""
        total = 0
        while True:
            done, claimed = part()
            total += done
            if self.commit_each_batch and claimed:
                # An empty batch changed nothing: one commit at the end of the pass
                # will do, saving a round trip (and a pool check-out) per part.
                self.session.commit()
            if claimed < self.batch_size:
                return total

    # The marks ---------------------------------------------------------------------------

    def overdue(self) -> _Mark:
        return _Mark(
            conditions=(Report.due_at.is_not(None), Report.overdue_at.is_(None),
                        Report.due_at <= self.now),
            order_by=Report.due_at,
            values={
                "overdue_at": self.now,
                "escalated_at": self.now,
                # Past its due time is past its warning point: it leaves the warning
                # index without a warning of its own (the overdue notice stands for it).
                "warned_at": func.coalesce(Report.warned_at, _instant(self.now)),
                "remind_at": self.next_reminder(),
                "updated_at": self.now,
            },
            event="overdue", event_data={"escalated": True},
            notices=(("overdue", "department"), ("escalated", "supervisors")),
        )

    def warning(self) -> _Mark:
        return _Mark(
            conditions=(Report.warn_at.is_not(None), Report.warned_at.is_(None),
                        Report.due_at.is_not(None), Report.warn_at <= self.now),
            order_by=Report.warn_at,
            values={"warned_at": self.now, "updated_at": self.now},
            event="deadline_warning",
            notices=(("deadline_warning", "department"),),
            skip_overdue=True,
        )

    def reminder(self) -> _Mark:
        # A reminder is not a move in the report's life: no event, the notification is
        # the record.
        return _Mark(
            conditions=(Report.remind_at.is_not(None), Report.due_at.is_not(None),
                        Report.remind_at <= self.now),
            order_by=Report.remind_at,
            values={"remind_at": self.next_reminder()},
            notices=(("reminder", "department"),),
        )

    def _claim(self, mark: _Mark):
        """UPDATE one batch, the condition checked again on each row, RETURNING what changed.

        The batch's ids come through the index `order_by` names; on PostgreSQL its rows
        are locked, and rows another transaction holds (a move in progress, another
        sweep) are skipped: the next pass looks at them again. ANY(ARRAY(...)) runs the
        claim once and fetches each row by its key; with IN (...) the planner may read
        every due row again per batch to re-check the condition, a cost that grows with
        the square of a backlog.
        """
        due = (select(REPORTS.c.id).where(*mark.conditions).order_by(mark.order_by)
               .limit(self.batch_size))
        if self.postgresql:
            chosen = REPORTS.c.id == any_(func.array(
                due.with_for_update(skip_locked=True).scalar_subquery()))
        else:
            chosen = REPORTS.c.id.in_(due)
        # Each mark is a change to the report: the optimistic lock sees it.
        return (update(REPORTS).where(chosen, *mark.conditions)
                .values(version=REPORTS.c.version + 1, **mark.values)
                .returning(*_CLAIMED))

    def statement(self, mark: _Mark):
        """PostgreSQL: the claim and everything it writes, as one statement."""
        if not self.postgresql:
            return self._claim(mark)
        claimed = self._claim(mark).cte("claimed")
        chosen = claimed
        if mark.skip_overdue:
            chosen = select(claimed).where(claimed.c.overdue_at.is_(None)).cte("chosen")
        writes = []
        if mark.event:
            writes.append(insert(EVENTS).from_select(
                ["report_id", "kind", "created_at", "data", "is_public"],
                select(chosen.c.id, _text(mark.event), _instant(self.now),
                       self._sql_event_data(chosen, mark), literal(False, Boolean)),
            ).cte("events"))
        notices = [
            insert(NOTIFICATIONS).from_select(
                _NOTIFICATION_COLUMNS, self._sql_messages(chosen, kind, audience),
            ).returning(NOTIFICATIONS.c.id).cte(f"notices_{number}")
            for number, (kind, audience) in enumerate(mark.notices)
        ]
        notice_ids = (union_all(*(select(notice.c.id) for notice in notices))
                      if notices else select(NOTIFICATIONS.c.id).where(false()))
        return select(
            func.array(select(claimed.c.id).scalar_subquery()).label("claimed"),
            select(func.count()).select_from(chosen).scalar_subquery().label("written"),
            func.array(notice_ids.scalar_subquery()).label("notices"),
        ).add_cte(*writes, *notices)

    def apply(self, mark: _Mark) -> tuple[int, int]:
        """Claim one batch and write what its marks say; answers (written, claimed)."""
        self.session.flush()  # a Core statement does not flush the caller's changes itself
        if self.postgresql:
            claimed, written, notice_ids = self.session.execute(self.statement(mark)).one()
            self._forget(claimed)
            self._push(notice_ids)
            return written, len(claimed)
        rows = self.session.execute(self._claim(mark)).all()
        self._forget(row.id for row in rows)
        chosen = [row for row in rows if not (mark.skip_overdue and row.overdue_at)]
        if mark.event and chosen:
            self.session.execute(insert(ReportEvent), [
                {"report_id": row.id, "kind": mark.event, "created_at": self.now,
                 "data": {"step": _step(row.status), "due_at": _second(row.due_at),
                          **mark.event_data},
                 "is_public": False}
                for row in chosen])
        self._notify([message for kind, audience in mark.notices for row in chosen
                      for message in self._messages(row, kind, audience)])
        return len(chosen), len(rows)

    def _forget(self, report_ids) -> None:
        """Expire the claimed reports the session holds: they must not keep the version
        the mark bumped, or the caller's next move would be refused as a lost update."""
        for report_id in report_ids:
            report = self.session.identity_map.get(identity_key(Report, report_id))
            if report is not None:
                self.session.expire(report)

    # (d) closing what the citizen did not rate ------------------------------------------

    def close_statement(self):
        # The predicate of ix_reports_rating_due, then the key range.
        query = (select(Report).where(Report.status == _RESOLVED,
                                      Report.rating_due_at <= self.now)
                 .order_by(Report.rating_due_at).limit(self.batch_size))
        if self.postgresql:
            query = query.with_for_update(skip_locked=True)
        return query

    def close_unrated(self) -> tuple[int, int]:
        reports = self.session.execute(self.close_statement()).scalars().all()
        closed = [report for report in reports
                  if workflow.close_unrated(self.session, report, now=self.now) is not None]
        self._notify([self._message(report, "closed", user_id=report.citizen_id)
                      for report in closed if report.citizen_id is not None])
        # Counted as claimed only if closed, so a report that would not close cannot
        # keep the loop going.
        return len(closed), len(closed)

    # What the marks set and write --------------------------------------------------------

    def next_reminder(self):
        """remind_at for a report marked overdue (or reminded) now, per category.

        `progress_reminder_after` gives the delay; an urgent category counts it in
        clock time, the others in working time (a "day" is a working day), so a
        reminder does not land on a night, a weekend or Tết.
        """
        if self._next_reminder is None:
            by_time: dict[datetime, list[int]] = {}
            for category in self.session.execute(select(Category)).scalars():
                delay = deadlines.progress_reminder_after(SimpleNamespace(category=category))
                if deadlines.is_urgent(category):
                    at = self.now + delay
                else:
                    days = delay / timedelta(days=1)
                    at = self.calendar.add_working_time(
                        self.now, days * self.calendar.minutes_per_working_day)
                by_time.setdefault(at, []).append(category.id)
            if not by_time:
                self._next_reminder = self.now + timedelta(days=1)
            else:
                # The most common time is the default; the others by category.
                ordered = sorted(by_time.items(), key=lambda item: -len(item[1]))
                whens = [(REPORTS.c.category_id.in_(ids), _instant(at))
                         for at, ids in ordered[1:]]
                default = ordered[0][0]
                self._next_reminder = (case(*whens, else_=_instant(default)) if whens
                                       else default)
        return self._next_reminder

    def _messages(self, row, kind: str, audience: str) -> list[dict]:
        if audience == "supervisors":
            return [self._message(row, kind, user_id=user_id)
                    for user_id in self.supervisor_ids()]
        # To the lead department; a report no department holds yet (moderation,
        # manual routing) is the operations centre's, whose staff moderate.
        department_id = row.lead_department_id or self.operations_department_id()
        return [self._message(row, kind, department_id=department_id)]

    def _message(self, row, kind: str, *, user_id=None, department_id=None) -> dict:
        title, body = notifications.MESSAGES[kind]
        fields = {
            "code": row.tracking_code,
            "status": STATUS_LABELS[ReportStatus(row.status)],
            "department": self.department_name(row.lead_department_id),
            "note": "",
        }
        return {"user_id": user_id, "department_id": department_id, "report_id": row.id,
                "kind": kind, "title": title.format(**fields), "body": body.format(**fields),
                "created_at": self.now}

    def _sql_messages(self, chosen, kind: str, audience: str):
        """The same messages as `_messages`, as a SELECT over the claimed rows."""
        departments = Department.__table__
        status = type_coerce(chosen.c.status, String)
        fields = {  # made only for the templates that name them
            "code": lambda: chosen.c.tracking_code,
            "status": lambda: case(*[(status == value, _text(label))
                                     for value, label in STATUS_LABELS.items()],
                                   else_=status),
            "department": lambda: func.coalesce(departments.c.name, _text(NO_DEPARTMENT)),
            "note": lambda: _text(""),
        }
        title, body = (_sql_format(template, fields)
                       for template in notifications.MESSAGES[kind])
        source = chosen.outerjoin(departments, departments.c.id == chosen.c.lead_department_id)
        if audience == "supervisors":
            users = User.__table__
            return (select(users.c.id, _null(NOTIFICATIONS.c.department_id), chosen.c.id,
                           _text(kind), title, body, _instant(self.now))
                    .select_from(source.join(users, true()))
                    .where(users.c.role == Role.SUPERVISOR.value, users.c.active.is_(True)))
        department_id = func.coalesce(chosen.c.lead_department_id,
                                      literal(self.operations_department_id()))
        return (select(_null(NOTIFICATIONS.c.user_id), department_id, chosen.c.id,
                       _text(kind), title, body, _instant(self.now))
                .select_from(source))

    def _sql_event_data(self, chosen, mark: _Mark):
        status = type_coerce(chosen.c.status, String)
        step = case(*[(status == value, _text(str(step)))
                      for value, step in STEP_BY_STATUS.items()], else_=_text(""))
        # As Python's isoformat(timespec="seconds") writes a UTC instant.
        due_at = func.to_char(func.timezone("UTC", chosen.c.due_at),
                              'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')
        pairs = [_text("step"), step, _text("due_at"), due_at]
        for key, value in mark.event_data.items():
            pairs += [_text(key), literal(value, Boolean) if isinstance(value, bool)
                      else _text(str(value))]
        return func.jsonb_build_object(*pairs)

    def _notify(self, messages: list[dict]) -> None:
        """Insert the notifications all at once; with a push webhook, push each through
        the outbox as `notify_*` do."""
        if not messages:
            return
        if current_app.config.get("PUSH_WEBHOOK_URL"):
            ids = self.session.execute(
                insert(Notification).returning(Notification.id), messages).scalars().all()
            self._push(ids)
        else:
            self.session.execute(insert(Notification), messages)

    def _push(self, notification_ids) -> None:
        if not notification_ids or not current_app.config.get("PUSH_WEBHOOK_URL"):
            return
        for notification_id in notification_ids:
            outbox.schedule(self.session, notifications.PUSH, notification_id,
                            queue=notifications.PUSH_QUEUE, key=f"n{notification_id}")

    def department_name(self, department_id: int | None) -> str:
        if self._department_names is None:
            self._department_names = dict(self.session.execute(
                select(Department.id, Department.name)).tuples().all())
        return self._department_names.get(department_id, NO_DEPARTMENT)

    def supervisor_ids(self) -> list[int]:
        if self._supervisor_ids is None:
            self._supervisor_ids = self.session.execute(
                select(User.id).where(User.role == Role.SUPERVISOR, User.active.is_(True))
                .order_by(User.id)
            ).scalars().all()
        return self._supervisor_ids

    def operations_department_id(self) -> int | None:
        if self._operations is None:
            self._operations = self.session.execute(
                select(Department.id).where(Department.kind == DepartmentKind.OPERATIONS,
                                            Department.active.is_(True))
                .order_by(Department.id).limit(1)
            ).scalar_one_or_none() or 0
            if not self._operations:
                log.warning("sweep: no operations department; notices about reports no "
                            "department holds go to no one")
        return self._operations or None


def _step(status) -> str:
    return str(STEP_BY_STATUS.get(ReportStatus(status), ""))


def _second(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _text(value: str):
    """A string constant typed as text (PostgreSQL cannot guess the type of a bare
    parameter given to jsonb_build_object or a CASE)."""
    return cast(literal(value), String)


def _sql_format(template: str, fields: dict):
    """`template.format(**fields)` as an SQL expression: "Quá hạn: {code}" → 'Quá hạn: ' || code.

    `fields` maps each name to a function making its expression."""
    pieces = _FIELD.split(template)
    if "{" in "".join(pieces[0::2]) or "}" in "".join(pieces[0::2]):
        raise ValueError(f"only {{name}} fields are supported in {template!r}")
    parts = [_text(text) if index % 2 == 0 else fields[text]()
             for index, text in enumerate(pieces) if index % 2 or text]
    expression = parts[0]
    for part in parts[1:]:
        expression = expression.op("||")(part)
    return type_coerce(expression, String)


def _null(column):
    return cast(null(), column.type)


def _instant(moment: datetime):
    """A datetime inside an SQL expression, stored as the columns store it (UTC)."""
    return literal(moment, UTCDateTime())


# The periodic job and the command ------------------------------------------------------

def run_sweep(*, batch_size: int | None = None) -> dict:
    """One sweep now, each batch committed; answers the counts. Runs in an app context."""
    from feedback.extensions import db

    session = db.session
    now = datetime.now(timezone.utc)
    try:
        result = sweep(session, now=now, calendar=deadlines.calendar_for(session),
                       batch_size=batch_size or current_app.config.get("SWEEP_BATCH_SIZE", 1000),
                       commit_each_batch=True)
        session.commit()
    except Exception:
        session.rollback()
        raise
    counts = result.as_dict()
    if any(counts.values()):
        log.info("sweep at %s: %s", now.isoformat(timespec="seconds"), counts)
    return counts


sweep_cli = AppGroup("sweep", help="The deadline sweep (warnings, overdue, reminders, closing).")


@sweep_cli.command("run")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Reports per batch (default SWEEP_BATCH_SIZE, 1000).")
def run_command(batch_size):
    """Run the sweep once now and print what it did."""
    started = time.perf_counter()
    counts = run_sweep(batch_size=batch_size)
    elapsed = time.perf_counter() - started
    click.echo("sweep: " + ", ".join(f"{name} {count}" for name, count in counts.items())
               + f" ({elapsed * 1000:.0f} ms)")


def init_app(app) -> None:
    """Register `flask sweep run`."""
    app.cli.add_command(sweep_cli)
