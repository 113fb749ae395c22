"""Staff sign-in: username and password for a bearer token."""
from datetime import datetime, timedelta, timezone

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from feedback.api.errors import Unauthorized
from feedback.api.security import BEARER_AUTH, authenticated_user
from feedback.extensions import client_address, db, limiter
from feedback.schemas.auth import LoginSchema, StaffUserSchema, TokenSchema
from feedback.services.auth import InvalidCredentials, authenticate_staff, issue_token

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in")


# The web view's sign-in form and this endpoint draw on one budget: a limit shared under
# one scope, so the key is the same whichever way the guess comes in.
LOGIN_LIMIT_SCOPE = "staff-login"
LOGIN_LIMIT_MESSAGE = "Too many sign-in attempts; wait a minute and try again."


def login_key(username) -> str:
    """Guesses at one account from one address are limited; the name is folded so
    'Admin' and ' admin' count together."""
    return f"login:{client_address()}:{str(username or '').strip().lower()[:80]}"


def login_limit(username_from):
    """The sign-in limit (`LOGIN_RATE_LIMIT`), for a view whose request carries the
    username where `username_from()` finds it. Every attempt counts, right or wrong."""
    return limiter.shared_limit(lambda: current_app.config["LOGIN_RATE_LIMIT"],
                                scope=LOGIN_LIMIT_SCOPE, methods=["POST"],
                                key_func=lambda: login_key(username_from()),
                                error_message=LOGIN_LIMIT_MESSAGE)


def _json_username():
    body = request.get_json(silent=True)
    return body.get("username") if isinstance(body, dict) else None


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="Wrong username or password")
    @blp.alt_response(429, description="Too many attempts for this account from this address")
    @login_limit(_json_username)
    def post(self, credentials):
        """Sign a staff member in (officer, moderator, supervisor, admin).

        Answers a bearer token to send as `Authorization: Bearer <token>`.
        """
        now = datetime.now(timezone.utc)
        try:
            user = authenticate_staff(db.session, credentials["username"],
                                      credentials["password"], now)
        except InvalidCredentials:
            raise Unauthorized("Wrong username or password.", code="invalid_credentials") from None
        issued = issue_token(
            user,
            secret=current_app.config["SECRET_KEY"],
            now=now,
            lifetime=timedelta(minutes=current_app.config["ACCESS_TOKEN_MINUTES"]),
        )
        db.session.commit()
        return {"access_token": issued.token, "token_type": "Bearer",
                "expires_at": issued.expires_at, "user": user}


@blp.route("/me")
class Me(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @blp.response(200, StaffUserSchema)
    @blp.alt_response(401, description="No valid bearer token")
    def get(self):
        """Who the bearer token belongs to."""
        return authenticated_user()
