"""Moderators' pages: the queue of new reports, the manual routing queue, and the moves a
moderator makes on a report (approve, reject, merge, route, change category, edit out
personal data, hide a photo). Each move is one call to `workflow` or `moderation`."""
import marshmallow as ma
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from feedback.extensions import db
from feedback.models import Category, Department, Photo, Report, ReportStatus, Role
from feedback.schemas.workflow import CategorySchema, DuplicateSchema, RejectSchema, RouteSchema
from feedback.services import moderation, queues, workflow
from feedback.services.intake import photo_storage
from feedback.web.auth import current_staff, safe_next, staff_required
from feedback.web.common import (
    StaleForm,
    claims,
    flash_errors,
    locked_report,
    now,
    parse,
    report_id_or_404,
    report_page,
)
from feedback.web.i18n import gettext as _

bp = Blueprint("moderation", __name__)

MODERATORS = (Role.MODERATOR, Role.ADMIN)


@bp.get("/")
@staff_required(*MODERATORS)
def queue():
    items, total = queues.moderation_queue(db.session, limit=100)
    history = moderation.reporter_history(db.session, [item.citizen_id for item in items])
    held = claims().holders(item.id for item in items)
    return render_template("web/moderation_queue.html", items=items, total=total,
                           history=history, held=held, now=now())


@bp.post("/next")
@staff_required(*MODERATORS)
def take_next():
    """Claim the oldest report no one else holds, and open it."""
    items, _total = queues.moderation_queue(db.session, limit=100)
    report_id = moderation.next_unclaimed(claims(), current_staff(), [i.id for i in items])
    if report_id is None:
        flash(_("Không còn phản ánh nào chưa có người nhận."), "info")
        return redirect(url_for(".queue"))
    code = next(item.tracking_code for item in items if item.id == report_id)
    return report_page(code)


@bp.get("/routing")
@staff_required(*MODERATORS)
def routing():
    items, total = queues.manual_routing_queue(db.session, limit=100)
    held = claims().holders(item.id for item in items)
    return render_template("web/routing_queue.html", items=items, total=total, held=held,
                           now=now())


def waits_for_moderator(report: Report) -> bool:
    """Whether the report still waits for a moderator: not yet moderated, or approved and
    waiting to be routed by hand. A moderator's claim lasts as long as this holds."""
    return report.status == ReportStatus.SUBMITTED and (
        report.moderated_at is None or report.manual_routing is not None)


def _act(tracking_code: str, move, *, success: str, edit: bool = False):
    """Lock the report, refuse a stale form or another moderator's claim, make the move,
    commit; tell the person what happened.

    A move that ends moderation (approve, reject, merge, route, or a new category that
    routes the report again) lets go of the claim and goes back to the queue. An `edit`
    (personal data, a photo) keeps the claim and the page."""
    user = current_staff()
    try:
        report = locked_report(tracking_code)
        holder = claims().blocks(report.id, user)
        if holder is not None:
            db.session.rollback()
            flash(_("%(name)s đang xử lý phản ánh này. Hãy chọn phản ánh khác.",
                    name=holder.name), "warning")
            return redirect(url_for(".queue"))
        move(report, user)
        db.session.commit()
    except (StaleForm, StaleDataError) as error:
        db.session.rollback()
        flash_errors(StaleForm() if isinstance(error, StaleDataError) else error)
        return report_page(tracking_code)
    except (ma.ValidationError, workflow.WorkflowError) as error:
        db.session.rollback()
        flash_errors(error)
        return report_page(tracking_code)
    flash(success, "success")
    if edit or waits_for_moderator(report):
        return report_page(tracking_code)
    claims().release(report.id, user)
    return redirect(safe_next(request.form.get("next")) or url_for(".queue"))


@bp.post("/reports/<tracking_code>/approve")
@staff_required(*MODERATORS)
def approve(tracking_code):
    return _act(tracking_code,
                lambda report, user: workflow.approve(db.session, report, actor=user, now=now()),
                success=_("Đã tiếp nhận %(code)s; hệ thống đang chuyển đơn vị xử lý.",
                          code=tracking_code))


@bp.post("/reports/<tracking_code>/reject")
@staff_required(*MODERATORS)
def reject(tracking_code):
    def move(report, user):
        body = parse(RejectSchema(), {"reason_code": request.form.get("reason_code"),
                                      "note": request.form.get("note")})
        workflow.reject(db.session, report, actor=user, now=now(), **body)

    return _act(tracking_code, move, success=_("Đã từ chối %(code)s.", code=tracking_code))


@bp.post("/reports/<tracking_code>/duplicate")
@staff_required(*MODERATORS)
def duplicate(tracking_code):
    def move(report, user):
        body = parse(DuplicateSchema(), {
            "duplicate_of": (request.form.get("duplicate_of_code")
                             or request.form.get("duplicate_of") or "").upper(),
            "note": request.form.get("note")})
        original = db.session.execute(
            select(Report).where(Report.tracking_code == body["duplicate_of"])
        ).scalar_one_or_none()
        if original is None:
            raise workflow.InvalidMove(f"No report {body['duplicate_of']}.", reason="unknown_report",
                                       params={"code": body["duplicate_of"]})
        workflow.mark_duplicate(db.session, report, original, actor=user, now=now(),
                                note=body["note"])

    return _act(tracking_code, move, success=_("Đã gộp %(code)s vào phản ánh trùng.",
                                               code=tracking_code))


