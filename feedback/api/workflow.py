"""The moves of a report's life over the API: moderators, departments, supervisors, citizens.

Each view parses its input, calls one move of `feedback.services.workflow`, commits,
and answers the report as the caller may see it. Illegal moves answer 409, moves
that are not the caller's 403, bad input 422, all in the JSON error shape.
"""
from datetime import datetime, timezone

from flask import current_app, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from feedback.api.errors import NotFound, ValidationFailed
from feedback.api.reports import allow_photo_body, read_photos
from feedback.api.security import BEARER_AUTH, authenticated_user, require_roles
from feedback.extensions import db
from feedback.models import (
    STAFF_ROLES,
    Category,
    Department,
    ManualRouting,
    Photo,
    PhotoKind,
    Report,
    ReportStatus,
    Role,
)
from feedback.schemas.workflow import (
    AnswerSchema,
    AnswerWithPhotosSchema,
    BlurRegionSchema,
    CategorySchema,
    CitizenMoveSchema,
    DecisionSchema,
    DuplicateSchema,
    ExtensionRequestSchema,
    ExtensionSchema,
    HidePhotoSchema,
    InfoSchema,
    QuestionSchema,
    RatingSchema,
    RedactionSchema,
    RejectSchema,
    ReopenSchema,
    ReturnSchema,
    RouteSchema,
    StaffReportSchema,
    StaffReportSummarySchema,
)
from feedback.services import intake, moderation, queues, workflow
from feedback.services.access import can_see_report, visible_photos
from feedback.services.privacy import record_identity_view

blp = Blueprint("workflow", __name__, url_prefix="/api/v1",
                description="Moving a report through its life")

MODERATORS = (Role.MODERATOR, Role.ADMIN)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _report_id(tracking_code: str) -> int:
    report_id = db.session.execute(
        select(Report.id).where(Report.tracking_code == tracking_code)
    ).scalar_one_or_none()
    if report_id is None:
        raise NotFound(f"No report {tracking_code}.")
    return report_id


def _locked(tracking_code: str) -> Report:
    report = workflow.load_for_move(db.session, _report_id(tracking_code))
    user = authenticated_user()
    if user.role == Role.CITIZEN and report.citizen_id != user.id:
        # Another citizen's report does not exist, as far as this citizen knows.
        raise NotFound(f"No report {tracking_code}.")
    return report


def _by_code(model, code: str, field: str):
    row = db.session.execute(select(model).where(model.code == code)).scalar_one_or_none()
    if row is None:
        raise workflow.InvalidMove(f"No {field} {code}.", details={field: ["Unknown code."]})
    return row


class StaffView:
    """A report as one staff member may see it: the report, plus the reporter's
    identity only for those allowed (never a department, when the citizen asked
    to stay anonymous)."""

    def __init__(self, report: Report, user, *, identity: bool = True):
        self._report = report
        self.reporter = None
        self.photos = [photo for photo in visible_photos(report, user)
                       if photo.kind == PhotoKind.REPORT]
        # The citizen's words from before a moderator edited personal data out: admins only.
        admin = user.role == Role.ADMIN
        self.title_original = report.title_original if admin else None
        self.description_original = report.description_original if admin else None
        if not identity or (report.is_anonymous and user.role == Role.OFFICER):
            return
        if report.citizen is not None:
            self.reporter = {"name": report.citizen.full_name, "phone": report.citizen.phone}
        elif report.contact_name or report.contact_phone:
            self.reporter = {"name": report.contact_name, "phone": report.contact_phone}

    def __getattr__(self, name):
        return getattr(self._report, name)


def staff_view(report: Report, user, context: str) -> StaffView:
    """The report for this staff member (an officer: their department leads or coordinates
    it); showing the reporter is logged (NĐ 13/2023). The caller commits."""
    if not can_see_report(user, report):
        raise workflow.NotAllowed("This report is not your department's.")
    view = StaffView(report, user)
    if view.reporter is not None:
        record_identity_view(db.session, user, report, context)
    return view


def _answer(report: Report):
    db.session.commit()
    user = authenticated_user()
    report = db.session.get(Report, report.id)
    if user.role == Role.CITIZEN:
        return {"tracking_code": report.tracking_code, "status": str(report.status),
                "status_label": report.status.label}
    if not can_see_report(user, report):
        # The officer's move gave the report away (returned as not theirs): they hear
        # where it is now, no longer who sent it.
        return StaffView(report, user, identity=False)
    view = staff_view(report, user, f"api:{request.endpoint}")
    db.session.commit()
    return view


