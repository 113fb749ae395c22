"""Reports (phản ánh), their photos, their extension requests and their event log."""
import enum
from datetime import datetime

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.extensions import db
from feedback.models.types import BigId, JSONDocument, UTCDateTime, text_enum, utcnow


class ReportStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_CITIZEN = "awaiting_citizen"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    ReportStatus.SUBMITTED: "Chờ tiếp nhận",
    ReportStatus.REJECTED: "Từ chối",
    ReportStatus.DUPLICATE: "Trùng",
    ReportStatus.ASSIGNED: "Chờ xử lý",
    ReportStatus.IN_PROGRESS: "Đang xử lý",
    ReportStatus.AWAITING_CITIZEN: "Chờ bổ sung",
    ReportStatus.RESOLVED: "Đã xử lý",
    ReportStatus.CLOSED: "Đã đóng",
}

# With a department and not yet answered.
OPEN_STATUSES = frozenset(
    {ReportStatus.ASSIGNED, ReportStatus.IN_PROGRESS, ReportStatus.AWAITING_CITIZEN}
)


class Outcome(enum.StrEnum):
    FIXED = "fixed"
    PLANNED = "planned"  # put into a later plan or budget
    NO_ACTION = "no_action"  # nothing can be done, and the answer says why


class Rating(enum.StrEnum):
    SATISFIED = "satisfied"  # hài lòng
    ACCEPTABLE = "acceptable"  # chấp nhận được
    UNSATISFIED = "unsatisfied"  # không hài lòng


class ReportSource(enum.StrEnum):
    APP = "app"
    WEB = "web"
    OPEN311 = "open311"


class ManualRouting(enum.StrEnum):
    """Why a report waits in the moderators' manual routing queue."""

    NO_RULE = "no_rule"
    RETURNED = "returned"  # a department said it is not theirs


class ReviewState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


report_coordinators = Table(
    "report_coordinators",
    db.metadata,
    Column("report_id", ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True, index=True),
)


# The columns the figures read of the reports received, and answered, in a period.
SUBMITTED_FIGURES = ["status", "lead_department_id", "category_id", "area_code",
                     "first_response_hours"]
RESOLVED_FIGURES = ["lead_department_id", "category_id", "area_code", "rating",
                    "resolve_due_at", "overdue_at", "reopen_count", "resolution_hours"]


