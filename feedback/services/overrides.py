"""Dates an administrator declares a day off or a working day, over the national calendar.

A due time is computed when a clock starts (deadlines.calendar_for reads the overrides
then), so an override counts for clocks started after it; due times already stored
are not moved.
"""
from datetime import date, datetime

from sqlalchemy import extract, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedback.models import CalendarOverride, OverrideKind, User
from feedback.services import deadlines
from feedback.services.text import nfc


class OverrideRefused(Exception):
    """An override that cannot be added; `field` names the input at fault."""

    conflict = False

    def __init__(self, message: str, *, field: str = "day", reason: str = "invalid",
                 params: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        # The machine code of why, with `params`: what the web view says in Vietnamese.
        self.reason = reason
        self.params = params or {}


class DuplicateDate(OverrideRefused):
    """This date has an override already: remove it first."""

    conflict = True


def list_overrides(session: Session, *, year: int | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        query = query.where(extract("year", CalendarOverride.day) == year)
    return session.execute(query).scalars().all()


def add_override(session: Session, *, day: date, kind: OverrideKind, note: str | None,
                 actor: User, now: datetime) -> CalendarOverride:
    """Declare `day` a day off or a working day. Refused (roll the session back), when the date
    has an override already or when the declaration would change nothing (a day off on
    a Sunday or a public holiday, a working day on an ordinary Tuesday)."""
    if session.get(CalendarOverride, day) is not None:
        raise DuplicateDate(f"{day.isoformat()} has an override already; remove it first.",
                            reason="date_has_override", params={"day": day})
    calendar = deadlines.calendar_for(session)
    working = calendar.is_working_day(day)
    if kind == OverrideKind.DAY_OFF and not working:
        raise OverrideRefused(f"{day.isoformat()} is not a working day already.",
                              reason="not_a_working_day", params={"day": day})
    if kind == OverrideKind.WORKING_DAY and working:
        raise OverrideRefused(f"{day.isoformat()} is a working day already.",
                              reason="already_a_working_day", params={"day": day})
    override = CalendarOverride(day=day, kind=kind, note=nfc(note.strip()) if note else None,
                                created_by_id=actor.id, created_at=now)
    session.add(override)
    try:
        session.flush()
    except IntegrityError:
        # Another administrator added the same date a moment ago. The session's
        # transaction is spoiled: the caller rolls it back, as for any refusal.
        raise DuplicateDate(
            f"{day.isoformat()} has an override already; remove it first.",
            reason="date_has_override", params={"day": day}) from None
    return override


def remove_override(session: Session, day: date) -> bool:
    """Remove the override of `day`; False when there is none."""
    override = session.get(CalendarOverride, day)
    if override is None:
        return False
    session.delete(override)
    return True
