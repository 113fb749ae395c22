"""The public view of reports: query arguments in, and what anyone may read out.

Output schemas name every field they show; what `feedback.services.public` did not
put in, they cannot show either. No personal data has a field here.
"""
import marshmallow as ma

from feedback.schemas import within_calendar
from feedback.services import public


class PublicQuerySchema(ma.Schema):
    category = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40),
                                metadata={"description": "A category code"})
    commune = ma.fields.String(load_default=None, validate=ma.validate.Length(max=8),
                               metadata={"description": "A commune, ward or special zone code"})
    department = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40),
                                  metadata={"description": "A department code"})
    status = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=200)),
                            load_default=list, metadata={
                                "description": "Status codes, repeated or comma-separated: "
                                + ", ".join(public.PUBLIC_STATUSES)})
    from_ = ma.fields.Date(data_key="from", load_default=None, validate=within_calendar, metadata={
        "description": "First day (Asia/Ho_Chi_Minh), by the day the report was sent; "
                       "default: 89 days before `to`"})
    to = ma.fields.Date(load_default=None, validate=within_calendar, metadata={
        "description": f"Last day, included; default: today. At most "
                       f"{public.MAX_PERIOD_DAYS} days in all"})
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    per_page = ma.fields.Integer(load_default=20,
                                 validate=ma.validate.Range(min=1, max=public.MAX_PER_PAGE))

    @ma.pre_load
    def blank_is_absent(self, data, **kwargs):
        # A web form sends empty fields for filters left blank.
        return {key: value for key, value in data.items() if value not in ("", None, [])}


class PublicScorecardQuerySchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from", load_default=None, validate=within_calendar,
                           metadata={"description": "First day; default: 29 days before `to`"})
    to = ma.fields.Date(load_default=None, validate=within_calendar,
                        metadata={"description": "Last day; default: today"})


class PublicCodeNameSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class PublicPhotoSchema(ma.Schema):
    url = ma.fields.String(metadata={"description": "1600 px, upright, no metadata"})
    thumbnail_url = ma.fields.String(metadata={"description": "320 px"})
    width = ma.fields.Integer(allow_none=True)
    height = ma.fields.Integer(allow_none=True)


class PublicReportSummarySchema(ma.Schema):
    tracking_code = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.String(metadata={"description": "As the apps show it"})
    overdue = ma.fields.Boolean(metadata={"description": "Still open past its due time"})
    category = ma.fields.Nested(PublicCodeNameSchema)
    commune = ma.fields.Nested(PublicCodeNameSchema, allow_none=True)
    province = ma.fields.String(allow_none=True)
    department = ma.fields.Nested(PublicCodeNameSchema, allow_none=True,
                                  metadata={"description": "The lead department"})
    title = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    latitude = ma.fields.Float(allow_none=True, metadata={
        "description": f"Rounded to {public.LOCATION_DECIMALS} decimals (about 100 m)"})
    longitude = ma.fields.Float(allow_none=True)
    submitted_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    due_at = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "The resolution deadline (an approved extension included), or the "
                       "running step's deadline before it is known"})
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    outcome = ma.fields.String(allow_none=True, metadata={
        "description": "fixed, planned or no_action, once answered"})
    outcome_label = ma.fields.String(allow_none=True)
    duplicate_of = ma.fields.String(allow_none=True)
    thumbnail_url = ma.fields.String(allow_none=True)


class PublicAnswerSchema(ma.Schema):
    outcome = ma.fields.String(allow_none=True)
    outcome_label = ma.fields.String(allow_none=True)
    text = ma.fields.String(allow_none=True)
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    photos = ma.fields.List(ma.fields.Nested(PublicPhotoSchema))


class PublicTimelineEventSchema(ma.Schema):
    at = ma.fields.AwareDateTime()
    kind = ma.fields.String()
    label = ma.fields.String()
    status = ma.fields.String(allow_none=True)
    status_label = ma.fields.String(allow_none=True)
    department = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)


class PublicReportSchema(PublicReportSummarySchema):
    photos = ma.fields.List(ma.fields.Nested(PublicPhotoSchema))
    answer = ma.fields.Nested(PublicAnswerSchema, allow_none=True, metadata={
        "description": "The department's answer once the report is resolved"})
    coordinators = ma.fields.List(ma.fields.Nested(PublicCodeNameSchema))
    timeline = ma.fields.List(ma.fields.Nested(PublicTimelineEventSchema))


class PublicPeriodSchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from", attribute="first")
    to = ma.fields.Date(attribute="last")


class PublicReportPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PublicReportSummarySchema))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    has_next = ma.fields.Boolean()
    period = ma.fields.Nested(PublicPeriodSchema)
