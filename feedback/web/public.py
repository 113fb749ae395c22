"""The public pages (/cong-khai/): every public report and how it was handled, and each
department's scorecard. No sign-in, no personal data: the same reads as the public
JSON API (`feedback.services.public`); Jinja escapes everything shown."""
from datetime import datetime

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from feedback.api.public import filters_from, scorecard_limit, scorecards_for, today
from feedback.extensions import client_address, db, limiter
from feedback.models import STATUS_LABELS, Category, Department
from feedback.services import areas, public

bp = Blueprint("public_web", __name__, url_prefix="/cong-khai")

PER_PAGE = 20
CACHE = "public, max-age=60"
# The services explain refusals in English for the API; people here read Vietnamese.
REFUSALS = {
    "from": f"Khoảng thời gian không hợp lệ (tối đa {public.MAX_PERIOD_DAYS} ngày).",
    "to": "Ngày kết thúc phải sau ngày bắt đầu.",
    "status": "Trạng thái không hợp lệ.",
    "page": "Trang quá xa: hãy thu hẹp bộ lọc hoặc khoảng thời gian.",
}


def _query() -> dict:
    """The list's filters from the address bar, as the JSON API's schema reads them."""
    args = request.args
    query = {"category": args.get("category") or None, "commune": args.get("commune") or None,
             "department": args.get("department") or None,
             "status": [value for value in args.getlist("status") if value]}
    for name, key in (("from", "from_"), ("to", "to")):
        value = args.get(name) or None
        if value:
            try:
                query[key] = datetime.strptime(value, "%Y-%m-%d").date()
            except ValueError:
                raise public.FilterError(name, "Not a date (YYYY-MM-DD).") from None
    return query


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _choices() -> dict:
    session = db.session
    return {
        "categories": session.execute(
            select(Category.code, Category.name_vi).where(Category.active.is_(True))
            .order_by(Category.sort_order, Category.code)).all(),
        "departments": session.execute(
            select(Department.code, Department.name).where(Department.active.is_(True))
            .order_by(Department.name)).all(),
        "communes": areas.deployment_communes(session),
        "statuses": [(str(s), STATUS_LABELS[s]) for s in public.PUBLIC_STATUSES],
    }


def _html(body: str, status: int = 200):
    return body, status, {"Cache-Control": CACHE}


@bp.get("/")
def reports():
    time_zone = current_app.config["TIME_ZONE"]
    error, page, filters = None, None, None
    try:
        filters = filters_from(_query(), time_zone)
        page = public.list_reports(db.session, filters, page=_page_number(), per_page=PER_PAGE,
                                   time_zone=time_zone)
    except public.FilterError as refusal:
        error = REFUSALS.get(refusal.field, "Bộ lọc không hợp lệ.")
    args = {key: value for key, value in request.args.items(multi=True) if key != "page"}
    return _html(render_template("web/public/reports.html", page=page, filters=filters,
                                 error=error, args=args, **_choices()),
                 400 if error else 200)


@bp.get("/phan-anh/<tracking_code>")
def report(tracking_code):
    detail = public.report_detail(db.session, tracking_code)
    if detail is None:
        abort(404)
    return _html(render_template("web/public/report.html", report=detail))


@bp.get("/don-vi")
@limiter.shared_limit(scorecard_limit, scope="public-scorecards", key_func=client_address)
def scorecards():
    time_zone = current_app.config["TIME_ZONE"]
    error, board = None, None
    try:
        query = _query()
        period = public.period(query.get("from_"), query.get("to"), today=today(time_zone),
                               default_days=public.DEFAULT_SCORECARD_DAYS)
        board = scorecards_for(period)
    except public.FilterError as refusal:
        error = REFUSALS.get(refusal.field, "Bộ lọc không hợp lệ.")
    return _html(render_template("web/public/scorecards.html", board=board, error=error),
                 400 if error else 200)


@bp.errorhandler(404)
def not_found(error):
    return render_template("web/public/not_found.html"), 404


@bp.errorhandler(429)
def too_many(error):
    return render_template("web/public/too_many.html"), 429, {"Retry-After": "60"}
