from datetime import datetime, timedelta, timezone

import jwt
import pytest
from sqlalchemy import select

from feedback.models import Role, User
from feedback.services.auth import issue_token
from feedback.services.demo import DEMO_USERS


@pytest.mark.embedded
@pytest.mark.parametrize("demo", DEMO_USERS, ids=lambda demo: demo.username)
def test_every_demo_staff_member_signs_in_and_the_token_says_who_they_are(client, demo):
    response = client.post("/api/v1/auth/login",
                           json={"username": demo.username, "password": demo.password})
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["user"]["role"] == demo.role
    me = client.get("/api/v1/auth/me",
                    headers={"Authorization": f"Bearer {response.json['access_token']}"})
    assert me.status_code == 200
    assert me.json["username"] == demo.username
    assert me.json["department_code"] == demo.department_code


def test_a_username_is_matched_without_regard_to_case(client):
    response = client.post("/api/v1/auth/login",
                           json={"username": "Moderator", "password": "moderator-demo-2026"})
    assert response.status_code == 200


@pytest.mark.embedded
@pytest.mark.parametrize("username,password", [
    ("moderator", "wrong password"),
    ("nobody", "moderator-demo-2026"),
])
def test_wrong_credentials_get_401_in_the_json_error_shape(client, username, password):
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json == {"code": "invalid_credentials",
                             "message": "Wrong username or password.", "details": {}}


def test_a_deactivated_staff_member_cannot_sign_in(client, db_session):
    user = db_session.execute(select(User).where(User.username == "officer")).scalar_one()
    user.active = False
    db_session.flush()
    response = client.post("/api/v1/auth/login",
                           json={"username": "officer", "password": "officer-demo-2026"})
    assert response.status_code == 401


def test_a_login_without_a_password_names_the_missing_field(client):
    response = client.post("/api/v1/auth/login", json={"username": "officer"})
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert "password" in response.json["details"]


def test_a_request_without_a_token_gets_401(client):
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def _token(app, user, *, now, lifetime=timedelta(hours=1), secret=None):
    return issue_token(user, secret=secret or app.config["SECRET_KEY"], now=now,
                       lifetime=lifetime).token


def _user(db_session, username):
    return db_session.execute(select(User).where(User.username == username)).scalar_one()


def test_an_expired_token_gets_401_token_expired(app, client, db_session):
    issued_yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    token = _token(app, _user(db_session, "officer"), now=issued_yesterday)
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["code"] == "token_expired"


def test_a_token_signed_with_another_key_gets_401_invalid_token(app, client, db_session):
    token = _token(app, _user(db_session, "admin"), now=datetime.now(timezone.utc),
                   secret="someone-elses-key-" + "x" * 32)
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["code"] == "invalid_token"


def test_a_token_whose_role_claim_was_edited_is_refused(app, client, db_session):
    token = _token(app, _user(db_session, "officer"), now=datetime.now(timezone.utc))
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "admin"}, "guess-" + "y" * 32, algorithm="HS256")
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_garbage_in_the_authorization_header_gets_401(client):
    for header in ("Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"):
        response = client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_bumping_the_token_version_revokes_tokens_issued_before(app, client, db_session):
    user = _user(db_session, "supervisor")
    token = _token(app, user, now=datetime.now(timezone.utc))
    user.token_version += 1
    db_session.flush()
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["code"] == "token_revoked"


def test_passwords_are_stored_as_argon2_hashes(db_session):
    user = _user(db_session, "admin")
    assert user.password_hash.startswith("$argon2id$")
    assert "admin-demo-2026" not in user.password_hash


def test_a_citizen_cannot_sign_in_with_a_staff_password_form(client, db_session):
    citizen = db_session.execute(select(User).where(User.role == Role.CITIZEN)).scalars().first()
    response = client.post("/api/v1/auth/login",
                           json={"username": citizen.phone, "password": "anything-at-all"})
    assert response.status_code == 401


def test_password_guessing_is_limited_per_account_and_address(app, client, redis):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        responses = [client.post("/api/v1/auth/login",
                                 json={"username": "Admin", "password": f"guess {n}"})
                     for n in range(4)]
        other_account = client.post("/api/v1/auth/login",
                                    json={"username": "officer", "password": "guess"})
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    assert [response.status_code for response in responses] == [401, 401, 401, 429]
    assert responses[-1].json["code"] == "rate_limited"
    assert other_account.status_code == 401
