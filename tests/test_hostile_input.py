"""Hostile input through the HTTP API: bodies too big or too deep, injection strings in
every text field, paths in photo names, forged and misused tokens, and staff and citizens
reaching for what is not theirs through every endpoint that names a report.

The endpoints come from the OpenAPI document and the app's url_map, so a new one is
attacked here without anyone listing it.
"""
import base64
import hashlib
import io
import json
import os
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from sqlalchemy import func, select, text

from feedback.models import (
    ExtensionRequest,
    IdentityView,
    Notification,
    Outcome,
    Photo,
    Report,
    ReportEvent,
)
from feedback.services import deadlines, workflow
from feedback.services.auth import issue_token
from tests import factories
from tests.operations import (
    OPENAPI_PATH,
    ROLES,
    SELF_ENDING,
    World,
    allowed_roles,
    example_body,
    json_body_schema,
    operations,
    string_fields,
)
from tests.samples import phone_jpeg
from tests.web.conftest import Staff

MB = 1024 * 1024
HOSTILE = {
    "sql": "'; DROP TABLE reports; --",
    "sql union": "' UNION SELECT password_hash FROM users --",
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(document.cookie)>',
    "template": "{{7*7}} ${7*7} {% raw %}",
    "like wildcards": "100% _off_ \\",
    "decomposed": unicodedata.normalize("NFD", "Đường Nguyễn Trãi ngập sâu"),
    "right to left": "\u202egpj.exe",
    "nul": "Ổ gà\x00 lớn",
    "lone surrogate": "Ổ gà \ud800 lớn",
    "ten megabytes": "x" * (10 * MB),
}
# What the database cannot store: refused with 422 naming the field.
UNSTORABLE = {"nul", "lone surrogate"}
STORABLE = {name: value for name, value in HOSTILE.items()
            if name not in UNSTORABLE and name != "ten megabytes"}


def assert_error(response, *statuses, code=None):
    """A clean refusal: one of `statuses`, in the API's JSON error shape."""
    assert response.status_code in statuses, (response.status_code, response.get_data()[:300])
    assert response.is_json, response.get_data()[:300]
    assert set(response.json) == {"code", "message", "details"}
    assert isinstance(response.json["code"], str) and response.json["message"]
    if code:
        assert response.json["code"] == code, response.json


def url(path: str, values: dict) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)


def json_operations(document):
    for label, path, method, operation in operations(document):
        body_schema = json_body_schema(document, operation)
        if body_schema is not None:
            yield label, path, method, operation, body_schema


def call(client, method, target, *, headers=None, body=None, raw=None):
    if raw is not None:
        return client.open(target, method=method.upper(), data=raw,
                           content_type="application/json", headers=headers or {})
    return client.open(target, method=method.upper(), json=body, headers=headers or {})


def caller(world, label, operation) -> dict:
    roles = allowed_roles(operation, label)
    return world.bearer(roles[0], throwaway=label in SELF_ENDING) if roles else {}


def table_counts(session) -> dict:
    return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("reports", "users", "report_events", "departments", "categories")}


@pytest.fixture
def document(client):
    return client.get(OPENAPI_PATH).json


@pytest.fixture
def world(app, db_session, redis, monkeypatch):
    for key in ("OTP_SEND_LIMIT_PER_PHONE", "OTP_SEND_LIMIT_PER_ADDRESS",
                "OTP_VERIFY_LIMIT_PER_ADDRESS", "SUBMIT_RATE_LIMIT", "SUBMIT_ADDRESS_RATE_LIMIT"):
        monkeypatch.setitem(app.config, key, "100000 per minute")
    return World(app, db_session)


# -- bodies too big, too deep --------------------------------------------------------------

def test_a_json_body_over_a_megabyte_is_refused_with_413_by_every_operation_that_takes_json(
        client, document, world, db_session):
    oversized = json.dumps({"note": "x" * (2 * MB)})
    tried = 0
    for label, path, method, operation, _ in json_operations(document):
        response = call(client, method, url(path, world.path_values("in_progress")),
                        headers=caller(world, label, operation), raw=oversized)
        assert_error(response, 413, code="payload_too_large")
        db_session.rollback()
        tried += 1
    assert tried >= 20


