"""Reports as citizens send them, and as each audience reads them.

The citizen who sent a report reads it in full (CitizenReportSchema); anything that
others may read (nearby reports, the catalogue) has its own schema with no personal data.
"""
import marshmallow as ma
from flask_smorest.fields import Upload
from werkzeug.datastructures import FileStorage

from feedback.models import STATUS_LABELS, AreaLevel, PhotoState, ReportStatus, ReviewState

PHOTO_URL_PREFIX = "/api/v1/photos"


def photo_url(photo, key: str | None) -> str | None:
    """Where the app fetches a public copy: only once it exists and is not hidden."""
    if key is None or photo.state != PhotoState.READY or photo.is_hidden:
        return None
    return f"{PHOTO_URL_PREFIX}/{photo.id}/{key}"


# -- in ----------------------------------------------------------------------------------

class PhotoUpload(Upload):
    """A file part of the multipart body; a text part with this name is refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Send photos as files in the multipart body.")
        return value


class ReportInputSchema(ma.Schema):
    """POST /api/v1/reports as multipart/form-data; photos in a repeated `photos` part.

    Lengths are checked again after the text is put in Unicode NFC."""

    category = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40),
                                metadata={"description": "A category code from /categories",
                                          "example": "giao-thong"})
    title = ma.fields.String(load_default=None, allow_none=True,
                             validate=ma.validate.Length(max=1000),
                             metadata={"description": "Optional; at most 200 characters"})
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20000),
                                   metadata={"description": "At most 4,000 characters"})
    latitude = ma.fields.Float(load_default=None, allow_none=True,
                               metadata={"description": "WGS 84; without it, the first "
                                         "photo's GPS position is used if it has one",
                                         "example": 10.0299})
    longitude = ma.fields.Float(load_default=None, allow_none=True,
                                metadata={"example": 105.7706})
    address = ma.fields.String(load_default=None, allow_none=True,
                               validate=ma.validate.Length(max=2000),
                               metadata={"description": "Address as the citizen writes it"})
    commune_code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=8),
                                    metadata={"description": "A commune, ward or special zone "
                                              "code from /areas", "example": "31135"})
    anonymous = ma.fields.Boolean(load_default=False, metadata={
        "description": "Departments do not see who sent it"})
    public = ma.fields.Boolean(load_default=True, metadata={
        "description": "It may be shown on the public pages, without personal data"})
    photos = ma.fields.List(PhotoUpload(), load_default=list, metadata={
        "description": "0 to 5 photos (JPEG, PNG, WebP, HEIC); the category says whether "
                       "one is required"})

    @ma.pre_load
    def blank_optional_fields_are_absent(self, data, **kwargs):
        # Form encoders send an empty string for a field left blank.
        optional = ("title", "latitude", "longitude", "address")
        return {key: value for key, value in data.items()
                if not (key in optional and value == "")}


class PageQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class NearbyQuerySchema(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    latitude = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))
    longitude = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))


class AreaQuerySchema(PageQuerySchema):
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100), metadata={
        "description": "Part of the name, with or without accents ('vi thanh'), or a code"})
    province = ma.fields.String(load_default=None, validate=ma.validate.Length(max=8),
                                metadata={"description": "A province code, e.g. 92"})
    level = ma.fields.String(load_default=None,
                             validate=ma.validate.OneOf([level.value for level in AreaLevel]))


# -- out ---------------------------------------------------------------------------------

class CategoryBriefSchema(ma.Schema):
    code = ma.fields.String()
    name_vi = ma.fields.String()
    name_en = ma.fields.String()
    icon = ma.fields.String()


class PublicCategorySchema(CategoryBriefSchema):
    description = ma.fields.String(allow_none=True)
    urgency = ma.fields.String()
    photo_required = ma.fields.Boolean()


class AreaBriefSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class AreaSchema(AreaBriefSchema):
    level = ma.fields.String()
    division_type = ma.fields.String()
    province_code = ma.fields.String(allow_none=True)
    province_name = ma.fields.String(allow_none=True)


class PhotoSchema(ma.Schema):
    position = ma.fields.Integer()
    state = ma.fields.String(metadata={"description": "pending (being prepared), ready, failed"})
    display_url = ma.fields.Function(lambda p: photo_url(p, p.display_key), allow_none=True,
                                     metadata={"description": "1600 px, no metadata"})
    thumbnail_url = ma.fields.Function(lambda p: photo_url(p, p.thumbnail_key), allow_none=True,
                                       metadata={"description": "320 px, no metadata"})
    width = ma.fields.Integer(allow_none=True)
    height = ma.fields.Integer(allow_none=True)
    failure = ma.fields.Function(
        lambda p: p.failure.partition(":")[0] if p.state == PhotoState.FAILED and p.failure
        else None, allow_none=True, metadata={"description": "Why it could not be used"})


class TimelineEventSchema(ma.Schema):
    at = ma.fields.AwareDateTime(attribute="created_at")
    kind = ma.fields.String()
    status = ma.fields.Function(lambda e: str(e.to_status) if e.to_status else None,
                                allow_none=True)
    status_label = ma.fields.Function(
        lambda e: STATUS_LABELS[e.to_status] if e.to_status else None, allow_none=True)
    note = ma.fields.String(allow_none=True)


def _answer_visible(report) -> bool:
    return (report.status in (ReportStatus.RESOLVED, ReportStatus.CLOSED)
            and report.answer_review in (None, ReviewState.APPROVED))


def _department_name(report):
    return report.lead_department.name if report.lead_department_id else None


def _first_thumbnail(report):
    for photo in report.photos:
        url = photo_url(photo, photo.thumbnail_key)
        if url:
            return url
    return None


class CitizenReportSummarySchema(ma.Schema):
    """One of the citizen's own reports, in their list."""

    tracking_code = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda r: STATUS_LABELS[r.status])
    category = ma.fields.Nested(CategoryBriefSchema)
    title = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.AwareDateTime()
    due_at = ma.fields.AwareDateTime(allow_none=True)
    department = ma.fields.Function(_department_name, allow_none=True,
                                    metadata={"description": "The lead department, once assigned"})
    thumbnail_url = ma.fields.Function(_first_thumbnail, allow_none=True)


