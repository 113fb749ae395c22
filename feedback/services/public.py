"""What the public may see of reports: which reports, and which of their fields.

A report is public when a moderator approved it (it is not rejected), the citizen
allowed it (`is_public`) and no moderator hid it. What leaves this module is built
field by field from an allow-list: never a name, a phone number, an e-mail address,
an account or device id, the address as the citizen typed it, an original or hidden
photo, or a position finer than `LOCATION_DECIMALS` (about 100 m). The public JSON
API, the public web pages and the Open311 feed all read reports through here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from feedback.models import (
    OPEN_STATUSES,
    STAFF_ROLES,
    STATUS_LABELS,
    Area,
    Category,
    Department,
    Outcome,
    Photo,
    PhotoKind,
    PhotoState,
    Rating,
    Report,
    ReportEvent,
    ReportStatus,
    ReviewState,
)
from feedback.models.reports import report_coordinators as report_coordinators_table
from feedback.services.calendar import FIRST_DAY, LAST_DAY, within_days

S = ReportStatus

# Three decimals of a degree: 111 m of latitude, about 110 m of longitude in Vietnam.
# Enough to see the street, not the house (DESIGN.md: homes' exact locations are
# personal data).
LOCATION_DECIMALS = 3

DEFAULT_PERIOD_DAYS = 90
MAX_PERIOD_DAYS = 366
MAX_PER_PAGE = 100
# Deep pages cost an OFFSET scan; past this, narrow the filters instead.
MAX_OFFSET = 10_000

# Statuses a public report can have: an approved report waits for routing as
# `submitted` (the moderators' manual routing queue included).
PUBLIC_STATUSES = (S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_CITIZEN, S.RESOLVED,
                   S.CLOSED, S.DUPLICATE)
# Open311 has two statuses: open while a department still owes an answer.
OPEN311_OPEN = (S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_CITIZEN)
OPEN311_CLOSED = (S.RESOLVED, S.CLOSED, S.DUPLICATE)

OUTCOME_LABELS = {
    Outcome.FIXED: "Đã khắc phục",
    Outcome.PLANNED: "Đưa vào kế hoạch",
    Outcome.NO_ACTION: "Không thể xử lý",
}
RATING_LABELS = {
    Rating.SATISFIED: "Hài lòng",
    Rating.ACCEPTABLE: "Chấp nhận được",
    Rating.UNSATISFIED: "Không hài lòng",
}
OVERDUE_LABEL = "Quá hạn"
# What each public event says on the timeline.
EVENT_LABELS = {
    "submitted": "Người dân gửi phản ánh",
    "approved": "Đã kiểm duyệt, tiếp nhận phản ánh",
    "assigned": "Chuyển đơn vị xử lý",
    "category_changed": "Điều chỉnh lĩnh vực",
    "acknowledged": "Đơn vị tiếp nhận xử lý",
    "info_requested": "Đơn vị đề nghị bổ sung thông tin",
    "resolved": "Đơn vị trả lời kết quả xử lý",
    "rated": "Người dân đánh giá kết quả",
    "reopened": "Người dân chưa hài lòng, mở lại phản ánh",
    "closed": "Đóng phản ánh",
    "merged": "Gộp vào phản ánh trùng",
}


def public_condition():
    """The WHERE clause of everything public."""
    return and_(Report.is_public.is_(True), Report.is_hidden.is_(False),
                Report.moderated_at.is_not(None), Report.status != S.REJECTED)


def is_public(report: Report) -> bool:
    return (report.is_public and not report.is_hidden and report.moderated_at is not None
            and report.status != S.REJECTED)


def round_location(latitude: float | None, longitude: float | None) -> tuple:
    if latitude is None or longitude is None:
        return None, None
    return round(latitude, LOCATION_DECIMALS), round(longitude, LOCATION_DECIMALS)


def answer_visible(status: ReportStatus, answer_review: ReviewState | None) -> bool:
    """The answer shows once the report is resolved and, with result review, approved."""
    return (status in (S.RESOLVED, S.CLOSED)
            and answer_review in (None, ReviewState.APPROVED))


def due_time(report) -> datetime | None:
    """The resolution deadline once known (an approved extension included), else the
    deadline of the step now running; none before a department has the report."""
    if report.status in (S.SUBMITTED, S.DUPLICATE):
        return None
    return report.resolve_due_at or report.due_at


def is_overdue(report) -> bool:
    return report.status in OPEN_STATUSES and report.overdue_at is not None


def photo_path(photo_id: int, key: str) -> str:
    """The public copy's URL path (served by the photos endpoint of the reports API)."""
    return f"/api/v1/photos/{photo_id}/{key}"


