import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from feedback.models import OtpChallenge, Role, User
from feedback.services.demo import DEMO_CITIZEN_PHONE
from feedback.services.otp import (
    AccountDisabled,
    CodeExpired,
    CodeInvalid,
    InvalidPhone,
    StaffAccount,
    TooManyAttempts,
    normalise_phone,
    start_challenge,
    verify_challenge,
)
from feedback.services.sms import HttpSmsGateway, SmsDeliveryFailed
from tests.sms_gateway_server import running_gateway

SECRET = "otp-test-secret-" + "k" * 32
PHONE = "+84912345678"


class RecordingGateway:
    """An SMS operator that keeps what it was asked to send (the outside world, not ours)."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> None:
        self.sent.append((to, text))

    def last_code(self) -> str:
        return re.search(r"\b(\d{6})\b", self.sent[-1][1]).group(1)


@pytest.fixture
def gateway():
    return RecordingGateway()


@pytest.fixture
def send_code(db_session, gateway, now):
    """send_code(phone, at=now) → the code the citizen received."""

    def send_code(phone=PHONE, at=None, ttl_seconds=300):
        start_challenge(db_session, phone, "203.0.113.7", at or now, gateway, secret=SECRET,
                        ttl_seconds=ttl_seconds)
        return gateway.last_code()

    return send_code


def verify(db_session, code, at, phone=PHONE, **kwargs):
    return verify_challenge(db_session, phone, code, at, secret=SECRET, **kwargs)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize("written,e164", [
    ("0912345678", "+84912345678"),
    ("+84912345678", "+84912345678"),
    ("84912345678", "+84912345678"),
    ("0912 345 678", "+84912345678"),
    ("0912.345.678", "+84912345678"),
    ("0912-345-678", "+84912345678"),
    (" +84 912 345 678 ", "+84912345678"),
    ("+84 0912 345 678", "+84912345678"),  # the trunk 0 kept after +84
    ("0387654321", "+84387654321"),  # Viettel 03x
    ("0567654321", "+84567654321"),  # Vietnamobile 05x
    ("0707654321", "+84707654321"),  # MobiFone 07x
    ("0887654321", "+84887654321"),  # VinaPhone 08x
    ("0987654321", "+84987654321"),
])
def test_vietnamese_mobile_numbers_are_normalised_to_e164(written, e164):
    assert normalise_phone(written) == e164


@pytest.mark.parametrize("written", [
    "",
    "0912345",  # too short
    "09123456789",  # too long
    "+849123456789",
    "0212345678",  # a landline area code, not a mobile
    "0412345678",
    "0612345678",
    "0112345678",
    "+1 415 555 0100",  # not Vietnamese
    "+8591234567",
    "0912a45678",
    "０９１２３４５６７８",  # full-width digits
    "0912_345_678",
    "+84 0 12 345 678",
])
def test_anything_that_is_not_a_vietnamese_mobile_number_is_refused(written):
    with pytest.raises(InvalidPhone) as refusal:
        normalise_phone(written)
    assert refusal.value.code == "invalid_phone"


def test_a_number_that_is_not_text_is_refused():
    for value in (None, 912345678, ["0912345678"]):
        with pytest.raises(InvalidPhone):
            normalise_phone(value)


def test_a_code_is_six_digits_sent_to_the_e164_number_and_only_its_hash_is_kept(
        db_session, gateway, now):
    started = start_challenge(db_session, "0912 345 678", "203.0.113.7", now, gateway,
                              secret=SECRET, ttl_seconds=300)
    [(to, text)] = gateway.sent
    code = gateway.last_code()
    assert to == PHONE == started.phone
    assert re.fullmatch(r"\d{6}", code)
    assert text == f"Mã xác thực Phản ánh của bạn là {code}. Mã có hiệu lực trong 5 phút."
    assert started.expires_at == now + timedelta(seconds=300)
    challenge = db_session.execute(select(OtpChallenge).where(OtpChallenge.phone == PHONE)
                                   ).scalar_one()
    assert code not in challenge.code_hash
    assert challenge.code_hash.startswith("hmac-sha256$")
    assert challenge.client_address == "203.0.113.7"
    assert challenge.attempts == 0 and challenge.consumed_at is None
    assert challenge.expires_at == now + timedelta(seconds=300)


def test_an_invalid_number_sends_nothing_and_keeps_nothing(db_session, gateway, now):
    with pytest.raises(InvalidPhone):
        start_challenge(db_session, "12345", None, now, gateway, secret=SECRET)
    assert gateway.sent == []
    assert db_session.scalar(select(func.count()).select_from(OtpChallenge)) == 0


def test_the_first_good_code_creates_a_citizen_account(db_session, send_code, now):
    code = send_code("0912345678")
    user = verify(db_session, code, now + timedelta(seconds=30), phone="0912.345.678")
    assert user.id is not None
    assert (user.role, user.phone, user.active) == (Role.CITIZEN, PHONE, True)
    assert user.username is None and user.password_hash is None
    assert user.last_login_at == now + timedelta(seconds=30)


def test_signing_in_again_finds_the_same_account(db_session, send_code, now):
    first = verify(db_session, send_code(), now)
    again = verify(db_session, send_code(at=now + timedelta(days=2)), now + timedelta(days=2))
    assert again.id == first.id
    assert db_session.scalar(select(func.count()).select_from(User)
                             .where(User.phone == PHONE)) == 1


def test_the_demo_citizen_signs_in_to_their_existing_account(db_session, send_code, now):
    user = verify(db_session, send_code(DEMO_CITIZEN_PHONE), now, phone=DEMO_CITIZEN_PHONE)
    assert user.full_name == "Nguyễn Văn Dân"


def test_a_code_works_only_once(db_session, send_code, now):
    code = send_code()
    verify(db_session, code, now)
    with pytest.raises(CodeInvalid):
        verify(db_session, code, now + timedelta(seconds=5))


def test_a_wrong_code_is_refused_and_says_how_many_tries_are_left(db_session, send_code, now):
    code = send_code()
    with pytest.raises(CodeInvalid) as refusal:
        verify(db_session, wrong(code), now, max_attempts=5)
    assert refusal.value.code == "code_invalid"
    assert refusal.value.details == {"attempts_left": 4}


def test_a_wrong_attempt_stays_counted_when_the_request_then_rolls_back(
        db_session, send_code, now):
    code = send_code()
    with pytest.raises(CodeInvalid):
        verify(db_session, wrong(code), now)
    db_session.rollback()  # what the failed request's teardown does
    challenge = db_session.execute(select(OtpChallenge)).scalar_one()
    assert challenge.attempts == 1


def test_after_the_last_allowed_wrong_attempt_even_the_right_code_is_refused(
        db_session, send_code, now):
    code = send_code()
    for left in (2, 1, 0):
        with pytest.raises(CodeInvalid) as refusal:
            verify(db_session, wrong(code), now, max_attempts=3)
        assert refusal.value.details["attempts_left"] == left
    with pytest.raises(TooManyAttempts) as refusal:
        verify(db_session, code, now, max_attempts=3)
    assert refusal.value.code == "too_many_attempts"


def test_a_new_code_gives_new_attempts(db_session, send_code, now):
    for _ in range(3):
        with pytest.raises(CodeInvalid):
            verify(db_session, wrong(send_code()), now, max_attempts=3)
    code = send_code()
    assert verify(db_session, code, now, max_attempts=3).phone == PHONE


def test_an_expired_code_is_refused(db_session, send_code, now):
    code = send_code(ttl_seconds=300)
    with pytest.raises(CodeExpired) as refusal:
        verify(db_session, code, now + timedelta(seconds=300))
    assert refusal.value.code == "code_expired"
    assert verify(db_session, code, now + timedelta(seconds=299)).phone == PHONE


def test_only_the_latest_code_counts(db_session, send_code, now):
    earlier = send_code()
    later = send_code(at=now + timedelta(seconds=40))
    while later == earlier:  # one chance in a million
        later = send_code(at=now + timedelta(seconds=40))
    with pytest.raises(CodeInvalid):
        verify(db_session, earlier, now + timedelta(seconds=50))
    assert verify(db_session, later, now + timedelta(seconds=60)).phone == PHONE


def test_a_code_for_one_number_does_not_sign_in_another(db_session, send_code, now):
    code = send_code("0912345678")
    send_code("0987654321")
    with pytest.raises(CodeInvalid):
        verify(db_session, code, now, phone="0987654321")


def test_a_number_that_was_never_sent_a_code_gets_code_invalid(db_session, now):
    with pytest.raises(CodeInvalid):
        verify(db_session, "123456", now, phone="0977777777")


def test_a_code_the_gateway_refused_is_dead(db_session, now):
    with running_gateway() as server:
        server.status = 500
        with pytest.raises(SmsDeliveryFailed):
            start_challenge(db_session, PHONE, None, now, HttpSmsGateway(server.url, timeout=5),
                            secret=SECRET)
    # The operator saw the text (and so the code) although it answered 500.
    code = re.search(r"\d{6}", server.received[0].body["text"]).group(0)
    with pytest.raises(CodeInvalid):
        verify(db_session, code, now)
    challenge = db_session.execute(select(OtpChallenge)).scalar_one()
    assert challenge.consumed_at is not None


def test_a_gateway_failure_also_ends_the_codes_sent_before(db_session, send_code, now):
    earlier = send_code()
    with running_gateway() as server:
        server.status = 503
        with pytest.raises(SmsDeliveryFailed):
            start_challenge(db_session, PHONE, None, now, HttpSmsGateway(server.url, timeout=5),
                            secret=SECRET)
    with pytest.raises(CodeInvalid):
        verify(db_session, earlier, now)


@pytest.mark.parametrize("change", [
    {"active": False},
    {"deleted_at": "now"},
])
def test_a_deactivated_or_deleted_citizen_cannot_sign_in(db_session, send_code, now, change):
    citizen = User(role=Role.CITIZEN, phone=PHONE, full_name="Trần Thị B")
    for name, value in change.items():
        setattr(citizen, name, now if value == "now" else value)
    db_session.add(citizen)
    db_session.flush()
    code = send_code()
    with pytest.raises(AccountDisabled) as refusal:
        verify(db_session, code, now)
    assert refusal.value.code == "account_disabled"
    # The code is spent all the same.
    with pytest.raises(CodeInvalid):
        verify(db_session, code, now)


def test_a_staff_members_number_does_not_sign_in_by_code(db_session, send_code, now):
    officer = db_session.execute(select(User).where(User.username == "officer")).scalar_one()
    officer.phone = PHONE
    db_session.flush()
    with pytest.raises(StaffAccount):
        verify(db_session, send_code(), now)


def test_a_code_with_anything_but_digits_is_a_wrong_attempt(db_session, send_code, now):
    send_code()
    with pytest.raises(CodeInvalid) as refusal:
        verify(db_session, "12 45x", now, max_attempts=5)
    assert refusal.value.details == {"attempts_left": 4}
