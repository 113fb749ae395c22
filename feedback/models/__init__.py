"""The data model. Importing this package registers every table on `db.metadata`."""
from feedback.models.areas import Area, AreaLevel
from feedback.models.calendar import CalendarOverride, OverrideKind
from feedback.models.categories import Category, Urgency
from feedback.models.departments import Department, DepartmentKind, RoutingRule
from feedback.models.notifications import Notification, OutboxMessage
from feedback.models.reports import (
    OPEN_STATUSES,
    STATUS_LABELS,
    ExtensionRequest,
    ExtensionState,
    ManualRouting,
    Outcome,
    Photo,
    PhotoKind,
    PhotoState,
    Rating,
    Report,
    ReportEvent,
    ReportSource,
    ReportStatus,
    ReviewState,
)
from feedback.models.users import (
    STAFF_ROLES,
    ApiClient,
    IdentityView,
    OtpChallenge,
    Role,
    User,
)

__all__ = [
    "OPEN_STATUSES",
    "STAFF_ROLES",
    "STATUS_LABELS",
    "ApiClient",
    "Area",
    "AreaLevel",
    "CalendarOverride",
    "Category",
    "Department",
    "DepartmentKind",
    "ExtensionRequest",
    "ExtensionState",
    "IdentityView",
    "ManualRouting",
    "Notification",
    "OtpChallenge",
    "Outcome",
    "OutboxMessage",
    "OverrideKind",
    "Photo",
    "PhotoKind",
    "PhotoState",
    "Rating",
    "Report",
    "ReportEvent",
    "ReportSource",
    "ReportStatus",
    "ReviewState",
    "Role",
    "RoutingRule",
    "User",
]
