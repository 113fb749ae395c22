"""What administrators change: departments, categories and their time limits, routing
rules, staff accounts and roles. (Calendar overrides live in `overrides`.)

Each function checks its input and raises `Refused` naming the field at fault and why,
as a machine code (`reason`, with `params`) the web view says in the reader's language;
nothing here commits. Nothing is deleted: departments, rules and accounts are deactivated.
"""
import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback.models import (
    STAFF_ROLES,
    Area,
    Category,
    Department,
    DepartmentKind,
    Role,
    RoutingRule,
    Urgency,
    User,
)
from feedback.services.auth import MIN_PASSWORD_LENGTH, create_user, hash_password
from feedback.services.calendar import parse_limit
from feedback.services.text import tidy


class Refused(Exception):
    """`field` is the form field at fault, `reason` the machine code of why (with
    `params`), `message` the English for logs and API clients."""

    def __init__(self, field: str, message: str, *, reason: str = "invalid",
                 params: dict | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.reason = reason
        self.params = params or {}


# An id in a form: ASCII digits (int() would take "١٢" or " 12 "), and one the database
# can hold (a bigint).
_ID = re.compile(r"[0-9]{1,19}")
_LARGEST_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Official area codes: two digits for a province, five for a commune.
_AREA_CODE = re.compile(r"[0-9]{2}|[0-9]{5}")


def _text(value, field: str, *, required: bool = False, maximum: int = 200) -> str | None:
    text = tidy(value) if isinstance(value, str) else None
    if text and _CONTROL.search(text):
        # A NUL would reach the database as an error; no name holds a control character.
        raise Refused(field, "No control characters.", reason="control_characters")
    if not text:
        if required:
            raise Refused(field, "Required.", reason="required")
        return None
    if len(text) > maximum:
        raise Refused(field, f"At most {maximum} characters.", reason="too_long",
                      params={"maximum": maximum})
    return text


def _id(value, field: str) -> int | None:
    """The id a form sent, None when it sent none; refused when it is not an id."""
    if value in (None, ""):
        return None
    text = str(value)
    if not _ID.fullmatch(text) or int(text) > _LARGEST_ID:
        raise Refused(field, "Not an id.", reason="not_an_id")
    return int(text)


def _department(session: Session, department_id, field: str = "department_id", *,
                current: Department | None = None) -> Department | None:
    """The department a form chose. An inactive one only if it is the `current` value
    (kept where it is), never newly chosen."""
    department_id = _id(department_id, field)
    if department_id is None:
        return None
    department = session.get(Department, department_id)
    if department is None:
        raise Refused(field, "No such department.", reason="unknown_department")
    if not department.active and department != current:
        raise Refused(field, f"{department.name} is not active.", reason="department_inactive",
                      params={"name": department.name})
    return department


def _area(session: Session, code) -> str | None:
    if not code:
        return None
    if not _AREA_CODE.fullmatch(str(code)) or session.get(Area, code) is None:
        raise Refused("area_code", f"No area {code}.", reason="unknown_area",
                      params={"code": code})
    return code


# Departments ------------------------------------------------------------------------------

def save_department(session: Session, department: Department | None, fields: dict) -> Department:
    """Create (department None) or update a department from form fields."""
    code = _text(fields.get("code"), "code", required=department is None, maximum=40)
    if department is None:
        code = code.lower()
        if session.execute(select(Department.id).where(Department.code == code)).first():
            raise Refused("code", f"A department {code} exists already.",
                          reason="department_code_taken", params={"code": code})
        department = Department(code=code)
        session.add(department)
    department.name = _text(fields.get("name"), "name", required=True)
    try:
        department.kind = DepartmentKind(fields.get("kind"))
    except ValueError:
        raise Refused("kind", "Choose a kind.", reason="choose_kind") from None
    parent = _department(session, fields.get("parent_id"), "parent_id",
                         current=department.parent)
    _no_cycle(department, parent)
    department.parent = parent
    department.area_code = _area(session, fields.get("area_code"))
    department.email = _text(fields.get("email"), "email")
    department.phone = _text(fields.get("phone"), "phone", maximum=40)
    department.address = _text(fields.get("address"), "address", maximum=300)
    department.active = bool(fields.get("active"))
    session.flush()
    return department


def _no_cycle(department: Department, parent: Department | None) -> None:
    """Refuse a parent that is the department itself or one of its descendants: the
    chain of parents must end (A → B → A would not)."""
    seen = set()
    ancestor = parent
    while ancestor is not None and ancestor.id not in seen:
        if ancestor is department or (department.id is not None
                                      and ancestor.id == department.id):
            raise Refused("parent_id", "A department cannot be its own parent or ancestor.",
                          reason="parent_cycle")
        seen.add(ancestor.id)
        ancestor = ancestor.parent


# Categories -------------------------------------------------------------------------------

LIMIT_FIELDS = ("moderate_limit", "acknowledge_limit", "resolve_limit", "extension_limit")


def save_category(session: Session, category: Category, fields: dict) -> Category:
    """Update a category's names, urgency, priority and time limits ("30m", "8h", "5d")."""
    category.name_vi = _text(fields.get("name_vi"), "name_vi", required=True, maximum=120)
    category.name_en = _text(fields.get("name_en"), "name_en", required=True, maximum=120)
    try:
        category.urgency = Urgency(fields.get("urgency"))
    except ValueError:
        raise Refused("urgency", "Choose normal, complex or urgent.",
                      reason="choose_urgency") from None
    try:
        category.priority = int(fields.get("priority", ""))
    except ValueError:
        raise Refused("priority", "A whole number, 1 the highest.",
                      reason="not_a_whole_number") from None
    if not 1 <= category.priority <= 9:
        raise Refused("priority", "Between 1 and 9.", reason="out_of_range",
                      params={"minimum": 1, "maximum": 9})
    for field in LIMIT_FIELDS:
        value = (fields.get(field) or "").strip()
        if not value and field == "extension_limit":
            category.extension_limit = None
            continue
        try:
            parse_limit(value)
        except ValueError:
            raise Refused(field, "A whole number then m, h or d, such as 30m, 8h, 5d.",
                          reason="limit_format") from None
        setattr(category, field, value)
    category.photo_required = bool(fields.get("photo_required"))
    category.active = bool(fields.get("active"))
    session.flush()
    return category


# Routing rules ----------------------------------------------------------------------------

def add_rule(session: Session, fields: dict, *, now: datetime) -> RoutingRule:
    category_id = _id(fields.get("category_id"), "category_id")
    category = session.get(Category, category_id) if category_id is not None else None
    if category is None:
        raise Refused("category_id", "Choose a category.", reason="choose_category")
    department = _department(session, fields.get("department_id"))
    if department is None:
        raise Refused("department_id", "Choose the lead department.",
                      reason="choose_lead_department")
    coordinators = [_department(session, value, "coordinators")
                    for value in fields.get("coordinators", []) if value]
    try:
        priority = int(fields.get("priority") or 0)
    except ValueError:
        raise Refused("priority", "A whole number.", reason="not_a_whole_number") from None
    if abs(priority) > 1000:
        raise Refused("priority", "Between -1000 and 1000.", reason="out_of_range",
                      params={"minimum": -1000, "maximum": 1000})
    rule = RoutingRule(category=category, area_code=_area(session, fields.get("area_code")),
                       department=department, priority=priority,
                       coordinators=[c for c in coordinators if c.id != department.id],
                       note=_text(fields.get("note"), "note", maximum=500), created_at=now)
    session.add(rule)
    session.flush()
    return rule


def set_rule_active(session: Session, rule: RoutingRule, active: bool) -> RoutingRule:
    rule.active = active
    return rule


# Staff accounts ---------------------------------------------------------------------------

def _role(value) -> Role:
    try:
        role = Role(value)
    except ValueError:
        raise Refused("role", "Choose a role.", reason="choose_role") from None
    if role not in STAFF_ROLES:
        raise Refused("role", "Citizens sign up in the app.", reason="citizen_role")
    return role


def add_staff(session: Session, fields: dict) -> User:
    username = _text(fields.get("username"), "username", required=True, maximum=80).lower()
    if session.execute(select(User.id).where(func.lower(User.username) == username)).first():
        raise Refused("username", f"The username {username} is taken.",
                      reason="username_taken", params={"username": username})
    role = _role(fields.get("role"))
    department = _department(session, fields.get("department_id"))
    if role == Role.OFFICER and department is None:
        raise Refused("department_id", "An officer belongs to a department.",
                      reason="officer_needs_department")
    password = fields.get("password") or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Refused("password", f"At least {MIN_PASSWORD_LENGTH} characters.",
                      reason="password_too_short", params={"minimum": MIN_PASSWORD_LENGTH})
    user = create_user(session, role=role, username=username, password=password,
                       full_name=_text(fields.get("full_name"), "full_name"),
                       department=department)
    user.email = _text(fields.get("email"), "email")
    session.flush()
    return user


def update_staff(session: Session, user: User, fields: dict, *, actor: User) -> User:
    """Change a staff member's role, department, name or access. A new password, a
    changed role or department, or disabling the account signs them out everywhere."""
    if user.role not in STAFF_ROLES:
        raise Refused("role", "Not a staff account.", reason="not_staff")
    role = _role(fields.get("role"))
    department = _department(session, fields.get("department_id"), current=user.department)
    if role == Role.OFFICER and department is None:
        raise Refused("department_id", "An officer belongs to a department.",
                      reason="officer_needs_department")
    active = bool(fields.get("active"))
    if user.id == actor.id and (role != Role.ADMIN or not active):
        raise Refused("role", "You cannot take away your own administration rights.",
                      reason="own_admin_rights")
    sign_out = (role != user.role or department != user.department
                or (user.active and not active))
    password = fields.get("password") or ""
    if password:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise Refused("password", f"At least {MIN_PASSWORD_LENGTH} characters.",
                          reason="password_too_short", params={"minimum": MIN_PASSWORD_LENGTH})
        user.password_hash = hash_password(password)
        sign_out = True
    user.role, user.department, user.active = role, department, active
    user.full_name = _text(fields.get("full_name"), "full_name")
    user.email = _text(fields.get("email"), "email")
    if sign_out:
        user.token_version += 1
    session.flush()
    return user
