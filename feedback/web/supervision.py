"""Supervisors' pages: overdue and due-soon queues across departments, extension requests
to decide, answers to review, and the dashboard per period with its CSV and Excel export.

Every figure comes from `feedback.services.stats.figures`, the one definition of on time,
late, overdue and the rates, so the dashboard, the export and the API agree to the unit.
"""
import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from feedback.extensions import db
from feedback.redis import RedisNotConfigured, redis_connection
from feedback.models import Category, Department, Rating, Role
from feedback.schemas.workflow import DecisionSchema
from feedback.services import queues, stats, workflow
from feedback.web import charts
from feedback.web.auth import current_staff, safe_next, staff_required
from feedback.web.common import (
    StaleForm,
    check_version,
    flash_errors,
    locked_report,
    now,
    parse,
    report_page,
)
from feedback.web.i18n import category_name, current_language, gettext as _

bp = Blueprint("supervision", __name__)

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
MAX_RANGE_DAYS = 366
TARGET_ON_TIME = 0.99  # DESIGN.md: on-time rates of 99% are the public target
GROUP_TITLES = {"department": "Đơn vị", "category": "Lĩnh vực", "area": "Xã, phường"}
# The row of reports without one: not yet routed, or sent without a commune.
UNKNOWN_GROUP = {"department": "Chưa giao đơn vị", "category": "Không rõ lĩnh vực",
                 "area": "Không rõ xã, phường"}


# Who holds a report no department holds yet: the operations centre, waiting for this.
WAITING_LABELS = {"moderation": "chờ kiểm duyệt", "no_rule": "chờ định tuyến thủ công",
                  "returned": "đơn vị trả lại, chờ định tuyến"}


# Queues ---------------------------------------------------------------------------------

@bp.get("/overdue")
@staff_required(*SUPERVISORS)
def overdue():
    moment = now()
    department_id = request.args.get("department", type=int)
    items, total = queues.overdue_queue(db.session, now=moment, department_id=department_id)
    departments = db.session.execute(
        select(Department).where(Department.active.is_(True)).order_by(Department.name)
    ).scalars().all()
    return render_template("web/supervision_queue.html", items=items, total=total, now=moment,
                           kind="overdue", departments=departments,
                           department_id=department_id, **_holders(items, moment))


@bp.get("/due-soon")
@staff_required(*SUPERVISORS)
def due_soon():
    moment = now()
    items, total = queues.due_soon_queue(db.session, now=moment)
    return render_template("web/supervision_queue.html", items=items, total=total, now=moment,
                           kind="due_soon", departments=None, department_id=None,
                           **_holders(items, moment))


def _holders(items, moment) -> dict:
    """What the queue's rows need beside the reports: each one's deadline state, and who
    holds those no department holds yet."""
    return {"states": {item.id: queues.deadline_state(item, moment) for item in items},
            "operations": queues.operations_department(db.session),
            "waiting_labels": WAITING_LABELS}


@bp.get("/extensions")
@staff_required(*SUPERVISORS)
def extensions():
    return render_template("web/extensions.html",
                           extensions=queues.pending_extensions(db.session), now=now())


@bp.post("/extensions/<int:extension_id>/decision")
@staff_required(*SUPERVISORS)
def decide_extension(extension_id):
    """Approve or refuse a request, from a form made from the report's current version:
    the report is locked first, then the request read again, so a decision someone made
    meanwhile (or any other move on the report) is said, not overwritten."""
    back = redirect(safe_next(request.form.get("next")) or url_for(".extensions"))
    try:
        extension = workflow.load_extension_for_decision(db.session, extension_id)
        if extension is None:
            db.session.rollback()
            return back
        code = extension.report.tracking_code
        check_version(extension.report)
        body = parse(DecisionSchema(), {"approve": request.form.get("approve"),
                                        "note": request.form.get("note")})
        workflow.decide_extension(db.session, extension, actor=current_staff(), now=now(),
                                  approve_extension=body["approve"], note=body["note"])
        db.session.commit()
    except (StaleForm, StaleDataError, ma.ValidationError, workflow.WorkflowError) as error:
        db.session.rollback()
        flash_errors(StaleForm() if isinstance(error, StaleDataError) else error)
    else:
        flash(_("Đã đồng ý gia hạn %(code)s.", code=code) if body["approve"]
              else _("Đã không đồng ý gia hạn %(code)s.", code=code), "success")
    return back


