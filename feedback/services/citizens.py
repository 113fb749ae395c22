"""Citizen accounts after sign-in: the app's token pair, refreshing it, signing out
everywhere, and the citizen's own profile."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from feedback.models import Role, User
from feedback.services.auth import IssuedToken, issue_token, user_for_token
from feedback.services.text import nfc

FULL_NAME_MAX = 200


@dataclass(frozen=True)
class TokenLifetimes:
    citizen_access: timedelta
    staff_access: timedelta
    refresh: timedelta

    @classmethod
    def from_config(cls, config) -> "TokenLifetimes":
        return cls(citizen_access=timedelta(minutes=config["CITIZEN_ACCESS_TOKEN_MINUTES"]),
                   staff_access=timedelta(minutes=config["ACCESS_TOKEN_MINUTES"]),
                   refresh=timedelta(days=config["REFRESH_TOKEN_DAYS"]))


@dataclass(frozen=True)
class TokenPair:
    user: User
    access: IssuedToken
    refresh: IssuedToken


def issue_token_pair(user: User, *, secret: str, now: datetime,
                     lifetimes: TokenLifetimes) -> TokenPair:
    """A short access token for API calls and a long refresh token to get the next one."""
    access_lifetime = (lifetimes.citizen_access if user.role == Role.CITIZEN
                       else lifetimes.staff_access)
    return TokenPair(
        user=user,
        access=issue_token(user, secret=secret, now=now, lifetime=access_lifetime),
        refresh=issue_token(user, secret=secret, now=now, lifetime=lifetimes.refresh,
                            kind="refresh"),
    )


def refresh_token_pair(session: Session, refresh_token: str, *, secret: str, now: datetime,
                       lifetimes: TokenLifetimes) -> TokenPair:
    """A new pair for a valid refresh token (InvalidToken otherwise).

    The refresh token is replaced too, so an app that keeps refreshing stays signed
    in; signing out (a new token_version) ends every pair at once.
    """
    user = user_for_token(session, refresh_token, secret=secret, now=now, kind="refresh")
    return issue_token_pair(user, secret=secret, now=now, lifetimes=lifetimes)


def clean_full_name(value: str | None) -> str | None:
    """NFC, single spaces, no control characters; blank → ValueError; None clears it."""
    if value is None:
        return None
    name = " ".join(nfc(value).split())
    if not name:
        raise ValueError("A name cannot be blank; send null to remove it.")
    if len(name) > FULL_NAME_MAX:
        raise ValueError(f"At most {FULL_NAME_MAX} characters.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError("Control characters are not allowed.")
    return name


def update_profile(user: User, *, full_name: str | None) -> User:
    user.full_name = clean_full_name(full_name)
    return user
