"""Departments that handle reports, and the rules that route reports to them."""
import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.extensions import db
from feedback.models.types import BigId, UTCDateTime, text_enum, utcnow


class DepartmentKind(enum.StrEnum):
    PROVINCIAL = "provincial"  # sở, ngành
    COMMUNE = "commune"  # UBND xã, phường, đặc khu
    UTILITY = "utility"  # electricity, water, lighting, bus operator
    OPERATIONS = "operations"  # the province's operations centre (IOC)
    OTHER = "other"


class Department(db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[DepartmentKind] = mapped_column(text_enum(DepartmentKind, "department_kind", 16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # The area it serves: its commune for a commune committee, the province otherwise.
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped["Department | None"] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


routing_rule_coordinators = Table(
    "routing_rule_coordinators",
    db.metadata,
    Column("rule_id", ForeignKey("routing_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True),
)


class RoutingRule(db.Model):
    """(category, area) → lead department, with optional coordinating departments.

    The most specific area wins (commune over province over any, which is a null
    area), then the higher priority.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_lookup", "category_id", "area_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped["Category"] = relationship()  # noqa: F821
    area: Mapped["Area | None"] = relationship()  # noqa: F821
    department: Mapped[Department] = relationship()
    coordinators: Mapped[list[Department]] = relationship(secondary=routing_rule_coordinators)
