"""What the web view's pages share: the clock, claims, reading a report for a move,
form parsing through the API's schemas, and the Jinja filters for times."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import abort, current_app, flash, redirect, request, url_for
from sqlalchemy import select

from feedback.extensions import db
from feedback.models import Report
from feedback.redis import RedisNotConfigured, redis_connection
from feedback.services import workflow
from feedback.services.moderation import Claims
from feedback.web.i18n import current_language, gettext as _


def now() -> datetime:
    return datetime.now(timezone.utc)


def claims() -> Claims:
    try:
        connection = redis_connection(current_app._get_current_object())
    except RedisNotConfigured:
        connection = None
    return Claims(connection, current_app.config["WEB_CLAIM_SECONDS"])


def report_id_or_404(tracking_code: str) -> int:
    report_id = db.session.execute(
        select(Report.id).where(Report.tracking_code == tracking_code)
    ).scalar_one_or_none()
    if report_id is None:
        abort(404)
    return report_id


def report_page(tracking_code: str):
    return redirect(url_for("staff.reports.show", tracking_code=tracking_code))


def locked_report(tracking_code: str) -> Report:
    """The report, locked for a move, after checking the form was made from its current
    version: a stale form (someone else moved it since) is refused, not applied."""
    report = workflow.load_for_move(db.session, report_id_or_404(tracking_code))
    check_version(report)
    return report


def check_version(report: Report) -> None:
    """Refuse a form made from another version of the report than the one now stored."""
    sent = request.form.get("version", "")
    if not sent.isdigit() or int(sent) != report.version:
        raise StaleForm()


STALE_FORM = "Người khác vừa thay đổi phản ánh này. Hãy xem lại trang đã tải lại rồi thao tác."


class StaleForm(Exception):
    """The form was made from an older version of the report."""


def parse(schema: ma.Schema, fields: dict) -> dict:
    """A form's fields through the API's own schema: the same rules on both paths."""
    cleaned = {name: (value.strip() if isinstance(value, str) else value)
               for name, value in fields.items()}
    cleaned = {name: value for name, value in cleaned.items() if value not in ("", None)}
    return schema.load(cleaned)


def flash_errors(error: Exception) -> None:
    """Tell the person why their action was refused, in their language: from the refusal's
    machine code (feedback/web/errors.py), never the services' English."""
    from feedback.web import errors

    if isinstance(error, StaleForm):
        flash(_(STALE_FORM), "error")
    elif isinstance(error, ma.ValidationError):
        flash(_("Thông tin chưa hợp lệ: %(problems)s",
                problems=errors.validation_message(error)), "error")
    elif isinstance(error, workflow.NotAllowed):
        flash(_("Bạn không có quyền thực hiện thao tác này.") + " "
              + errors.workflow_message(error), "error")
    elif isinstance(error, workflow.WorkflowError):
        flash(_("Không thực hiện được: %(reason)s", reason=errors.workflow_message(error)),
              "error")
    else:
        raise error


# Jinja filters ----------------------------------------------------------------------------

def local_time(moment: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(current_app.config["TIME_ZONE"])).strftime(fmt)


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("%(n)s phút", n=max(minutes, 1))
    hours = minutes // 60
    if hours < 48:
        return _("%(n)s giờ", n=hours)
    return _("%(n)s ngày", n=hours // 24)


def age(moment: datetime | None) -> str:
    """'3 giờ trước' / '3 hours ago'."""
    if moment is None:
        return ""
    return _("%(span)s trước", span=_span((now() - moment).total_seconds()))


def due_in(moment: datetime | None) -> str:
    """'còn 3 giờ' / '3 hours left', or 'quá 2 ngày' / '2 days overdue'."""
    if moment is None:
        return ""
    seconds = (moment - now()).total_seconds()
    if seconds >= 0:
        return _("còn %(span)s", span=_span(seconds))
    return _("quá %(span)s", span=_span(seconds))


def number(value, digits: int = 0) -> str:
    """Vietnamese numbers: 1.234,5; English: 1,234.5."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if current_language() == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def percent(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    return number(value * 100, digits) + "%"


def dict_without(values: dict, *keys) -> dict:
    return {key: value for key, value in values.items() if key not in keys}


def init_app(app) -> None:
    app.jinja_env.filters.update(local_time=local_time, age=age, due_in=due_in,
                                 number=number, percent=percent, dict_without=dict_without)
