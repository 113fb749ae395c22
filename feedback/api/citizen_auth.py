"""Citizen sign-in by phone: a code by SMS, then tokens for the app; and the citizen's profile.

Signing up and signing in are the same two calls. Sending codes is limited per
number and per client address, checking them per client address (limits in config).
"""
import hashlib
import hmac
from datetime import datetime, timezone

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from limits import parse_many

from config import ConfigError
from feedback.api.errors import ApiError, Unauthorized, ValidationFailed
from feedback.api.security import BEARER_AUTH, authenticated_user, require_roles
from feedback.extensions import client_address, db, limiter
from feedback.models import Role
from feedback.schemas.citizen_auth import (
    CitizenProfileSchema,
    OtpRequestSchema,
    OtpSentSchema,
    OtpVerifySchema,
    ProfileUpdateSchema,
    RefreshSchema,
    TokenPairSchema,
)
from feedback.services import otp
from feedback.services.auth import InvalidToken, sign_out_everywhere
from feedback.services.citizens import (
    TokenLifetimes,
    issue_token_pair,
    refresh_token_pair,
    update_profile,
)
from feedback.services.sms import SmsDeliveryFailed, gateway_for

blp = Blueprint("citizen_auth", __name__, url_prefix="/api/v1",
                description="Citizen sign-in by phone and SMS code, tokens, own profile")

LIMIT_KEYS = ("OTP_SEND_LIMIT_PER_PHONE", "OTP_SEND_LIMIT_PER_ADDRESS",
              "OTP_VERIFY_LIMIT_PER_ADDRESS")

# Status of each refusal of a code; the machine code comes from the exception.
_OTP_STATUS = {
    otp.InvalidPhone: 422,
    otp.CodeInvalid: 401,
    otp.CodeExpired: 401,
    otp.TooManyAttempts: 401,
    otp.AccountDisabled: 403,
    otp.StaffAccount: 403,
}


class SmsUnavailable(ApiError):
    status, code = 503, "sms_unavailable"
    message = "The code could not be sent just now; try again in a minute."


@blp.record_once
def _check_limits(state):
    # A limit Flask-Limiter cannot parse is skipped with a log line: refuse to start instead.
    for key in LIMIT_KEYS:
        try:
            if not parse_many(state.app.config[key]):
                raise ValueError("empty")
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{key}: cannot read {state.app.config.get(key)!r} as rate limits "
                              "such as '3 per 10 minutes;10 per day'") from exc


def _phone_in_body() -> str | None:
    """The body's number in E.164, or None (no JSON, no number, not a mobile number)."""
    body = request.get_json(silent=True)
    phone = body.get("phone") if isinstance(body, dict) else None
    try:
        return otp.normalise_phone(phone)
    except otp.InvalidPhone:
        return None


def phone_limit_key() -> str:
    """The body's number, keyed with the app's secret: no raw number in Redis or in
    the limiter's log. Without a usable number, the caller's address stands in."""
    phone = _phone_in_body()
    if phone is None:
        return "otp-address:" + client_address()
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), phone.encode(),
                      hashlib.sha256).hexdigest()[:32]
    return "otp-phone:" + digest


def _no_phone_in_body() -> bool:
    # Nothing is sent to a number that is not one; the per-address limit still counts it.
    return _phone_in_body() is None


def _config_limit(key: str):
    return lambda: current_app.config[key]


def _otp_error(error: otp.OtpError) -> ApiError:
    details = dict(error.details)
    if isinstance(error, otp.InvalidPhone):
        details = {"phone": [error.message]}
    return ApiError(error.message, code=error.code, status=_OTP_STATUS[type(error)],
                    details=details)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _token_pair_body(pair) -> dict:
    return {"access_token": pair.access.token, "refresh_token": pair.refresh.token,
            "token_type": "Bearer", "expires_at": pair.access.expires_at,
            "refresh_expires_at": pair.refresh.expires_at, "user": pair.user}


@blp.route("/auth/otp")
class OtpRequest(MethodView):
    @blp.arguments(OtpRequestSchema)
    @blp.response(202, OtpSentSchema)
    @blp.alt_response(422, description="Not a Vietnamese mobile number (`invalid_phone`)")
    @blp.alt_response(429, description="Too many codes for this number or from this address "
                                       "(`rate_limited`)")
    @blp.alt_response(503, description="The SMS gateway did not take the message "
                                       "(`sms_unavailable`); no code was left usable")
    # Limits sit under the schema: a request too malformed to do anything costs nothing.
    @limiter.limit(_config_limit("OTP_SEND_LIMIT_PER_PHONE"), key_func=phone_limit_key,
                   exempt_when=_no_phone_in_body,
                   error_message="Too many codes were sent to this number; try again later.")
    @limiter.limit(_config_limit("OTP_SEND_LIMIT_PER_ADDRESS"), key_func=client_address,
                   error_message="Too many codes were asked for from this address; "
                                 "try again later.")
    def post(self, body):
        """Send a sign-in code by SMS to a Vietnamese mobile number.

        Accepts `0912345678`, `+84912345678`, `84912345678`, with spaces, dots or
        dashes. The answer is the same whether or not the number has an account:
        the first verified code creates one. Asking again makes earlier codes stop
        working. Limited per number and per client address (429 `rate_limited`).
        """
        config = current_app.config
        try:
            started = otp.start_challenge(
                db.session, body["phone"], client_address(), _now(),
                gateway_for(current_app), secret=_secret(),
                ttl_seconds=config["OTP_TTL_SECONDS"])
        except otp.OtpError as exc:
            raise _otp_error(exc) from None
        except SmsDeliveryFailed as exc:
            current_app.logger.error("sign-in code not sent: %s", exc)
            raise SmsUnavailable(headers={"Retry-After": "30"}) from None
        return {"phone": started.phone, "expires_at": started.expires_at}


