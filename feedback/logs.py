"""Structured logs with a request id that follows a report from its request into its jobs.

Each request takes the caller's `X-Request-Id` (when it looks like one) or makes a
new one, answers it in the same header, and puts it on every log line. Outbox
messages keep the id of the request that wrote them, and the job that runs one
logs under that id again.
"""
import contextvars
import logging
import re
import sys
import uuid

from flask import Flask, request

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None)

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_TOKEN = object()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """JSON lines (one object a line) or plain text, on stderr, once per process."""
    root = logging.getLogger()
    if any(getattr(handler, "_feedback", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._feedback = True
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        ))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    if app.config.get("LOG_FORMAT") != "none":
        configure_logging(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def _take_request_id():
        given = request.headers.get("X-Request-Id", "")
        request_id = given if _VALID.fullmatch(given) else uuid.uuid4().hex
        request.environ["feedback.request_id"] = request_id
        request.environ["feedback.request_id_token"] = current_request_id.set(request_id)

    @app.after_request
    def _answer_request_id(response):
        request_id = request.environ.get("feedback.request_id")
        if request_id:
            response.headers["X-Request-Id"] = request_id
        return response

    @app.teardown_request
    def _forget_request_id(exc):
        token = request.environ.pop("feedback.request_id_token", None)
        if token is not None:
            current_request_id.reset(token)
