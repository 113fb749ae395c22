"""Bearer-token sign-in for API views, and the role check every endpoint uses."""
import functools
from datetime import datetime, timezone

from flask import current_app, request

from feedback.api.errors import Forbidden, Unauthorized
from feedback.extensions import db
from feedback.models import Role, User
from feedback.services.auth import InvalidToken, user_for_token

BEARER_AUTH = [{"bearerAuth": []}]
_USER_KEY = "feedback.authenticated_user"

SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "From POST /api/v1/auth/login (staff) or POST /api/v1/auth/otp/verify "
                   "(citizens).",
}

_TOKEN_ERRORS = {
    "expired": ("token_expired", "Your sign-in has expired; sign in again."),
    "revoked": ("token_revoked", "This sign-in is no longer valid; sign in again."),
    "invalid": ("invalid_token", "The bearer token is not valid."),
}


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Sign in first: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def authenticated_user() -> User:
    """The user the request's bearer token names; 401 when there is none."""
    # Cached on the request itself: an app context (and its `g`) may outlive one request.
    if _USER_KEY not in request.environ:
        try:
            request.environ[_USER_KEY] = user_for_token(
                db.session,
                _bearer_token(),
                secret=current_app.config["SECRET_KEY"],
                now=datetime.now(timezone.utc),
            )
        except InvalidToken as exc:
            code, message = _TOKEN_ERRORS[exc.reason]
            raise Unauthorized(message, code=code,
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
    return request.environ[_USER_KEY]


def require_roles(*roles: Role):
    """Only these roles may call the view: 401 without sign-in, 403 for another role."""
    allowed = frozenset(roles)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = authenticated_user()
            if user.role not in allowed:
                raise Forbidden(
                    f"Your role ({user.role}) may not do this.",
                    details={"allowed_roles": sorted(str(role) for role in allowed)},
                )
            return view(*args, **kwargs)

        return wrapper

    return decorator