@pytest.mark.embedded
def test_an_oversized_json_body_without_a_length_is_refused_too(client):
    # A chunked body (no Content-Length) is counted as it is read.
    body = io.BytesIO(b"[" + b"0," * MB + b"0]")
    response = client.post("/api/v1/auth/login", input_stream=body,
                           content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})
    assert_error(response, 413, code="payload_too_large")


@pytest.mark.parametrize("body", [
    "[" * 100_000,
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 100_000,
    '{"note": ' + "[" * 50_000 + "]" * 50_000 + "}",
], ids=["open arrays", "closed arrays", "open objects", "inside a field"])
def test_json_nested_100000_levels_deep_is_a_clean_400_for_every_operation_that_takes_json(
        client, document, world, db_session, body):
    for label, path, method, operation, _ in json_operations(document):
        response = call(client, method, url(path, world.path_values("in_progress")),
                        headers=caller(world, label, operation), raw=body)
        assert_error(response, 400)
        db_session.rollback()


@pytest.mark.embedded
def test_json_nested_a_few_hundred_levels_is_an_ordinary_validation_error(client):
    body = '{"username": ' + "[" * 300 + "]" * 300 + ', "password": "x"}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_error(response, 422, code="validation_failed")
    assert "username" in response.json["details"]


# -- injection and unstorable text in every text field -------------------------------------

def test_hostile_text_in_every_text_field_of_every_json_operation_is_taken_or_refused_never_a_500(
        client, document, world, db_session):
    before = table_counts(db_session)
    tried = set()
    for label, path, method, operation, body_schema in json_operations(document):
        fields = string_fields(document, body_schema)
        for field in fields:
            for name, value in HOSTILE.items():
                body = example_body(document, body_schema, world.body_values())
                body[field] = [value] if body_schema["properties"][field].get(
                    "type") == "array" else value
                response = call(client, method, url(path, world.path_values("in_progress")),
                                headers=caller(world, label, operation), body=body)
                assert response.status_code < 500, (label, field, name, response.json)
                if response.status_code >= 400:
                    assert_error(response, response.status_code)
                if name in UNSTORABLE:
                    assert_error(response, 422, code="validation_failed")
                    assert field in response.json["details"], (label, response.json)
                if name == "ten megabytes":
                    assert_error(response, 413)
                db_session.rollback()
                tried.add(label)
    assert {"POST /api/v1/auth/login", "POST /api/v1/auth/otp", "POST /api/v1/auth/otp/verify",
            "POST /api/v1/reports/{tracking_code}/reject",
            "POST /api/v1/reports/{tracking_code}/answer",
            "POST /api/v1/reports/{tracking_code}/reopen"} <= tried
    after = table_counts(db_session)
    assert all(after[table] >= count for table, count in before.items())


@pytest.mark.parametrize("username", ["admin' --", "' OR '1'='1' --", "admin'/*",
                                      "admin\x00", "ADMIN"])
def test_sql_in_the_username_signs_nobody_in(client, username):
    response = client.post("/api/v1/auth/login",
                           json={"username": username, "password": "' OR '1'='1"})
    assert_error(response, 401, 422)


def test_sql_in_the_phone_or_the_code_is_refused_as_not_a_phone_or_a_code(client, redis):
    response = client.post("/api/v1/auth/otp", json={"phone": "0912345678' OR '1'='1"})
    assert_error(response, 422, code="invalid_phone")
    response = client.post("/api/v1/auth/otp/verify",
                           json={"phone": "0912345678", "code": "1' OR '1'='1"})
    assert_error(response, 422, code="validation_failed")
    assert "code" in response.json["details"]


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


