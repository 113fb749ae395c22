"""Citizen sign-in by phone: a six-digit code sent by SMS, checked once.

Signing up and signing in are one flow: the first code verified for a number
creates the citizen's account. Only an HMAC of each code is stored.
"""
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedback.models import OtpChallenge, Role, User
from feedback.services.auth import create_user
from feedback.services.sms import SmsDeliveryFailed, SmsGateway, otp_message

CODE_DIGITS = 6
DEFAULT_TTL_SECONDS = 300
DEFAULT_MAX_ATTEMPTS = 5

_SEPARATORS = re.compile(r"[\s.\-]+")
# After +84: nine digits, the first 3, 5, 7, 8 or 9 (the mobile ranges since the 2018 renumbering).
_MOBILE = re.compile(r"[35789][0-9]{8}")


class OtpError(Exception):
    """A sign-in by code that cannot go on; `code` is the API's machine code."""

    code = "otp_error"
    message = "The code cannot be used."

    def __init__(self, message: str | None = None, **details):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


class InvalidPhone(OtpError):
    code, message = "invalid_phone", "This is not a Vietnamese mobile number."


class CodeInvalid(OtpError):
    code, message = "code_invalid", "The code is not right."


class CodeExpired(OtpError):
    code, message = "code_expired", "The code has expired; ask for a new one."


class TooManyAttempts(OtpError):
    code, message = "too_many_attempts", "Too many wrong codes; ask for a new one."


class AccountDisabled(OtpError):
    code, message = "account_disabled", "This account is closed or suspended."


class StaffAccount(OtpError):
    code, message = ("staff_account",
                     "This number belongs to a staff account; staff sign in with a password.")


def normalise_phone(raw: str) -> str:
    """A Vietnamese mobile number in E.164 (`+84912345678`), or InvalidPhone.

    Accepts `0912 345 678`, `0912.345.678`, `+84 912-345-678`, `84912345678` and
    the common `+84 (0)912…` slip written as `+840912345678`.
    """
    if not isinstance(raw, str):
        raise InvalidPhone()
    digits = _SEPARATORS.sub("", raw.strip())
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0") and len(digits) == 10:
        national = digits[1:]
    else:
        raise InvalidPhone()
    if len(national) == 10 and national.startswith("0"):
        national = national[1:]
    if not _MOBILE.fullmatch(national):
        raise InvalidPhone()
    return "+84" + national


def hash_code(code: str, phone: str, *, secret: str, salt: str | None = None) -> str:
    """`hmac-sha256$<salt>$<hex>`, keyed by the app's secret: a copy of the database
    alone does not give the codes away, and comparing is cheap (codes are short-lived)."""
    salt = salt or secrets.token_hex(8)
    digest = hmac.new(secret.encode(), f"{salt}\x00{phone}\x00{code}".encode(),
                      hashlib.sha256).hexdigest()
    return f"hmac-sha256${salt}${digest}"


def code_matches(challenge: OtpChallenge, code: str, *, secret: str) -> bool:
    scheme, _, rest = challenge.code_hash.partition("$")
    salt, _, _ = rest.partition("$")
    if scheme != "hmac-sha256" or not salt:
        return False
    candidate = hash_code(code, challenge.phone, secret=secret, salt=salt)
    return hmac.compare_digest(candidate.encode(), challenge.code_hash.encode())


@dataclass(frozen=True)
class StartedChallenge:
    phone: str
    expires_at: datetime


def start_challenge(session: Session, phone: str, client_address: str | None, now: datetime,
                    gateway: SmsGateway, *, secret: str,
                    ttl_seconds: int = DEFAULT_TTL_SECONDS) -> StartedChallenge:
    """Send a new code to `phone`; earlier codes for the number stop counting.

    Commits twice, on purpose: the challenge is saved before the code leaves (the
    SMS is a side effect after commit), and when the gateway fails the challenge is
    closed and that saved too, so no code that the citizen was told did not go out
    can sign anyone in. Then SmsDeliveryFailed propagates.
    Answers the same whether or not the number has an account.
    """
    phone = normalise_phone(phone)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    expires_at = now + timedelta(seconds=ttl_seconds)
    # Only the latest code counts: close the earlier ones still open.
    session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.phone == phone, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    challenge = OtpChallenge(phone=phone, code_hash=hash_code(code, phone, secret=secret),
                             client_address=(client_address or "")[:64] or None,
                             attempts=0, created_at=now, expires_at=expires_at)
    session.add(challenge)
    session.commit()
    challenge_id = challenge.id
    try:
        gateway.send(phone, otp_message(code, ttl_seconds))
    except SmsDeliveryFailed:
        session.execute(update(OtpChallenge).where(OtpChallenge.id == challenge_id)
                        .values(consumed_at=now))
        session.commit()
        raise
    return StartedChallenge(phone=phone, expires_at=expires_at)


def verify_challenge(session: Session, phone: str, code: str, now: datetime, *, secret: str,
                     max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> User:
    """The citizen whose number this is, created on the first good code.

    Only the latest open challenge of the number counts. A wrong code is counted
    and committed before CodeInvalid is raised, so failing requests cannot guess
    for free. The caller commits on success (the challenge is then consumed).
    """
    phone = normalise_phone(phone)
    # Locked, so two requests at once cannot both spend the last attempt or the code.
    challenge = session.execute(
        select(OtpChallenge)
        .where(OtpChallenge.phone == phone, OtpChallenge.consumed_at.is_(None))
        .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if challenge is None:
        raise CodeInvalid()
    if challenge.expires_at <= now:
        raise CodeExpired()
    if challenge.attempts >= max_attempts:
        raise TooManyAttempts()
    if not (isinstance(code, str) and code.isascii() and code.isdigit()
            and code_matches(challenge, code, secret=secret)):
        challenge.attempts += 1
        attempts_left = max(max_attempts - challenge.attempts, 0)
        session.commit()
        raise CodeInvalid(attempts_left=attempts_left)
    challenge.consumed_at = now

    user = session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is None:
        user = create_user(session, role=Role.CITIZEN, phone=phone)
    elif user.role != Role.CITIZEN:
        session.commit()
        raise StaffAccount()
    elif not user.active or user.deleted_at is not None:
        session.commit()
        raise AccountDisabled()
    user.last_login_at = now
    session.flush()
    return user
