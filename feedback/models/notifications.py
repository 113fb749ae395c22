"""Notifications for citizens and departments, and the outbox of work to hand to RQ."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from feedback.extensions import db
from feedback.models.types import BigId, JSONDocument, UTCDateTime, utcnow


class Notification(db.Model):
    """A message to one person (a citizen) or to a department's staff."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notifications_department_id_created_at", "department_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(db.Model):
    """Work to hand to RQ, written in the transaction of the change that causes it.

    It is handed to RQ right after that commit, and again by the periodic relay
    when Redis was away or the job was lost, so nothing a citizen was told is
    received is ever lost. The job marks the message completed in the same
    transaction as its own work, so running it twice does the work once.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index(
            "ix_outbox_messages_pending",
            "available_at",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    queue: Mapped[str] = mapped_column(String(40))
    # A job function by its import path, e.g. "workers.jobs.route_report".
    function: Mapped[str] = mapped_column(String(120))
    args: Mapped[list] = mapped_column(JSONDocument)
    # Deterministic, so handing the same message to RQ twice makes one job.
    job_id: Mapped[str] = mapped_column(String(160), unique=True)
    # The request that caused the work, so its logs and the job's can be followed together.
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last handed to RQ; completed when the job's transaction committed.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Times handed to RQ: more than one means Redis or a worker lost it.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