@pytest.mark.parametrize("name", sorted(STORABLE))
def test_what_staff_and_citizens_write_on_a_report_is_stored_verbatim_in_nfc(
        client, db_session, app, auth_header, now, name):
    value = STORABLE[name]
    sender = factories.citizen(db_session)
    citizen = {"Authorization": "Bearer " + issue_token(
        sender, secret=app.config["SECRET_KEY"], now=now,
        lifetime=timedelta(minutes=10)).token}
    officer, moderator = auth_header("officer"), auth_header("moderator")

    def move(report, path, body, headers):
        response = client.post(f"/api/v1/reports/{report.tracking_code}/{path}", json=body,
                               headers=headers)
        assert response.status_code in (200, 201), (path, response.json)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        db_session.expire_all()
        return response

    def last_note(report):
        return db_session.execute(select(ReportEvent.note).where(
            ReportEvent.report_id == report.id).order_by(ReportEvent.id.desc())).scalars().first()

    rejected = factories.report(db_session, now=now, sender=sender)
    move(rejected, "reject", {"reason_code": "other", "note": value}, moderator)
    assert db_session.get(Report, rejected.id).rejection_reason.endswith(_nfc(value))

    asked = factories.acknowledged_report(db_session, now=now, sender=sender)
    response = move(asked, "request-info", {"question": value}, officer)
    assert response.json["events"][-1]["note"] == _nfc(value)
    move(asked, "info", {"text": value}, citizen)
    assert last_note(asked) == _nfc(value)

    answered = factories.acknowledged_report(db_session, now=now, sender=sender)
    move(answered, "extensions", {"reason": value, "new_due_at": deadlines.latest_extension_due(
        answered, calendar=deadlines.calendar_for(db_session)).isoformat()}, officer)
    assert db_session.execute(select(ExtensionRequest.reason).where(
        ExtensionRequest.report_id == answered.id)).scalar_one() == _nfc(value)
    move(answered, "answer", {"outcome": "planned", "text": value}, officer)
    assert db_session.get(Report, answered.id).answer_text == _nfc(value)
    move(answered, "reopen", {"reason": value}, citizen)
    assert last_note(answered) == _nfc(value)

    returned = factories.acknowledged_report(db_session, now=now, sender=sender)
    move(returned, "return", {"reason_code": "other", "note": value}, officer)
    assert last_note(returned) == _nfc(value)

    rated = factories.resolved_report(db_session, now=now, sender=sender)
    move(rated, "rating", {"rating": "unsatisfied", "comment": value}, citizen)
    assert db_session.get(Report, rated.id).rating_comment == _nfc(value)


def multipart(fields: dict, files=()) -> tuple[bytes, str]:
    """A multipart/form-data body written byte by byte: text parts may carry any bytes,
    and file names reach the server exactly as given."""
    boundary = "hostile-" + hashlib.sha256(repr(fields).encode()).hexdigest()[:16]
    parts = []
    for name, value in fields.items():
        value = value if isinstance(value, bytes) else str(value).encode("utf-8")
        parts.append(b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n'
                     + value)
    for filename, content_type, data in files:
        filename = filename if isinstance(filename, bytes) else filename.encode("utf-8")
        parts.append(b'Content-Disposition: form-data; name="photos"; filename="' + filename
                     + b'"\r\nContent-Type: ' + content_type.encode() + b"\r\n\r\n" + data)
    separator = b"--" + boundary.encode()
    body = b"".join(separator + b"\r\n" + part + b"\r\n" for part in parts) + separator + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


REPORT_FIELDS = {"category": "thu-tuc-hanh-chinh", "title": "Cán bộ trễ hẹn",
                 "description": "Cán bộ tiếp dân trễ hẹn hai lần.", "commune_code": "31135",
                 "latitude": "10.0340", "longitude": "105.7880", "address": "2 Hai Bà Trưng",
                 "anonymous": "false", "public": "true"}


def send_report(client, headers, fields, files=(), extra_headers=None):
    body, content_type = multipart(fields, files)
    return client.post("/api/v1/reports", data=body, content_type=content_type,
                       headers={**headers, **(extra_headers or {})})


@pytest.fixture
def citizen(app, db_session, world):
    user = factories.citizen(db_session)
    db_session.commit()  # kept when a refused request's leftovers are rolled back
    token = issue_token(user, secret=app.config["SECRET_KEY"], now=datetime.now(timezone.utc),
                        lifetime=timedelta(minutes=30))
    return user, {"Authorization": f"Bearer {token.token}"}


SUBMISSION_VALUES = {**HOSTILE, "lone surrogate": b"\xed\xa0\x80 l\xc6\xa1n",
                     "not utf-8": b"\xff\xfe\xfd", "nul": "Ổ gà\x00 lớn"}


