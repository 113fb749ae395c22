"""The API's operations as its OpenAPI document lists them, who may call each, bodies
they accept, and a world of objects that exist for the operations that name one.

Shared by the fuzzer (tests/test_openapi_fuzz.py) and the hostile-input tests, so an
operation added to the API is fuzzed, attacked and role-checked without anyone listing it.
"""
from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from feedback.models import STAFF_ROLES, Notification, Role, User
from feedback.services import deadlines, overrides, workflow
from feedback.services.auth import issue_token
from tests import factories

OPENAPI_PATH = "/api/v1/openapi.json"
ROLES = ("citizen", "officer", "moderator", "supervisor", "admin")
STAFF = tuple(str(role) for role in sorted(STAFF_ROLES, key=lambda r: ROLES.index(str(r))))
EVERYONE = ROLES

# Who may call each signed-in operation whose description does not say "Roles: ...";
# the first is the one tests call it as. Everyone else gets 403 (404 where the
# operation looks among the caller's own things: another's does not exist for them).
ALLOWED = {
    "GET /api/v1/auth/me": ("officer", *EVERYONE),
    "POST /api/v1/auth/logout": EVERYONE,
    "GET /api/v1/departments": ("moderator", *STAFF),
    "GET /api/v1/departments/{code}/queue": STAFF,
    "GET /api/v1/me": ("citizen",),
    "PATCH /api/v1/me": ("citizen",),
    "DELETE /api/v1/me": ("citizen",),
    "GET /api/v1/me/data": ("citizen",),
    "POST /api/v1/reports": ("citizen",),
    "GET /api/v1/reports/{tracking_code}": EVERYONE,
    "GET /api/v1/me/reports": ("citizen",),
    "GET /api/v1/me/notifications": EVERYONE,
    "POST /api/v1/me/notifications/{notification_id}/read": EVERYONE,
    "GET /api/v1/admin/api-clients": ("admin",),
    "POST /api/v1/admin/api-clients": ("admin",),
    "POST /api/v1/admin/api-clients/{client_id}/revoke": ("admin",),
}
# Operations that end the caller's sign-in (or account): called as someone made for it.
SELF_ENDING = {"POST /api/v1/auth/logout", "DELETE /api/v1/me"}
STATES = ("submitted", "assigned", "in_progress", "awaiting_citizen", "resolved")


