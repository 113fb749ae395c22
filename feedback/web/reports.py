"""A report's page, as the signed-in staff member may see it, with the moves their role
may make on it; and its photos, served to staff only.

What a department sees follows the API's rules (`feedback.api.workflow.staff_view`): an
officer sees only the reports their department leads or coordinates, and never who sent
an anonymous one.
"""
import math

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from feedback.api.workflow import staff_view
from feedback.extensions import db
from feedback.models import (
    Category,
    Department,
    ExtensionRequest,
    Outcome,
    Photo,
    PhotoKind,
    PhotoState,
    Report,
    ReportStatus,
    ReviewState,
    Role,
    User,
)
from feedback.services import deadlines, intake, moderation, queues, workflow
from feedback.services.access import can_see_report, coordinates, visible_photos
from feedback.services.storage import InvalidKey, PhotoNotFound, check_key
from feedback.web.auth import current_staff, staff_required
from feedback.web.common import claims, now

bp = Blueprint("reports", __name__)

MODERATORS = workflow.MODERATORS
SUPERVISORS = workflow.SUPERVISORS

EVENT_LABELS = {
    "submitted": "Công dân gửi phản ánh",
    "approved": "Kiểm duyệt: tiếp nhận",
    "rejected": "Từ chối",
    "merged": "Gộp vào phản ánh trùng",
    "manual_routing": "Chờ định tuyến thủ công",
    "assigned": "Chuyển đơn vị xử lý",
    "category_changed": "Đổi lĩnh vực",
    "acknowledged": "Đơn vị tiếp nhận xử lý",
    "info_requested": "Đơn vị đề nghị công dân bổ sung",
    "info_provided": "Công dân bổ sung thông tin",
    "answer_submitted": "Kết quả chờ duyệt",
    "answer_refused": "Kết quả chưa được duyệt",
    "resolved": "Đã trả lời, xử lý xong",
    "returned": "Trả lại: không thuộc thẩm quyền",
    "extension_requested": "Đơn vị xin gia hạn",
    "extension_approved": "Đồng ý gia hạn",
    "extension_refused": "Không đồng ý gia hạn",
    "extension_withdrawn": "Đề nghị gia hạn không còn hiệu lực",
    "rated": "Công dân đánh giá",
    "reopened": "Công dân mở lại",
    "closed": "Đã đóng",
    "deadline_warning": "Cảnh báo: đã dùng 75% thời hạn",
    "overdue": "Quá hạn",
    "escalated": "Báo cáo lãnh đạo: quá hạn",
    "reminder": "Nhắc việc",
    "description_edited": "Biên tập thông tin cá nhân trong nội dung",
    "photo_hidden": "Ẩn ảnh",
    "photo_shown": "Hiện lại ảnh",
    "photo_blurred": "Làm mờ một vùng trong ảnh",
}
MANUAL_ROUTING_LABELS = {
    "no_rule": "Không có quy tắc định tuyến phù hợp",
    "returned": "Đơn vị trả lại",
}


def _load(tracking_code: str) -> Report:
    report = db.session.execute(
        select(Report).where(Report.tracking_code == tracking_code)
        .options(joinedload(Report.category), joinedload(Report.area),
                 joinedload(Report.lead_department), joinedload(Report.citizen),
                 selectinload(Report.coordinators), selectinload(Report.photos),
                 selectinload(Report.events), joinedload(Report.duplicate_of))
    ).unique().scalar_one_or_none()
    if report is None:
        abort(404)
    return report


def _can(move: str, report: Report, user: User) -> bool:
    try:
        workflow.check(move, report, user)
    except workflow.WorkflowError:
        return False
    return True


def relative_points(report: Report, candidates, radius_m: float) -> list[dict]:
    """Positions of nearby reports around this one, in a unit box (0.5, 0.5 = here), for
    a map-free picture of what is near."""
    points = []
    if report.latitude is None:
        return points
    metres_per_degree = math.pi * 6_371_008.8 / 180
    for candidate in candidates:
        other = candidate.report
        dx = (other.longitude - report.longitude) * metres_per_degree * math.cos(
            math.radians(report.latitude))
        dy = (other.latitude - report.latitude) * metres_per_degree
        points.append({"x": 0.5 + dx / radius_m * 0.45, "y": 0.5 - dy / radius_m * 0.45,
                       "code": other.tracking_code, "distance": candidate.distance_m})
    return points