@pytest.mark.parametrize("field", sorted(REPORT_FIELDS))
def test_hostile_text_in_every_field_of_a_report_is_stored_clean_or_refused_by_name(
        client, db_session, citizen, field):
    user, headers = citizen
    before = table_counts(db_session)
    for name, value in SUBMISSION_VALUES.items():
        response = send_report(client, headers, {**REPORT_FIELDS, field: value})
        assert response.status_code < 500, (field, name)
        if response.status_code != 201:
            assert_error(response, 413, 422)
            if response.status_code == 422:
                assert field in response.json["details"], (field, name, response.json)
            db_session.rollback()
            continue
        report = db_session.execute(select(Report).where(
            Report.tracking_code == response.json["tracking_code"])).scalar_one()
        stored = {"title": report.title, "description": report.description,
                  "address": report.address_text}.get(field)
        if stored is not None and isinstance(value, str) and name in STORABLE:
            assert stored == " ".join(_nfc(value).split()) or stored == _nfc(value).strip()
        if stored is not None and name == "nul":
            assert stored == "Ổ gà lớn"  # control characters out, as intake says
    assert table_counts(db_session)["reports"] >= before["reports"]


def test_a_hostile_idempotency_key_is_refused_by_name(client, citizen):
    _, headers = citizen
    for key in ("'; DROP TABLE reports; --\x00", "<script>", "x" * 101, "ổ gà"):
        response = send_report(client, headers, REPORT_FIELDS, extra_headers={
            "Idempotency-Key": key})
        if response.status_code != 201:
            assert_error(response, 422)
            assert "Idempotency-Key" in response.json["details"]


# -- paths in photo names --------------------------------------------------------------------

TRAVERSING_NAMES = [
    "../../etc/passwd.jpg", "/etc/passwd.jpg", "..\\..\\..\\windows\\win.ini.jpg",
    b"photo.jpg\x00.php", "%2e%2e%2f%2e%2e%2fetc%2fpasswd.jpg", "....//....//tmp/x.jpg",
    "a" * 4000 + ".jpg", "ảnh ổ gà.php", "~/.ssh/authorized_keys", "C:\\Windows\\x.jpg",
]


def every_file_under(folder: str) -> set[str]:
    return {os.path.relpath(os.path.join(root, name), folder)
            for root, _, names in os.walk(folder) for name in names}


def test_a_photo_name_with_a_path_in_it_never_reaches_the_storage_path(
        app, client, db_session, citizen, redis):
    from workers import queues
    from workers.worker import make_worker

    _, headers = citizen
    folder = app.config["PHOTO_FOLDER"]
    outside = os.path.dirname(os.path.abspath(folder))
    around_before = every_file_under(outside)
    photos = [(name, "application/x-php", phone_jpeg(300, 200, seed=1000 + i))
              for i, name in enumerate(TRAVERSING_NAMES)]
    for batch in (photos[:5], photos[5:]):
        response = send_report(client, headers, {**REPORT_FIELDS, "category": "giao-thong"},
                               batch)
        assert response.status_code == 201, response.json
    make_worker(app, queues.ALL, redis).work(burst=True)

    new = every_file_under(outside) - around_before
    originals = {f"original-{hashlib.sha256(data).hexdigest()}.jpg" for _, _, data in photos}
    in_folder = {os.path.relpath(os.path.join(folder, name), outside) for name in originals}
    assert in_folder <= new
    for path in new:
        # Only the photo folder, only content-hash names: nothing a client named.
        assert os.path.dirname(path) == os.path.relpath(folder, outside), path
        assert re.fullmatch(r"(original-)?[0-9a-f]{64}\.jpg", os.path.basename(path)), path
    assert not os.path.exists("/etc/passwd.jpg")
    stored = db_session.execute(select(Photo.original_key).where(
        Photo.original_key.in_([name for name in originals]))).scalars().all()
    assert len(stored) == len(photos)


# -- tokens forged, expired, misused ---------------------------------------------------------

def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user, **changes) -> dict:
    now = datetime.now(timezone.utc)
    claims = {"sub": str(user.id), "role": str(user.role), "ver": user.token_version,
              "typ": "access", "iat": int(now.timestamp()),
              "exp": int((now + timedelta(minutes=10)).timestamp())}
    return {**claims, **changes}