def operations(document: dict):
    """(label, path, method, operation) for every operation: label is "POST /api/v1/..."."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield f"{method.upper()} {path}", path, method, operation


def allowed_roles(operation: dict, label: str) -> tuple[str, ...] | None:
    """The roles that may call it, the one to call it as first; () when no sign-in is
    needed; None when nobody said (a test fails on that)."""
    if not operation.get("security"):
        return ()
    description = operation.get("description", "")
    if "Roles: " in description:
        listed = description.split("Roles: ", 1)[1].split(".", 1)[0]
        return tuple(role.strip() for role in listed.split(","))
    return ALLOWED.get(label)


def role_for(operation: dict, label: str) -> str | None:
    roles = allowed_roles(operation, label)
    return roles[0] if roles else None


def json_body_schema(document: dict, operation: dict, *,
                     media_type: str = "application/json") -> dict | None:
    content = (operation.get("requestBody") or {}).get("content", {})
    if media_type not in content:
        return None
    return resolve(document, content[media_type]["schema"])


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def string_fields(document: dict, schema: dict) -> list[str]:
    """The top-level properties that take text (a string, or a list of strings)."""
    names = []
    for name, prop in schema.get("properties", {}).items():
        prop = resolve(document, prop)
        item = resolve(document, prop.get("items", {})) if prop.get("type") == "array" else prop
        if item.get("type") == "string" and "enum" not in item and "format" not in item:
            names.append(name)
    return names


def example_body(document: dict, schema: dict, known: dict | None = None) -> dict:
    """A body the schema accepts: every property, `known` values first (real codes,
    dates in range), else the first enum value, else a plain value of its type."""
    known = known or {}
    body = {}
    for name, prop in schema.get("properties", {}).items():
        prop = resolve(document, prop)
        if prop.get("readOnly"):
            continue
        body[name] = copy.deepcopy(known[name]) if name in known else _value(document, prop)
    return body


def _value(document: dict, prop: dict):
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "string":
        if prop.get("format") == "date-time":
            return (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
        if prop.get("format") == "date":
            return (date.today() + timedelta(days=40)).isoformat()
        return "Nội dung thử".ljust(prop.get("minLength", 1), ".")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return prop.get("minimum", 1)
    if kind == "array":
        return []
    if kind == "object":
        return example_body(document, prop)
    return "Nội dung thử"


def _next_weekday(day: date) -> date:
    day += timedelta(days=40)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


class World:
    """A citizen with a report in each state (routed to the demo officer's department,
    Sở Xây dựng), an extension waiting for a supervisor, a notification, a ready photo,
    an API client and a calendar override; and bearer tokens for every role.

    Committed to the test's outer transaction, so a test can roll back what one
    request left unsaved (as the request's own teardown would) and keep the world."""

    def __init__(self, app, db_session):
        self.app, self.session = app, db_session
        now = datetime.now(timezone.utc)
        self.citizen = factories.citizen(db_session, name="Người Thử")
        self.reports = {
            "submitted": factories.report(db_session, now=now, sender=self.citizen),
            "assigned": factories.routed_report(db_session, now=now, sender=self.citizen),
            "in_progress": factories.acknowledged_report(db_session, now=now,
                                                         sender=self.citizen),
            "resolved": factories.resolved_report(db_session, now=now, sender=self.citizen,
                                                  answer_photos=1),
        }
        waiting = factories.acknowledged_report(db_session, now=now, sender=self.citizen)
        officer = factories.staff(db_session, "officer")
        workflow.request_info(db_session, waiting, actor=officer, now=now,
                              question="Ổ gà ở phía nào của đường?")
        self.reports["awaiting_citizen"] = waiting
        in_progress = self.reports["in_progress"]
        self.latest_due = deadlines.latest_extension_due(
            in_progress, calendar=deadlines.calendar_for(db_session))
        self.extension = workflow.request_extension(
            db_session, in_progress, actor=officer, now=now, reason="Chờ vật tư.",
            new_due_at=self.latest_due)
        self.photo = factories.ready_photo(db_session, self.reports["resolved"])
        self.api_client, _ = factories.api_client(db_session)
        self.override = overrides.add_override(
            db_session, day=_next_weekday(now.date()), kind="day_off", note="Bão",
            actor=factories.staff(db_session, "admin"), now=now)
        db_session.flush()
        self.notification = db_session.execute(
            select(Notification).where(Notification.user_id == self.citizen.id)
            .order_by(Notification.id)).scalars().first()
        self.department_code = officer.department.code
        self.codes = {state: report.tracking_code for state, report in self.reports.items()}
        db_session.commit()

    def user(self, role: str) -> User:
        if role == "citizen":
            return self.session.get(User, self.citizen.id)
        return self.session.execute(
            select(User).where(User.role == Role(role), User.username.is_not(None))
            .order_by(User.username)).scalars().first()

    def bearer(self, role: str, *, throwaway: bool = False) -> dict:
        """A fresh token (a sign-out in an earlier call revoked the ones before), for a
        new citizen made for the call when `throwaway`."""
        user = factories.citizen(self.session) if throwaway else self.user(role)
        token = issue_token(user, secret=self.app.config["SECRET_KEY"],
                            now=datetime.now(timezone.utc), lifetime=timedelta(minutes=10))
        return {"Authorization": f"Bearer {token.token}"}

    def path_values(self, state: str) -> dict:
        """Path parameters naming existing objects, the reports' in `state`."""
        return {
            "tracking_code": self.codes[state],
            "extension_id": self.extension.id,
            "notification_id": self.notification.id,
            "client_id": self.api_client.id,
            "photo_id": self.photo.id,
            "key": self.photo.display_key,
            "code": self.department_code,
            "day": self.override.day.isoformat(),
        }

    def body_values(self) -> dict:
        """Values a body needs to be taken, where a plain value of the type is not."""
        return {"outcome": "planned", "rating": "satisfied", "reason_code": "other",
                "department": self.department_code, "category": "giao-thong",
                "coordinators": [], "duplicate_of": self.codes["submitted"],
                "new_due_at": self.latest_due.isoformat(), "kind": "day_off",
                "day": _next_weekday(date.today() + timedelta(days=30)).isoformat(),
                "phone": "0912345678", "code": "123456", "contact_email": None}
