"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) over our reports, field by field,
and mySociety's `servicerequestupdates` extension.

Services are our categories; service requests are public reports (the same reports,
and the same fields, as the public pages: `feedback.services.public`). A request
POSTed here goes through intake like any report from the app: the same checks, the
same photo pipeline, the same moderation. Until a moderator approves it, the client
holds a token; `tokens/{token}` then answers the service_request_id (the tracking code).
Views turn the dicts built here into JSON or XML; nothing here knows the format.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from feedback.models import (
    STATUS_LABELS,
    Area,
    AreaLevel,
    Category,
    Department,
    Outcome,
    Photo,
    PhotoKind,
    PhotoState,
    Report,
    ReportEvent,
    ReportSource,
    ReportStatus,
    Urgency,
)
from feedback.services import intake, public
from feedback.services.areas import deployment_communes
from feedback.services.calendar import FIRST_DAY, LAST_DAY, within_days
from feedback.services.media import MediaRefused
from feedback.services.text import fold_accents

S = ReportStatus
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API's documents last changed in shape (discovery's `changeset`).
CHANGESET = datetime(2026, 11, 22, 0, 0)
FORMATS = ("text/xml", "application/json")

MAX_WINDOW = timedelta(days=90)
DEFAULT_PAGE_SIZE = 100
DEFAULT_UPDATES_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
MAX_IDS = 1000
# Open311's `group`: the model has no category groups, so categories are grouped by how
# fast they are handled, urgent ones first.
GROUPS = {
    Urgency.URGENT: "Khẩn cấp",
    Urgency.NORMAL: "Thông thường",
    Urgency.COMPLEX: "Phức tạp",
}
COMMUNE_ATTRIBUTE = "commune_code"
TITLE_ATTRIBUTE = "title"
SERVICE_NOTICE = ("Phản ánh đã được tiếp nhận và đang chờ kiểm duyệt. Dùng token để lấy "
                  "mã phản ánh (service_request_id) sau khi được duyệt.")
# mySociety's extended statuses, for the updates feed (FixMyStreet maps them).
OUTCOME_STATUSES = {
    Outcome.FIXED: "fixed",
    Outcome.PLANNED: "action_scheduled",
    Outcome.NO_ACTION: "no_further_action",
}
_CONTACT_PHONE = re.compile(r"[0-9+()./ -]{3,20}")
_WORD_SEPARATORS = re.compile(r"[^a-z0-9]+")
_UNENCODED_PLUS = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