@pytest.fixture
def tokens(app, db_session):
    """Tokens that must not work, by name."""
    secret = app.config["SECRET_KEY"]
    admin = factories.staff(db_session, "admin")
    officer = factories.staff(db_session, "officer")
    good = issue_token(officer, secret=secret, now=datetime.now(timezone.utc),
                       lifetime=timedelta(minutes=10)).token
    header, _, signature = good.split(".")
    long_ago = datetime.now(timezone.utc) - timedelta(hours=3)
    return {
        "signed with another key": jwt.encode(_claims(admin), "not-the-" + secret, "HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(admin))}.",
        "alg none with a signature": (f"{_b64({'alg': 'none', 'typ': 'JWT'})}."
                                      f"{_b64(_claims(admin))}.{signature}"),
        "HS512 with our key": jwt.encode(_claims(admin), secret, "HS512"),
        "payload made admin": f"{header}.{_b64(_claims(admin))}.{signature}",
        "signature cut off": f"{header}.{good.split('.')[1]}.",
        "sub that is sql, signed with our key": jwt.encode(_claims(admin, sub="1 OR 1=1"), secret,
                                                          "HS256"),
        "garbage": "a.b.c",
        "ten kilobytes": "x" * 10_000,
        "expired": issue_token(admin, secret=secret, now=long_ago,
                               lifetime=timedelta(minutes=60)).token,
        "a refresh token": issue_token(admin, secret=secret, now=datetime.now(timezone.utc),
                                       lifetime=timedelta(days=30), kind="refresh").token,
    }


# Signing with HS512 under our 44-byte test key makes PyJWT warn: that token is forged anyway.
@pytest.mark.embedded
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/moderation/queue",
                                  "/api/v1/admin/api-clients", "/api/v1/me"])
def test_a_forged_expired_or_misused_token_is_refused_with_401(client, tokens, path):
    for name, token in tokens.items():
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401)
        expected = "token_expired" if name == "expired" else "invalid_token"
        assert response.json["code"] == expected, (name, response.json)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.embedded
@pytest.mark.parametrize("header", ["Bearer", "Bearer   ", "Basic YWRtaW46YWRtaW4=", "bearer",
                                    "Token abc", "Bearer a b c"])
def test_a_malformed_authorization_header_is_refused_with_401(client, header):
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": header}), 401)


def test_a_token_issued_before_a_sign_out_is_refused(client, app, db_session):
    officer = factories.staff(db_session, "officer")
    token = issue_token(officer, secret=app.config["SECRET_KEY"], now=datetime.now(timezone.utc),
                        lifetime=timedelta(minutes=10)).token
    officer.token_version += 1
    db_session.flush()
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, code="token_revoked")


def test_every_signed_in_operation_refuses_the_roles_it_is_not_for_with_403(
        client, document, world, db_session):
    refused = 0
    for label, path, method, operation in operations(document):
        allowed = allowed_roles(operation, label)
        if not allowed:
            continue
        body_schema = json_body_schema(document, operation)
        for role in set(ROLES) - set(allowed):
            body = (example_body(document, body_schema, world.body_values()) if body_schema
                    else None)
            response = call(client, method, url(path, world.path_values("in_progress")),
                            headers=world.bearer(role), body=body)
            assert_error(response, 403)
            assert response.json["code"] in ("forbidden", "not_allowed"), (label, role)
            db_session.rollback()
            refused += 1
    assert refused > 60


def test_every_signed_in_operation_refuses_no_sign_in_with_401(client, document, world):
    for label, path, method, operation in operations(document):
        if allowed_roles(operation, label):
            response = call(client, method, url(path, world.path_values("in_progress")))
            assert_error(response, 401)


# -- reaching for what is not yours -----------------------------------------------------------

# Path arguments that name a report, something of one report's, or a department's work.
REPORT_ARGUMENTS = {"tracking_code", "service_request_id", "extension_id", "photo_id",
                    "notification_id", "code"}
# /api/v1/photos/<id>/<key> is a capability URL: whoever has the key (the SHA-256 of the
# copy, only ever given in a report's own answer) may fetch the stripped copy, whoever
# asks (docs/decisions.md, "Photo URLs"). The key protects it, not the caller.
CAPABILITY_ENDPOINTS = {"photos.PhotoFile"}


