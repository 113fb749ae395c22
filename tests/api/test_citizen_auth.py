import logging
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import flask
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from config import ConfigError
from feedback.api import citizen_auth
from feedback.models import OtpChallenge, Role, User
from feedback.services.demo import DEMO_CITIZEN_PHONE
from feedback.services.sms import HttpSmsGateway
from tests.sms_gateway_server import running_gateway

PHONE = "+84912345678"
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.23"}


class OwnGlobalsClient(FlaskClient):
    """The test client, with a fresh `flask.g` for every request as in production.

    The `db_session` fixture keeps one app context pushed for the whole test and Flask
    reuses it for each request, so `g` (where `authenticated_user()` keeps the caller)
    would otherwise carry one request's user into the next.
    """

    def open(self, *args, **kwargs):
        for name in list(flask.g):
            flask.g.pop(name)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db_session):
    return OwnGlobalsClient(app, app.response_class, use_cookies=True)


@pytest.fixture(autouse=True)
def fresh_rate_limits(redis):
    """Rate-limit counters live in the test Redis: start each test from none."""
    return redis


@pytest.fixture(autouse=True)
def no_proxy_for_the_local_gateway(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sms_log(caplog):
    """sms_log.code_for(phone) → the last code the development (log) gateway sent there."""
    caplog.set_level(logging.INFO, logger="feedback.sms")

    class SmsLog:
        def messages_to(self, phone):
            return [r.getMessage() for r in caplog.records
                    if r.name == "feedback.sms" and f"SMS to {phone}:" in r.getMessage()]

        def code_for(self, phone):
            return re.search(r"là (\d{6})\.", self.messages_to(phone)[-1]).group(1)

    return SmsLog()


@pytest.fixture
def config(app, monkeypatch):
    """config(KEY=value): app settings for this test only (the app lives for the session)."""

    def config(**values):
        for key, value in values.items():
            monkeypatch.setitem(app.config, key, value)

    return config


@pytest.fixture
def sign_in(client, sms_log):
    """sign_in(phone) → the verify answer (tokens and user), through HTTP."""

    def sign_in(phone=PHONE):
        sent = client.post("/api/v1/auth/otp", json={"phone": phone})
        assert sent.status_code == 202, sent.json
        answer = client.post("/api/v1/auth/otp/verify",
                             json={"phone": phone, "code": sms_log.code_for(sent.json["phone"])})
        assert answer.status_code == 200, answer.json
        return answer.json

    return sign_in


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_citizen_signs_up_with_a_code_by_sms_and_sees_their_profile(client, sms_log):
    sent = client.post("/api/v1/auth/otp", json={"phone": "0912 345 678"})
    assert sent.status_code == 202
    assert sent.json["phone"] == PHONE
    expires_at = datetime.fromisoformat(sent.json["expires_at"])
    assert timedelta(seconds=290) < expires_at - datetime.now(timezone.utc) <= timedelta(seconds=300)
    code = sms_log.code_for(PHONE)

    verified = client.post("/api/v1/auth/otp/verify", json={"phone": "0912345678", "code": code})
    assert verified.status_code == 200
    body = verified.json
    assert body["token_type"] == "Bearer"
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["user"] == {"id": body["user"]["id"], "phone": PHONE, "role": "citizen",
                            "full_name": None}
    access_expires = datetime.fromisoformat(body["expires_at"])
    refresh_expires = datetime.fromisoformat(body["refresh_expires_at"])
    assert access_expires - datetime.now(timezone.utc) <= timedelta(minutes=60)
    assert refresh_expires - datetime.now(timezone.utc) > timedelta(days=29)

    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json == body["user"]


def test_the_answer_to_a_code_request_is_the_same_with_or_without_an_account(client, sms_log):
    known = client.post("/api/v1/auth/otp", json={"phone": DEMO_CITIZEN_PHONE})
    unknown = client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert known.status_code == unknown.status_code == 202
    assert set(known.json) == set(unknown.json) == {"phone", "expires_at"}
    for answer, phone in ((known, DEMO_CITIZEN_PHONE), (unknown, PHONE)):
        assert sms_log.code_for(phone) not in answer.get_data(as_text=True)


def test_the_demo_citizen_signs_in_to_their_account(client, sign_in):
    answer = sign_in(DEMO_CITIZEN_PHONE)
    assert answer["user"]["full_name"] == "Nguyễn Văn Dân"


def test_a_number_that_is_not_a_vietnamese_mobile_gets_422_invalid_phone(client, sms_log):
    response = client.post("/api/v1/auth/otp", json={"phone": "024 3825 1234"})
    assert response.status_code == 422
    assert response.json["code"] == "invalid_phone"
    assert list(response.json["details"]) == ["phone"]


@pytest.mark.parametrize("body", [{}, {"phone": 912345678}, {"phone": ""},
                                  {"phone": "0912345678", "role": "admin"}])
def test_a_malformed_code_request_gets_422_validation_failed(client, body):
    response = client.post("/api/v1/auth/otp", json=body)
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"


@pytest.mark.parametrize("data,content_type", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("phone=0912345678", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_a_json_object_is_a_clean_4xx(client, data, content_type):
    response = client.post("/api/v1/auth/otp", data=data, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert set(response.json) == {"code", "message", "details"}


def test_a_wrong_code_gets_401_code_invalid_with_the_tries_left(client, sms_log):
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    response = client.post("/api/v1/auth/otp/verify",
                           json={"phone": PHONE, "code": wrong(sms_log.code_for(PHONE))})
    assert response.status_code == 401
    assert response.json == {"code": "code_invalid", "message": "The code is not right.",
                             "details": {"attempts_left": 4}}


def test_a_code_that_is_not_six_digits_gets_422_and_costs_no_attempt(client, sms_log, db_session):
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    response = client.post("/api/v1/auth/otp/verify", json={"phone": PHONE, "code": "12345"})
    assert response.status_code == 422
    assert "code" in response.json["details"]
    assert db_session.execute(select(OtpChallenge.attempts)).scalar_one() == 0


def test_a_code_typed_with_a_space_in_the_middle_is_accepted(client, sms_log):
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    code = sms_log.code_for(PHONE)
    response = client.post("/api/v1/auth/otp/verify",
                           json={"phone": PHONE, "code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 200


def test_a_code_signs_in_only_once(client, sms_log):
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    attempt = {"phone": PHONE, "code": sms_log.code_for(PHONE)}
    assert client.post("/api/v1/auth/otp/verify", json=attempt).status_code == 200
    again = client.post("/api/v1/auth/otp/verify", json=attempt)
    assert again.status_code == 401
    assert again.json["code"] == "code_invalid"


def test_after_too_many_wrong_codes_the_right_one_is_refused(client, sms_log, config):
    config(OTP_MAX_ATTEMPTS=2)
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    code = sms_log.code_for(PHONE)
    for _ in range(2):
        client.post("/api/v1/auth/otp/verify", json={"phone": PHONE, "code": wrong(code)})
    response = client.post("/api/v1/auth/otp/verify", json={"phone": PHONE, "code": code})
    assert response.status_code == 401
    assert response.json["code"] == "too_many_attempts"


def test_an_expired_code_gets_401_code_expired(client, sms_log, db_session):
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    db_session.execute(update(OtpChallenge).values(
        expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    response = client.post("/api/v1/auth/otp/verify",
                           json={"phone": PHONE, "code": sms_log.code_for(PHONE)})
    assert response.status_code == 401
    assert response.json["code"] == "code_expired"


def test_a_suspended_citizen_gets_403_account_disabled(client, sms_log, db_session):
    citizen = db_session.execute(select(User).where(User.phone == DEMO_CITIZEN_PHONE)).scalar_one()
    citizen.active = False
    db_session.flush()
    client.post("/api/v1/auth/otp", json={"phone": DEMO_CITIZEN_PHONE})
    response = client.post("/api/v1/auth/otp/verify", json={
        "phone": DEMO_CITIZEN_PHONE, "code": sms_log.code_for(DEMO_CITIZEN_PHONE)})
    assert response.status_code == 403
    assert response.json["code"] == "account_disabled"


def test_codes_go_through_the_http_gateway_when_one_is_configured(app, client, monkeypatch):
    with running_gateway() as server:
        monkeypatch.setitem(app.extensions, "sms_gateway", HttpSmsGateway(server.url, timeout=5))
        sent = client.post("/api/v1/auth/otp", json={"phone": "0987.654.321"})
    assert sent.status_code == 202
    [message] = server.received
    assert set(message.body) == {"to", "text"}
    assert message.body["to"] == "+84987654321"
    code = re.search(r"là (\d{6})\.", message.body["text"]).group(1)
    verified = client.post("/api/v1/auth/otp/verify",
                           json={"phone": "+84987654321", "code": code})
    assert verified.status_code == 200


def test_a_gateway_that_fails_gives_503_sms_unavailable_and_leaves_no_usable_code(
        app, client, monkeypatch):
    with running_gateway() as server:
        server.status = 500
        monkeypatch.setitem(app.extensions, "sms_gateway", HttpSmsGateway(server.url, timeout=5))
        sent = client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert sent.status_code == 503
    assert sent.json["code"] == "sms_unavailable"
    assert set(sent.json) == {"code", "message", "details"}
    assert sent.headers["Retry-After"]
    code = re.search(r"\d{6}", server.received[0].body["text"]).group(0)
    verify = client.post("/api/v1/auth/otp/verify", json={"phone": PHONE, "code": code})
    assert verify.status_code == 401
    assert verify.json["code"] == "code_invalid"


def test_too_many_codes_for_one_number_get_429_rate_limited(client, config):
    config(OTP_SEND_LIMIT_PER_PHONE="2 per 10 minutes")
    for written in ("0912345678", "+84 912 345 678"):
        assert client.post("/api/v1/auth/otp", json={"phone": written}).status_code == 202
    # The same number written another way, from another address, is the same number.
    response = client.post("/api/v1/auth/otp", json={"phone": "84912345678"},
                           environ_base=ELSEWHERE)
    assert response.status_code == 429
    assert response.json == {"code": "rate_limited",
                             "message": "Too many codes were sent to this number; "
                                        "try again later.",
                             "details": {}}
    assert int(response.headers["Retry-After"]) > 0
    assert client.post("/api/v1/auth/otp", json={"phone": "0987654321"}).status_code == 202


def test_the_daily_limit_per_number_holds_too(client, config):
    config(OTP_SEND_LIMIT_PER_PHONE="10 per 10 minutes;3 per day")
    statuses = [client.post("/api/v1/auth/otp", json={"phone": PHONE}).status_code
                for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_too_many_code_requests_from_one_address_get_429_rate_limited(client, config):
    config(OTP_SEND_LIMIT_PER_ADDRESS="2 per hour")
    phones = ["0912345678", "0987654321", "0356789012"]
    statuses = [client.post("/api/v1/auth/otp", json={"phone": phone}).status_code
                for phone in phones]
    assert statuses == [202, 202, 429]
    other = client.post("/api/v1/auth/otp", json={"phone": phones[2]}, environ_base=ELSEWHERE)
    assert other.status_code == 202


def test_numbers_that_are_not_numbers_do_not_use_up_a_real_numbers_limit(client, config):
    config(OTP_SEND_LIMIT_PER_PHONE="1 per 10 minutes")
    for _ in range(3):
        assert client.post("/api/v1/auth/otp", json={"phone": "not a phone"}).status_code == 422
    assert client.post("/api/v1/auth/otp", json={"phone": PHONE}).status_code == 202


def test_too_many_code_checks_from_one_address_get_429_rate_limited(client, config, sms_log):
    config(OTP_VERIFY_LIMIT_PER_ADDRESS="3 per minute", OTP_MAX_ATTEMPTS=10)
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    code = sms_log.code_for(PHONE)
    for _ in range(3):
        client.post("/api/v1/auth/otp/verify", json={"phone": PHONE, "code": wrong(code)})
    response = client.post("/api/v1/auth/otp/verify", json={"phone": PHONE, "code": code})
    assert response.status_code == 429
    assert response.json["code"] == "rate_limited"
    other = client.post("/api/v1/auth/otp/verify", json={"phone": PHONE, "code": code},
                        environ_base=ELSEWHERE)
    assert other.status_code == 200


def test_a_refresh_token_gets_a_new_access_token_and_a_new_refresh_token(client, sign_in):
    signed_in = sign_in()
    refreshed = client.post("/api/v1/auth/refresh",
                            json={"refresh_token": signed_in["refresh_token"]})
    assert refreshed.status_code == 200
    assert {"access_token", "refresh_token", "expires_at", "refresh_expires_at"} <= set(
        refreshed.json)
    assert refreshed.json["user"]["phone"] == PHONE
    me = client.get("/api/v1/me", headers=bearer(refreshed.json["access_token"]))
    assert me.status_code == 200
    again = client.post("/api/v1/auth/refresh",
                        json={"refresh_token": refreshed.json["refresh_token"]})
    assert again.status_code == 200


def test_a_refresh_token_is_not_an_access_token(client, sign_in):
    refresh_token = sign_in()["refresh_token"]
    for path in ("/api/v1/me", "/api/v1/auth/me"):
        response = client.get(path, headers=bearer(refresh_token))
        assert response.status_code == 401
        assert response.json["code"] == "invalid_token"
    assert client.post("/api/v1/auth/logout", headers=bearer(refresh_token)).status_code == 401


def test_an_access_token_is_not_a_refresh_token(client, sign_in):
    response = client.post("/api/v1/auth/refresh",
                           json={"refresh_token": sign_in()["access_token"]})
    assert response.status_code == 401
    assert response.json["code"] == "invalid_token"


def test_a_refresh_token_that_is_garbage_gets_401(client):
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": "not.a.jwt"})
    assert response.status_code == 401
    assert set(response.json) == {"code", "message", "details"}


def test_signing_out_revokes_every_token_of_the_citizen(client, sign_in):
    first = sign_in()
    second = sign_in()  # another phone of the same citizen
    assert client.post("/api/v1/auth/logout", headers=bearer(first["access_token"])
                       ).status_code == 204
    for pair in (first, second):
        me = client.get("/api/v1/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 401
        assert me.json["code"] == "token_revoked"
        refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refresh.status_code == 401
        assert refresh.json["code"] == "token_revoked"
    assert client.get("/api/v1/me", headers=bearer(sign_in()["access_token"])).status_code == 200


def test_signing_out_needs_a_token(client):
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"


def test_a_citizen_sets_their_name_and_it_is_stored_in_nfc(client, sign_in, db_session):
    token = sign_in()["access_token"]
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị Lan ")
    response = client.patch("/api/v1/me", json={"full_name": decomposed}, headers=bearer(token))
    assert response.status_code == 200
    assert response.json["full_name"] == "Nguyễn Thị Lan"
    stored = db_session.execute(select(User.full_name).where(User.phone == PHONE)).scalar_one()
    assert stored == unicodedata.normalize("NFC", "Nguyễn Thị Lan")
    cleared = client.patch("/api/v1/me", json={"full_name": None}, headers=bearer(token))
    assert cleared.json["full_name"] is None


@pytest.mark.parametrize("body", [{"full_name": "   "}, {"full_name": "x" * 201},
                                  {"full_name": "Lan\x00"}, {"phone": "+84987654321"}, {}])
def test_a_profile_change_that_is_not_a_name_gets_422(client, sign_in, body):
    response = client.patch("/api/v1/me", json=body, headers=bearer(sign_in()["access_token"]))
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"


def test_the_citizen_profile_is_for_citizens_only(client, auth_header):
    response = client.get("/api/v1/me", headers=auth_header("moderator"))
    assert response.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


def test_the_openapi_document_describes_citizen_sign_in(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/auth/otp", "/api/v1/auth/otp/verify", "/api/v1/auth/refresh",
            "/api/v1/auth/logout", "/api/v1/me"} <= set(paths)
    assert "429" in paths["/api/v1/auth/otp"]["post"]["responses"]
    assert "Send a sign-in code" in paths["/api/v1/auth/otp"]["post"]["summary"]


def test_verifying_creates_exactly_one_citizen(client, sign_in, db_session):
    sign_in()
    sign_in()
    users = db_session.execute(select(User).where(User.phone == PHONE)).scalars().all()
    assert [(user.role, user.phone) for user in users] == [(Role.CITIZEN, PHONE)]


def test_a_rate_limit_that_cannot_be_read_stops_the_app_from_starting():
    # Flask-Limiter would skip such a limit with a log line, leaving codes unlimited.
    bare = flask.Flask("bare")
    bare.config.update({key: "3 per minute" for key in citizen_auth.LIMIT_KEYS})
    bare.config["OTP_SEND_LIMIT_PER_PHONE"] = "lots"
    with pytest.raises(ConfigError, match="OTP_SEND_LIMIT_PER_PHONE"):
        bare.register_blueprint(citizen_auth.blp)
