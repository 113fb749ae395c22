"""Text messages to citizens' phones (the sign-in codes), through a configured gateway.

`SMS_GATEWAY_URL` set: messages are POSTed as JSON to that gateway. Unset (development):
they are written to the `feedback.sms` log, code included.
"""
import http.client
import json
import logging
import math
import urllib.error
import urllib.request
from typing import Protocol

from flask import Flask

from config import ConfigError

log = logging.getLogger("feedback.sms")

EXTENSION_KEY = "sms_gateway"


class SmsDeliveryFailed(Exception):
    """The gateway did not take the message. The text is never part of the reason,
    because it holds a sign-in code and reasons end up in logs."""


class SmsGateway(Protocol):
    def send(self, to: str, text: str) -> None:
        """Hand one message for `to` (E.164) to the operator, or raise SmsDeliveryFailed."""


class LogSmsGateway:
    """Development: the message goes to the log, where the developer reads the code."""

    def send(self, to: str, text: str) -> None:
        log.info("SMS to %s: %s", to, text)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST becomes a GET without the message: a 3xx is a failure, not success.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpSmsGateway:
    """POSTs `{"to": "+849...", "text": "..."}` to an operator's or an in-house relay's URL.

    Any answer outside 2xx, a timeout, or no connection raises SmsDeliveryFailed.
    `token`, when given, is sent as `Authorization: Bearer <token>`.
    """

    def __init__(self, url: str, timeout: float, token: str | None = None):
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"SMS_GATEWAY_URL must be an http(s) URL, not {url!r}")
        self.url = url
        self.timeout = timeout
        self.token = token
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def send(self, to: str, text: str) -> None:
        body = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise SmsDeliveryFailed(f"the SMS gateway answered {exc.code}") from None
        except (TimeoutError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
                raise SmsDeliveryFailed(
                    f"the SMS gateway did not answer within {self.timeout:g} s") from None
            raise SmsDeliveryFailed(f"cannot reach the SMS gateway: {reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise SmsDeliveryFailed(f"the SMS gateway connection failed: {exc!r}") from None
        if not 200 <= status < 300:
            raise SmsDeliveryFailed(f"the SMS gateway answered {status}")


def otp_message(code: str, ttl_seconds: int) -> str:
    """The sign-in text. About 70 characters: one Unicode SMS segment."""
    if ttl_seconds % 60 == 0:
        validity = f"{ttl_seconds // 60} phút"
    elif ttl_seconds < 60:
        validity = f"{ttl_seconds} giây"
    else:
        validity = f"{math.floor(ttl_seconds / 60)} phút"
    return f"Mã xác thực Phản ánh của bạn là {code}. Mã có hiệu lực trong {validity}."


def gateway_from_config(config) -> SmsGateway:
    url = config.get("SMS_GATEWAY_URL")
    if url:
        return HttpSmsGateway(url, timeout=float(config.get("SMS_GATEWAY_TIMEOUT", 10)),
                              token=config.get("SMS_GATEWAY_TOKEN") or None)
    if config.get("ENVIRONMENT") == "production":
        # Codes in a log would let anyone who reads the log sign in as any citizen.
        raise ConfigError("FEEDBACK_ENV=production needs SMS_GATEWAY_URL: without it the "
                          "citizens' sign-in codes would be written to the log")
    return LogSmsGateway()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = gateway_from_config(app.config)


def gateway_for(app: Flask) -> SmsGateway:
    return app.extensions[EXTENSION_KEY]