def report_rules(app):
    """(rule, method) for every route whose path names a report: API, web view, public
    pages and Open311 alike."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.arguments & REPORT_ARGUMENTS and rule.endpoint not in CAPABILITY_ENDPOINTS:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def build(app, rule, values: dict) -> list[str]:
    """Every URL of the rule with these values, one per choice of an any() argument."""
    urls = [{}]
    for name in rule.arguments:
        converter = rule._converters[name]
        choices = sorted(converter.items) if hasattr(converter, "items") else [values[name]]
        urls = [{**chosen, name: choice} for chosen in urls for choice in choices]
    adapter = app.url_map.bind("localhost")
    return [adapter.build(rule.endpoint, arguments, method=None) for arguments in urls]


def snapshot(session, report_id: int) -> dict:
    """Everything a move, a view or a leak would change."""
    session.expire_all()
    report = session.get(Report, report_id)
    count = lambda model, *where: session.execute(  # noqa: E731
        select(func.count()).select_from(model).where(*where)).scalar_one()
    return {
        "row": (report.status, report.version, report.lead_department_id, report.moderated_at,
                report.answer_text, report.outcome, report.due_at, report.is_hidden,
                report.manual_routing, report.updated_at, report.rating),
        "events": count(ReportEvent, ReportEvent.report_id == report_id),
        "notifications": count(Notification, Notification.report_id == report_id),
        "identity views": count(IdentityView, IdentityView.report_id == report_id),
        "extensions": session.execute(select(ExtensionRequest.state).where(
            ExtensionRequest.report_id == report_id)).scalars().all(),
        "photos hidden": session.execute(select(Photo.is_hidden).where(
            Photo.report_id == report_id)).scalars().all(),
        "notifications read": session.execute(select(Notification.read_at).where(
            Notification.report_id == report_id).order_by(Notification.id)).scalars().all(),
    }


FORM = {"reason_code": "other", "note": "Không phải việc của tôi", "question": "Ở đâu?",
        "outcome": "planned", "text": "Đã sửa", "reason": "Chờ vật tư", "approve": "true",
        "category": "giao-thong", "department": "ct-so-xay-dung", "duplicate_of": "PA-0",
        "rating": "satisfied", "comment": "Tốt", "new_due_at": "2030-01-01T10:00"}


def their_reports(db_session, now, state: str, sender=None):
    """Two private reports of UBND phường Ninh Kiều's (urban order in Ninh Kiều): one in
    `state`, with a ready photo, and one in progress with an extension waiting."""
    owner = factories.staff(db_session, "officer.ninhkieu")
    reports = []
    for _ in range(2):
        report = factories.routed_report(db_session, now=now, category="trat-tu-do-thi",
                                         sender=sender)
        report.is_public = False
        assert report.lead_department_id == owner.department_id
        reports.append(report)
    report, extended = reports
    workflow.acknowledge(db_session, extended, actor=owner, now=now)
    extension = workflow.request_extension(
        db_session, extended, actor=owner, now=now, reason="Chờ vật tư.",
        new_due_at=deadlines.latest_extension_due(
            extended, calendar=deadlines.calendar_for(db_session)))
    if state != "assigned":
        workflow.acknowledge(db_session, report, actor=owner, now=now)
    if state == "awaiting_citizen":
        workflow.request_info(db_session, report, actor=owner, now=now, question="Ở đâu?")
    if state == "resolved":
        workflow.answer(db_session, report, actor=owner, now=now, outcome=Outcome("planned"),
                        text="Đưa vào kế hoạch")
    photo = factories.ready_photo(db_session, report)
    db_session.commit()
    return report, extension, photo


def values_for(db_session, report, extension, photo) -> dict:
    """The path values naming their things: the report, its photo, the extension, a
    notification of it (the citizen's if there is one, else the department's), the
    department."""
    due = deadlines.latest_extension_due(report, calendar=deadlines.calendar_for(db_session))
    notification = db_session.execute(
        select(Notification).where(Notification.report_id == report.id)
        .order_by(Notification.user_id.is_(None), Notification.id)).scalars().first()
    return {"tracking_code": report.tracking_code, "service_request_id": report.tracking_code,
            "extension_id": extension.id, "photo_id": photo.id, "key": photo.display_key,
            "notification_id": notification.id, "code": report.lead_department.code,
            "version": report.version,
            "due": (due or datetime.now(timezone.utc) + timedelta(days=9)).isoformat()}


def snapshots(session, *reports) -> list[dict]:
    return [snapshot(session, report.id) for report in reports]


def reach(app, client, web, rule, method, values, headers, document):
    """Every URL of the rule, called as the attacker: bearer on the API, the signed-in
    web session on the web view, nothing on the public pages and Open311."""
    for target in build(app, rule, values):
        if rule.rule.startswith("/staff/"):
            yield target, (web.get(target) if method == "GET"
                           else web.post(target, {**FORM, "version": values["version"]}))
            continue
        body = form = None
        if rule.rule.startswith("/api/") and method != "GET":
            openapi_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            operation = document["paths"].get(openapi_path, {}).get(method.lower(), {})
            known = {**FORM, "approve": True, "coordinators": [], "new_due_at": values["due"]}
            body_schema = json_body_schema(document, operation)
            form_schema = json_body_schema(document, operation, media_type="multipart/form-data")
            if body_schema:
                body = example_body(document, body_schema, known)
            elif form_schema:
                # A move with photos: a whole, valid form, so only the caller is at fault.
                form = {**example_body(document, form_schema, known),
                        "photos": [(io.BytesIO(phone_jpeg(320, 240, seed=3)), "proof.jpg")]}
        if form is not None:
            yield target, client.open(target, method=method, data=form, headers=headers,
                                      content_type="multipart/form-data")
        else:
            yield target, client.open(target, method=method, json=body, headers=headers)


@pytest.mark.parametrize("state", ["assigned", "in_progress"])
def test_an_officer_cannot_reach_another_departments_report_through_any_endpoint_naming_it(
        app, client, db_session, document, auth_header, now, redis, state):
    report, extension, photo = their_reports(db_session, now, state)
    officer = auth_header("officer")  # Sở Xây dựng
    web = Staff(app)
    web.login("officer")
    values = values_for(db_session, report, extension, photo)
    before = snapshots(db_session, report, extension.report)
    reached = set()
    for rule, method in report_rules(app):
        for target, response in reach(app, client, web, rule, method, values, officer, document):
            db_session.rollback()  # what the request left unsaved, as its teardown does
            if rule.rule.startswith("/staff/"):
                assert response.status_code in (302, 403, 404), (method, target)
            elif rule.rule.startswith("/api/"):
                assert_error(response, 403, 404)
            else:
                assert response.status_code in (403, 404), (method, target)
            assert snapshots(db_session, report, extension.report) == before, (method, target)
            reached.add(rule.endpoint)
    assert {"workflow.acknowledge", "workflow.answer", "workflow.answer_with_photos",
            "workflow.staff_report",
            "departments.DepartmentQueue", "me.ReadNotification", "staff.department.answer",
            "staff.reports.show", "staff.reports.photo", "open311.get_request",
            "public.PublicReport"} <= reached


@pytest.mark.parametrize("state", ["awaiting_citizen", "resolved"])
def test_a_citizen_cannot_reach_another_citizens_report_through_any_endpoint_naming_it(
        app, client, db_session, document, now, redis, state):
    owner = factories.citizen(db_session)
    report, extension, photo = their_reports(db_session, now, state, sender=owner)
    intruder = factories.citizen(db_session)
    db_session.commit()
    token = issue_token(intruder, secret=app.config["SECRET_KEY"], now=now,
                        lifetime=timedelta(minutes=10)).token
    values = values_for(db_session, report, extension, photo)
    web = Staff(app)  # a citizen has no web sign-in: the staff pages send them to sign in
    before = snapshots(db_session, report, extension.report)
    reached = set()
    for rule, method in report_rules(app):
        for target, response in reach(app, client, web, rule, method, values,
                                      {"Authorization": f"Bearer {token}"}, document):
            db_session.rollback()
            if rule.rule.startswith("/staff/"):
                assert response.status_code in (302, 400, 403, 404), (method, target)
                if response.status_code == 302:
                    assert response.location.startswith("/staff/login"), target
            elif rule.rule.startswith("/api/"):
                assert_error(response, 403, 404)
            else:
                assert response.status_code in (403, 404), (method, target)
            assert snapshots(db_session, report, extension.report) == before, (method, target)
            reached.add(rule.endpoint)
    assert {"workflow.provide_info", "workflow.rate", "workflow.reopen",
            "reports.ReportByCode", "me.ReadNotification"} <= reached


# -- what these tests found, as plain tests -----------------------------------------------------

def test_an_officer_who_returns_a_report_hears_that_it_was_returned(
        client, db_session, auth_header, now):
    report = factories.acknowledged_report(db_session, now=now)
    response = client.post(f"/api/v1/reports/{report.tracking_code}/return",
                           json={"reason_code": "not_our_competence", "note": "Của phường"},
                           headers=auth_header("officer"))
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["department"]) == ("submitted", None)
    assert response.json["manual_routing"] == "returned"
    # No longer the department's: the answer does not show who sent it.
    assert response.json["reporter"] is None