@bp.post("/reports/<tracking_code>/route")
@staff_required(*MODERATORS)
def route(tracking_code):
    def move(report, user):
        body = parse(RouteSchema(), {"department": request.form.get("department"),
                                     "coordinators": request.form.getlist("coordinators")})
        departments = _departments_by_code([body["department"], *body["coordinators"]])
        lead = departments.get(body["department"])
        if lead is None:
            raise workflow.InvalidMove("Choose the lead department.", reason="choose_department",
                                       details={"department": ["Unknown code."]})
        coordinators = [departments[code] for code in body["coordinators"]
                        if code in departments and code != lead.code]
        workflow.route_manually(db.session, report, lead, coordinators, actor=user, now=now())

    return _act(tracking_code, move, success=_("Đã chuyển %(code)s đến đơn vị xử lý.",
                                               code=tracking_code))


@bp.post("/reports/<tracking_code>/category")
@staff_required(*MODERATORS)
def change_category(tracking_code):
    def move(report, user):
        body = parse(CategorySchema(), {"category": request.form.get("category")})
        category = db.session.execute(
            select(Category).where(Category.code == body["category"])).scalar_one_or_none()
        if category is None:
            raise workflow.InvalidMove("Choose a category.", reason="choose_category")
        workflow.change_category(db.session, report, category, actor=user, now=now())

    return _act(tracking_code, move, success=_("Đã đổi lĩnh vực của %(code)s.", code=tracking_code))


@bp.post("/reports/<tracking_code>/redact")
@staff_required(*MODERATORS)
def redact(tracking_code):
    # Only the fields the form sent: an older form without a title leaves the title be.
    fields = {name: request.form[name] for name in ("title", "description")
              if name in request.form}
    return _act(tracking_code,
                lambda report, user: moderation.redact(db.session, report, actor=user,
                                                       now=now(), **fields),
                success=_("Đã lưu nội dung đã biên tập; bản gốc được giữ cho quản trị viên."),
                edit=True)


def _photo_of(report: Report, photo_id: int) -> Photo:
    photo = moderation.photo_of(db.session, report, photo_id)
    if photo is None:
        raise workflow.InvalidMove("Not a photo of this report.", reason="photo_not_of_report")
    return photo


@bp.post("/reports/<tracking_code>/photos/<int:photo_id>/<any(hide, show):action>")
@staff_required(*MODERATORS)
def photo_visibility(tracking_code, photo_id, action):
    def move(report, user):
        photo = _photo_of(report, photo_id)
        if action == "hide":
            moderation.hide_photo(db.session, photo, actor=user, now=now(),
                                  reason=request.form.get("reason"))
        else:
            moderation.show_photo(db.session, photo, actor=user, now=now())

    success = _("Đã ẩn ảnh.") if action == "hide" else _("Đã hiện lại ảnh.")
    return _act(tracking_code, move, success=success, edit=True)


@bp.post("/reports/<tracking_code>/photos/<int:photo_id>/blur")
@staff_required(*MODERATORS)
def photo_blur(tracking_code, photo_id):
    """Blur a region of a photo for everyone; the form gives it in per cent of the picture."""
    def move(report, user):
        photo = _photo_of(report, photo_id)
        region = moderation.check_region(*(_per_cent(request.form.get(name))
                                           for name in ("left", "top", "width", "height")))
        moderation.blur_photo(db.session, photo, actor=user, now=now(), region=region,
                              storage=photo_storage())

    return _act(tracking_code, move, success=_("Đã làm mờ vùng đã chọn trong ảnh."), edit=True)


def _per_cent(value):
    try:
        return float(value) / 100
    except (TypeError, ValueError):
        return None  # check_region refuses it


@bp.post("/reports/<tracking_code>/claim")
@staff_required(*MODERATORS)
def claim(tracking_code):
    """Renew one's claim while the report stays open (the page asks every 2 minutes).

    Answers whether the claim is this person's (`claimed`), who holds it otherwise, and
    whether the report moved on meanwhile (`moved`: no longer waiting for a moderator,
    so no claim is taken). `available` false: claims are off (Redis away), nothing to say.
    """
    report_id = report_id_or_404(tracking_code)
    moved = not waits_for_moderator(db.session.get(Report, report_id))
    answer = {"claimed": False, "available": True, "moved": moved, "holder": None,
              "until": None}
    if moved:
        return jsonify(answer)
    held = claims().take(report_id, current_staff())
    if held is None:
        return jsonify({**answer, "available": False})
    return jsonify({**answer, "claimed": held.held_by(current_staff()), "holder": held.name,
                    "until": held.until.isoformat()})


@bp.post("/reports/<tracking_code>/release")
@staff_required(*MODERATORS)
def release(tracking_code):
    """Give the report back to the queue: others may take it at once."""
    claims().release(report_id_or_404(tracking_code), current_staff())
    flash(_("Đã trả %(code)s lại hàng chờ.", code=tracking_code), "info")
    return redirect(url_for(".queue"))


def _departments_by_code(codes) -> dict[str, Department]:
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    return {department.code: department for department in db.session.execute(
        select(Department).where(Department.code.in_(wanted))).scalars()}
