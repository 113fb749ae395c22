"""What the citizens' app calls: send a report with its photos, read one's own reports and
notifications, look for likely duplicates nearby, and fetch photos' public copies."""
from datetime import datetime, timezone

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from feedback.api.errors import ApiError, Conflict, NotFound, ValidationFailed
from feedback.api.security import BEARER_AUTH, authenticated_user, require_roles
from feedback.extensions import client_address, db, limiter
from feedback.models import Notification, Photo, PhotoState, Report, Role
from feedback.schemas.reports import (
    CitizenReportPageSchema,
    CitizenReportSchema,
    NearbyQuerySchema,
    NearbyReportSchema,
    NotificationPageSchema,
    NotificationSchema,
    PageQuerySchema,
    ReportInputSchema,
)
from feedback.services import intake
from feedback.services.storage import InvalidKey, PhotoNotFound, check_key

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports",
                description="Citizens' reports: sending one, reading one's own, nearby ones")
me_blp = Blueprint("me", __name__, url_prefix="/api/v1/me",
                   description="The signed-in user's own reports and notifications")
photos_blp = Blueprint("photos", __name__, url_prefix="/api/v1/photos",
                       description="Photos' public copies (never the uploaded originals)")

# Photos are content-addressed, so a copy never changes; a day bounds how long a photo a
# moderator hides stays in caches.
PHOTO_MAX_AGE = 86400
# Above the photos themselves: the other fields and the multipart framing.
_FORM_ALLOWANCE = 1024 * 1024

IDEMPOTENCY_KEY_DOC = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "maxLength": intake.IDEMPOTENCY_KEY_MAX},
    "description": "A key the app makes once per report (a UUID) and sends again with "
                   "every retry of it: a retry answers the report already taken, with "
                   "`Idempotent-Replayed: true`, and creates nothing.",
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _config_limit(key: str):
    return lambda: current_app.config[key]


def account_key() -> str:
    """The signed-in account, for per-account limits; the address without a sign-in."""
    try:
        return f"account:{authenticated_user().id}"
    except ApiError:
        return "address:" + client_address()


def _paging(query: dict) -> tuple[int, int]:
    return (query["page"] - 1) * query["per_page"], query["per_page"]


# -- sending a report --------------------------------------------------------------------

def allow_photo_body() -> None:
    """Raise this request's body limit from the API's (guards.py) to what a form with
    photos needs: six photos at the limit still get through, so that a sixth is refused
    by name, not by size."""
    request.max_content_length = (
        (intake.MAX_PHOTOS + 1) * current_app.config["PHOTO_MAX_BYTES"] + _FORM_ALLOWANCE)


@blp.before_request
def _bound_the_body():
    if request.method == "POST" and request.endpoint == "reports.Reports":
        allow_photo_body()


def read_photos(files) -> list[bytes]:
    """The photo parts' bytes, each read no further than one byte past the size limit."""
    limit = current_app.config["PHOTO_MAX_BYTES"]
    uploads = []
    for upload in files:
        data = upload.read(limit + 1)
        if not data and not upload.filename:
            continue  # a file input left empty
        uploads.append(data)
    return uploads