class Open311Error(Exception):
    """An answer in the specification's error shape: HTTP `status`, and one entry
    {code, description} per problem."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions) or ["Error."]

    @property
    def errors(self) -> list[dict]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


def local(moment: datetime | None, time_zone: str | ZoneInfo) -> str | None:
    """ISO 8601 with the offset, to the second: 2026-03-10T09:00:00+07:00."""
    if moment is None:
        return None
    zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    return moment.astimezone(zone).isoformat(timespec="seconds")


# -- discovery and services -------------------------------------------------------------

def discovery(*, url: str, contact: str, key_service: str, production: bool,
              time_zone: str) -> dict:
    changeset = local(CHANGESET.replace(tzinfo=ZoneInfo(time_zone)), time_zone)
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": url,
            "changeset": changeset,
            "type": "production" if production else "test",
            "formats": list(FORMATS),
        }],
    }


def _active_categories(session: Session) -> list[Category]:
    return list(session.execute(
        select(Category).where(Category.active.is_(True))
        .order_by(Category.sort_order, Category.code)).scalars())


def services(session: Session) -> list[dict]:
    """Our categories. `metadata` is true for every one: each asks where (the commune)."""
    return [{
        "service_code": category.code,
        "service_name": category.name_vi,
        "description": category.description or f"{category.name_vi} ({category.name_en})",
        "metadata": True,
        # A token first, the id once a moderator approved the request.
        "type": "batch",
        "keywords": category.keywords or "",
        "group": GROUPS.get(category.urgency, "Thông thường"),
    } for category in _active_categories(session)]


def service_definition(session: Session, service_code: str) -> dict | None:
    category = session.execute(
        select(Category).where(Category.code == service_code, Category.active.is_(True))
    ).scalar_one_or_none()
    if category is None:
        return None
    communes = deployment_communes(session)
    commune = {
        "variable": True,
        "code": COMMUNE_ATTRIBUTE,
        "datatype": "singlevaluelist" if communes else "string",
        "required": True,
        "datatype_description": "Mã xã, phường, đặc khu (commune, ward or special zone "
                                "code); may be left out when address_string names it",
        "order": 1,
        "description": "Xã, phường, đặc khu nơi xảy ra sự việc",
    }
    if communes:
        commune["values"] = [{"key": area.code, "name": area.name} for area in communes]
    title = {
        "variable": True,
        "code": TITLE_ATTRIBUTE,
        "datatype": "string",
        "required": False,
        "datatype_description": f"At most {intake.TITLE_MAX} characters",
        "order": 2,
        "description": "Tiêu đề ngắn",
    }
    return {"service_code": category.code, "attributes": [commune, title]}


# -- reading requests -------------------------------------------------------------------

def parse_datetime(text: str, name: str, time_zone: str) -> datetime:
    """W3C date-time; without an offset, the deployment's time zone; a date alone is
    the start of that day there."""
    value = (text or "").strip()
    # A client that did not URL-encode "+07:00" sends " 07:00".
    value = _UNENCODED_PLUS.sub(r"\1+\2", value)
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.min, ZoneInfo(time_zone))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(400, f"{name} is not a W3C date-time (e.g. "
                                "2026-01-31T08:00:00+07:00).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    if not within_days(moment.date()):
        raise Open311Error(400, f"{name} must fall between {FIRST_DAY} and {LAST_DAY}.")
    return moment


def window(start: str | None, end: str | None, *, now: datetime,
           time_zone: str) -> tuple[datetime, datetime]:
    """The requested_datetime range: at most 90 days, the most recent 90 by default."""
    first = parse_datetime(start, "start_date", time_zone) if start else None
    last = parse_datetime(end, "end_date", time_zone) if end else None
    if first is None and last is None:
        last = now
    if first is None:
        first = last - MAX_WINDOW
    if last is None:
        last = first + MAX_WINDOW
    if last < first:
        raise Open311Error(400, "end_date is before start_date.")
    if last - first > MAX_WINDOW:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart.")
    return first, last


def comma_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def paging(page: str | None, page_size: str | None, default_size: int) -> tuple[int, int]:
    try:
        number = int(page) if page not in (None, "") else 1
        size = int(page_size) if page_size not in (None, "") else default_size
    except ValueError:
        raise Open311Error(400, "page and page_size are whole numbers.") from None
    if number < 1:
        raise Open311Error(400, "page is counted from 1.")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Open311Error(400, f"page_size is between 1 and {MAX_PAGE_SIZE}.")
    if (number - 1) * size > public.MAX_OFFSET:
        raise Open311Error(400, f"At most {public.MAX_OFFSET} requests deep: narrow the "
                                "dates or the service_code.")
    return number, size


def open311_status(status: ReportStatus) -> str:
    return "open" if status in public.OPEN311_OPEN else "closed"


def status_notes(row, duplicate_code: str | None) -> str:
    if row.status == S.DUPLICATE and duplicate_code:
        return f"Trùng với phản ánh {duplicate_code}"
    if public.answer_visible(row.status, row.answer_review) and row.answer_text:
        label = public.OUTCOME_LABELS.get(row.outcome)
        return f"{label}: {row.answer_text}" if label else row.answer_text
    label = STATUS_LABELS[row.status]
    return f"{label} ({public.OVERDUE_LABEL.lower()})" if public.is_overdue(row) else label


def request_body(row, duplicates: Mapping[int, str], *, base_url: str,
                 time_zone: str | ZoneInfo) -> dict:
    """One public report as an Open311 service request, every field of the spec."""
    latitude, longitude = public.round_location(row.latitude, row.longitude)
    description = row.description
    if row.title:
        description = f"{row.title}\n\n{description}"
    # The commune, not the address as typed: a house number is personal data.
    address = ", ".join(part for part in (row.commune_name, row.province_name) if part)
    return {
        "service_request_id": row.tracking_code,
        "status": open311_status(row.status),
        "status_notes": status_notes(row, duplicates.get(row.duplicate_of_id)),
        "service_name": row.category_name,
        "service_code": row.category_code,
        "description": description,
        "agency_responsible": row.department_name,
        "service_notice": None,
        "requested_datetime": local(row.submitted_at, time_zone),
        "updated_datetime": local(row.updated_at, time_zone),
        "expected_datetime": local(public.due_time(row), time_zone),
        "address": address or None,
        "address_id": None,
        "zipcode": None,
        "lat": latitude,
        "long": longitude,
        "media_url": (base_url + public.photo_path(row.photo_id, row.photo_display_key)
                      if row.photo_id is not None else None),
    }


def list_requests(session: Session, *, params: Mapping, now: datetime, time_zone: str,
                  base_url: str) -> list[dict]:
    """GET requests: by service_request_id (which overrides every other argument), or
    by service_code, status and requested_datetime window, newest first, a page at a time."""
    page, size = paging(params.get("page"), params.get("page_size"), DEFAULT_PAGE_SIZE)
    ids = comma_list(params.get("service_request_id"))
    query = public._list_select().where(public.public_condition())
    if ids:
        if len(ids) > MAX_IDS:
            raise Open311Error(400, f"At most {MAX_IDS} service_request_id at once.")
        query = query.where(Report.tracking_code.in_([code.upper() for code in ids]))
    else:
        start, end = window(params.get("start_date"), params.get("end_date"), now=now,
                            time_zone=time_zone)
        query = query.where(Report.submitted_at >= start, Report.submitted_at <= end)
        codes = comma_list(params.get("service_code"))
        if codes:
            query = query.where(Report.category_id.in_(
                select(Category.id).where(Category.code.in_(codes))))
        wanted = {status.lower() for status in comma_list(params.get("status"))}
        if wanted - {"open", "closed"}:
            raise Open311Error(400, "status is open, closed, or both (comma-separated).")
        if wanted == {"open"}:
            query = query.where(Report.status.in_(public.OPEN311_OPEN))
        elif wanted == {"closed"}:
            query = query.where(Report.status.in_(public.OPEN311_CLOSED))
    rows = session.execute(
        query.order_by(Report.submitted_at.desc(), Report.id.desc())
        .offset((page - 1) * size).limit(size)
    ).all()
    return _bodies(session, rows, base_url=base_url, time_zone=time_zone)


def _bodies(session, rows, *, base_url, time_zone) -> list[dict]:
    duplicates = public._tracking_codes(session, {row.duplicate_of_id for row in rows} - {None})
    zone = ZoneInfo(time_zone)
    return [request_body(row, duplicates, base_url=base_url, time_zone=zone) for row in rows]


def get_request(session: Session, service_request_id: str, *, time_zone: str,
                base_url: str) -> list[dict]:
    row = public.find_report_row(session, service_request_id)
    if row is None:
        raise Open311Error(404, f"No service request {service_request_id}.")
    return _bodies(session, [row], base_url=base_url, time_zone=time_zone)


# -- tokens -----------------------------------------------------------------------------

def _signature(report_id: int, secret: str) -> str:
    return hmac.new(secret.encode(), f"open311-token:{report_id}".encode(),
                    hashlib.sha256).hexdigest()[:24]


def token_for(report_id: int, secret: str) -> str:
    """Unforgeable without the secret, and nothing stored: `<id>-<hmac>`."""
    return f"{report_id}-{_signature(report_id, secret)}"


def resolve_token(session: Session, token: str, *, secret: str) -> list[dict]:
    """The service_request_id once the request is public; empty while it waits for a
    moderator; 404 for a token that is not ours or a request that was not published."""
    number, _, signature = (token or "").partition("-")
    if not number.isdigit() or len(number) > 18 or not hmac.compare_digest(
            signature, _signature(int(number), secret)):
        raise Open311Error(404, f"No token {token}.")
    report = session.get(Report, int(number))
    if report is None:
        raise Open311Error(404, f"No token {token}.")
    if public.is_public(report):
        return [{"service_request_id": report.tracking_code, "token": token}]
    if report.status == S.SUBMITTED and report.moderated_at is None and not report.is_hidden:
        return [{"service_request_id": None, "token": token}]
    raise Open311Error(404, f"The request of token {token} was not published.")


# -- POST requests ----------------------------------------------------------------------

# Who sent a report through Open311: set on the report as intake inserts it, so the
# report and its sender are committed in one transaction (intake takes a citizen's
# account; an Open311 request has none, only contact fields).
_sender: ContextVar[dict | None] = ContextVar("open311_sender", default=None)


@event.listens_for(Report, "before_insert")
def _stamp_sender(mapper, connection, target):
    fields = _sender.get()
    if fields:
        for name, value in fields.items():
            setattr(target, name, value)


# intake reads only the account's id; there is none behind an Open311 request.
_NO_ACCOUNT = SimpleNamespace(id=None)

# intake's field names → the names the Open311 client sent.
_FIELD_NAMES = {
    "category": "service_code", "commune_code": f"attribute[{COMMUNE_ATTRIBUTE}]",
    "latitude": "lat", "longitude": "long", "address": "address_string",
    "title": f"attribute[{TITLE_ATTRIBUTE}]", "description": "description",
}


def _line(form: Mapping, name: str, maximum: int) -> str | None:
    value = intake.clean_line(form.get(name))
    if value is not None and len(value) > maximum:
        raise Open311Error(400, f"{name} is longer than {maximum} characters.")
    return value


def find_commune(session: Session, code: str | None, address: str | None) -> Area:
    """The commune named by the attribute, else the one address_string names."""
    communes = deployment_communes(session)
    served = {area.code: area for area in communes}
    if code:
        area = served.get(code) if served else session.get(Area, code)
        if area is None or area.level != AreaLevel.COMMUNE:
            raise Open311Error(400, f"attribute[{COMMUNE_ATTRIBUTE}]: no commune {code} "
                                    "is served here (see the service definition).")
        return area
    if address:
        area = commune_in_address(communes, address)
        if area is not None:
            return area
    raise Open311Error(400, f"Say where: send attribute[{COMMUNE_ATTRIBUTE}] (see the service "
                            "definition), or an address_string that names the commune, "
                            "ward or special zone.")


def commune_in_address(communes: list[Area], address: str) -> Area | None:
    """The one commune whose name the address contains as whole words: with its type
    ("phường Ninh Kiều") first, else the bare name ("Ninh Kiều"); None if none or many."""
    words = " " + _WORD_SEPARATORS.sub(" ", fold_accents(address)) + " "
    for bare in (False, True):
        found = {}
        for area in communes:
            name = _WORD_SEPARATORS.sub(" ", area.search_name).strip()
            if bare:
                kind = _WORD_SEPARATORS.sub(" ", fold_accents(area.division_type)).strip()
                if kind and name.startswith(kind + " "):
                    name = name[len(kind) + 1:]
            if name and f" {name} " in words:
                found[area.code] = (len(name), area)
        if found:
            longest = max(length for length, _ in found.values())
            best = [area for length, area in found.values() if length == longest]
            return best[0] if len(best) == 1 else None
    return None


def _coordinate(form: Mapping, name: str, limit: float) -> float | None:
    value = (form.get(name) or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number.") from None
    if not -limit <= number <= limit:
        raise Open311Error(400, f"{name} must be between -{limit:g} and {limit:g}.")
    return number


def submit_request(session: Session, *, api_client_id: int, form: Mapping, now: datetime,
                   storage, config: Mapping, fetch: Callable[[str], bytes]) -> Report:
    """Take a service request: checked, its media fetched, then handed to intake,
    which stores and commits it for moderation. Raises Open311Error (400)."""
    service_code = (form.get("service_code") or "").strip()
    if not service_code:
        raise Open311Error(400, "service_code is required.")
    category = session.execute(
        select(Category).where(Category.code == service_code)).scalar_one_or_none()
    if category is None or not category.active:
        raise Open311Error(400, f"No service {service_code}.")
    category_code, category_name = category.code, category.name_vi
    latitude, longitude = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, "Send lat and long together.")
    address = _line(form, "address_string", intake.ADDRESS_MAX)
    if latitude is None and address is None:
        raise Open311Error(400, "A location is required: lat and long, or address_string.")
    commune = find_commune(session, intake.clean_line(form.get(f"attribute[{COMMUNE_ATTRIBUTE}]")),
                           address)

    first_name = _line(form, "first_name", 100)
    last_name = _line(form, "last_name", 100)
    name = " ".join(part for part in (first_name, last_name) if part) or None
    email = _line(form, "email", 200)
    if email and "@" not in email:
        raise Open311Error(400, "email is not an e-mail address.")
    phone = _line(form, "phone", 20)
    if phone and not _CONTACT_PHONE.fullmatch(phone):
        raise Open311Error(400, "phone is not a telephone number.")
    # Both spellings are in use: the spec's device_id, and deviceid from early clients.
    device_id = _line(form, "device_id", 120) or _line(form, "deviceid", 120)
    description = form.get("description")
    if not intake.clean_text(description):
        # The spec makes it optional; intake needs text, and the service names the problem.
        description = category_name

    # End the transaction (only reads so far), so none stays open while the media comes.
    commune_code = commune.code
    session.commit()
    photos = []
    media_url = (form.get("media_url") or "").strip()
    if media_url:
        try:
            photos.append(fetch(media_url))
        except MediaRefused as refusal:
            raise Open311Error(400, f"media_url: {refusal.message}") from None

    fields = {
        "category": category_code, "description": description,
        "commune_code": commune_code, "title": form.get(f"attribute[{TITLE_ATTRIBUTE}]"),
        "latitude": latitude, "longitude": longitude, "address": address,
        "anonymous": False, "public": True,
    }
    sender = {"source": ReportSource.OPEN311, "api_client_id": api_client_id,
              "device_id": device_id, "contact_name": name, "contact_phone": phone,
              "contact_email": email}
    marker = _sender.set(sender)
    try:
        report, _ = intake.submit_report(
            session, citizen=_NO_ACCOUNT, fields=fields, photos=photos, idempotency_key=None,
            now=now, storage=storage, config=config)
    except intake.SubmissionRefused as refusal:
        problems = []
        for key, messages in refusal.details.items():
            name = "media_url" if key.startswith("photos") else _FIELD_NAMES.get(key, key)
            problems.extend(f"{name}: {message}" for message in messages)
        raise Open311Error(400, *(problems or [refusal.message])) from None
    finally:
        _sender.reset(marker)
    return report


# -- updates (mySociety) ----------------------------------------------------------------

def update_status(kind: str, to_status, outcome) -> str:
    if kind == "merged":
        return "duplicate"
    if kind in ("resolved", "rated", "closed") and outcome in OUTCOME_STATUSES:
        return OUTCOME_STATUSES[outcome]
    if kind in ("acknowledged", "reopened"):
        return "in_progress"
    if kind == "info_requested":
        return "investigating"
    if to_status is not None:
        return open311_status(to_status)
    return "open"


def list_updates(session: Session, *, params: Mapping, now: datetime, time_zone: str,
                 base_url: str) -> list[dict]:
    """The public events of public reports in a window, oldest first."""
    page, size = paging(params.get("page"), params.get("page_size"), DEFAULT_UPDATES_PAGE_SIZE)
    start, end = window(params.get("start_date"), params.get("end_date"), now=now,
                        time_zone=time_zone)
    rows = session.execute(
        select(ReportEvent, Report.tracking_code, Report.outcome)
        .join(Report, Report.id == ReportEvent.report_id)
        .where(ReportEvent.is_public.is_(True), ReportEvent.kind != "submitted",
               ReportEvent.created_at >= start, ReportEvent.created_at <= end,
               public.public_condition())
        .order_by(ReportEvent.created_at, ReportEvent.id)
        .offset((page - 1) * size).limit(size)
    ).all()
    resolved_reports = {e.report_id for e, _, _ in rows if e.kind == "resolved"}
    answer_photos: dict[int, list[Photo]] = {}
    if resolved_reports:
        for photo in session.execute(
            select(Photo).where(Photo.report_id.in_(resolved_reports),
                                Photo.kind == PhotoKind.ANSWER, Photo.state == PhotoState.READY,
                                Photo.is_hidden.is_(False))
            .order_by(Photo.event_id, Photo.position, Photo.id)
        ).scalars():
            answer_photos.setdefault(photo.report_id, []).append(photo)
    codes = {(e.data or {}).get("department") for e, _, _ in rows if e.kind == "assigned"}
    names = dict(session.execute(select(Department.code, Department.name).where(
        Department.code.in_(codes - {None}))).all()) if codes - {None} else {}
    updates = []
    for event_row, tracking_code, outcome in rows:
        description = public.event_note(event_row) or public.EVENT_LABELS.get(
            event_row.kind, event_row.kind)
        data = event_row.data or {}
        if event_row.kind == "assigned" and names.get(data.get("department")):
            description = f"{public.EVENT_LABELS['assigned']}: {names[data['department']]}"
        if event_row.kind == "merged" and data.get("duplicate_of"):
            description = f"Trùng với phản ánh {data['duplicate_of']}"
        media = None
        if event_row.kind == "resolved":
            # The photos of the answer this event published: the latest answer before it.
            earlier = [p for p in answer_photos.get(event_row.report_id, ())
                       if (p.event_id or 0) <= event_row.id]
            if earlier:
                latest = max(p.event_id or 0 for p in earlier)
                photo = next(p for p in earlier if (p.event_id or 0) == latest)
                media = base_url + public.photo_path(photo.id, photo.display_key)
        updates.append({
            "update_id": str(event_row.id),
            "service_request_id": tracking_code,
            "status": update_status(event_row.kind, event_row.to_status, outcome),
            "updated_datetime": local(event_row.created_at, time_zone),
            "description": description,
            "media_url": media,
            "external_status_code": str(event_row.to_status) if event_row.to_status else None,
        })
    return updates
