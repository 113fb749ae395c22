"""Vietnamese first, English available: every text the web view shows has its English."""
import ast
import re
from pathlib import Path

from feedback.services import workflow
from feedback.web import admin, auth, common, errors, reports, supervision
from feedback.web.messages_en import MESSAGES_EN

WEB = Path(__file__).resolve().parents[2] / "feedback" / "web"
_CALL = re.compile(r'''\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')''')


def shown_texts() -> set[str]:
    texts = set()
    for path in [*WEB.glob("templates/**/*.html"), *WEB.glob("*.py")]:
        for match in _CALL.finditer(path.read_text()):
            texts.add(match.group(1) if match.group(1) is not None else match.group(2))
    for labels in (reports.EVENT_LABELS, reports.MANUAL_ROUTING_LABELS,
                   workflow.REJECTION_REASONS, workflow.RETURN_REASONS, admin.KIND_LABELS,
                   admin.URGENCY_LABELS, auth.ROLE_NAMES, supervision.GROUP_TITLES,
                   supervision.UNKNOWN_GROUP, dict(supervision.COLUMNS),
                   supervision.WAITING_LABELS, errors.MOVE_LABELS, errors.FIELD_LABELS,
                   errors.WORKFLOW_REASONS, errors.ADMINISTRATION_REASONS,
                   errors.PHOTO_PROBLEMS):
        texts.update(labels.values())
    texts.add(common.STALE_FORM)
    return texts


def test_every_text_shown_has_its_english():
    missing = sorted(text for text in shown_texts() if text not in MESSAGES_EN)
    assert missing == []


def raised_reasons(*modules) -> set[str]:
    """The `reason=` of every exception the modules raise (their machine codes of why)."""
    found = set()
    for module in modules:
        path = Path(module.__file__)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for keyword in node.exc.keywords:
                    if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                        found.add(keyword.value.value)
    return found


def test_every_refusal_a_service_raises_is_said_in_vietnamese_and_english():
    from feedback.services import administration, moderation, overrides
    from feedback.web import moderation as moderation_pages

    workflow_reasons = raised_reasons(workflow, moderation, moderation_pages)
    assert len(workflow_reasons) > 30
    assert sorted(workflow_reasons - set(errors.WORKFLOW_REASONS)) == []
    admin_reasons = raised_reasons(administration, overrides)
    assert len(admin_reasons) > 20
    assert sorted(admin_reasons - set(errors.ADMINISTRATION_REASONS)) == []
    # Every move and every form field a refusal may name has its label.
    assert set(workflow.MOVES) <= set(errors.MOVE_LABELS)


def test_a_refusal_reads_in_the_pages_language_with_its_details(app):
    from datetime import datetime, timezone

    from flask import session

    error = workflow.IllegalMove("Cannot approve a report that is Đã xử lý.",
                                 reason="wrong_status",
                                 params={"move": "approve", "status": "resolved"})
    dated = workflow.InvalidMove("x", reason="extension_date", params={
        "earliest": datetime(2026, 3, 10, 10, 0, tzinfo=timezone.utc),
        "latest": datetime(2026, 3, 17, 10, 0, tzinfo=timezone.utc)})
    with app.test_request_context():
        assert errors.workflow_message(error) == (
            "Không thể tiếp nhận phản ánh đang ở trạng thái “Đã xử lý”.")
        assert errors.workflow_message(dated) == (
            "Hạn mới phải sau 10/03/2026 17:00 và không muộn hơn 17/03/2026 17:00.")
        session["lang"] = "en"
        assert errors.workflow_message(error) == "Cannot approve a report that is “Resolved”."


def test_translations_keep_their_placeholders():
    for vietnamese, english in MESSAGES_EN.items():
        assert sorted(re.findall(r"%\(\w+\)s", vietnamese)) == sorted(
            re.findall(r"%\(\w+\)s", english)), vietnamese
        assert vietnamese.count("%%") == english.count("%%"), vietnamese


def test_the_catalogue_holds_no_text_that_is_no_longer_shown():
    assert sorted(set(MESSAGES_EN) - shown_texts()) == []


def test_signed_in_staff_read_english_after_switching(staff_client):
    officer = staff_client("officer")
    assert "Việc của đơn vị" in officer.text("/staff/department/")
    response = officer.post("/staff/language", {"lang": "en", "next": "/staff/department/"})
    assert response.status_code == 302 and response.location.endswith("/staff/department/")
    page = officer.text("/staff/department/")
    assert "Department queue" in page and "Việc của đơn vị" not in page
    assert '<html lang="en">' in page


def test_the_language_switch_never_sends_anyone_elsewhere(staff_client):
    person = staff_client()
    response = person.post("/staff/language", {"lang": "en", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.location.endswith("/staff/")
