"""Passwords, sign-in and bearer tokens for staff (and, later, citizens).

Tokens are JWTs signed with the app's secret. Each carries the user's
`token_version`; bumping it in the database revokes every token issued before.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import STAFF_ROLES, Role, User

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as much
# time as a wrong password and does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not a real password")

ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 8


class InvalidCredentials(Exception):
    pass


class InvalidToken(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate_staff(session: Session, username: str, password: str, now: datetime) -> User:
    user = session.execute(
        select(User).where(User.username == username.strip().lower())
    ).scalar_one_or_none()
    password_hash = user.password_hash if user is not None else None
    if not verify_password(password_hash, password):
        raise InvalidCredentials()
    if not user.active or user.role not in STAFF_ROLES or user.deleted_at is not None:
        raise InvalidCredentials()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def issue_token(user: User, *, secret: str, now: datetime, lifetime: timedelta,
                kind: str = "access") -> IssuedToken:
    expires_at = now + lifetime
    claims = {
        "sub": str(user.id),
        "role": str(user.role),
        "ver": user.token_version,
        "typ": kind,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    if user.department_id is not None:
        claims["dep"] = user.department_id
    return IssuedToken(jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at)


def user_for_token(session: Session, token: str, *, secret: str, now: datetime,
                   kind: str = "access") -> User:
    """The active user a token names, or InvalidToken saying why not."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat", "typ", "ver"], "verify_exp": False},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("invalid") from exc
    # Expiry is judged against the caller's clock, so tests and jobs can pass `now`.
    if claims["exp"] <= now.timestamp():
        raise InvalidToken("expired")
    if claims["typ"] != kind:
        raise InvalidToken("invalid")
    try:
        user_id = int(claims["sub"])
    except ValueError as exc:
        raise InvalidToken("invalid") from exc
    user = session.get(User, user_id)
    if (user is None or not user.active or user.deleted_at is not None
            or user.token_version != claims["ver"]):
        raise InvalidToken("revoked")
    return user


def create_user(session: Session, *, role: Role, username: str | None = None,
                password: str | None = None, phone: str | None = None,
                full_name: str | None = None, department=None) -> User:
    """A new user; an officer needs a department, staff need a username."""
    if role == Role.OFFICER and department is None:
        raise ValueError("an officer belongs to a department: give one")
    if role == Role.CITIZEN and department is not None:
        raise ValueError("a citizen belongs to no department")
    if role in STAFF_ROLES and not username:
        raise ValueError("staff sign in with a username: give one")
    user = User(
        role=role,
        username=username.strip().lower() if username else None,
        phone=phone,
        full_name=full_name,
        department=department,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    return user


def sign_out_everywhere(user: User) -> None:
    """Every token issued to the user so far stops working, and every web session: both
    carry the `token_version` this bumps."""
    user.token_version = (user.token_version or 0) + 1
