import pytest

from feedback.models import Role
from feedback.services.auth import create_user, hash_password, verify_password


def test_a_password_verifies_against_its_own_hash_only():
    hashed = hash_password("correct horse battery")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse battery!")
    assert not verify_password(None, "correct horse battery")
    assert not verify_password("not-a-hash", "correct horse battery")


def test_a_short_password_is_refused():
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")


def test_an_officer_without_a_department_is_refused(db_session):
    with pytest.raises(ValueError, match="department"):
        create_user(db_session, role=Role.OFFICER, username="lonely", password="password123")


def test_staff_without_a_username_are_refused(db_session):
    with pytest.raises(ValueError, match="username"):
        create_user(db_session, role=Role.MODERATOR, password="password123")
