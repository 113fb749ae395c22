"""Dates an administrator declared off or worked, over the national calendar."""
import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from feedback.extensions import db
from feedback.models.types import UTCDateTime, text_enum, utcnow


class OverrideKind(enum.StrEnum):
    DAY_OFF = "day_off"  # an extra day off
    WORKING_DAY = "working_day"  # e.g. a Saturday worked instead


class CalendarOverride(db.Model):
    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[OverrideKind] = mapped_column(text_enum(OverrideKind, "override_kind", 12))
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
