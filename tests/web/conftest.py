"""Fixtures for the web view: a test client that signs staff in through the form and
sends the CSRF token with every form, as a browser does."""
import re

import pytest
from flask import g, has_app_context

from feedback.services.demo import DEMO_USERS

PASSWORDS = {user.username: user.password for user in DEMO_USERS}
_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Staff:
    """One person's browser: their own cookies, the CSRF token of their session."""

    def __init__(self, app):
        self.client = app.test_client()
        self.token = None

    def _remember_token(self, response):
        if response.mimetype == "text/html":
            found = _TOKEN.search(response.get_data(as_text=True))
            if found:
                self.token = found.group(1)
        return response

    @staticmethod
    def _fresh_request():
        # The test's app context outlives each request, and Flask-WTF caches the token
        # in its `g`: forget it, as a new request in production would.
        if has_app_context():
            g.pop("csrf_token", None)

    def get(self, url, **kwargs):
        self._fresh_request()
        return self._remember_token(self.client.get(url, **kwargs))

    def post(self, url, data=None, *, token=True, **kwargs):
        data = dict(data or {})
        if token:
            if self.token is None:
                self.get("/staff/login")
            data.setdefault("csrf_token", self.token)
        self._fresh_request()
        return self._remember_token(self.client.post(url, data=data, **kwargs))

    def login(self, username, password=None):
        self.get("/staff/login")
        response = self.post("/staff/login", {"username": username,
                                              "password": password or PASSWORDS[username]})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.get(response.location)  # the signed-in session's CSRF token
        return response

    def text(self, url) -> str:
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


@pytest.fixture
def staff_client(app, db_session, redis):
    """staff_client("moderator") → a Staff client signed in as that demo user."""

    def make(username: str | None = None) -> Staff:
        staff = Staff(app)
        if username:
            staff.login(username)
        return staff

    return make