@bp.get("/<tracking_code>")
@staff_required()
def show(tracking_code):
    user = current_staff()
    report = _load(tracking_code)
    try:
        view = staff_view(report, user, "web:report")
    except workflow.NotAllowed:
        abort(403)
    moment = now()
    actors = {}
    actor_ids = {event.actor_id for event in report.events
                 if event.actor_id and event.actor_role != str(Role.CITIZEN)}
    if actor_ids:
        actors = {row.id: row for row in db.session.execute(
            select(User).where(User.id.in_(actor_ids))
            .options(joinedload(User.department))).scalars()}

    context = {
        "report": view, "now": moment, "actors": actors,
        "state": queues.deadline_state(report, moment),
        "photos": view.photos,  # the citizen's, as the staff API lists them
        "answer_photos": [p for p in visible_photos(report, user) if p.kind == PhotoKind.ANSWER],
        "pending_photos": sum(1 for p in report.photos if p.state == PhotoState.PENDING),
        "event_labels": EVENT_LABELS, "manual_routing_labels": MANUAL_ROUTING_LABELS,
        "can": {move: _can(move, report, user) for move in workflow.MOVES},
        "is_moderator": user.role in MODERATORS, "is_supervisor": user.role in SUPERVISORS,
        # An officer of a coordinating department follows the report; the lead moves it.
        "coordinating": user.role == Role.OFFICER and coordinates(user.department_id, report),
    }
    if user.role in MODERATORS and report.status in (ReportStatus.SUBMITTED, ReportStatus.ASSIGNED):
        context.update(_moderation_context(report, user))
    if user.role == Role.OFFICER:
        context.update(_officer_context(report))
    extension = db.session.execute(
        select(ExtensionRequest).where(ExtensionRequest.report_id == report.id)
        .order_by(ExtensionRequest.id.desc()).limit(1)
    ).scalar_one_or_none()
    context["extension"] = extension
    context["review_pending"] = report.answer_review == ReviewState.PENDING
    html = render_template("web/report.html", **context)
    # The page is made: now record that the reporter's identity was shown (if it was).
    db.session.commit()
    return html


def _moderation_context(report: Report, user: User) -> dict:
    held = None
    if report.status == ReportStatus.SUBMITTED:
        held = claims().take(report.id, user)
    candidates = moderation.duplicate_candidates(db.session, report, now=now())
    return {
        "claim": held,
        "claimed_by_other": held is not None and not held.held_by(user),
        "suggestion": moderation.rule_suggestion(db.session, report),
        "candidates": candidates,
        "points": relative_points(report, candidates, moderation.NEARBY_RADIUS_M),
        "history": moderation.reporter_history(db.session, [report.citizen_id]).get(
            report.citizen_id),
        "categories": db.session.execute(
            select(Category).where(Category.active.is_(True))
            .order_by(Category.sort_order)).scalars().all(),
        "departments": db.session.execute(
            select(Department).where(Department.active.is_(True))
            .order_by(Department.kind, Department.name)).scalars().all(),
        "rejection_reasons": workflow.REJECTION_REASONS,
    }


def _officer_context(report: Report) -> dict:
    calendar = deadlines.calendar_for(db.session)
    latest = None
    if report.resolve_due_at is not None and report.category.extension_limit:
        latest = deadlines.latest_extension_due(report, calendar=calendar)
    return {"return_reasons": workflow.RETURN_REASONS, "outcomes": list(Outcome),
            "extension_latest": latest,
            "extension_asked": workflow.extension_asked(db.session, report)}


@bp.get("/photos/<int:photo_id>/<key>")
@staff_required()
def photo(photo_id, key):
    """A photo's display or thumbnail copy, for staff who may see the report: hidden
    photos for moderators only. Never the uploaded original."""
    try:
        check_key(key)
    except InvalidKey:
        abort(404)
    photo = db.session.get(Photo, photo_id)
    if (photo is None or photo.state != PhotoState.READY
            or key not in (photo.display_key, photo.thumbnail_key)):
        abort(404)
    user = current_staff()
    if not can_see_report(user, photo.report):
        abort(403)
    if photo.is_hidden and user.role not in MODERATORS:
        abort(404)
    db.session.rollback()
    try:
        data = intake.photo_storage().get(key)
    except PhotoNotFound:
        abort(404)
    # No caching of its own: like every page under /staff/ it is `no-store` (web/__init__),
    # so a photo hidden after someone looked at it is not kept in that browser.
    return current_app.response_class(data, mimetype="image/jpeg")
