"""Officers' pages: their department's queue, soonest deadline first, with filters (the
reports it coordinates among them, marked); and the moves the lead department makes on a
report (acknowledge, ask the citizen for more, answer with photos, return as not ours,
ask for more time)."""
from datetime import datetime, time
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm.exc import StaleDataError

from feedback.extensions import db
from feedback.models import OPEN_STATUSES, ReportStatus, Role
from feedback.schemas.workflow import (
    AnswerSchema,
    ExtensionRequestSchema,
    QuestionSchema,
    ReturnSchema,
)
from feedback.services import coordination, deadlines, intake, queues, workflow
from feedback.services.intake import MAX_PHOTOS, SubmissionRefused
from feedback.web.auth import current_staff, staff_required
from feedback.web.common import StaleForm, flash_errors, locked_report, now, parse, report_page
from feedback.web.errors import photo_problems
from feedback.web.i18n import gettext as _

bp = Blueprint("department", __name__)

PER_PAGE = 50
STATUS_CHOICES = [ReportStatus.ASSIGNED, ReportStatus.IN_PROGRESS, ReportStatus.AWAITING_CITIZEN,
                  ReportStatus.RESOLVED, ReportStatus.CLOSED]


def _filters(args) -> queues.QueueFilter:
    status = args.get("status")
    category = args.get("category")
    return queues.QueueFilter(
        status=ReportStatus(status) if status in {str(s) for s in STATUS_CHOICES} else None,
        category_id=int(category) if category and category.isdigit() else None,
        area_code=(args.get("commune") or None),
    )


@bp.get("/")
@staff_required(Role.OFFICER)
def queue():
    user = current_staff()
    filters = _filters(request.args)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    # The reports the department leads and, marked "Phối hợp", those it coordinates.
    items, total = coordination.department_queue(db.session, user.department_id,
                                                 filters=filters, limit=PER_PAGE,
                                                 offset=(page - 1) * PER_PAGE)
    categories, communes = coordination.department_facets(db.session, user.department_id)
    moment = now()
    return render_template(
        "web/department_queue.html", items=items, total=total, page=page, per_page=PER_PAGE,
        filters=filters, categories=categories, communes=communes, statuses=STATUS_CHOICES,
        states={item.id: queues.deadline_state(item, moment) for item in items},
        open_statuses=OPEN_STATUSES, now=moment, department=user.department)


def _act(tracking_code: str, move, *, success: str,
         originals: intake.StoredOriginals | None = None):
    """Make the move and commit it; a refusal is shown on the report's page, and the
    originals the move stored (an answer's photos) are removed again."""
    user = current_staff()
    try:
        try:
            report = locked_report(tracking_code)
            move(report, user)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            if originals is not None:
                originals.discard(db.session)
            raise
    except (StaleForm, StaleDataError) as error:
        flash_errors(StaleForm() if isinstance(error, StaleDataError) else error)
    except (ma.ValidationError, workflow.WorkflowError) as error:
        flash_errors(error)
    except SubmissionRefused as refusal:
        flash(_("Ảnh không hợp lệ: %(problems)s", problems=photo_problems(refusal.details)),
              "error")
    else:
        flash(success, "success")
        if report.lead_department_id != user.department_id:
            # Returned: the report is no longer this department's to see.
            return redirect(url_for(".queue"))
    return report_page(tracking_code)


@bp.post("/reports/<tracking_code>/acknowledge")
@staff_required(Role.OFFICER)
def acknowledge(tracking_code):
    return _act(tracking_code,
                lambda report, user: workflow.acknowledge(db.session, report, actor=user,
                                                          now=now()),
                success=_("Đã tiếp nhận xử lý %(code)s.", code=tracking_code))


@bp.post("/reports/<tracking_code>/request-info")
@staff_required(Role.OFFICER)
def request_info(tracking_code):
    def move(report, user):
        body = parse(QuestionSchema(), {"question": request.form.get("question")})
        workflow.request_info(db.session, report, actor=user, now=now(), **body)

    return _act(tracking_code, move, success=_("Đã gửi đề nghị bổ sung cho công dân."))


@bp.post("/reports/<tracking_code>/answer")
@staff_required(Role.OFFICER)
def answer(tracking_code):
    originals = intake.StoredOriginals(intake.photo_storage())

    def move(report, user):
        body = parse(AnswerSchema(), {"outcome": request.form.get("outcome"),
                                      "text": request.form.get("text")})
        uploads = [upload.read(current_app.config["PHOTO_MAX_BYTES"] + 1)
                   for upload in request.files.getlist("photos") if upload.filename]
        if len(uploads) > MAX_PHOTOS:
            raise workflow.InvalidMove(_("Tối đa %(n)s ảnh.", n=MAX_PHOTOS))
        # Who and from which status, before anything is stored; the photos are stored
        # before the answer names them, and removed again (`_act`) if it is refused.
        workflow.check("answer", report, user)
        photos = intake.store_answer_photos(db.session, report, uploads, uploader=user,
                                            now=now(), config=current_app.config,
                                            originals=originals)
        workflow.answer(db.session, report, actor=user, now=now(), photos=photos, **body)

    return _act(tracking_code, move, success=_("Đã gửi kết quả xử lý %(code)s.",
                                               code=tracking_code), originals=originals)


@bp.post("/reports/<tracking_code>/return")
@staff_required(Role.OFFICER)
def return_report(tracking_code):
    def move(report, user):
        body = parse(ReturnSchema(), {"reason_code": request.form.get("reason_code"),
                                      "note": request.form.get("note")})
        workflow.return_report(db.session, report, actor=user, now=now(), **body)

    return _act(tracking_code, move, success=_("Đã trả lại %(code)s cho bộ phận kiểm duyệt.",
                                               code=tracking_code))


@bp.post("/reports/<tracking_code>/extension")
@staff_required(Role.OFFICER)
def request_extension(tracking_code):
    def move(report, user):
        latest = deadlines.latest_extension_due(report,
                                                calendar=deadlines.calendar_for(db.session))
        new_due = _end_of_working_day(request.form.get("new_due_date", ""), latest)
        body = parse(ExtensionRequestSchema(), {"reason": request.form.get("reason"),
                                                "new_due_at": new_due})
        workflow.request_extension(db.session, report, actor=user, now=now(), **body)

    return _act(tracking_code, move, success=_("Đã gửi đề nghị gia hạn; chờ lãnh đạo quyết định."))


def _end_of_working_day(text: str, latest: datetime | None) -> str | None:
    """A date picked in the form → the close of that working day, local time, as ISO 8601;
    on the last day the form offers, no later than the limit itself (which may fall
    before that day's close)."""
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    closing = max(end for _start, end in current_app.config["WORKING_HOURS"])
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    due = datetime.combine(day, time(closing.hour, closing.minute), zone)
    if latest is not None and due.date() == latest.astimezone(zone).date():
        due = min(due, latest.astimezone(zone))
    return due.isoformat()