def _doc(roles):
    return blp.doc(security=BEARER_AUTH, description=f"Roles: {', '.join(map(str, roles))}.")


# Queues -------------------------------------------------------------------------------

@blp.route("/moderation/queue")
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.response(200, StaffReportSummarySchema(many=True))
def moderation_queue():
    """New reports waiting for moderation, oldest first."""
    return db.session.execute(
        select(Report).where(Report.status == ReportStatus.SUBMITTED,
                             Report.moderated_at.is_(None), Report.manual_routing.is_(None))
        .options(selectinload(Report.category), selectinload(Report.lead_department),
                 selectinload(Report.coordinators))
        .order_by(Report.submitted_at).limit(200)
    ).scalars().all()


@blp.route("/moderation/manual-routing")
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.response(200, StaffReportSummarySchema(many=True))
def manual_routing_queue():
    """Reports no rule matched, or that a department returned, oldest first."""
    return db.session.execute(
        select(Report).where(Report.manual_routing.in_(list(ManualRouting)))
        .options(selectinload(Report.category), selectinload(Report.coordinators))
        .order_by(Report.submitted_at).limit(200)
    ).scalars().all()


@blp.route("/extensions")
@_doc(SUPERVISORS)
@require_roles(*SUPERVISORS)
@blp.response(200, ExtensionSchema(many=True))
def pending_extensions():
    """Extension requests waiting for a supervisor, oldest first: those that can still be
    decided (the department that asked still holds the report)."""
    return queues.pending_extensions(db.session)


@blp.route("/staff/reports/<tracking_code>")
@_doc(STAFF_ROLES)
@require_roles(*STAFF_ROLES)
@blp.response(200, StaffReportSchema)
def staff_report(tracking_code):
    """A report with its timeline, as staff see it. Officers see the reports their
    department leads or coordinates only."""
    report = db.session.get(Report, _report_id(tracking_code))
    view = staff_view(report, authenticated_user(), "api:staff_report")
    db.session.commit()
    return view


# Moderators ---------------------------------------------------------------------------

