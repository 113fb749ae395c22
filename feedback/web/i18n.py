"""Vietnamese first, English available: a message catalogue keyed by the Vietnamese text.

Templates and views write the Vietnamese text people read (`_("Hàng chờ kiểm duyệt")`);
English comes from `feedback/web/messages_en.py`, and a text missing there shows in
Vietnamese. A test checks every text in the templates has its English. The language
is kept in the session; no build step (no .po/.mo files to compile).
"""
from flask import has_request_context, session

from feedback.models import STATUS_LABELS, Outcome, Rating, ReportStatus
from feedback.web.messages_en import MESSAGES_EN

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"

STATUS_EN = {
    ReportStatus.SUBMITTED: "Awaiting moderation",
    ReportStatus.REJECTED: "Rejected",
    ReportStatus.DUPLICATE: "Duplicate",
    ReportStatus.ASSIGNED: "Awaiting acknowledgement",
    ReportStatus.IN_PROGRESS: "In progress",
    ReportStatus.AWAITING_CITIZEN: "Awaiting the citizen",
    ReportStatus.RESOLVED: "Resolved",
    ReportStatus.CLOSED: "Closed",
}
OUTCOME_LABELS = {
    Outcome.FIXED: ("Đã khắc phục", "Fixed"),
    Outcome.PLANNED: ("Đưa vào kế hoạch", "Planned"),
    Outcome.NO_ACTION: ("Không thể xử lý", "No action possible"),
}
RATING_LABELS = {
    Rating.SATISFIED: ("Hài lòng", "Satisfied"),
    Rating.ACCEPTABLE: ("Chấp nhận được", "Acceptable"),
    Rating.UNSATISFIED: ("Không hài lòng", "Unsatisfied"),
}


def current_language() -> str:
    if has_request_context():
        language = session.get("lang")
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def gettext(text: str, **values) -> str:
    """The text in the reader's language; `%(name)s` placeholders filled from `values`."""
    if current_language() == "en":
        text = MESSAGES_EN.get(text, text)
    return text % values if values else text


_ = gettext


def status_label(status) -> str:
    status = ReportStatus(status)
    return STATUS_EN[status] if current_language() == "en" else STATUS_LABELS[status]


def outcome_label(outcome) -> str:
    if outcome is None:
        return ""
    vi, en = OUTCOME_LABELS[Outcome(outcome)]
    return en if current_language() == "en" else vi


def rating_label(rating) -> str:
    if rating is None:
        return ""
    vi, en = RATING_LABELS[Rating(rating)]
    return en if current_language() == "en" else vi


def category_name(category) -> str:
    if category is None:
        return ""
    return category.name_en if current_language() == "en" else category.name_vi


def init_app(app) -> None:
    app.jinja_env.globals.update(
        _=gettext, status_label=status_label, outcome_label=outcome_label,
        rating_label=rating_label, category_name=category_name, LANGUAGES=LANGUAGES,
        current_language=current_language,
    )


__all__ = ["LANGUAGES", "category_name", "current_language", "gettext", "init_app",
           "outcome_label", "rating_label", "status_label"]
