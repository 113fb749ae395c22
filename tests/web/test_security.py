"""Sign-in, CSRF, role and department checks, escaping, cookies and security headers."""
from datetime import timedelta

from sqlalchemy import select

from feedback.models import IdentityView, User
from tests import factories


def test_pages_ask_for_a_sign_in_first(staff_client):
    response = staff_client().get("/staff/moderation/")
    assert response.status_code == 302
    assert response.location.startswith("/staff/login?next=/staff/moderation/")


def test_a_wrong_password_is_refused_and_says_so(staff_client):
    person = staff_client()
    person.get("/staff/login")
    response = person.post("/staff/login", {"username": "moderator", "password": "wrong-password"})
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)


def test_the_web_and_the_api_sign_in_share_one_budget_per_account_and_address(
        app, staff_client, client):
    app.config["LOGIN_RATE_LIMIT"] = "4 per minute"
    try:
        api = [client.post("/api/v1/auth/login",
                           json={"username": "Officer", "password": f"guess {n}"})
               for n in range(2)]
        browser = staff_client()
        browser.get("/staff/login")
        web = [browser.post("/staff/login", {"username": " officer", "password": f"guess {n}"})
               for n in range(3)]
        api_again = client.post("/api/v1/auth/login",
                                json={"username": "officer", "password": "guess"})
        other_account = browser.post("/staff/login", {"username": "moderator",
                                                      "password": "guess"})
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    assert [response.status_code for response in api] == [401, 401]
    assert [response.status_code for response in web] == [401, 401, 429]
    assert web[-1].mimetype == "text/html"
    assert "Quá nhiều lần thử" in web[-1].get_data(as_text=True)
    assert api_again.status_code == 429 and api_again.json["code"] == "rate_limited"
    assert other_account.status_code == 401


def test_sign_in_goes_to_the_roles_start_page_and_never_elsewhere(staff_client):
    for username, start in (("moderator", "/staff/moderation/"), ("officer", "/staff/department/"),
                            ("supervisor", "/staff/supervision/dashboard")):
        person = staff_client()
        person.get("/staff/login")
        response = person.post("/staff/login", {"username": username,
                                                "password": factories_password(username),
                                                "next": "https://evil.example/steal"})
        assert response.status_code == 302 and response.location == start


def factories_password(username):
    from tests.web.conftest import PASSWORDS
    return PASSWORDS[username]