@bp.post("/reports/<tracking_code>/review")
@staff_required(*SUPERVISORS)
def review(tracking_code):
    try:
        report = locked_report(tracking_code)
        body = parse(DecisionSchema(), {"approve": request.form.get("approve"),
                                        "note": request.form.get("note")})
        workflow.review_answer(db.session, report, actor=current_staff(), now=now(),
                               approve_answer=body["approve"], note=body["note"])
        db.session.commit()
    except (StaleForm, StaleDataError, ma.ValidationError, workflow.WorkflowError) as error:
        db.session.rollback()
        flash_errors(StaleForm() if isinstance(error, StaleDataError) else error)
    else:
        flash(_("Đã duyệt kết quả.") if body["approve"] else _("Đã trả lại kết quả."), "success")
    return report_page(tracking_code)


# Dashboard ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """The period and grouping a dashboard request asks for."""

    kind: str  # week, month, range
    first: date
    last: date  # inclusive
    group_by: str

    @property
    def period(self) -> stats.Period:
        return stats.Period.of_days(self.first, self.last + timedelta(days=1), _zone())

    def query(self, **changes) -> dict:
        values = {"period": self.kind, "by": self.group_by}
        if self.kind == "range":
            values.update({"from": self.first.isoformat(), "to": self.last.isoformat()})
        values.update(changes)
        return values


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIME_ZONE"])


def choice_from(args, today: date) -> Choice:
    kind = args.get("period", "month")
    group_by = args.get("by", "department")
    if group_by not in stats.GROUPINGS:
        group_by = "department"
    if kind == "week":
        first = today - timedelta(days=today.weekday())
        return Choice("week", first, first + timedelta(days=6), group_by)
    if kind == "range":
        try:
            first = date.fromisoformat(args.get("from", ""))
            last = date.fromisoformat(args.get("to", ""))
        except ValueError:
            first = last = None
        if first and last and first <= last:
            last = min(last, first + timedelta(days=MAX_RANGE_DAYS - 1))
            return Choice("range", first, last, group_by)
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Choice("month", first, following - timedelta(days=1), group_by)


def buckets(choice: Choice) -> list[tuple[str, date, date]]:
    """The chart's periods: days for up to two weeks, weeks up to a quarter, else months.
    Each is (label, first day, day after the last), clipped to the chosen period."""
    days = (choice.last - choice.first).days + 1
    end = choice.last + timedelta(days=1)
    result = []
    if days <= 14:
        for offset in range(days):
            day = choice.first + timedelta(days=offset)
            result.append((day.strftime("%d/%m"), day, day + timedelta(days=1)))
    elif days <= 92:
        start = choice.first
        while start < end:
            stop = min(start + timedelta(days=7 - start.weekday()), end)
            result.append((start.strftime("%d/%m"), start, stop))
            start = stop
    else:
        start = choice.first
        while start < end:
            stop = min((start.replace(day=1) + timedelta(days=32)).replace(day=1), end)
            result.append((start.strftime("%m/%Y"), start, stop))
            start = stop
    return result


class Figures:
    """One group's figures as `stats.Figures.as_dict()` gave them, read as attributes."""

    def __init__(self, values: dict):
        self.values = values
        self.__dict__.update(values)


