"""Categories (lĩnh vực) of reports, with their urgency and deadlines."""
import enum
from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from feedback.extensions import db
from feedback.models.types import BigId, UTCDateTime, text_enum, utcnow


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    COMPLEX = "complex"
    URGENT = "urgent"  # counted in clock hours, day and night


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    # A key the apps map to an icon of their own.
    icon: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[Urgency] = mapped_column(text_enum(Urgency, "urgency", 12))
    # 1 is the highest; used to order queues among reports due at the same time.
    priority: Mapped[int] = mapped_column(Integer, default=3)
    photo_required: Mapped[bool] = mapped_column(default=True)
    # Time limits as "30m", "8h" or "5d": working time, or clock time when urgent.
    moderate_limit: Mapped[str] = mapped_column(String(8))
    acknowledge_limit: Mapped[str] = mapped_column(String(8))
    resolve_limit: Mapped[str] = mapped_column(String(8))
    # The longest extension a department may ask for, once; None: no extension.
    extension_limit: Mapped[str | None] = mapped_column(String(8))
    keywords: Mapped[str | None] = mapped_column(String(300))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Category {self.code}>"