class Report(db.Model):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("citizen_id", "idempotency_key"),
        # A department's open queue, soonest deadline first.
        Index(
            "ix_reports_department_queue",
            "lead_department_id",
            "due_at",
            postgresql_where=text("status IN ('assigned', 'in_progress', 'awaiting_citizen')"),
            sqlite_where=text("status IN ('assigned', 'in_progress', 'awaiting_citizen')"),
        ),
        # The sweep reads only what is due: a running clock not yet marked overdue...
        Index(
            "ix_reports_sweep_due",
            "due_at",
            postgresql_where=text("due_at IS NOT NULL AND overdue_at IS NULL"),
            sqlite_where=text("due_at IS NOT NULL AND overdue_at IS NULL"),
        ),
        # ...one not yet warned at 75% of its time...
        Index(
            "ix_reports_sweep_warn",
            "warn_at",
            postgresql_where=text("warn_at IS NOT NULL AND warned_at IS NULL"),
            sqlite_where=text("warn_at IS NOT NULL AND warned_at IS NULL"),
        ),
        # ...and overdue ones due for a progress reminder.
        Index(
            "ix_reports_sweep_remind",
            "remind_at",
            postgresql_where=text("remind_at IS NOT NULL"),
            sqlite_where=text("remind_at IS NOT NULL"),
        ),
        # ...and resolved ones whose rating window has passed, to close them.
        Index(
            "ix_reports_rating_due",
            "rating_due_at",
            postgresql_where=text("status = 'resolved'"),
            sqlite_where=text("status = 'resolved'"),
        ),
        Index(
            "ix_reports_moderation_queue",
            "submitted_at",
            postgresql_where=text("status = 'submitted'"),
            sqlite_where=text("status = 'submitted'"),
        ),
        Index(
            "ix_reports_manual_routing_queue",
            "submitted_at",
            postgresql_where=text("manual_routing IS NOT NULL"),
            sqlite_where=text("manual_routing IS NOT NULL"),
        ),
        # Figures by department, category and commune over a period.
        Index("ix_reports_department_submitted_at", "lead_department_id", "submitted_at"),
        Index("ix_reports_category_submitted_at", "category_id", "submitted_at"),
        Index("ix_reports_area_submitted_at", "area_code", "submitted_at"),
        # On PostgreSQL these two carry what the figures of a period read
        # (`stats.figures`), so a month past (all-visible pages) is read from the index.
        Index("ix_reports_submitted_at", "submitted_at",
              postgresql_include=SUBMITTED_FIGURES),
        Index("ix_reports_resolved_at", "resolved_at", postgresql_include=RESOLVED_FIGURES),
        Index("ix_reports_citizen_submitted_at", "citizen_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Readable aloud over the phone: PA-2026-000123.
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[ReportSource] = mapped_column(
        text_enum(ReportSource, "report_source", 12), default=ReportSource.APP
    )
    status: Mapped[ReportStatus] = mapped_column(
        text_enum(ReportStatus, "report_status", 20), default=ReportStatus.SUBMITTED
    )

    # Who sent it. Null once a citizen deleted their account, or for an Open311
    # request with no account behind it (its contact fields say who).
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    device_id: Mapped[str | None] = mapped_column(String(120))
    # The citizen asked departments not to see who they are.
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    # The citizen allows the report on the public pages.
    is_public: Mapped[bool] = mapped_column(default=True)
    # A moderator hid it from everyone but staff. Nothing is ever deleted.
    is_hidden: Mapped[bool] = mapped_column(default=False)

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # The text as the citizen wrote it, kept when a moderator edits personal data
    # out of `title` or `description`. Admins only.
    title_original: Mapped[str | None] = mapped_column(String(200))
    description_original: Mapped[str | None] = mapped_column(Text)

    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # True when the position came from a photo's GPS because the citizen sent none.
    location_from_photo: Mapped[bool] = mapped_column(default=False)
    address_text: Mapped[str | None] = mapped_column(String(500))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    province_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)

    lead_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    manual_routing: Mapped[ManualRouting | None] = mapped_column(
        text_enum(ManualRouting, "manual_routing", 12)
    )
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    rejection_code: Mapped[str | None] = mapped_column(String(40))
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    outcome: Mapped[Outcome | None] = mapped_column(text_enum(Outcome, "outcome", 12))
    answer_text: Mapped[str | None] = mapped_column(Text)
    # Set when the deployment asks a supervisor to approve answers before citizens see them.
    answer_review: Mapped[ReviewState | None] = mapped_column(
        text_enum(ReviewState, "review_state", 12)
    )
    rating: Mapped[Rating | None] = mapped_column(text_enum(Rating, "rating", 12))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The department's first response: acknowledged, asked for more, or answered.
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Working hours (clock hours for an urgent category) from assignment to the first
    # response and to the answer, kept as those change (`stats.keep_durations`), so
    # the figures take their medians in SQL rather than a report at a time.
    first_response_hours: Mapped[float | None] = mapped_column(Float)
    resolution_hours: Mapped[float | None] = mapped_column(Float)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The clock. `due_at` is the deadline of the step now running (moderate,
    # acknowledge or resolve) and is null when no clock runs: waiting for the
    # citizen, resolved, closed. The sweep reads these through partial indexes.
    step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the clock stopped for the citizen, and how much working time was left.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_remaining_minutes: Mapped[int | None] = mapped_column(Integer)
    # The resolution deadline, an approved extension included; kept after the
    # report is resolved, so "on time" can be judged.
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The end of the window in which the citizen may rate or reopen.
    rating_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Retries of one submission carry the same key; the fingerprint of the body
    # tells a true retry from a different report sent under a reused key.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # Optimistic lock: two people acting on one report cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    citizen: Mapped["User | None"] = relationship(foreign_keys=[citizen_id])  # noqa: F821
    category: Mapped["Category"] = relationship()  # noqa: F821
    area: Mapped["Area | None"] = relationship(foreign_keys=[area_code])  # noqa: F821
    lead_department: Mapped["Department | None"] = relationship()  # noqa: F821
    coordinators: Mapped[list["Department"]] = relationship(  # noqa: F821
        secondary=report_coordinators
    )
    duplicate_of: Mapped["Report | None"] = relationship(remote_side=[id])
    photos: Mapped[list["Photo"]] = relationship(
        back_populates="report", order_by="Photo.position", foreign_keys="Photo.report_id"
    )
    events: Mapped[list["ReportEvent"]] = relationship(
        back_populates="report", order_by="ReportEvent.id"
    )

    def __repr__(self) -> str:
        return f"<Report {self.tracking_code} {self.status}>"


class PhotoKind(enum.StrEnum):
    REPORT = "report"  # sent by the citizen
    ANSWER = "answer"  # proof attached to a department's answer


class PhotoState(enum.StrEnum):
    PENDING = "pending"  # stored, not yet stripped and resized: shown to no one
    READY = "ready"
    FAILED = "failed"


class Photo(db.Model):
    __tablename__ = "photos"
    __table_args__ = (
        # The retention job finds originals past their time without reading every photo.
        Index(
            "ix_photos_original_retention",
            "created_at",
            postgresql_where=text("original_key IS NOT NULL"),
            sqlite_where=text("original_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    # The event (an answer) a proof photo belongs to.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_events.id"), index=True)
    kind: Mapped[PhotoKind] = mapped_column(text_enum(PhotoKind, "photo_kind", 12))
    position: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[PhotoState] = mapped_column(
        text_enum(PhotoState, "photo_state", 12), default=PhotoState.PENDING
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # The upload as it came, metadata and all: admins only, removed when the
    # retention period ends or the citizen deletes their account.
    original_key: Mapped[str | None] = mapped_column(String(120))
    original_sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_format: Mapped[str] = mapped_column(String(10))
    original_bytes: Mapped[int] = mapped_column(Integer)
    original_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Upright, metadata stripped, JPEG; named by their content hash.
    display_key: Mapped[str | None] = mapped_column(String(120))
    thumbnail_key: Mapped[str | None] = mapped_column(String(120))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    failure: Mapped[str | None] = mapped_column(String(200))

    is_hidden: Mapped[bool] = mapped_column(default=False)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(300))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    report: Mapped[Report] = relationship(back_populates="photos", foreign_keys=[report_id])


class ReportEvent(db.Model):
    """One move in a report's life: who, when, from what, to what, and why.

    Append-only: the ORM refuses to update or delete one (see below).
    """

    __tablename__ = "report_events"
    __table_args__ = (Index("ix_report_events_report_id_id", "report_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Null for the system (routing, the sweep).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[ReportStatus | None] = mapped_column(
        text_enum(ReportStatus, "event_from_status", 20)
    )
    to_status: Mapped[ReportStatus | None] = mapped_column(
        text_enum(ReportStatus, "event_to_status", 20)
    )
    reason_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSONDocument)
    # Shown on the public timeline (no personal data in `note` when true).
    is_public: Mapped[bool] = mapped_column(default=False)

    report: Mapped[Report] = relationship(back_populates="events")


@event.listens_for(ReportEvent, "before_update")
@event.listens_for(ReportEvent, "before_delete")
def _events_are_append_only(mapper, connection, target):
    raise RuntimeError("report events are kept forever: append a new event instead")


class ExtensionState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    # Closed undecided: the department that asked no longer holds the report (it
    # answered, returned it, or a moderator took it away). Nobody can decide it.
    WITHDRAWN = "withdrawn"


class ExtensionRequest(db.Model):
    __tablename__ = "extension_requests"
    __table_args__ = (
        Index(
            "ix_extension_requests_pending",
            "created_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    due_at_before: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[ExtensionState] = mapped_column(
        text_enum(ExtensionState, "extension_state", 12), default=ExtensionState.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship()
