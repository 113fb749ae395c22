"""The life of a report, as one state machine (DESIGN.md, "A report's life").

Every move checks who may make it and from which status, changes the report,
writes an event (who, when, from, to, why), restarts or stops the clock, and tells
the people concerned. Moves take the report locked (`load_for_move`), so of two
people acting at once the second sees the first one's result and is refused.
Nothing here commits: the caller does, once, with the outbox work in the same
transaction.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from feedback.models import (
    ExtensionRequest,
    ExtensionState,
    ManualRouting,
    Outcome,
    Rating,
    Report,
    ReportEvent,
    ReportStatus,
    ReviewState,
    Role,
    User,
)
from feedback.services import deadlines, notifications, outbox
from feedback.services.deadlines import Step
from feedback.services.text import nfc

S = ReportStatus
MODERATORS = frozenset({Role.MODERATOR, Role.ADMIN})
OFFICERS = frozenset({Role.OFFICER})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
CITIZENS = frozenset({Role.CITIZEN})

# Why a moderator may refuse a report: the citizen sees the label.
REJECTION_REASONS = {
    "spam": "Tin rác, quảng cáo",
    "abusive": "Nội dung xúc phạm, không phù hợp",
    "not_a_field_problem": "Không phải phản ánh hiện trường",
    "complaint_or_denunciation": "Khiếu nại, tố cáo: xin gửi qua kênh tiếp công dân",
    "insufficient_information": "Không đủ thông tin để xử lý",
    "other": "Lý do khác",
}
RETURN_REASONS = {
    "not_our_competence": "Không thuộc thẩm quyền",
    "wrong_area": "Không thuộc địa bàn",
    "other": "Lý do khác",
}


class WorkflowError(Exception):
    """A move that cannot be made. `code` is the machine code the API answers (one per
    kind: 409, 403, 422); `reason` the finer machine code of why, with `params`, from
    which the web view says it in the reader's language (feedback/web/errors.py);
    `message` is the English for API clients and logs."""

    code = "illegal_move"

    def __init__(self, message: str, *, reason: str | None = None,
                 params: dict | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or self.code
        self.params = params or {}
        self.details = details or {}


class IllegalMove(WorkflowError):
    """Not from this status: the API answers 409."""


class NotAllowed(WorkflowError):
    """Not for this person: the API answers 403."""

    code = "not_allowed"


class InvalidMove(WorkflowError):
    """The move's own input is wrong (a reason missing, a date out of range): 422."""

    code = "validation_failed"


@dataclass(frozen=True)
class Move:
    name: str
    from_statuses: frozenset
    roles: frozenset


def _move(name, statuses, roles):
    return Move(name, frozenset(statuses), roles)


MOVES = {move.name: move for move in (
    _move("approve", {S.SUBMITTED}, MODERATORS),
    _move("reject", {S.SUBMITTED, S.ASSIGNED}, MODERATORS),
    _move("mark_duplicate", {S.SUBMITTED, S.ASSIGNED}, MODERATORS),
    _move("route_manually", {S.SUBMITTED}, MODERATORS),
    _move("change_category", {S.SUBMITTED, S.ASSIGNED}, MODERATORS),
    _move("acknowledge", {S.ASSIGNED}, OFFICERS),
    _move("request_info", {S.ASSIGNED, S.IN_PROGRESS}, OFFICERS),
    _move("provide_info", {S.AWAITING_CITIZEN}, CITIZENS),
    _move("answer", {S.ASSIGNED, S.IN_PROGRESS}, OFFICERS),
    _move("return", {S.ASSIGNED, S.IN_PROGRESS}, OFFICERS),
    _move("request_extension", {S.ASSIGNED, S.IN_PROGRESS}, OFFICERS),
    _move("decide_extension", {S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_CITIZEN}, SUPERVISORS),
    _move("review_answer", {S.IN_PROGRESS}, SUPERVISORS),
    _move("rate", {S.RESOLVED}, CITIZENS),
    _move("reopen", {S.RESOLVED}, CITIZENS),
)}


def load_for_move(session: Session, report_id: int) -> Report | None:
    """The report, locked until the transaction ends (a no-op on SQLite, which
    serialises writers anyway; the version column still catches a lost update)."""
    return session.execute(
        select(Report).where(Report.id == report_id)
        .options(joinedload(Report.category, innerjoin=True))
        .with_for_update(of=Report)
    ).scalar_one_or_none()


