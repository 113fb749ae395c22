"""The figures supervisors read, and the calendar overrides administrators keep."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app

from feedback.models import OverrideKind
from feedback.schemas import within_calendar
from feedback.services.stats import GROUPINGS, Period


class DateOrInstant(ma.fields.Field):
    """A local date (2026-10-01, midnight in the configured time zone) or an instant with
    its offset (2026-10-01T07:30:00+07:00)."""

    default_error_messages = {
        "invalid": "Give a date such as 2026-10-01, or a date and time with its offset "
                   "such as 2026-10-01T07:30:00+07:00.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time(), _zone())
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None:
            raise self.make_error("invalid")
        return moment


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIME_ZONE", "Asia/Ho_Chi_Minh"))


def _this_month() -> tuple[datetime, datetime]:
    today = datetime.now(_zone()).date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(), _zone()), datetime.combine(following, time(), _zone())


class StatsQuerySchema(ma.Schema):
    group_by = ma.fields.String(load_default="department", validate=ma.validate.OneOf(GROUPINGS),
                                metadata={"description": "department, category or area "
                                                         "(the commune)"})
    start = DateOrInstant(load_default=None, validate=within_calendar, metadata={
        "description": "First day (or instant) of the period; default: the first of this "
                       "month", "example": "2026-10-01"})
    end = DateOrInstant(load_default=None, validate=within_calendar, metadata={
        "description": "The day (or instant) after the period, excluded; default: the "
                       "first of next month", "example": "2026-11-01"})

    @ma.post_load
    def period(self, data, **kwargs):
        default_start, default_end = _this_month()
        start = data["start"] or default_start
        end = data["end"] or default_end
        if start >= end:
            raise ma.ValidationError("The period must end after it starts.", "end")
        longest = current_app.config.get("STATS_MAX_PERIOD_DAYS", 366)
        if end - start > timedelta(days=longest):
            raise ma.ValidationError(f"At most {longest} days at a time.", "end")
        return {"group_by": data["group_by"], "period": Period(start, end)}


class SatisfactionSchema(ma.Schema):
    satisfied = ma.fields.Float(allow_none=True, metadata={"description": "Hài lòng"})
    acceptable = ma.fields.Float(allow_none=True, metadata={"description": "Chấp nhận được"})
    unsatisfied = ma.fields.Float(allow_none=True, metadata={"description": "Không hài lòng"})


class FiguresSchema(ma.Schema):
    received = ma.fields.Integer(metadata={"description": "Submitted in the period, not "
                                                          "rejected or merged"})
    resolved = ma.fields.Integer(metadata={"description": "Answered in the period"})
    on_time = ma.fields.Integer(metadata={"description": "Đúng hạn: answered by the "
                                                         "deadline, approved extension "
                                                         "included"})
    late = ma.fields.Integer(metadata={"description": "Trễ hạn: answered after it"})
    open_overdue = ma.fields.Integer(metadata={
        "description": "Quá hạn: not answered now, past a deadline that fell in the period"})
    on_time_rate = ma.fields.Float(allow_none=True, metadata={
        "description": "on_time / (resolved + open_overdue); null when both are 0"})
    median_first_response_hours = ma.fields.Float(allow_none=True, metadata={
        "description": "Of the reports received: working hours (clock hours if urgent) "
                       "from assignment to the department's first response"})
    median_resolution_hours = ma.fields.Float(allow_none=True, metadata={
        "description": "Of the reports resolved: working hours (clock hours if urgent) "
                       "from assignment to the answer"})
    rated = ma.fields.Integer(metadata={"description": "Of the resolved, rated by the citizen"})
    satisfaction = ma.fields.Nested(SatisfactionSchema, metadata={
        "description": "Shares of those ratings; null when none"})
    reopened = ma.fields.Integer(metadata={"description": "Of the resolved, answered again "
                                                          "after the citizen reopened them"})
    reopen_rate = ma.fields.Float(allow_none=True)


class GroupFiguresSchema(FiguresSchema):
    key = ma.fields.String(allow_none=True, metadata={
        "description": "Department or category code, or commune code; null: none yet"})
    name = ma.fields.String()


class StatsSchema(ma.Schema):
    group_by = ma.fields.String()
    start = ma.fields.AwareDateTime()
    end = ma.fields.AwareDateTime()
    as_of = ma.fields.AwareDateTime(metadata={"description": "The `now` open work is "
                                                             "judged at"})
    groups = ma.fields.List(ma.fields.Nested(GroupFiguresSchema))
    total = ma.fields.Nested(FiguresSchema)


class OverrideQuerySchema(ma.Schema):
    year = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=2000, max=2100))


class OverrideInSchema(ma.Schema):
    day = ma.fields.Date(required=True, validate=within_calendar,
                         metadata={"example": "2026-09-04"})
    kind = ma.fields.Enum(OverrideKind, by_value=True, required=True, metadata={
        "description": "day_off (an extra day off) or working_day (e.g. a Saturday worked)"})
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=300))


class OverrideSchema(ma.Schema):
    day = ma.fields.Date()
    kind = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    created_by_id = ma.fields.Integer(allow_none=True)
