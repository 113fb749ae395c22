"""Deadlines over the API: the figures supervisors read, the calendar administrators keep."""
from datetime import date, datetime, timezone

from flask.views import MethodView
from flask_smorest import Blueprint

from feedback.api.errors import Conflict, NotFound, ValidationFailed
from feedback.api.security import BEARER_AUTH, authenticated_user, require_roles
from feedback.extensions import db
from feedback.models import Role
from feedback.schemas.deadlines import (
    OverrideInSchema,
    OverrideQuerySchema,
    OverrideSchema,
    StatsQuerySchema,
    StatsSchema,
)
from feedback.services import overrides, stats

stats_blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats",
                      description="On time, late, overdue and satisfaction figures")
overrides_blp = Blueprint("calendar_overrides", __name__,
                          url_prefix="/api/v1/admin/calendar-overrides",
                          description="Days off and working days the administrator declares")
BLUEPRINTS = (stats_blp, overrides_blp)

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
NO_GROUP = {"department": "Chưa giao đơn vị", "category": "Không rõ lĩnh vực",
            "area": "Không rõ địa bàn"}


@stats_blp.route("")
class Figures(MethodView):
    @stats_blp.doc(security=BEARER_AUTH, description="Roles: supervisor, admin.")
    @require_roles(*SUPERVISORS)
    @stats_blp.arguments(StatsQuerySchema, location="query")
    @stats_blp.response(200, StatsSchema)
    def get(self, query):
        """Figures per department, category or commune over a period [start, end).

        received: submitted in the period (not rejected or merged); resolved, on time,
        late: answered in the period, on time meaning by the resolution deadline with
        any approved extension; open_overdue: not answered now and past a deadline that
        fell in the period; on_time_rate = on_time / (resolved + open_overdue). Times
        are medians in working hours (clock hours for urgent categories) from the
        report's assignment. A date alone means midnight in Asia/Ho_Chi_Minh.
        """
        group_by, period = query["group_by"], query["period"]
        now = datetime.now(timezone.utc)
        groups, total = stats.figures(db.session, group_by=group_by, period=period, now=now)
        labels = stats.group_labels(db.session, group_by, groups)
        rows = []
        for key, figures in groups.items():
            code, name = labels.get(key, (None, NO_GROUP[group_by]))
            rows.append({"key": code, "name": name, **figures.as_dict()})
        rows.sort(key=lambda row: (row["key"] is None, row["key"] or ""))
        return {"group_by": group_by, "start": period.start, "end": period.end, "as_of": now,
                "groups": rows, "total": total.as_dict()}


@overrides_blp.route("")
class Overrides(MethodView):
    @overrides_blp.doc(security=BEARER_AUTH, description="Roles: admin.")
    @require_roles(Role.ADMIN)
    @overrides_blp.arguments(OverrideQuerySchema, location="query")
    @overrides_blp.response(200, OverrideSchema(many=True))
    def get(self, query):
        """The declared days off and working days, by date (of one year if asked)."""
        return overrides.list_overrides(db.session, year=query["year"])

    @overrides_blp.doc(security=BEARER_AUTH, description="Roles: admin.")
    @require_roles(Role.ADMIN)
    @overrides_blp.arguments(OverrideInSchema)
    @overrides_blp.response(201, OverrideSchema)
    @overrides_blp.alt_response(409, description="The date has an override already")
    def post(self, body):
        """Declare a date a day off (an extra holiday, a storm) or a working day (a
        Saturday worked in exchange).

        Clocks started from then on count with it; due times already set stay as they
        are. A date with an override already is 409; a declaration that would change
        nothing (a day off on a Sunday or a public holiday) is 422.
        """
        try:
            override = overrides.add_override(
                db.session, day=body["day"], kind=body["kind"], note=body["note"],
                actor=authenticated_user(), now=datetime.now(timezone.utc))
        except overrides.OverrideRefused as refused:
            db.session.rollback()
            error = Conflict if refused.conflict else ValidationFailed
            raise error(refused.message, details={refused.field: [refused.message]}) from None
        db.session.commit()
        return override


@overrides_blp.route("/<day>")
class Override(MethodView):
    @overrides_blp.doc(security=BEARER_AUTH, description="Roles: admin.")
    @require_roles(Role.ADMIN)
    @overrides_blp.response(204)
    def delete(self, day):
        """Remove the override of a date (YYYY-MM-DD); the national calendar applies again."""
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise NotFound(f"No override for {day}.") from None
        if not overrides.remove_override(db.session, parsed):
            raise NotFound(f"No override for {day}.")
        db.session.commit()