def test_the_session_cookie_is_http_only_and_same_site(staff_client):
    person = staff_client()
    person.get("/staff/login")
    response = person.post("/staff/login", {"username": "officer",
                                            "password": factories_password("officer")})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_makes_the_session_cookie_secure():
    from config import load_config

    config = load_config("/tmp", {"FEEDBACK_ENV": "production", "SECRET_KEY": "x" * 40,
                                  "REDIS_URL": "redis://localhost"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True


def test_every_form_needs_its_csrf_token(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    response = moderator.post(f"/staff/moderation/reports/{report.tracking_code}/approve",
                              {"version": report.version}, token=False)
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    response = moderator.post(f"/staff/moderation/reports/{report.tracking_code}/approve",
                              {"version": report.version, "csrf_token": "forged"})
    assert response.status_code == 400
    assert report.moderated_at is None


def test_the_json_api_keeps_working_without_csrf_tokens(client, auth_header, db_session, now):
    report = factories.report(db_session, now=now)
    response = client.post(f"/api/v1/reports/{report.tracking_code}/approve",
                           headers=auth_header("moderator"))
    assert response.status_code == 200, response.json


def test_signing_out_ends_the_session(staff_client):
    officer = staff_client("officer")
    response = officer.post("/staff/logout")
    assert response.status_code == 302
    assert officer.get("/staff/department/").status_code == 302


def test_signing_out_ends_the_session_for_good_even_for_a_copy_of_its_cookie(
        staff_client, client, auth_header):
    officer = staff_client("officer")
    copy = staff_client()
    copy.client.set_cookie("session", officer.client.get_cookie("session").value)
    assert copy.get("/staff/department/").status_code == 200
    token = auth_header("officer")
    officer.post("/staff/logout")
    assert copy.get("/staff/department/").status_code == 302
    # As the API's sign-out does: every other session and token of the officer ends too.
    assert client.get("/api/v1/auth/me", headers=token).status_code == 401


def test_a_sign_in_lasts_web_session_hours_from_signing_in_however_busy(
        app, staff_client, monkeypatch, now):
    from feedback.web import auth

    officer = staff_client("officer")
    hours = app.config["WEB_SESSION_HOURS"]
    monkeypatch.setattr(auth, "now", lambda: now + timedelta(hours=hours, minutes=-5))
    assert officer.get("/staff/department/").status_code == 200
    monkeypatch.setattr(auth, "now", lambda: now + timedelta(hours=hours, minutes=1))
    response = officer.get("/staff/department/")
    assert response.status_code == 302 and response.location.startswith("/staff/login")


def test_a_password_reset_ends_web_sessions_too(staff_client, db_session):
    officer = staff_client("officer")
    user = db_session.execute(select(User).where(User.username == "officer")).scalar_one()
    user.token_version += 1
    db_session.flush()
    assert officer.get("/staff/department/").status_code == 302


def test_roles_see_only_their_pages(staff_client):
    officer = staff_client("officer")
    for url in ("/staff/moderation/", "/staff/supervision/dashboard", "/staff/admin/",
                "/staff/supervision/extensions"):
        assert officer.get(url).status_code == 403, url
    moderator = staff_client("moderator")
    for url in ("/staff/department/", "/staff/supervision/dashboard", "/staff/admin/users"):
        assert moderator.get(url).status_code == 403, url
    supervisor = staff_client("supervisor")
    for url in ("/staff/moderation/", "/staff/admin/", "/staff/department/"):
        assert supervisor.get(url).status_code == 403, url


def test_an_officer_cannot_open_nor_act_on_another_departments_report(staff_client, db_session,
                                                                     now):
    theirs = factories.routed_report(db_session, now=now, category="trat-tu-do-thi")
    assert theirs.lead_department.code == "ct-ubnd-31135"
    officer = staff_client("officer")  # Sở Xây dựng
    response = officer.get(f"/staff/reports/{theirs.tracking_code}")
    assert response.status_code == 403
    response = officer.post(f"/staff/department/reports/{theirs.tracking_code}/acknowledge",
                            {"version": theirs.version})
    assert response.status_code == 302
    db_session.refresh(theirs)
    assert theirs.status == "assigned"
    assert theirs.tracking_code not in officer.text("/staff/department/")


def test_a_moderator_cannot_decide_an_extension(staff_client, db_session, now):
    from feedback.services import deadlines, workflow

    report = factories.acknowledged_report(db_session, now=now)
    extension = workflow.request_extension(
        db_session, report, actor=factories.staff(db_session, "officer"), now=now,
        reason="Chờ vật tư.", new_due_at=deadlines.latest_extension_due(
            report, calendar=deadlines.calendar_for(db_session)))
    db_session.flush()
    moderator = staff_client("moderator")
    moderator.get("/staff/moderation/")
    response = moderator.post(f"/staff/supervision/extensions/{extension.id}/decision",
                              {"approve": "true"})
    assert response.status_code == 403
    assert extension.state == "pending"


def test_citizens_text_is_shown_as_text(staff_client, db_session, now):
    report = factories.report(db_session, now=now,
                              description='<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = staff_client("moderator").text(f"/staff/reports/{report.tracking_code}")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_pages_carry_security_headers(staff_client):
    response = staff_client().get("/staff/login")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_staff_photos_are_not_kept_by_the_browser_either(app, staff_client, db_session, now):
    # A photo hidden after someone looked at it must not stay in that browser's cache.
    from feedback.services.intake import photo_storage

    report = factories.routed_report(db_session, now=now)
    photo = factories.ready_photo(db_session, report)
    photo_storage(app).put(photo.thumbnail_key, b"\xff\xd8 a thumbnail", "image/jpeg")
    officer = staff_client("officer")
    response = officer.get(f"/staff/reports/photos/{photo.id}/{photo.thumbnail_key}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_the_api_docs_keep_their_own_page_rules(client):
    response = client.get("/api/v1/docs")
    assert "Content-Security-Policy" not in response.headers


def test_officers_do_not_see_who_sent_an_anonymous_report_and_views_are_logged(
        staff_client, db_session, now):
    sender = factories.citizen(db_session, name="Trần Văn Kín")
    report = factories.routed_report(db_session, now=now, sender=sender, anonymous=True)
    assert "Trần Văn Kín" not in staff_client("officer").text(f"/staff/reports/{report.tracking_code}")
    assert "Trần Văn Kín" in staff_client("moderator").text(f"/staff/reports/{report.tracking_code}")
    views = db_session.execute(select(IdentityView).where(
        IdentityView.report_id == report.id)).scalars().all()
    assert [view.context for view in views] == ["web:report"]
