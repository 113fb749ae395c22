"""One JSON error shape for every error the API returns.

    {"code": "validation_failed", "message": "...", "details": {"field": ["..."]}}

`code` is a machine code an app can switch on; `message` is for people;
`details` names the fields (or photos) at fault.
"""
import errno
import logging

import flask_smorest
import marshmallow as ma
from flask import request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from feedback.services.workflow import IllegalMove, InvalidMove, NotAllowed, WorkflowError

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/healthz")

# Machine codes for plain HTTP errors, when nothing more specific was raised.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised by services and views; becomes a JSON error response."""

    status = 400
    code = "bad_request"
    message = "The request cannot be processed."

    def __init__(self, message=None, *, code=None, status=None, details=None, headers=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}
        self.headers = headers or {}


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Sign in first."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "Your role may not do this."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "Not found."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "This conflicts with the current state."


class ValidationFailed(ApiError):
    status, code, message = 422, "validation_failed", "Some fields are not valid."


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Machine code"})
    message = ma.fields.String(required=True, metadata={"description": "For people"})
    details = ma.fields.Dict(metadata={"description": "Field name → list of problems"})


def _flatten_locations(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {...}}); apps want field → problems."""
    details = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            details.update(fields)
        else:
            details[location] = fields
    return details


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"code": code, "message": message, "details": details or {}}


class Api(flask_smorest.Api):
    """flask-smorest's Api with our error shape on every API path."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(ApiError, self.handle_api_error)
        self._app.register_error_handler(DBAPIError, self.handle_database_unavailable)
        self._app.register_error_handler(OSError, self.handle_storage_error)
        self._app.register_error_handler(WorkflowError, self.handle_workflow_error)
        self._app.register_error_handler(StaleDataError, self.handle_lost_update)

    def handle_storage_error(self, error: OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            log.error("photo storage is full: %s", error)
            return error_body("storage_full", "Photo storage is full; nothing was kept. "
                              "Try again later."), 507, {"Retry-After": "300"}
        raise error

    def handle_workflow_error(self, error: WorkflowError):
        status = {IllegalMove: 409, NotAllowed: 403, InvalidMove: 422}.get(type(error), 409)
        return error_body(error.code, error.message, error.details), status

    def handle_lost_update(self, error: StaleDataError):
        return error_body("conflict", "Someone else changed this report; reload it and try "
                          "again."), 409

    def handle_api_error(self, error: ApiError):
        return error_body(error.code, error.message, error.details), error.status, error.headers

    def handle_database_unavailable(self, error: DBAPIError):
        if not (isinstance(error, OperationalError) or error.connection_invalidated):
            raise error  # a bug, not an outage: the 500 handler answers
        log.error("database unavailable: %s", error)
        body = error_body("unavailable", "The service is briefly unavailable; try again.")
        return body, 503, {"Retry-After": "5"}

    def handle_http_exception(self, error: HTTPException):
        if not request.path.startswith(API_PREFIXES):
            # The web view renders its own pages for errors.
            return error
        data = getattr(error, "data", None) or {}
        details = data.get("errors") or _flatten_locations(data.get("messages") or {})
        code = HTTP_CODES.get(error.code, "error")
        message = data.get("message") or error.description or error.name
        if error.code == 422 and "message" not in data:
            message = "Some fields are not valid."
        return error_body(code, message, details), error.code, data.get("headers", {})