@blp.route("")
class Reports(MethodView):
    @blp.doc(security=BEARER_AUTH, parameters=[IDEMPOTENCY_KEY_DOC])
    @require_roles(Role.CITIZEN)
    @limiter.limit(_config_limit("SUBMIT_RATE_LIMIT"), key_func=account_key,
                   error_message="You have sent many reports lately; try again later.")
    @limiter.limit(_config_limit("SUBMIT_ADDRESS_RATE_LIMIT"), key_func=client_address,
                   error_message="Many reports came from this address lately; try again later.")
    @blp.arguments(ReportInputSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, CitizenReportSchema, headers={
        "Location": {"description": "The report's URL", "schema": {"type": "string"}},
        "Idempotent-Replayed": {"description": "`true` when this answers an earlier request",
                                "schema": {"type": "string"}}})
    @blp.alt_response(409, description="The Idempotency-Key was used for a different report "
                                       "(`idempotency_conflict`)")
    @blp.alt_response(422, description="Fields (`validation_failed`) or photos "
                                       "(`photo_rejected`, details `photos[i]`, counted from 0) "
                                       "refused; nothing was kept")
    @blp.alt_response(429, description="Too many reports from this account or address "
                                       "(`rate_limited`)")
    def post(self, fields):
        """Send a report, with up to 5 photos, in one multipart request.

        Answered once the report and its photos are stored and committed: status
        `submitted` and a tracking code such as `PA-2026-000123`. Photos are checked
        by their bytes (JPEG, PNG, WebP, HEIC; 15 MB and 50 megapixels at most); their
        public copies (upright, without metadata) appear in `photos` once a worker has
        made them. Without latitude and longitude, the first photo's GPS position is
        used if it has one (`location_from_photo`).
        """
        try:
            idempotency_key = intake.check_idempotency_key(request.headers.get("Idempotency-Key"))
        except ValueError as exc:
            raise ValidationFailed(details={"Idempotency-Key": [str(exc)]}) from None
        fields.pop("photos", None)
        try:
            report, created = intake.submit_report(
                db.session, citizen=authenticated_user(), fields=fields,
                photos=read_photos(request.files.getlist("photos")),
                idempotency_key=idempotency_key, now=_now(), storage=intake.photo_storage(),
                config=current_app.config)
        except intake.SubmissionRefused as refusal:
            raise ValidationFailed(refusal.message, code=refusal.code,
                                   details=refusal.details) from None
        except intake.IdempotencyConflict as conflict:
            raise Conflict(
                "This Idempotency-Key was already used for a different report.",
                code=conflict.code,
                details={"Idempotency-Key": [f"Used for {conflict.tracking_code}; "
                                             "make a new key for a new report."]}) from None
        headers = {"Location": f"{blp.url_prefix}/{report.tracking_code}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return report, 201, headers


# -- reading reports ---------------------------------------------------------------------

@blp.route("/nearby")
class NearbyReports(MethodView):
    @limiter.limit(_config_limit("NEARBY_RATE_LIMIT"), key_func=client_address)
    @blp.arguments(NearbyQuerySchema, location="query")
    @blp.response(200, NearbyReportSchema(many=True))
    def get(self, query):
        """Likely duplicates: open, or resolved in the last 30 days, public reports of the
        category within 250 m, nearest first, with no personal data.

        The app shows them before sending, so the citizen can follow one instead.
        """
        return intake.nearby_reports(db.session, category_code=query["category"],
                                     latitude=query["latitude"], longitude=query["longitude"],
                                     now=_now())


@blp.route("/<tracking_code>")
class ReportByCode(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @blp.response(200, CitizenReportSchema)
    @blp.alt_response(404, description="No such report among the caller's own")
    def get(self, tracking_code):
        """One's own report in full: status, department, due time, photos and timeline.

        Another citizen's report does not exist, as far as the caller knows (404).
        """
        user = authenticated_user()
        report = db.session.execute(
            select(Report)
            .where(Report.tracking_code == tracking_code.strip().upper(),
                   Report.citizen_id == user.id)
            .options(joinedload(Report.category), joinedload(Report.area),
                     joinedload(Report.lead_department), selectinload(Report.photos),
                     selectinload(Report.events))
        ).scalar_one_or_none()
        if report is None:
            raise NotFound(f"No report {tracking_code} of yours.")
        return report


@me_blp.route("/reports")
class MyReports(MethodView):
    @me_blp.doc(security=BEARER_AUTH)
    @require_roles(Role.CITIZEN)
    @me_blp.arguments(PageQuerySchema, location="query")
    @me_blp.response(200, CitizenReportPageSchema)
    def get(self, query):
        """One's own reports, newest first, a page at a time."""
        user = authenticated_user()
        offset, limit = _paging(query)
        total = db.session.execute(
            select(func.count()).select_from(Report).where(Report.citizen_id == user.id)
        ).scalar_one()
        items = db.session.execute(
            select(Report).where(Report.citizen_id == user.id)
            .options(joinedload(Report.category), joinedload(Report.lead_department),
                     selectinload(Report.photos))
            .order_by(Report.submitted_at.desc(), Report.id.desc())
            .offset(offset).limit(limit)
        ).scalars().all()
        return {"items": items, "page": query["page"], "per_page": limit, "total": total}


def _notification_body(notification: Notification, tracking_code: str | None) -> dict:
    return {"id": notification.id, "kind": notification.kind, "title": notification.title,
            "body": notification.body, "tracking_code": tracking_code,
            "created_at": notification.created_at, "read_at": notification.read_at}


def _addressed_to(user):
    """Notifications for this user, and for staff those of their department (new work,
    warnings, overdue): a department's notices are its staff's shared inbox."""
    mine = Notification.user_id == user.id
    if user.role == Role.CITIZEN or user.department_id is None:
        return mine
    return or_(mine, and_(Notification.user_id.is_(None),
                          Notification.department_id == user.department_id))


@me_blp.route("/notifications")
class MyNotifications(MethodView):
    @me_blp.doc(security=BEARER_AUTH)
    @me_blp.arguments(PageQuerySchema, location="query")
    @me_blp.response(200, NotificationPageSchema)
    def get(self, query):
        """One's notifications, newest first, a page at a time, with the unread count.

        Staff also see their department's (new work, warnings, overdue), read once for
        the whole department.
        """
        user = authenticated_user()
        offset, limit = _paging(query)
        total, read = db.session.execute(
            select(func.count(), func.count(Notification.read_at)).where(_addressed_to(user))
        ).one()
        rows = db.session.execute(
            select(Notification, Report.tracking_code)
            .outerjoin(Report, Report.id == Notification.report_id)
            .where(_addressed_to(user))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset).limit(limit)
        ).all()
        return {"items": [_notification_body(n, code) for n, code in rows],
                "page": query["page"], "per_page": limit, "total": total,
                "unread": total - read}


@me_blp.route("/notifications/<int:notification_id>/read")
class ReadNotification(MethodView):
    @me_blp.doc(security=BEARER_AUTH)
    @me_blp.response(200, NotificationSchema)
    @me_blp.alt_response(404, description="No such notification of the caller's")
    def post(self, notification_id):
        """Mark one of one's notifications (or one's department's) read; again: no change."""
        user = authenticated_user()
        row = db.session.execute(
            select(Notification, Report.tracking_code)
            .outerjoin(Report, Report.id == Notification.report_id)
            .where(Notification.id == notification_id, _addressed_to(user))
        ).first()
        if row is None:
            raise NotFound(f"No notification {notification_id} of yours.")
        notification, code = row
        if notification.read_at is None:
            notification.read_at = _now()
        body = _notification_body(notification, code)
        db.session.commit()
        return body


# -- photos ------------------------------------------------------------------------------

@photos_blp.route("/<int:photo_id>/<key>")
class PhotoFile(MethodView):
    @photos_blp.doc(responses={200: {"description": "The JPEG", "content": {
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}})
    @photos_blp.alt_response(404, description="No such public copy, not ready, or hidden")
    def get(self, photo_id, key):
        """A photo's display (1600 px) or thumbnail (320 px) copy: upright, no metadata.

        The URLs come in the report's `photos`. Only these copies are ever served, only
        once made and while not hidden; the uploaded original never is. Each URL names
        the copy by the hash of its bytes, so it can be cached; `ETag` allows a cheap
        check again.
        """
        try:
            check_key(key)
        except InvalidKey:
            raise NotFound("No such photo.") from None
        row = db.session.execute(
            select(Photo, Report.is_public, Report.is_hidden)
            .join(Report, Report.id == Photo.report_id)
            .where(Photo.id == photo_id)
        ).first()
        if row is None:
            raise NotFound("No such photo.")
        photo, report_public, report_hidden = row
        if (photo.state != PhotoState.READY or photo.is_hidden
                or key not in (photo.display_key, photo.thumbnail_key)):
            raise NotFound("No such photo.")
        db.session.rollback()  # nothing to write: end the transaction before the file read
        response = current_app.response_class(mimetype="image/jpeg")
        response.set_etag(key.rsplit(".", 1)[0])
        shared = report_public and not report_hidden
        response.cache_control.public = shared
        response.cache_control.private = not shared
        response.cache_control.max_age = PHOTO_MAX_AGE
        if request.if_none_match.contains(key.rsplit(".", 1)[0]):
            response.status_code = 304
            return response
        try:
            response.set_data(intake.photo_storage().get(key))
        except PhotoNotFound:
            raise NotFound("No such photo.") from None
        return response


BLUEPRINTS = (blp, me_blp, photos_blp)
