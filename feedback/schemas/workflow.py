"""What staff send to move a report, and the report as staff see it."""
import marshmallow as ma

from feedback.models import STATUS_LABELS, Outcome, Rating
from feedback.schemas import within_calendar
from feedback.schemas.reports import PhotoSchema, PhotoUpload
from feedback.services.workflow import REJECTION_REASONS, RETURN_REASONS


class RejectSchema(ma.Schema):
    reason_code = ma.fields.String(required=True,
                                   validate=ma.validate.OneOf(list(REJECTION_REASONS)))
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=2000))


class DuplicateSchema(ma.Schema):
    duplicate_of = ma.fields.String(required=True, metadata={"description": "Tracking code"})
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=2000))


class RouteSchema(ma.Schema):
    department = ma.fields.String(required=True, metadata={"description": "Department code"})
    coordinators = ma.fields.List(ma.fields.String(), load_default=list)


class CategorySchema(ma.Schema):
    category = ma.fields.String(required=True, metadata={"description": "Category code"})


class RedactionSchema(ma.Schema):
    """A report's title and/or text with personal data taken out. Limits on the raw text
    only: the service checks the cleaned text against the report's own limits."""

    title = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000),
                             metadata={"description": "The new title; empty or null: none"})
    description = ma.fields.String(validate=ma.validate.Length(min=1, max=20000),
                                   metadata={"description": "The new text"})

    @ma.validates_schema
    def _something_to_change(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Send the new title, the new description, or both.",
                                     field_name="_schema")


class QuestionSchema(ma.Schema):
    question = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class InfoSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))


class ReturnSchema(ma.Schema):
    reason_code = ma.fields.String(required=True, validate=ma.validate.OneOf(list(RETURN_REASONS)))
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=2000))


class AnswerSchema(ma.Schema):
    outcome = ma.fields.Enum(Outcome, by_value=True, required=True)
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10000))


class AnswerWithPhotosSchema(AnswerSchema):
    """POST /reports/<code>/answer-with-photos as multipart/form-data; the proof photos
    in a repeated `photos` part."""

    photos = ma.fields.List(PhotoUpload(), load_default=list, metadata={
        "description": "1 to 5 photos (JPEG, PNG, WebP, HEIC), checked by their bytes; "
                       "at least one when the outcome is fixed"})


class ExtensionRequestSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    new_due_at = ma.fields.AwareDateTime(required=True, validate=within_calendar)


class DecisionSchema(ma.Schema):
    approve = ma.fields.Boolean(required=True)
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=2000))


class RatingSchema(ma.Schema):
    rating = ma.fields.Enum(Rating, by_value=True, required=True)
    comment = ma.fields.String(load_default=None, validate=ma.validate.Length(max=2000))


class ReopenSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class CitizenMoveSchema(ma.Schema):
    """What a citizen's move answers: where their report is now (the rest they read at
    GET /api/v1/reports/<code>)."""

    tracking_code = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.String()


class ExtensionSchema(ma.Schema):
    id = ma.fields.Integer()
    tracking_code = ma.fields.Function(lambda e: e.report.tracking_code)
    state = ma.fields.String()
    reason = ma.fields.String()
    due_at_before = ma.fields.AwareDateTime()
    requested_due_at = ma.fields.AwareDateTime()
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    decision_note = ma.fields.String(allow_none=True)


class ReporterSchema(ma.Schema):
    name = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)


class StaffEventSchema(ma.Schema):
    kind = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    actor_role = ma.fields.String(allow_none=True)
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String(allow_none=True)
    reason_code = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)


class HidePhotoSchema(ma.Schema):
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(max=300),
                              metadata={"description": "Why (a face, a number plate), for staff"})


def _fraction(description: str):
    return ma.fields.Float(required=True, allow_nan=False, metadata={"description": description},
                           validate=ma.validate.Range(min=0, max=1))


class BlurRegionSchema(ma.Schema):
    """A region of the picture as shown (upright), in fractions of its width and height
    from the top left; at least 0.01 a side, inside the picture."""

    left = _fraction("From the left edge, 0 to 1")
    top = _fraction("From the top edge, 0 to 1")
    width = _fraction("Of the picture's width, 0.01 to 1")
    height = _fraction("Of the picture's height, 0.01 to 1")


class StaffPhotoSchema(PhotoSchema):
    """A photo of the report as staff see it: its id (to hide, show or blur it) and
    whether a moderator hid it. A hidden photo is listed for moderators and admins only,
    without URLs."""

    id = ma.fields.Integer()
    hidden = ma.fields.Boolean(attribute="is_hidden")


class StaffReportSchema(ma.Schema):
    """A report as staff see it. The reporter's identity is filled in by the view
    only for those allowed to see it (never for a department when the citizen
    asked to stay anonymous)."""

    tracking_code = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda r: STATUS_LABELS[r.status])
    category = ma.fields.Function(lambda r: r.category.code)
    title = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    # Before a moderator edited personal data out: admins only, null for others.
    title_original = ma.fields.String(allow_none=True)
    description_original = ma.fields.String(allow_none=True)
    address_text = ma.fields.String(allow_none=True)
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)
    area_code = ma.fields.String(allow_none=True)
    is_anonymous = ma.fields.Boolean()
    department = ma.fields.Function(
        lambda r: r.lead_department.code if r.lead_department else None, allow_none=True)
    coordinators = ma.fields.Function(lambda r: [d.code for d in r.coordinators])
    manual_routing = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    answer_text = ma.fields.String(allow_none=True)
    answer_review = ma.fields.String(allow_none=True)
    rating = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.AwareDateTime()
    due_at = ma.fields.AwareDateTime(allow_none=True)
    resolve_due_at = ma.fields.AwareDateTime(allow_none=True)
    overdue = ma.fields.Function(lambda r: r.overdue_at is not None)
    version = ma.fields.Integer()
    reporter = ma.fields.Nested(ReporterSchema, allow_none=True)
    photos = ma.fields.List(ma.fields.Nested(StaffPhotoSchema), metadata={
        "description": "The citizen's photos this person may see, in order"})
    events = ma.fields.List(ma.fields.Nested(StaffEventSchema))


class StaffReportSummarySchema(StaffReportSchema):
    """A report in a list: no timeline, and no originals (lists dump the reports as they
    are, not through the per-person view that keeps originals for admins)."""

    class Meta:
        exclude = ("events", "photos", "title_original", "description_original")
