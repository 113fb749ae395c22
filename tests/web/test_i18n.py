"""Vietnamese first, English available: every text the web view shows has its English."""
import re
from pathlib import Path

from feedback.services import workflow
from feedback.web import admin, auth, common, reports, supervision
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
                   supervision.UNKNOWN_GROUP, dict(supervision.COLUMNS)):
        texts.update(labels.values())
    texts.add(common.STALE_FORM)
    return texts


def test_every_text_shown_has_its_english():
    missing = sorted(text for text in shown_texts() if text not in MESSAGES_EN)
    assert missing == []


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