@blp.route("/auth/otp/verify")
class OtpVerify(MethodView):
    @blp.arguments(OtpVerifySchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="Wrong (`code_invalid`, with `attempts_left`), expired "
                                       "(`code_expired`) or used-up (`too_many_attempts`) code")
    @blp.alt_response(403, description="A closed or suspended account (`account_disabled`), "
                                       "or a staff member's number (`staff_account`)")
    @blp.alt_response(429, description="Too many attempts from this address (`rate_limited`)")
    @limiter.limit(_config_limit("OTP_VERIFY_LIMIT_PER_ADDRESS"), key_func=client_address,
                   error_message="Too many codes were tried from this address; "
                                 "try again later.")
    def post(self, body):
        """Check the code and sign the citizen in, creating the account the first time.

        Answers an access token (send it as `Authorization: Bearer <token>`) and a
        refresh token for `POST /api/v1/auth/refresh`. A code works once; after
        five wrong tries (by default) it is dead and a new one must be asked for.
        """
        now = _now()
        try:
            user = otp.verify_challenge(db.session, body["phone"], body["code"], now,
                                        secret=_secret(),
                                        max_attempts=current_app.config["OTP_MAX_ATTEMPTS"])
        except otp.OtpError as exc:
            raise _otp_error(exc) from None
        pair = issue_token_pair(user, secret=_secret(), now=now,
                                lifetimes=TokenLifetimes.from_config(current_app.config))
        db.session.commit()
        return _token_pair_body(pair)


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="Expired, revoked or not a refresh token")
    def post(self, body):
        """Trade a refresh token for a new access token and a new refresh token.

        Keep the new refresh token; signing out ends every token issued before.
        """
        try:
            pair = refresh_token_pair(db.session, body["refresh_token"], secret=_secret(),
                                      now=_now(),
                                      lifetimes=TokenLifetimes.from_config(current_app.config))
        except InvalidToken as exc:
            code = {"expired": "token_expired", "revoked": "token_revoked"}.get(
                exc.reason, "invalid_token")
            raise Unauthorized("This refresh token cannot be used; sign in again.",
                               code=code) from None
        return _token_pair_body(pair)


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @blp.response(204)
    @blp.alt_response(401, description="No valid bearer token")
    def post(self):
        """Sign out everywhere: every access and refresh token of the caller stops working."""
        sign_out_everywhere(authenticated_user())
        db.session.commit()


@blp.route("/me")
class Me(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @require_roles(Role.CITIZEN)
    @blp.response(200, CitizenProfileSchema)
    @blp.alt_response(401, description="No valid bearer token")
    @blp.alt_response(403, description="Not a citizen (staff: GET /api/v1/auth/me)")
    def get(self):
        """The signed-in citizen's own profile."""
        return authenticated_user()

    @blp.doc(security=BEARER_AUTH)
    @require_roles(Role.CITIZEN)
    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, CitizenProfileSchema)
    @blp.alt_response(401, description="No valid bearer token")
    @blp.alt_response(403, description="Not a citizen")
    def patch(self, body):
        """Set the citizen's name (`null` removes it). Stored in Unicode NFC."""
        user = authenticated_user()
        try:
            update_profile(user, full_name=body["full_name"])
        except ValueError as exc:
            raise ValidationFailed(details={"full_name": [str(exc)]}) from None
        db.session.commit()
        return user

    @blp.doc(security=BEARER_AUTH)
    @require_roles(Role.CITIZEN)
    @blp.response(204)
    @blp.alt_response(401, description="No valid bearer token")
    def delete(self):
        """Delete the citizen's account (Nghị định 13/2023).

        Name, phone number and the originals of the citizen's photos are erased and
        every token stops working. The reports stay, anonymised, with how they were
        handled. The same number can sign up again as a new account.
        """
        from feedback.services.intake import photo_storage
        from feedback.services.privacy import delete_citizen_account

        delete_citizen_account(db.session, authenticated_user(), now=_now(),
                               storage=photo_storage())
        db.session.commit()


@blp.route("/me/data")
class MyData(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @require_roles(Role.CITIZEN)
    @blp.response(200)
    @blp.alt_response(401, description="No valid bearer token")
    def get(self):
        """Everything held about the signed-in citizen: account, reports with their
        timelines, notifications, and which roles saw their identity, when."""
        from feedback.services.privacy import export_citizen_data

        return export_citizen_data(db.session, authenticated_user())