@blp.route("/reports/<tracking_code>/approve", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.response(200, StaffReportSchema)
def approve(tracking_code):
    """Accept a new report; a routing job finds its department."""
    report = _locked(tracking_code)
    workflow.approve(db.session, report, actor=authenticated_user(), now=_now())
    return _answer(report)


@blp.route("/reports/<tracking_code>/reject", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.arguments(RejectSchema)
@blp.response(200, StaffReportSchema)
def reject(body, tracking_code):
    """Refuse a report with a reason the citizen sees."""
    report = _locked(tracking_code)
    workflow.reject(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)


@blp.route("/reports/<tracking_code>/duplicate", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.arguments(DuplicateSchema)
@blp.response(200, StaffReportSchema)
def mark_duplicate(body, tracking_code):
    """Merge the report into another one, which the citizen can then follow."""
    report = _locked(tracking_code)
    original = db.session.execute(
        select(Report).where(Report.tracking_code == body["duplicate_of"])
    ).scalar_one_or_none()
    if original is None:
        raise workflow.InvalidMove("No such report to merge into.",
                                   details={"duplicate_of": ["Unknown tracking code."]})
    workflow.mark_duplicate(db.session, report, original, actor=authenticated_user(),
                            now=_now(), note=body["note"])
    return _answer(report)


@blp.route("/reports/<tracking_code>/route", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.arguments(RouteSchema)
@blp.response(200, StaffReportSchema)
def route_manually(body, tracking_code):
    """Route by hand: a lead department and any coordinating departments."""
    report = _locked(tracking_code)
    department = _by_code(Department, body["department"], "department")
    coordinators = [_by_code(Department, code, "coordinators") for code in body["coordinators"]]
    workflow.route_manually(db.session, report, department, coordinators,
                            actor=authenticated_user(), now=_now())
    return _answer(report)


@blp.route("/reports/<tracking_code>/category", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.arguments(CategorySchema)
@blp.response(200, StaffReportSchema)
def change_category(body, tracking_code):
    """Move the report to another category; an approved report is routed again."""
    report = _locked(tracking_code)
    category = _by_code(Category, body["category"], "category")
    workflow.change_category(db.session, report, category, actor=authenticated_user(),
                             now=_now())
    return _answer(report)


@blp.route("/reports/<tracking_code>/redaction", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.arguments(RedactionSchema)
@blp.response(200, StaffReportSchema)
def redact(body, tracking_code):
    """Edit personal data out of the title, the text, or both (an empty or null title
    removes it). The citizen's own words are kept once, for admins only
    (`title_original`, `description_original`); the event records lengths, never text."""
    report = _locked(tracking_code)
    moderation.redact(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)


def _photo_of(report: Report, photo_id: int) -> Photo:
    photo = moderation.photo_of(db.session, report, photo_id)
    if photo is None:
        raise NotFound(f"No photo {photo_id} in report {report.tracking_code}.")
    return photo


@blp.route("/reports/<tracking_code>/photos/<int:photo_id>/hide", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.arguments(HidePhotoSchema)
@blp.response(200, StaffReportSchema)
def hide_photo(body, tracking_code, photo_id):
    """Hide a photo from everyone but moderators and admins; 409 if it is hidden already."""
    report = _locked(tracking_code)
    moderation.hide_photo(db.session, _photo_of(report, photo_id), actor=authenticated_user(),
                          now=_now(), reason=body["reason"])
    return _answer(report)


@blp.route("/reports/<tracking_code>/photos/<int:photo_id>/show", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.response(200, StaffReportSchema)
def show_photo(tracking_code, photo_id):
    """Show a hidden photo again; 409 if it is not hidden."""
    report = _locked(tracking_code)
    moderation.show_photo(db.session, _photo_of(report, photo_id), actor=authenticated_user(),
                          now=_now())
    return _answer(report)


@blp.route("/reports/<tracking_code>/photos/<int:photo_id>/blur", methods=["POST"])
@_doc(MODERATORS)
@require_roles(*MODERATORS)
@blp.arguments(BlurRegionSchema)
@blp.response(200, StaffReportSchema)
def blur_photo(body, tracking_code, photo_id):
    """Blur a region of a photo (a face, a number plate) for everyone: its copies are made
    again, under new URLs, and the old URLs serve nothing. 409 while the copies are not
    made yet; 422 for a region outside the picture or under 0.01 a side."""
    report = _locked(tracking_code)
    region = moderation.check_region(body["left"], body["top"], body["width"], body["height"])
    moderation.blur_photo(db.session, _photo_of(report, photo_id), actor=authenticated_user(),
                          now=_now(), region=region, storage=intake.photo_storage())
    return _answer(report)


# Departments --------------------------------------------------------------------------

@blp.route("/reports/<tracking_code>/acknowledge", methods=["POST"])
@_doc((Role.OFFICER,))
@require_roles(Role.OFFICER)
@blp.response(200, StaffReportSchema)
def acknowledge(tracking_code):
    """The department takes the report on; its time to resolve starts."""
    report = _locked(tracking_code)
    workflow.acknowledge(db.session, report, actor=authenticated_user(), now=_now())
    return _answer(report)


@blp.route("/reports/<tracking_code>/request-info", methods=["POST"])
@_doc((Role.OFFICER,))
@require_roles(Role.OFFICER)
@blp.arguments(QuestionSchema)
@blp.response(200, StaffReportSchema)
def request_info(body, tracking_code):
    """Ask the citizen for more information; the clock stops until they answer."""
    report = _locked(tracking_code)
    workflow.request_info(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)


@blp.route("/reports/<tracking_code>/answer", methods=["POST"])
@_doc((Role.OFFICER,))
@require_roles(Role.OFFICER)
@blp.arguments(AnswerSchema)
@blp.response(200, StaffReportSchema)
def answer(body, tracking_code):
    """Answer with an outcome (fixed, planned, no_action) and text.

    An answer that says fixed needs 1 to 5 photos: send it as multipart to
    /reports/<code>/answer-with-photos.
    """
    report = _locked(tracking_code)
    workflow.answer(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)


@blp.before_request
def _bound_the_body():
    if request.method == "POST" and request.endpoint == "workflow.answer_with_photos":
        allow_photo_body()


@blp.route("/reports/<tracking_code>/answer-with-photos", methods=["POST"])
@_doc((Role.OFFICER,))
@require_roles(Role.OFFICER)
@blp.arguments(AnswerWithPhotosSchema, location="form", content_type="multipart/form-data")
@blp.response(200, StaffReportSchema)
@blp.alt_response(422, description="Fields (`validation_failed`) or photos (`photo_rejected`, "
                                   "details `photos[i]`, counted from 0) refused; nothing kept")
def answer_with_photos(body, tracking_code):
    """Answer with an outcome, text and 1 to 5 photos as proof, in one multipart request.

    The photos go through the citizens' pipeline: checked by their bytes, stored, and
    made into public copies (upright, without metadata) by a worker. Refused, or refused
    with the answer, nothing is kept.
    """
    body.pop("photos", None)
    uploads = read_photos(request.files.getlist("photos"))
    user = authenticated_user()
    originals = intake.StoredOriginals(intake.photo_storage())
    try:
        report = _locked(tracking_code)
        # Who and from which status before anything is stored.
        workflow.check("answer", report, user)
        photos = intake.store_answer_photos(db.session, report, uploads, uploader=user,
                                            now=_now(), config=current_app.config,
                                            originals=originals)
        workflow.answer(db.session, report, actor=user, now=_now(), photos=photos, **body)
        db.session.commit()
    except BaseException as error:
        db.session.rollback()
        originals.discard(db.session)
        if isinstance(error, intake.SubmissionRefused):
            raise ValidationFailed(error.message, code=error.code,
                                   details=error.details) from None
        raise
    return _answer(report)


@blp.route("/reports/<tracking_code>/return", methods=["POST"])
@_doc((Role.OFFICER,))
@require_roles(Role.OFFICER)
@blp.arguments(ReturnSchema)
@blp.response(200, StaffReportSchema)
def return_report(body, tracking_code):
    """Not ours: the report goes back to the moderators' manual routing queue."""
    report = _locked(tracking_code)
    workflow.return_report(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)


@blp.route("/reports/<tracking_code>/extensions", methods=["POST"])
@_doc((Role.OFFICER,))
@require_roles(Role.OFFICER)
@blp.arguments(ExtensionRequestSchema)
@blp.response(201, ExtensionSchema)
def request_extension(body, tracking_code):
    """Ask once, before the deadline, for a new date within the category's limit."""
    report = _locked(tracking_code)
    extension = workflow.request_extension(db.session, report, actor=authenticated_user(),
                                           now=_now(), **body)
    db.session.commit()
    return extension


@blp.route("/extensions/<int:extension_id>/decision", methods=["POST"])
@_doc(SUPERVISORS)
@require_roles(*SUPERVISORS)
@blp.arguments(DecisionSchema)
@blp.response(200, ExtensionSchema)
def decide_extension(body, extension_id):
    """Approve or refuse an extension request; an approval moves the deadline."""
    extension = workflow.load_extension_for_decision(db.session, extension_id)
    if extension is None:
        raise NotFound(f"No extension request {extension_id}.")
    workflow.decide_extension(db.session, extension, actor=authenticated_user(), now=_now(),
                              approve_extension=body["approve"], note=body["note"])
    db.session.commit()
    return extension


@blp.route("/reports/<tracking_code>/review", methods=["POST"])
@_doc(SUPERVISORS)
@require_roles(*SUPERVISORS)
@blp.arguments(DecisionSchema)
@blp.response(200, StaffReportSchema)
def review_answer(body, tracking_code):
    """With result review on: approve the answer (the citizen then sees it) or refuse it."""
    report = _locked(tracking_code)
    workflow.review_answer(db.session, report, actor=authenticated_user(), now=_now(),
                           approve_answer=body["approve"], note=body["note"])
    return _answer(report)


# Citizens -----------------------------------------------------------------------------

@blp.route("/reports/<tracking_code>/info", methods=["POST"])
@_doc((Role.CITIZEN,))
@require_roles(Role.CITIZEN)
@blp.arguments(InfoSchema)
@blp.response(200, CitizenMoveSchema)
def provide_info(body, tracking_code):
    """Give the department the information it asked for; its clock runs again."""
    report = _locked(tracking_code)
    workflow.provide_info(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)


@blp.route("/reports/<tracking_code>/rating", methods=["POST"])
@_doc((Role.CITIZEN,))
@require_roles(Role.CITIZEN)
@blp.arguments(RatingSchema)
@blp.response(200, CitizenMoveSchema)
def rate(body, tracking_code):
    """Rate the answer (satisfied, acceptable, unsatisfied); the report closes."""
    report = _locked(tracking_code)
    workflow.rate(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)


@blp.route("/reports/<tracking_code>/reopen", methods=["POST"])
@_doc((Role.CITIZEN,))
@require_roles(Role.CITIZEN)
@blp.arguments(ReopenSchema)
@blp.response(200, CitizenMoveSchema)
def reopen(body, tracking_code):
    """Not fixed: back to the same department with a new deadline."""
    report = _locked(tracking_code)
    workflow.reopen(db.session, report, actor=authenticated_user(), now=_now(), **body)
    return _answer(report)