class CitizenReportSchema(CitizenReportSummarySchema):
    """The citizen's own report, in full: only ever answered to the citizen who sent it."""

    description = ma.fields.String()
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)
    location_from_photo = ma.fields.Boolean(metadata={
        "description": "The position came from the first photo's GPS"})
    address = ma.fields.String(attribute="address_text", allow_none=True)
    commune = ma.fields.Nested(AreaBriefSchema, attribute="area", allow_none=True)
    province_code = ma.fields.String(allow_none=True)
    anonymous = ma.fields.Boolean(attribute="is_anonymous")
    public = ma.fields.Boolean(attribute="is_public")
    rejection_reason = ma.fields.String(allow_none=True)
    duplicate_of = ma.fields.Function(
        lambda r: r.duplicate_of.tracking_code if r.duplicate_of_id else None, allow_none=True)
    outcome = ma.fields.Function(lambda r: str(r.outcome) if _answer_visible(r) and r.outcome
                                 else None, allow_none=True)
    answer = ma.fields.Function(lambda r: r.answer_text if _answer_visible(r) else None,
                                allow_none=True)
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    rating = ma.fields.String(allow_none=True)
    rating_due_at = ma.fields.AwareDateTime(allow_none=True)
    photos = ma.fields.List(ma.fields.Nested(PhotoSchema))
    timeline = ma.fields.Method("_public_events", metadata={
        "description": "The public events, oldest first"})

    _timeline = TimelineEventSchema(many=True)

    def _public_events(self, report):
        return self._timeline.dump([e for e in report.events if e.is_public])


class NearbyReportSchema(ma.Schema):
    """A report near where the citizen stands: no personal data at all."""

    tracking_code = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.String()
    category = ma.fields.String()
    title = ma.fields.String(allow_none=True, metadata={
        "description": "Shown once a moderator has seen the report"})
    distance_m = ma.fields.Integer(metadata={"description": "Metres from the given point"})
    submitted_at = ma.fields.AwareDateTime()


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    tracking_code = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    read_at = ma.fields.AwareDateTime(allow_none=True)


class _PageSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()


class CitizenReportPageSchema(_PageSchema):
    items = ma.fields.List(ma.fields.Nested(CitizenReportSummarySchema))


class NotificationPageSchema(_PageSchema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    unread = ma.fields.Integer(metadata={"description": "Unread notifications in all"})


class AreaPageSchema(_PageSchema):
    items = ma.fields.List(ma.fields.Nested(AreaSchema))
