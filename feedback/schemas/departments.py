"""Departments and their queues, as staff see them."""
import marshmallow as ma

from feedback.models import STATUS_LABELS


class DepartmentSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    parent_code = ma.fields.Function(lambda d: d.parent.code if d.parent else None, allow_none=True)
    area_code = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()


class QueueQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class QueueItemSchema(ma.Schema):
    """A report in a department's queue. No citizen identity here at all: the
    department sees who sent a report only on the report's own page, and never
    when the citizen asked to stay anonymous."""

    tracking_code = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.Function(lambda r: STATUS_LABELS[r.status])
    category_code = ma.fields.Function(lambda r: r.category.code)
    title = ma.fields.String(allow_none=True)
    area_code = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.AwareDateTime()
    due_at = ma.fields.AwareDateTime(allow_none=True)
    overdue = ma.fields.Function(lambda r: r.overdue_at is not None)
    coordinating = ma.fields.Boolean(metadata={
        "description": "The department coordinates (phối hợp): another one leads the report "
                       "and makes every move on it"})
