"""The public JSON API: how every public report was handled, and how each department
does. No sign-in, no personal data (see `feedback.services.public`)."""
import threading
import time
from collections import OrderedDict
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from feedback.api.errors import NotFound, ValidationFailed
from feedback.extensions import client_address, db, limiter
from feedback.models import Department
from feedback.schemas.public import (
    PublicCodeNameSchema,
    PublicPeriodSchema,
    PublicQuerySchema,
    PublicReportPageSchema,
    PublicReportSchema,
    PublicScorecardQuerySchema,
)
from feedback.services import public

blp = Blueprint("public", __name__, url_prefix="/api/v1/public",
                description="Public reports and department scorecards: no sign-in, no "
                            "personal data")

# Public answers may be cached briefly by browsers and proxies.
PUBLIC_MAX_AGE = 60


def _now() -> datetime:
    return datetime.now(timezone.utc)


def today(time_zone: str) -> date:
    return datetime.now(ZoneInfo(time_zone)).date()


def filters_from(query: dict, time_zone: str) -> public.Filters:
    """The query's filters, checked; raises public.FilterError."""
    return public.Filters(
        period=public.period(query.get("from_"), query.get("to"), today=today(time_zone)),
        category=query.get("category"), commune=query.get("commune"),
        department=query.get("department"), statuses=public.parse_statuses(query.get("status")),
    )


class ScorecardCache:
    """The scorecards of recent periods, for a few minutes: the figures take seconds over
    millions of reports, and anyone may ask for them. Per process; bounded."""

    def __init__(self, size: int = 64):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, seconds: float, compute):
        now = time.monotonic()
        with self.lock:
            entry = self.entries.get(key)
            if entry and now - entry[0] < seconds:
                self.entries.move_to_end(key)
                return entry[1]
        value = compute()
        if seconds > 0:
            with self.lock:
                self.entries[key] = (now, value)
                self.entries.move_to_end(key)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        return value


def scorecards_for(period: public.Period) -> dict:
    """The public scorecards of a period, from the cache when fresh enough."""
    app = current_app._get_current_object()
    cache = app.extensions.setdefault("public_scorecards", ScorecardCache())
    config = app.config
    return cache.get((period.first, period.last), config["PUBLIC_SCORECARD_CACHE_SECONDS"],
                     lambda: public.scorecards(db.session, period, now=_now(),
                                               time_zone=config["TIME_ZONE"]))


def scorecard_limit() -> str:
    return current_app.config["PUBLIC_SCORECARD_RATE_LIMIT"]


def _refused(error: public.FilterError):
    return ValidationFailed(details={error.field: [error.message]})


class PublicFiguresSchema(ma.Schema):
    received = ma.fields.Integer(metadata={"description": "Sent in the period, not rejected "
                                                          "or merged"})
    resolved = ma.fields.Integer(metadata={"description": "Answered in the period"})
    on_time = ma.fields.Integer()
    late = ma.fields.Integer()
    open_overdue = ma.fields.Integer(metadata={"description": "Still open past a deadline "
                                                              "that fell in the period"})
    on_time_rate = ma.fields.Float(allow_none=True, metadata={
        "description": "on_time / (resolved + open_overdue)"})
    rated = ma.fields.Integer()
    satisfied_rate = ma.fields.Float(allow_none=True, metadata={
        "description": "Share of the ratings given in the period that are 'satisfied'"})
    satisfaction = ma.fields.Dict(keys=ma.fields.String(),
                                  values=ma.fields.Float(allow_none=True))
    median_resolution_hours = ma.fields.Float(allow_none=True, metadata={
        "description": "Working hours from assignment to answer"})


class PublicScorecardSchema(PublicFiguresSchema):
    code = ma.fields.String()
    name = ma.fields.String()


class PublicScorecardPageSchema(ma.Schema):
    period = ma.fields.Nested(PublicPeriodSchema)
    departments = ma.fields.List(ma.fields.Nested(PublicScorecardSchema))
    total = ma.fields.Nested(PublicFiguresSchema)


@blp.route("/reports")
class PublicReports(MethodView):
    @blp.arguments(PublicQuerySchema, location="query")
    @blp.response(200, PublicReportPageSchema)
    def get(self, query):
        """Public reports, newest first, a page at a time (`has_next` says if more follow).

        Filters: category, commune, department (codes), status (repeated or
        comma-separated), and the period `from`–`to` (days, by when the report was sent;
        the last 90 days by default, 366 at most). Locations are rounded to about 100 m;
        no name, phone number, e-mail, account or device ever appears.
        """
        time_zone = current_app.config["TIME_ZONE"]
        try:
            filters = filters_from(query, time_zone)
            page = public.list_reports(db.session, filters, page=query["page"],
                                       per_page=query["per_page"], time_zone=time_zone)
        except public.FilterError as error:
            raise _refused(error) from None
        body = {"items": page.items, "page": page.page, "per_page": page.per_page,
                "has_next": page.has_next, "period": filters.period}
        return body, 200, {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}"}


@blp.route("/reports/<tracking_code>")
class PublicReport(MethodView):
    @blp.response(200, PublicReportSchema)
    @blp.alt_response(404, description="No public report with this code")
    def get(self, tracking_code):
        """One public report: its photos, the department's answer with its photos, the
        coordinating departments and the public timeline."""
        detail = public.report_detail(db.session, tracking_code)
        if detail is None:
            raise NotFound(f"No public report {tracking_code}.")
        return detail, 200, {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}"}


@blp.route("/departments")
class PublicDepartments(MethodView):
    @blp.response(200, PublicCodeNameSchema(many=True))
    def get(self):
        """The active departments, by name: the values of the `department` filter."""
        return [{"code": code, "name": name} for code, name in db.session.execute(
            select(Department.code, Department.name).where(Department.active.is_(True))
            .order_by(Department.name))]


@blp.route("/scorecards")
class Scorecards(MethodView):
    @limiter.shared_limit(scorecard_limit, scope="public-scorecards", key_func=client_address)
    @blp.arguments(PublicScorecardQuerySchema, location="query")
    @blp.response(200, PublicScorecardPageSchema)
    def get(self, query):
        """Per department, the figures supervisors see for the period (the last 30 days by
        default, 366 at most): received, resolved, on time, late, open and overdue, the
        on-time rate and satisfaction. Computed at most every few minutes per period."""
        time_zone = current_app.config["TIME_ZONE"]
        try:
            period = public.period(query.get("from_"), query.get("to"),
                                   today=today(time_zone),
                                   default_days=public.DEFAULT_SCORECARD_DAYS)
        except public.FilterError as error:
            raise _refused(error) from None
        body = scorecards_for(period)
        return body, 200, {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}"}



def register(api, app) -> None:
    """This API, the admins' API keys, and Open311 (a plain blueprint: its own URLs
    and error shape)."""
    from feedback.api import api_clients, open311

    api.register_blueprint(blp)
    api.register_blueprint(api_clients.blp)
    app.register_blueprint(open311.bp)