def compute_figures(session, choice: Choice, moment: datetime) -> dict:
    """The dashboard's numbers: the table and the departments for the ranking from
    `stats.figures`, the charts from `stats.series`. Plain data, so it can be kept a
    while."""
    groups, total = stats.figures(session, group_by=choice.group_by, period=choice.period,
                                  now=moment)
    if choice.group_by == "department":
        departments = groups
    else:
        # The ranking reads on-time rates only.
        departments, _total = stats.figures(session, group_by="department",
                                            period=choice.period, now=moment,
                                            durations=False)
    zone = _zone()
    chart = buckets(choice)
    points = stats.series(session, [stats.Period.of_days(first, stop, zone)
                                    for _label, first, stop in chart], now=moment)
    series = [[label, point.received, point.resolved, point.on_time_rate]
              for (label, _first, _stop), point in zip(chart, points, strict=True)]
    return {
        "as_of": moment.isoformat(),
        "groups": [[key, figures_.as_dict()] for key, figures_ in groups.items()],
        "total": total.as_dict(),
        "departments": [[key, figures_.as_dict()] for key, figures_ in departments.items()],
        "series": series,
    }


def _cache_key(choice: Choice) -> str:
    return (f"phananh:dashboard:{choice.kind}:{choice.first.isoformat()}:"
            f"{choice.last.isoformat()}:{choice.group_by}")


def cached_figures(session, choice: Choice, moment: datetime, *, fresh: bool = False) -> dict:
    """The figures computed at most DASHBOARD_CACHE_SECONDS ago (kept in Redis), or now.

    The page says when they were computed, and "refresh" computes them again. Without
    Redis, or with the setting at 0, every view computes them."""
    ttl = current_app.config.get("DASHBOARD_CACHE_SECONDS", 0)
    connection = None
    if ttl > 0:
        try:
            connection = redis_connection(current_app._get_current_object())
            if not fresh:
                kept = connection.get(_cache_key(choice))
                if kept:
                    return json.loads(kept)
        except (RedisNotConfigured, RedisError):
            connection = None
    data = compute_figures(session, choice, moment)
    if connection is not None:
        try:
            connection.set(_cache_key(choice), json.dumps(data), ex=ttl)
        except RedisError:
            pass
    return data


def dashboard_data(session, choice: Choice, moment: datetime, *, fresh: bool = False) -> dict:
    """Everything the dashboard shows: the figures, with names in the reader's language."""
    data = cached_figures(session, choice, moment, fresh=fresh)
    labels = _labels(session, choice.group_by, [key for key, _v in data["groups"]])
    rows = sorted(
        ({"key": key, "code": labels.get(key, ("", ""))[0],
          "name": labels.get(key, ("", _(UNKNOWN_GROUP[choice.group_by])))[1],
          "figures": Figures(values)}
         for key, values in data["groups"]),
        key=lambda row: (row["key"] is None, -row["figures"].received, row["name"]))
    department_labels = _labels(session, "department", [key for key, _v in data["departments"]])
    ranking = sorted(
        ({"name": department_labels.get(key, ("", ""))[1], "figures": Figures(values)}
         for key, values in data["departments"]
         if key is not None and values["on_time_rate"] is not None),
        key=lambda row: (-row["figures"].on_time_rate, -row["figures"].resolved, row["name"]))
    series = data["series"]
    return {
        "rows": rows, "total": Figures(data["total"]), "ranking": ranking,
        "as_of": datetime.fromisoformat(data["as_of"]),
        "bars": charts.bar_chart([s[0] for s in series], [s[1] for s in series],
                                 [s[2] for s in series]),
        "line": charts.line_chart([s[0] for s in series], [s[3] for s in series],
                                  target=TARGET_ON_TIME),
    }


def _labels(session, group_by: str, keys) -> dict:
    labels = stats.group_labels(session, group_by, keys)
    if group_by == "category" and current_language() == "en":
        for category in session.execute(select(Category).where(Category.id.in_(
                [key for key in labels]))).scalars():
            labels[category.id] = (category.code, category_name(category))
    return labels