def load_extension_for_decision(session: Session, extension_id: int) -> ExtensionRequest | None:
    """An extension request with its report locked, read after the lock: of two
    supervisors deciding at once, the second sees the first one's decision."""
    report_id = session.execute(
        select(ExtensionRequest.report_id).where(ExtensionRequest.id == extension_id)
    ).scalar_one_or_none()
    if report_id is None or load_for_move(session, report_id) is None:
        return None
    return session.execute(
        select(ExtensionRequest).where(ExtensionRequest.id == extension_id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def check(move_name: str, report: Report, actor: User | None) -> None:
    """Refuse a move this person may not make, or not from this status."""
    move = MOVES[move_name]
    if actor is not None:
        if actor.role not in move.roles:
            raise NotAllowed(f"Your role ({actor.role}) may not {move_name.replace('_', ' ')}.",
                             reason="role_not_allowed", params={"move": move_name})
        if actor.role == Role.OFFICER and actor.department_id != report.lead_department_id:
            raise NotAllowed("This report is not your department's.",
                             reason="not_your_department")
        if actor.role == Role.CITIZEN and actor.id != report.citizen_id:
            raise NotAllowed("This is not your report.", reason="not_your_report")
    if report.status not in move.from_statuses:
        raise IllegalMove(
            f"Cannot {move_name.replace('_', ' ')} a report that is {report.status.label}.",
            reason="wrong_status", params={"move": move_name, "status": report.status},
            details={"status": [str(report.status)],
                     "allowed_from": sorted(str(s) for s in move.from_statuses)},
        )


def record(session: Session, report: Report, kind: str, *, actor: User | None, now: datetime,
           from_status=None, to_status=None, reason_code: str | None = None,
           note: str | None = None, data: dict | None = None, public: bool = False) -> ReportEvent:
    event = ReportEvent(
        report=report, kind=kind, created_at=now,
        actor_id=actor.id if actor else None, actor_role=str(actor.role) if actor else None,
        department_id=actor.department_id if actor and actor.role == Role.OFFICER else None,
        from_status=from_status, to_status=to_status, reason_code=reason_code,
        note=nfc(note) if note else None, data=data, is_public=public,
    )
    session.add(event)
    return event


def _transition(session, report, to_status, kind, *, actor, now, **event_fields) -> ReportEvent:
    from_status = report.status
    report.status = to_status
    report.updated_at = now
    return record(session, report, kind, actor=actor, now=now, from_status=from_status,
                  to_status=to_status, **event_fields)


def _calendar(session):
    return deadlines.calendar_for(session)


def _schedule_routing(session: Session, report: Report, event: ReportEvent) -> None:
    session.flush()
    outbox.schedule(session, "feedback.services.routing.route_report", report.id,
                    queue="routing", key=f"{report.id}-e{event.id}")


def _need(value, field: str, message: str):
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidMove(message, reason="required", params={"field": field},
                          details={field: ["Missing data for required field."]})
    return value


def _end_hold(session: Session, report: Report, *, actor: User | None, now: datetime,
              why: str, keep_department_id: int | None = None) -> None:
    """The department that holds the report stops holding it (it answered, returned it, a
    moderator rejected, merged or re-routed it): its pending extension request is
    withdrawn, since no supervisor may decide it any more. With `keep_department_id`,
    that department's request stays (the report is routed to it again)."""
    if report.assigned_at is None:
        return  # never held by a department: no request can exist (a routing job's case)
    # Without flushing the move's half-made changes (a second UPDATE of the report); a
    # request added in this transaction and not yet flushed is in `session.new`.
    with session.no_autoflush:
        pending = set(session.execute(
            select(ExtensionRequest).where(ExtensionRequest.report_id == report.id,
                                           ExtensionRequest.state == ExtensionState.PENDING)
        ).scalars()) if report.id is not None else set()
    pending |= {item for item in session.new if isinstance(item, ExtensionRequest)
                and item.report is report and item.state in (None, ExtensionState.PENDING)}
    if any(item.id is None for item in pending):
        session.flush()  # only when asked and ended in one transaction: its id, for the event
    for extension in sorted(pending, key=lambda item: item.id):
        if extension.state not in (None, ExtensionState.PENDING):
            continue  # decided in this very transaction
        if keep_department_id is not None and extension.department_id == keep_department_id:
            continue
        extension.state = ExtensionState.WITHDRAWN
        extension.decided_at = now
        record(session, report, "extension_withdrawn", actor=actor, now=now, reason_code=why,
               data={"extension_id": extension.id,
                     "requested_due_at": extension.requested_due_at.isoformat()})


# Moderators ---------------------------------------------------------------------------

def approve(session: Session, report: Report, *, actor: User, now: datetime) -> ReportEvent:
    """Accept the report; routing (a worker job) finds its department."""
    check("approve", report, actor)
    if report.moderated_at is not None:
        raise IllegalMove("This report was approved already.", reason="already_approved")
    report.moderated_at = now
    event = record(session, report, "approved", actor=actor, now=now, public=True)
    _schedule_routing(session, report, event)
    return event


def reject(session: Session, report: Report, *, actor: User, now: datetime, reason_code: str,
           note: str | None = None) -> ReportEvent:
    check("reject", report, actor)
    if reason_code not in REJECTION_REASONS:
        raise InvalidMove("Choose a reason from the list.", reason="choose_reason",
                          details={"reason_code": [f"One of: {', '.join(REJECTION_REASONS)}."]})
    reason = REJECTION_REASONS[reason_code] + (f": {nfc(note)}" if note else "")
    report.rejection_code = reason_code
    report.rejection_reason = reason
    report.moderated_at = report.moderated_at or now
    report.manual_routing = None
    deadlines.stop_clock(report)
    _end_hold(session, report, actor=actor, now=now, why="rejected")
    event = _transition(session, report, S.REJECTED, "rejected", actor=actor, now=now,
                        reason_code=reason_code, note=note, public=True)
    notifications.notify_citizen(session, report, "rejected", now=now, note=reason)
    return event


def mark_duplicate(session: Session, report: Report, original: Report, *, actor: User,
                   now: datetime, note: str | None = None) -> ReportEvent:
    check("mark_duplicate", report, actor)
    if original.id == report.id or original.status in (S.REJECTED, S.DUPLICATE):
        raise InvalidMove("Merge into another report that is itself accepted.",
                          reason="not_mergeable", params={"code": original.tracking_code},
                          details={"duplicate_of": ["Not a report to merge into."]})
    report.duplicate_of = original
    report.moderated_at = report.moderated_at or now
    report.manual_routing = None
    deadlines.stop_clock(report)
    _end_hold(session, report, actor=actor, now=now, why="merged")
    event = _transition(session, report, S.DUPLICATE, "merged", actor=actor, now=now, note=note,
                        data={"duplicate_of": original.tracking_code}, public=True)
    notifications.notify_citizen(session, report, "duplicate", now=now,
                                 note=original.tracking_code)
    return event


def send_to_manual_routing(session: Session, report: Report, why: ManualRouting, *,
                           now: datetime, actor: User | None = None,
                           note: str | None = None) -> ReportEvent:
    report.manual_routing = why
    return record(session, report, "manual_routing", actor=actor, now=now, reason_code=str(why),
                  note=note)


def assign(session: Session, report: Report, department, coordinators=(), *,
           actor: User | None, now: datetime, reason: str, data: dict | None = None) -> ReportEvent:
    """Give the report to its lead department; its time to acknowledge starts."""
    calendar = _calendar(session)
    with session.no_autoflush:
        return _assign(session, report, department, coordinators, actor=actor, now=now,
                       reason=reason, data=data, calendar=calendar)


def _assign(session, report, department, coordinators, *, actor, now, reason, data, calendar):
    _end_hold(session, report, actor=actor, now=now, why="reassigned",
              keep_department_id=department.id)
    if report.assigned_at is None:
        # Never assigned, so no coordinators yet: said so, setting the list below loads
        # nothing (a query per routing job otherwise).
        set_committed_value(report, "coordinators", [])
    report.lead_department = department
    report.coordinators = [c for c in coordinators if c.id != department.id]
    report.manual_routing = None
    report.assigned_at = now
    report.moderated_at = report.moderated_at or now
    deadlines.start_clock(report, Step.ACKNOWLEDGE, now=now, calendar=calendar)
    event = _transition(
        session, report, S.ASSIGNED, "assigned", actor=actor, now=now, reason_code=reason,
        data={"department": department.code,
              "coordinators": [c.code for c in report.coordinators], **(data or {})},
        public=True)
    notifications.notify_citizen(session, report, "assigned", now=now)
    notifications.notify_department(session, report, "new_work", now=now)
    for coordinator in report.coordinators:
        notifications.notify_department(session, report, "new_work", now=now,
                                        department_id=coordinator.id)
    return event


def route_manually(session: Session, report: Report, department, coordinators=(), *,
                   actor: User, now: datetime) -> ReportEvent:
    check("route_manually", report, actor)
    if not department.active:
        raise InvalidMove("This department is not active.", reason="department_inactive",
                          params={"name": department.name},
                          details={"department": ["Not active."]})
    return assign(session, report, department, coordinators, actor=actor, now=now,
                  reason="manual")


def change_category(session: Session, report: Report, category, *, actor: User,
                    now: datetime) -> ReportEvent:
    """Move the report to another category; an approved report is routed again."""
    check("change_category", report, actor)
    if category.id == report.category_id:
        raise InvalidMove("The report is in this category already.",
                          reason="category_unchanged", details={"category": ["Unchanged."]})
    old = report.category.code
    report.category = category
    report.priority = category.priority
    was_routed = report.moderated_at is not None
    from_status = report.status
    if from_status == S.ASSIGNED:
        _end_hold(session, report, actor=actor, now=now, why="category_changed")
        report.status = S.SUBMITTED
        report.lead_department = None
        report.coordinators = []
    report.manual_routing = None
    if report.status == S.SUBMITTED:
        deadlines.start_clock(report, Step.MODERATE, now=now, calendar=_calendar(session))
    event = record(session, report, "category_changed", actor=actor, now=now,
                   from_status=from_status, to_status=report.status,
                   data={"from": old, "to": category.code}, public=True)
    if was_routed or not current_app.config["PRE_MODERATION"]:
        _schedule_routing(session, report, event)
    return event


# Departments --------------------------------------------------------------------------

def acknowledge(session: Session, report: Report, *, actor: User, now: datetime) -> ReportEvent:
    """The department takes the report on; its time to resolve starts."""
    check("acknowledge", report, actor)
    report.first_response_at = report.first_response_at or now
    deadlines.start_clock(report, Step.RESOLVE, now=now, calendar=_calendar(session))
    event = _transition(session, report, S.IN_PROGRESS, "acknowledged", actor=actor, now=now,
                        public=True)
    notifications.notify_citizen(session, report, "in_progress", now=now)
    return event


def request_info(session: Session, report: Report, *, actor: User, now: datetime,
                 question: str) -> ReportEvent:
    """Ask the citizen for more; the clock stops until they answer."""
    check("request_info", report, actor)
    _need(question, "question", "Say what the citizen should add.")
    report.first_response_at = report.first_response_at or now
    if report.status == S.ASSIGNED:
        # Asking is taking the report on: the resolution clock starts, then pauses.
        deadlines.start_clock(report, Step.RESOLVE, now=now, calendar=_calendar(session))
    deadlines.pause_clock(report, now=now, calendar=_calendar(session))
    event = _transition(session, report, S.AWAITING_CITIZEN, "info_requested", actor=actor,
                        now=now, note=question, public=True)
    notifications.notify_citizen(session, report, "info_requested", now=now, note=question)
    return event


def provide_info(session: Session, report: Report, *, actor: User, now: datetime,
                 text: str) -> ReportEvent:
    """The citizen answers; the clock runs again with the time that was left."""
    check("provide_info", report, actor)
    _need(text, "text", "Write what you add.")
    deadlines.resume_clock(report, now=now, calendar=_calendar(session))
    event = _transition(session, report, S.IN_PROGRESS, "info_provided", actor=actor, now=now,
                        note=text)
    notifications.notify_department(session, report, "returned_info", now=now)
    return event


def answer(session: Session, report: Report, *, actor: User, now: datetime, outcome: Outcome,
           text: str, photos=()) -> ReportEvent:
    """The department's answer. With result review on, a supervisor approves it first."""
    check("answer", report, actor)
    _need(text, "text", "Write the answer the citizen will read.")
    if len(photos) > 5:
        raise InvalidMove("At most 5 photos.", reason="too_many_photos", params={"maximum": 5},
                          details={"photos": ["At most 5 photos."]})
    if outcome == Outcome.FIXED and not photos:
        raise InvalidMove("Show what was fixed: add 1 to 5 photos.", reason="photos_required",
                          details={"photos": ["At least one photo when the outcome is fixed."]})
    if report.answer_review == ReviewState.PENDING:
        raise IllegalMove("An answer already waits for review.", reason="answer_awaits_review")
    report.first_response_at = report.first_response_at or now
    report.outcome = outcome
    report.answer_text = nfc(text)
    data = {"outcome": str(outcome)}
    if current_app.config["RESULT_REVIEW"]:
        if report.status == S.ASSIGNED:
            # Answering is taking the report on: while the answer waits for review, the
            # clock that runs is the resolution's, not the acknowledgement's.
            acknowledge(session, report, actor=actor, now=now)
        report.answer_review = ReviewState.PENDING
        event = record(session, report, "answer_submitted", actor=actor, now=now, note=text,
                       data=data)
        notifications.notify_supervisors(session, report, "answer_to_review", now=now)
    else:
        event = _resolve(session, report, actor=actor, now=now, note=text, data=data)
    session.flush()
    for photo in photos:
        photo.event_id = event.id
    return event


def _resolve(session, report, *, actor, now, note, data) -> ReportEvent:
    _end_hold(session, report, actor=actor, now=now, why="resolved")
    report.resolved_at = now
    report.rating_due_at = now + timedelta(days=current_app.config["RATING_WINDOW_DAYS"])
    deadlines.stop_clock(report)
    if report.first_response_at is None:
        report.first_response_at = now
    event = _transition(session, report, S.RESOLVED, "resolved", actor=actor, now=now, note=note,
                        data=data, public=True)
    notifications.notify_citizen(session, report, "resolved", now=now)
    return event


def review_answer(session: Session, report: Report, *, actor: User, now: datetime,
                  approve_answer: bool, note: str | None = None) -> ReportEvent:
    check("review_answer", report, actor)
    if report.answer_review != ReviewState.PENDING:
        raise IllegalMove("No answer waits for review.", reason="no_answer_to_review")
    if approve_answer:
        report.answer_review = ReviewState.APPROVED
        return _resolve(session, report, actor=actor, now=now, note=report.answer_text,
                        data={"outcome": str(report.outcome), "reviewed": True})
    _need(note, "note", "Say why the answer is refused.")
    report.answer_review = ReviewState.REFUSED
    event = record(session, report, "answer_refused", actor=actor, now=now, note=note)
    notifications.notify_department(session, report, "answer_refused", now=now, note=note)
    return event


def return_report(session: Session, report: Report, *, actor: User, now: datetime,
                  reason_code: str, note: str | None = None) -> ReportEvent:
    """Not ours: back to the moderators' manual routing queue."""
    check("return", report, actor)
    if reason_code not in RETURN_REASONS:
        raise InvalidMove("Choose a reason from the list.", reason="choose_reason",
                          details={"reason_code": [f"One of: {', '.join(RETURN_REASONS)}."]})
    department = report.lead_department
    _end_hold(session, report, actor=actor, now=now, why="returned")
    report.lead_department = None
    report.coordinators = []
    report.manual_routing = ManualRouting.RETURNED
    deadlines.start_clock(report, Step.MODERATE, now=now, calendar=_calendar(session))
    return _transition(session, report, S.SUBMITTED, "returned", actor=actor, now=now,
                       reason_code=reason_code, note=note,
                       data={"department": department.code if department else None})


def extension_asked(session: Session, report: Report) -> bool:
    """Whether the department holding the report has used its one extension request: one
    pending or decided. A request withdrawn because the report left the department (or
    was answered) gave no time and does not count; another department the report is
    routed to asks on its own."""
    return session.execute(
        select(func.count()).select_from(ExtensionRequest)
        .where(ExtensionRequest.report_id == report.id,
               ExtensionRequest.department_id == report.lead_department_id,
               ExtensionRequest.state != ExtensionState.WITHDRAWN)
    ).scalar() > 0


def request_extension(session: Session, report: Report, *, actor: User, now: datetime,
                      reason: str, new_due_at: datetime) -> ExtensionRequest:
    """Once per department holding the report (`extension_asked`), before the deadline,
    within the category's limit."""
    check("request_extension", report, actor)
    _need(reason, "reason", "Say why more time is needed.")
    if report.resolve_due_at is None or report.due_at is None:
        raise IllegalMove("Acknowledge the report first: its resolution deadline is not set.",
                          reason="not_acknowledged")
    if now >= report.resolve_due_at:
        raise IllegalMove("The deadline has passed: an extension is asked before it.",
                          reason="deadline_passed")
    if extension_asked(session, report):
        raise IllegalMove("An extension can be asked once.", reason="extension_asked")
    latest = deadlines.latest_extension_due(report, calendar=_calendar(session))
    if latest is None:
        raise IllegalMove("This category allows no extension.", reason="no_extension")
    if not report.resolve_due_at < new_due_at <= latest:
        raise InvalidMove(
            "The new date must be after the deadline and within the category's limit.",
            reason="extension_date",
            params={"earliest": report.resolve_due_at, "latest": latest},
            details={"new_due_at": [f"Between {report.resolve_due_at.isoformat()} and "
                                    f"{latest.isoformat()}."]})
    extension = ExtensionRequest(report=report, department_id=report.lead_department_id,
                                 requested_by_id=actor.id, reason=nfc(reason),
                                 due_at_before=report.resolve_due_at, requested_due_at=new_due_at,
                                 created_at=now)
    session.add(extension)
    record(session, report, "extension_requested", actor=actor, now=now, note=reason,
           data={"requested_due_at": new_due_at.isoformat()})
    notifications.notify_supervisors(session, report, "extension_requested", now=now,
                                     note=reason)
    return extension


def decide_extension(session: Session, extension: ExtensionRequest, *, actor: User,
                     now: datetime, approve_extension: bool,
                     note: str | None = None) -> ExtensionRequest:
    report = extension.report
    if extension.state == ExtensionState.WITHDRAWN:
        raise IllegalMove("This request was withdrawn: its department no longer holds the "
                          "report.", reason="extension_withdrawn")
    if extension.state != ExtensionState.PENDING:
        raise IllegalMove("This extension was decided already.", reason="extension_decided")
    check("decide_extension", report, actor)
    if report.lead_department_id != extension.department_id:
        raise IllegalMove("The department that asked no longer holds this report.",
                          reason="extension_not_held")
    report.updated_at = now  # a decision is a move: forms made before it are stale
    extension.state = ExtensionState.APPROVED if approve_extension else ExtensionState.REFUSED
    extension.decided_by_id = actor.id
    extension.decided_at = now
    extension.decision_note = nfc(note) if note else None
    if approve_extension:
        if report.status == S.AWAITING_CITIZEN:
            # The clock is paused: give the extra time back when it runs again.
            extra = deadlines._remaining_minutes(_calendar(session),
                                                 deadlines.is_urgent(report.category),
                                                 extension.due_at_before,
                                                 extension.requested_due_at)
            report.paused_remaining_minutes = (report.paused_remaining_minutes or 0) + int(extra)
            report.resolve_due_at = extension.requested_due_at
        else:
            deadlines.extend(report, extension.requested_due_at, now=now,
                             calendar=_calendar(session))
    record(session, report, "extension_approved" if approve_extension else "extension_refused",
           actor=actor, now=now, note=note,
           data={"due_at_before": extension.due_at_before.isoformat(),
                 "requested_due_at": extension.requested_due_at.isoformat()})
    notifications.notify_department(session, report, "extension_decided", now=now,
                                    note="đồng ý" if approve_extension else "không đồng ý")
    return extension


# Citizens -----------------------------------------------------------------------------

def rate(session: Session, report: Report, *, actor: User, now: datetime, rating: Rating,
         comment: str | None = None) -> ReportEvent:
    """The citizen rates the answer; the report closes."""
    check("rate", report, actor)
    if report.rating_due_at is not None and now > report.rating_due_at:
        raise IllegalMove("The rating window has closed.", reason="rating_closed")
    report.rating = rating
    report.rating_comment = nfc(comment) if comment else None
    report.rated_at = now
    report.closed_at = now
    return _transition(session, report, S.CLOSED, "rated", actor=actor, now=now,
                       data={"rating": str(rating)}, public=True)


def reopen(session: Session, report: Report, *, actor: User, now: datetime,
           reason: str) -> ReportEvent:
    """Not fixed: back to the same department, with a new deadline."""
    check("reopen", report, actor)
    _need(reason, "reason", "Say what is still wrong.")
    if report.rating_due_at is not None and now > report.rating_due_at:
        raise IllegalMove("The window to reopen has closed.", reason="reopen_closed")
    report.reopen_count += 1
    report.resolved_at = None
    report.rating_due_at = None
    report.answer_review = None
    deadlines.start_clock(report, Step.RESOLVE, now=now, calendar=_calendar(session))
    event = _transition(session, report, S.IN_PROGRESS, "reopened", actor=actor, now=now,
                        note=reason, public=True)
    notifications.notify_department(session, report, "reopened", now=now, note=reason)
    return event


def close_unrated(session: Session, report: Report, *, now: datetime) -> ReportEvent | None:
    """The rating window passed: close without a rating (the sweep calls this)."""
    if report.status != S.RESOLVED or report.rating_due_at is None or now < report.rating_due_at:
        return None
    report.closed_at = now
    return _transition(session, report, S.CLOSED, "closed", actor=None, now=now, public=True)
