"""People who use the system: citizens and staff, with their roles."""
import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.extensions import db
from feedback.models.types import BigId, UTCDateTime, text_enum, utcnow


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"  # works for one department
    MODERATOR = "moderator"  # IOC staff
    SUPERVISOR = "supervisor"  # IOC leader
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.OFFICER, Role.MODERATOR, Role.SUPERVISOR, Role.ADMIN})


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role != 'officer' OR department_id IS NOT NULL", name="officer_has_department"
        ),
        CheckConstraint("role = 'citizen' OR username IS NOT NULL", name="staff_has_username"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    role: Mapped[Role] = mapped_column(text_enum(Role, "role", 16))
    # Staff sign in with a username and password; citizens with their phone.
    username: Mapped[str | None] = mapped_column(String(80), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped to revoke every token issued before (password change, sign-out everywhere).
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a citizen deletes their account: identity is erased, reports stay.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped["Department | None"] = relationship()  # noqa: F821

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class OtpChallenge(db.Model):
    """A one-time code sent by SMS to sign a citizen in. Only its hash is kept."""

    __tablename__ = "otp_challenges"
    __table_args__ = (Index("ix_otp_challenges_phone_created_at", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(200))
    client_address: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiClient(db.Model):
    """A named outside system (an Open311 client) with an API key an admin issued."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    # The first characters of the key, to tell keys apart; the key itself is never stored.
    key_prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdentityView(db.Model):
    """Who saw which citizen's identity, when, and where: kept for the citizen's
    rights under Nghị định 13/2023 (personal data protection)."""

    __tablename__ = "identity_views"
    __table_args__ = (Index("ix_identity_views_citizen_id_viewed_at", "citizen_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    # Where it was shown: "api:staff_report", "web:report", ...
    context: Mapped[str] = mapped_column(String(60))
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