@bp.get("/dashboard")
@staff_required(*SUPERVISORS)
def dashboard():
    moment = now()
    choice = choice_from(request.args, moment.astimezone(_zone()).date())
    data = dashboard_data(db.session, choice, moment, fresh=bool(request.args.get("fresh")))
    db.session.rollback()
    return render_template("web/dashboard.html", choice=choice, now=moment,
                           group_title=GROUP_TITLES[choice.group_by],
                           rate_class=charts.rate_class, ratings=list(Rating), **data)


COLUMNS = [
    ("received", "Tiếp nhận"), ("resolved", "Đã xử lý"), ("on_time", "Đúng hạn"),
    ("late", "Trễ hạn"), ("open_overdue", "Đang quá hạn"), ("on_time_rate", "Tỷ lệ đúng hạn"),
    ("median_first_response_hours", "Trung vị phản hồi đầu (giờ làm việc)"),
    ("median_resolution_hours", "Trung vị giải quyết (giờ làm việc)"),
    ("satisfied", "Hài lòng"), ("acceptable", "Chấp nhận được"),
    ("unsatisfied", "Không hài lòng"), ("reopen_rate", "Tỷ lệ mở lại"),
]
RATE_COLUMNS = {"on_time_rate", "satisfied", "acceptable", "unsatisfied", "reopen_rate"}


def export_rows(data: dict, choice: Choice) -> tuple[list[str], list[list]]:
    """The dashboard's table as plain values: rates as fractions (0-1), hours rounded."""
    header = [_("Mã"), _(GROUP_TITLES[choice.group_by])] + [_(title) for _k, title in COLUMNS]
    rows = []
    for row in [*data["rows"], {"code": "", "name": _("Tổng cộng"), "figures": data["total"]}]:
        values = dict(row["figures"].values)
        values.update(values.pop("satisfaction"))
        line = [row["code"] or "", row["name"]]
        for key, _title in COLUMNS:
            value = values[key]
            if value is not None and key.startswith("median"):
                value = round(value, 1)
            elif value is not None and key in RATE_COLUMNS:
                value = round(value, 4)
            line.append(value)
        rows.append(line)
    return header, rows


def _export_name(choice: Choice, extension: str) -> str:
    return f"phan-anh-{choice.group_by}-{choice.first.isoformat()}-{choice.last.isoformat()}.{extension}"


@bp.get("/dashboard.csv")
@staff_required(*SUPERVISORS)
def dashboard_csv():
    moment = now()
    choice = choice_from(request.args, moment.astimezone(_zone()).date())
    header, rows = export_rows(dashboard_data(db.session, choice, moment,
                                              fresh=bool(request.args.get("fresh"))), choice)
    db.session.rollback()
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so Excel opens Vietnamese text as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_export_name(choice, "csv")}"'})


@bp.get("/dashboard.xlsx")
@staff_required(*SUPERVISORS)
def dashboard_xlsx():
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    moment = now()
    choice = choice_from(request.args, moment.astimezone(_zone()).date())
    header, rows = export_rows(dashboard_data(db.session, choice, moment,
                                              fresh=bool(request.args.get("fresh"))), choice)
    db.session.rollback()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = choice.first.strftime("%Y-%m-%d")
    sheet.append([_("Kỳ"), f"{choice.first.isoformat()} – {choice.last.isoformat()}"])
    sheet.append([])
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    rate_columns = {index + 3 for index, (key, _t) in enumerate(COLUMNS) if key in RATE_COLUMNS}
    for column in rate_columns:
        for (cell,) in sheet.iter_rows(min_row=4, min_col=column, max_col=column):
            cell.number_format = "0.0%"
    sheet.column_dimensions["B"].width = 48
    for column in range(3, len(header) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14
    sheet.freeze_panes = "C4"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Response(buffer.getvalue(), headers={
        "Content-Disposition": f'attachment; filename="{_export_name(choice, "xlsx")}"'},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

