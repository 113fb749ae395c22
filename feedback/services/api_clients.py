"""API keys for outside systems (Open311 clients): issued by an admin, revocable.

A key is 43 random URL-safe characters behind the `pa_` mark, shown once when it is
made. Only its SHA-256 is kept: the key carries 256 random bits, so a fast hash is
enough (a slow one like argon2 protects guessable passwords, not random keys), and
it lets the key be found by its hash in one indexed lookup. The first 12 characters
(`key_prefix`) tell keys apart in lists and in `revoke`.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import ApiClient, User
from feedback.services.text import nfc

KEY_MARK = "pa_"
PREFIX_LENGTH = 12
NAME_MAX = 200


class ApiClientError(ValueError):
    """Not possible as asked; `field` names what is wrong."""

    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class IssuedKey:
    client: ApiClient
    key: str  # shown once, never stored


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_key(session: Session, *, name: str, now: datetime, created_by: User | None = None,
              contact_email: str | None = None) -> IssuedKey:
    """A new client and its key. The caller commits and shows the key once."""
    name = " ".join(nfc(name or "").split())
    if not name:
        raise ApiClientError("Name the client (the system or organisation using the key).")
    if len(name) > NAME_MAX:
        raise ApiClientError(f"At most {NAME_MAX} characters.")
    contact_email = (contact_email or "").strip() or None
    if contact_email and ("@" not in contact_email or len(contact_email) > 200):
        raise ApiClientError("Not an e-mail address.", field="contact_email")
    key = KEY_MARK + secrets.token_urlsafe(32)
    client = ApiClient(name=name, contact_email=contact_email, key_prefix=key[:PREFIX_LENGTH],
                       key_hash=hash_key(key), created_at=now,
                       created_by_id=created_by.id if created_by else None)
    session.add(client)
    session.flush()
    return IssuedKey(client=client, key=key)


def authenticate(session: Session, key: str | None) -> ApiClient | None:
    """The client whose key this is, unless revoked; None for anything else."""
    if not key or not key.startswith(KEY_MARK) or len(key) > 200:
        return None
    return session.execute(
        select(ApiClient).where(ApiClient.key_hash == hash_key(key),
                                ApiClient.revoked_at.is_(None))
    ).scalar_one_or_none()


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.execute(
        select(ApiClient).order_by(ApiClient.created_at.desc(), ApiClient.id.desc())
    ).scalars())


def revoke(session: Session, client: ApiClient, *, now: datetime) -> ApiClient:
    """Revoking twice keeps the first time."""
    if client.revoked_at is None:
        client.revoked_at = now
    return client


def find_by_prefix(session: Session, prefix: str) -> ApiClient:
    """The one client whose key starts with `prefix` (at least 6 characters)."""
    prefix = (prefix or "").strip()
    if len(prefix) < 6:
        raise ApiClientError("Give at least the first 6 characters of the key.", "prefix")
    if len(prefix) > PREFIX_LENGTH:
        prefix = prefix[:PREFIX_LENGTH]
    clients = session.execute(
        select(ApiClient).where(ApiClient.key_prefix.startswith(prefix, autoescape=True))
    ).scalars().all()
    if not clients:
        raise ApiClientError(f"No key starts with {prefix}.", "prefix")
    if len(clients) > 1:
        raise ApiClientError(f"{len(clients)} keys start with {prefix}: give more characters.",
                             "prefix")
    return clients[0]