# -- filters -------------------------------------------------------------------------

class FilterError(ValueError):
    """A filter that cannot be used; `field` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class Period:
    """Days in the deployment's time zone, both ends included."""

    first: date
    last: date

    def bounds(self, time_zone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(time_zone)
        return (datetime.combine(self.first, time.min, zone),
                datetime.combine(self.last + timedelta(days=1), time.min, zone))


def period(first: date | None, last: date | None, *, today: date,
           default_days: int = DEFAULT_PERIOD_DAYS, max_days: int = MAX_PERIOD_DAYS) -> Period:
    """The period asked for; without one, the last `default_days` days up to today."""
    for name, day in (("from", first), ("to", last)):
        if day is not None and not within_days(day):
            raise FilterError(name, f"A day from {FIRST_DAY:%d/%m/%Y} to {LAST_DAY:%d/%m/%Y}.")
    if first is None and last is None:
        last = today
    if last is None:
        last = first + timedelta(days=default_days - 1)
    if first is None:
        first = last - timedelta(days=default_days - 1)
    if last < first:
        raise FilterError("to", "The period ends before it starts.")
    if (last - first).days + 1 > max_days:
        raise FilterError("from", f"A period is at most {max_days} days.")
    return Period(first, last)


@dataclass
class Filters:
    period: Period
    category: str | None = None
    commune: str | None = None
    department: str | None = None
    statuses: list[ReportStatus] = field(default_factory=list)


def parse_statuses(values) -> list[ReportStatus]:
    """Status codes, repeated or comma-separated; only the public ones."""
    statuses = []
    for value in values or ():
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                status = ReportStatus(part)
            except ValueError:
                status = None
            if status not in PUBLIC_STATUSES:
                raise FilterError("status", f"Not a public status: {part}. One of: "
                                  + ", ".join(PUBLIC_STATUSES) + ".")
            if status not in statuses:
                statuses.append(status)
    return statuses


def _filter_conditions(filters: Filters, time_zone: str) -> list:
    start, end = filters.period.bounds(time_zone)
    conditions = [public_condition(), Report.submitted_at >= start, Report.submitted_at < end]
    # Codes become ids in a subquery run once, so the (id, submitted_at) indexes serve.
    if filters.category:
        conditions.append(Report.category_id == select(Category.id).where(
            Category.code == filters.category).scalar_subquery())
    if filters.department:
        conditions.append(Report.lead_department_id == select(Department.id).where(
            Department.code == filters.department).scalar_subquery())
    if filters.commune:
        conditions.append(Report.area_code == filters.commune)
    if filters.statuses:
        conditions.append(Report.status.in_(filters.statuses))
    return conditions


# -- the list --------------------------------------------------------------------------

_province = aliased(Area)


def _first_photo(column):
    """The report's first photo that may be shown (ready, not hidden), one column of it:
    a correlated subquery, one index lookup per row, with no list of ids to send."""
    return (select(column)
            .where(Photo.report_id == Report.id, Photo.kind == PhotoKind.REPORT,
                   Photo.state == PhotoState.READY, Photo.is_hidden.is_(False))
            .order_by(Photo.position, Photo.id).limit(1)
            .correlate(Report).scalar_subquery())


LIST_COLUMNS = (
    Report.id, Report.tracking_code, Report.status, Report.title, Report.description,
    Report.submitted_at, Report.updated_at, Report.due_at, Report.resolve_due_at,
    Report.overdue_at, Report.resolved_at, Report.outcome, Report.answer_review,
    Report.answer_text, Report.latitude, Report.longitude, Report.duplicate_of_id,
    Category.code.label("category_code"), Category.name_vi.label("category_name"),
    Area.code.label("commune_code"), Area.name.label("commune_name"),
    _province.name.label("province_name"),
    Department.code.label("department_code"), Department.name.label("department_name"),
    _first_photo(Photo.id).label("photo_id"),
    _first_photo(Photo.display_key).label("photo_display_key"),
    _first_photo(Photo.thumbnail_key).label("photo_thumbnail_key"),
)


def _list_select():
    return (select(*LIST_COLUMNS)
            .join(Category, Category.id == Report.category_id)
            .outerjoin(Area, Area.code == Report.area_code)
            .outerjoin(_province, _province.code == Report.province_code)
            .outerjoin(Department, Department.id == Report.lead_department_id))


@dataclass
class Page:
    items: list[dict]
    page: int
    per_page: int
    has_next: bool


def check_paging(page: int, per_page: int, *, max_per_page: int = MAX_PER_PAGE) -> None:
    if page < 1:
        raise FilterError("page", "Pages are counted from 1.")
    if not 1 <= per_page <= max_per_page:
        raise FilterError("per_page", f"Between 1 and {max_per_page}.")
    if (page - 1) * per_page > MAX_OFFSET:
        raise FilterError("page", f"At most {MAX_OFFSET} reports deep: narrow the filters "
                                  "or the period.")


def list_reports(session: Session, filters: Filters, *, page: int = 1, per_page: int = 20,
                 time_zone: str) -> Page:
    """Public reports matching the filters, newest first, one page; `has_next` instead
    of a total, so no request counts a whole period."""
    check_paging(page, per_page)
    rows = session.execute(
        _list_select().where(*_filter_conditions(filters, time_zone))
        .order_by(Report.submitted_at.desc(), Report.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)
    ).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    duplicates = _tracking_codes(session, {row.duplicate_of_id for row in rows} - {None})
    items = [summary(row, duplicates) for row in rows]
    return Page(items=items, page=page, per_page=per_page, has_next=has_next)


def _tracking_codes(session: Session, report_ids: set[int]) -> dict[int, str]:
    if not report_ids:
        return {}
    return dict(session.execute(
        select(Report.id, Report.tracking_code).where(Report.id.in_(report_ids))).all())


def _status_fields(row) -> dict:
    overdue = is_overdue(row)
    return {
        "status": str(row.status),
        "status_label": STATUS_LABELS[row.status],
        "overdue": overdue,
    }


def first_photo_paths(row) -> tuple[str | None, str | None]:
    """The display and thumbnail paths of the row's first public photo (LIST_COLUMNS)."""
    if row.photo_id is None:
        return None, None
    return (photo_path(row.photo_id, row.photo_display_key),
            photo_path(row.photo_id, row.photo_thumbnail_key))


def summary(row, duplicates: dict[int, str]) -> dict:
    """One public report in a list. `row` has the LIST_COLUMNS."""
    display, thumbnail = first_photo_paths(row)
    latitude, longitude = round_location(row.latitude, row.longitude)
    visible = answer_visible(row.status, row.answer_review)
    return {
        "tracking_code": row.tracking_code,
        **_status_fields(row),
        "category": {"code": row.category_code, "name": row.category_name},
        "commune": ({"code": row.commune_code, "name": row.commune_name}
                    if row.commune_code else None),
        "province": row.province_name,
        "department": ({"code": row.department_code, "name": row.department_name}
                       if row.department_code else None),
        "title": row.title,
        "description": row.description,
        "latitude": latitude,
        "longitude": longitude,
        "submitted_at": row.submitted_at,
        "updated_at": row.updated_at,
        "due_at": due_time(row),
        "resolved_at": row.resolved_at if visible else None,
        "outcome": str(row.outcome) if visible and row.outcome else None,
        "outcome_label": OUTCOME_LABELS[row.outcome] if visible and row.outcome else None,
        "answer": row.answer_text if visible else None,
        "duplicate_of": duplicates.get(row.duplicate_of_id),
        "thumbnail_url": thumbnail,
        "photo_url": display,
    }


# -- one report ------------------------------------------------------------------------

def find_report_row(session: Session, tracking_code: str):
    """The public report with this tracking code as LIST_COLUMNS, or None."""
    return session.execute(
        _list_select().where(public_condition(),
                             Report.tracking_code == tracking_code.strip().upper())
    ).first()


def report_detail(session: Session, tracking_code: str) -> dict | None:
    """A public report in full: its photos, the department's answer with its photos,
    the coordinating departments and the public timeline. None if not public."""
    row = find_report_row(session, tracking_code)
    if row is None:
        return None
    photos = session.execute(
        select(Photo).where(Photo.report_id == row.id, Photo.state == PhotoState.READY,
                            Photo.is_hidden.is_(False))
        .order_by(Photo.kind, Photo.position, Photo.id)
    ).scalars().all()
    report_photos = [p for p in photos if p.kind == PhotoKind.REPORT]
    duplicates = _tracking_codes(session, {row.duplicate_of_id} - {None})
    detail = summary(row, duplicates)
    detail["photos"] = [photo_body(p) for p in report_photos]
    answer = None
    if answer_visible(row.status, row.answer_review):
        answer_photos = [p for p in photos if p.kind == PhotoKind.ANSWER]
        # Of a reopened report answered again, the latest answer's photos.
        latest = max((p.event_id or 0 for p in answer_photos), default=0)
        answer = {
            "outcome": detail["outcome"], "outcome_label": detail["outcome_label"],
            "text": row.answer_text, "resolved_at": row.resolved_at,
            "photos": [photo_body(p) for p in answer_photos if (p.event_id or 0) == latest],
        }
    detail["answer"] = answer
    detail["coordinators"] = [
        {"code": code, "name": name} for code, name in session.execute(
            select(Department.code, Department.name)
            .join(report_coordinators_table,
                  report_coordinators_table.c.department_id == Department.id)
            .where(report_coordinators_table.c.report_id == row.id)
            .order_by(Department.name))
    ]
    detail["timeline"] = timeline(session, row.id)
    return detail


def photo_body(photo: Photo) -> dict:
    return {"url": photo_path(photo.id, photo.display_key),
            "thumbnail_url": photo_path(photo.id, photo.thumbnail_key),
            "width": photo.width, "height": photo.height}


def event_note(event: ReportEvent) -> str | None:
    """Staff and the system write public notes; a citizen's own words (a reopening's
    reason) are not moderated, so they stay off the public timeline."""
    if event.actor_role is not None and event.actor_role not in {str(r) for r in STAFF_ROLES}:
        return None
    return event.note


def timeline(session: Session, report_id: int) -> list[dict]:
    events = session.execute(
        select(ReportEvent).where(ReportEvent.report_id == report_id,
                                  ReportEvent.is_public.is_(True))
        .order_by(ReportEvent.id)
    ).scalars().all()
    codes = {(e.data or {}).get("department") for e in events if e.kind == "assigned"} - {None}
    names = dict(session.execute(
        select(Department.code, Department.name).where(Department.code.in_(codes))).all()
    ) if codes else {}
    items = []
    for event in events:
        data = event.data or {}
        item = {
            "at": event.created_at,
            "kind": event.kind,
            "label": EVENT_LABELS.get(event.kind, event.kind),
            "status": str(event.to_status) if event.to_status else None,
            "status_label": STATUS_LABELS[event.to_status] if event.to_status else None,
            "department": names.get(data.get("department")) if event.kind == "assigned" else None,
            "note": event_note(event),
        }
        if event.kind == "rated" and data.get("rating") in RATING_LABELS:
            item["note"] = RATING_LABELS[Rating(data["rating"])]
        if event.kind == "merged" and data.get("duplicate_of"):
            item["note"] = f"Trùng với phản ánh {data['duplicate_of']}"
        items.append(item)
    return items


# -- scorecards ------------------------------------------------------------------------

DEFAULT_SCORECARD_DAYS = 30


def scorecards(session: Session, period_: Period, *, now: datetime, time_zone: str) -> dict:
    """Per department, the figures supervisors see for the period (received, resolved,
    on time, late, open and overdue, the on-time rate, satisfaction), from
    `feedback.services.stats`, the one place they are defined. Counts of every report,
    public or not: a count is no one's personal data."""
    from feedback.services import stats

    zone = ZoneInfo(time_zone)
    stats_period = stats.Period.of_days(period_.first, period_.last + timedelta(days=1), zone)
    groups, total = stats.figures(session, group_by="department", period=stats_period,
                                  now=now)
    labels = stats.group_labels(session, "department", groups.keys())
    departments = []
    for key, figures in groups.items():
        if key is None or key not in labels:
            continue  # not yet with a department: in the total only
        code, name = labels[key]
        departments.append({"code": code, "name": name, **_scorecard_figures(figures)})
    departments.sort(key=lambda item: (-item["received"], item["name"]))
    return {"period": period_, "departments": departments, "total": _scorecard_figures(total)}


def _scorecard_figures(figures) -> dict:
    satisfaction = figures.satisfaction
    return {
        "received": figures.received,
        "resolved": figures.resolved,
        "on_time": figures.on_time,
        "late": figures.late,
        "open_overdue": figures.open_overdue,
        "on_time_rate": figures.on_time_rate,
        "rated": figures.rated,
        "satisfied_rate": satisfaction.get(str(Rating.SATISFIED)),
        "satisfaction": satisfaction,
        "median_resolution_hours": figures.median_resolution_hours,
    }
