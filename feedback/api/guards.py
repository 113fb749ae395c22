"""What every API request passes before any view, limiter or schema reads it: a bounded
body, JSON that is not nested deeper than a parser can follow, text that the database
can store (no NUL character, no unpaired UTF-16 surrogate), and ids in the path that a
BIGINT column can hold.

Each refusal is a clean 4xx in the API's error shape instead of a 500 from deep inside:
json.loads raises RecursionError (not a ValueError) on a body of 100,000 `[`, PostgreSQL
refuses a NUL in any text and an id past 2**63 - 1, and a lone surrogate cannot even be
encoded to UTF-8.
"""
import json

from flask import current_app, request

from feedback.api.errors import API_PREFIXES, ApiError, NotFound, ValidationFailed

# The largest JSON body any operation takes is a few tens of kilobytes (an answer of
# 10,000 characters, each escaped as \uXXXX, is 60 KB). Multipart intake sets its own.
MAX_BODY_BYTES = 1024 * 1024

# Ids are BIGINT (SQLite's INTEGER is as wide).
MAX_ID = 2**63 - 1
FORBIDDEN_TEXT = "Text cannot contain NUL characters or unpaired surrogates."


class NestedTooDeeply(ApiError):
    status, code = 400, "bad_request"
    message = "The JSON body is nested too deeply."


def init_app(app) -> None:
    # First of all before-request functions: Flask-Limiter's key functions read the
    # JSON body (the username, the phone number) before any view does.
    app.before_request_funcs.setdefault(None, []).insert(0, guard_api_request)


def guard_api_request() -> None:
    if not request.path.startswith(API_PREFIXES):
        return
    request.max_content_length = current_app.config.get("API_MAX_BODY_BYTES", MAX_BODY_BYTES)
    for name, value in (request.view_args or {}).items():
        # Nothing is stored under such a name or number, so it is not found.
        if (isinstance(value, str) and not storable(value)) or (
                isinstance(value, int) and not 0 <= value <= MAX_ID):
            raise NotFound(f"No {name.replace('_', ' ')} like that.")
    bad_arguments = sorted({name for name, value in request.args.items(multi=True)
                            if not (storable(name) and storable(value))})
    if bad_arguments:
        raise ValidationFailed(details={name: [FORBIDDEN_TEXT] for name in bad_arguments})
    if request.is_json and request.content_length != 0:
        _check_json_body()


def _check_json_body() -> None:
    data = request.get_data(cache=True)  # 413 past max_content_length
    try:
        body = json.loads(data)
    except RecursionError:
        raise NestedTooDeeply() from None
    except ValueError:
        return  # not JSON at all: the view's parser answers 400 in its own words
    bad_fields = sorted(_fields_with_forbidden_text(body))
    if bad_fields:
        raise ValidationFailed(details={field: [FORBIDDEN_TEXT] for field in bad_fields})


def _fields_with_forbidden_text(body) -> set[str]:
    """The top-level fields (or "_body") holding a string the database cannot store,
    looked for without recursion: the body may be as deep as json.loads allowed."""
    found = set()
    pending = ([(key, key, value) for key, value in body.items()] if isinstance(body, dict)
               else [("_body", None, body)])
    while pending:
        field, key, value = pending.pop()
        if isinstance(key, str) and not storable(key):
            found.add(field if storable(field) else "_body")
        if isinstance(value, str):
            if not storable(value):
                found.add(field if storable(field) else "_body")
        elif isinstance(value, dict):
            pending.extend((field, k, v) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((field, None, v) for v in value)
    return found


def storable(text: str) -> bool:
    """No NUL, and encodable as UTF-8 (a lone surrogate is not)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

