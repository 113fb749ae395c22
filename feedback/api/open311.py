"""Open311 GeoReport v2 under /open311/v2, in JSON and XML, and the admins' commands for
API keys (`flask open311 keys ...`).

A plain Flask blueprint, not the /api/v1 one: the specification fixes its own URLs
(`services.xml`), its form-encoded POST and its error shape, a list of
{code, description} with the HTTP status, which this blueprint answers for every
path under /open311/ (the /api/ error handler leaves these paths alone).
"""
from __future__ import annotations

import functools
import json
from datetime import datetime, timezone

import click
from flask import Blueprint, Response, current_app, request, url_for
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, NotFound

from feedback.extensions import client_address, db, limiter
from feedback.services import api_clients, open311
from feedback.services.intake import photo_storage
from feedback.services.media import fetch_media
from feedback.services.open311 import Open311Error

bp = Blueprint("open311", __name__, url_prefix="/open311", cli_group="open311")

FORMAT = "<any(json, xml):fmt>"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element that holds each item of a list, by the list's element.
XML_ITEMS = {
    "services": "service", "attributes": "attribute", "values": "value",
    "endpoints": "endpoint", "formats": "format", "service_requests": "request",
    "errors": "error", "service_request_updates": "request_update",
}
# Form fields are short; a body larger than this is not an Open311 request.
MAX_FORM_BYTES = 64 * 1024


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _base_url() -> str:
    return request.host_url.rstrip("/")


# -- rendering --------------------------------------------------------------------------

# Text in XML: markup escaped, and what XML 1.0 cannot carry (control characters, lone
# surrogates, U+FFFE/U+FFFF) left out. One str.translate per value: a page of a
# thousand requests is 17,000 values.
_XML_TEXT = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;",
    **{chr(c): None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)},
    **{chr(c): None for c in range(0xD800, 0xE000)},
    "\ufffe": None, "\uffff": None,
})


def _xml_text(value) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return value.translate(_XML_TEXT)
    return str(value)


def _write_xml(out: list, name: str, value) -> None:
    # Element names are ours (field names of the spec), never data.
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, item in value.items():
            _write_xml(out, key, item)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        child = XML_ITEMS.get(name, "item")
        out.append(f"<{name}>")
        for item in value:
            _write_xml(out, child, item)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_xml_text(value)}</{name}>")


def to_xml(root: str, value) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n']
    _write_xml(out, root, value)
    return "".join(out).encode("utf-8")


def render(fmt: str, root: str, value, status: int = 200) -> Response:
    """`value` as JSON, or as XML under the element `root` (lists are the spec's
    wrapped lists: <service_requests><request>...)."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    else:
        body = to_xml(root, value)
    response = Response(body, status=status, content_type=CONTENT_TYPES[fmt])
    if request.method == "GET":
        # Public data, meant for other sites' maps and dashboards.
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _format_of_request() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in CONTENT_TYPES:
        return fmt
    return "json" if request.path.endswith(".json") else "xml"


def render_error(status: int, *descriptions: str) -> Response:
    error = Open311Error(status, *descriptions)
    return render(_format_of_request(), "errors", error.errors, status)


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error):
    return render(_format_of_request(), "errors", error.errors, error.status)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    response = render_error(error.code or 500, error.description or error.name)
    if error.code == 429:
        response.headers["Retry-After"] = "60"
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


@bp.errorhandler(OperationalError)
def _database_unavailable(error: OperationalError):
    current_app.logger.error("open311: database unavailable: %s", error)
    response = render_error(503, "The service is briefly unavailable; try again.")
    response.headers["Retry-After"] = "5"
    return response


# -- discovery and services -------------------------------------------------------------

@bp.get(f"/discovery.{FORMAT}")
@bp.get(f"/v2/discovery.{FORMAT}")
def discovery(fmt):
    config = current_app.config
    body = open311.discovery(
        url=url_for("open311.root", _external=True).rstrip("/"),
        contact=config["OPEN311_CONTACT"], key_service=config["OPEN311_KEY_SERVICE"],
        production=config["ENVIRONMENT"] == "production", time_zone=config["TIME_ZONE"])
    return render(fmt, "discovery", body)


@bp.get("/v2/")
def root():
    raise Open311Error(404, "See discovery.xml or discovery.json for this endpoint's methods.")


@bp.get(f"/v2/services.{FORMAT}")
def services(fmt):
    return render(fmt, "services", open311.services(db.session))


@bp.get(f"/v2/services/<service_code>.{FORMAT}")
def service_definition(service_code, fmt):
    definition = open311.service_definition(db.session, service_code)
    if definition is None:
        raise Open311Error(404, f"No service {service_code}.")
    return render(fmt, "service_definition", definition)


# -- service requests -------------------------------------------------------------------

def _api_key_limit_key() -> str:
    key = request.form.get("api_key") or ""
    return "open311:" + (api_clients.hash_key(key)[:16] if key else client_address())


def _config_limit(name):
    return lambda: current_app.config[name]


def _bounded_form(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        request.max_content_length = MAX_FORM_BYTES
        return view(*args, **kwargs)
    return wrapper


@bp.post(f"/v2/requests.{FORMAT}")
@_bounded_form
@limiter.limit(_config_limit("OPEN311_POST_RATE_LIMIT"), key_func=_api_key_limit_key)
def create_request(fmt):
    """POST a service request (form-encoded). Answers a token: the service_request_id
    comes from tokens/{token} once a moderator approved the request."""
    client = api_clients.authenticate(db.session, request.form.get("api_key"))
    if client is None:
        raise Open311Error(403, "A valid api_key is required to post a service request.")
    config = current_app.config
    fetch = functools.partial(
        fetch_media, max_bytes=config["PHOTO_MAX_BYTES"],
        timeout=config["OPEN311_MEDIA_TIMEOUT"],
        allow_private=config["OPEN311_ALLOW_PRIVATE_MEDIA"])
    report = open311.submit_request(db.session, api_client_id=client.id, form=request.form,
                                    now=_now(), storage=photo_storage(), config=config,
                                    fetch=fetch)
    token = open311.token_for(report.id, config["SECRET_KEY"])
    return render(fmt, "service_requests", [
        {"token": token, "service_notice": open311.SERVICE_NOTICE, "account_id": None}])


@bp.get(f"/v2/requests.{FORMAT}")
def list_requests(fmt):
    config = current_app.config
    body = open311.list_requests(db.session, params=request.args, now=_now(),
                                 time_zone=config["TIME_ZONE"], base_url=_base_url())
    return render(fmt, "service_requests", body)


@bp.get(f"/v2/requests/<service_request_id>.{FORMAT}")
def get_request(service_request_id, fmt):
    body = open311.get_request(db.session, service_request_id,
                               time_zone=current_app.config["TIME_ZONE"], base_url=_base_url())
    return render(fmt, "service_requests", body)


@bp.get(f"/v2/tokens/<token>.{FORMAT}")
def token(token, fmt):
    body = open311.resolve_token(db.session, token, secret=current_app.config["SECRET_KEY"])
    return render(fmt, "service_requests", body)


@bp.get(f"/v2/servicerequestupdates.{FORMAT}")
def service_request_updates(fmt):
    """mySociety's extension: the public updates of public requests in a window."""
    config = current_app.config
    body = open311.list_updates(db.session, params=request.args, now=_now(),
                                time_zone=config["TIME_ZONE"], base_url=_base_url())
    return render(fmt, "service_request_updates", body)


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(anything):
    """Every other path under /open311/: 404 or 405 in the spec's shape, not HTML."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = set()
    for method in ("GET", "POST"):
        if method == request.method:
            continue
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "open311.unknown":
            allowed.add(method)
    if allowed:
        response = render_error(405, f"Use {', '.join(sorted(allowed))} here.")
        response.headers["Allow"] = ", ".join(sorted(allowed))
        return response
    raise NotFound("No such Open311 method or format: see discovery.xml or discovery.json.")


# -- commands ---------------------------------------------------------------------------

@bp.cli.group("keys")
def keys_cli():
    """API keys of Open311 clients."""


@keys_cli.command("create")
@click.argument("name")
@click.option("--email", default=None, help="Whom to contact about this client.")
def create_key(name, email):
    """Issue a key to the client NAME; the key is printed once and never stored."""
    try:
        issued = api_clients.issue_key(db.session, name=name, contact_email=email, now=_now())
    except api_clients.ApiClientError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"API key for {issued.client.name} (prefix {issued.client.key_prefix}); "
               "shown once, keep it now:")
    click.echo(issued.key)


@keys_cli.command("revoke")
@click.argument("prefix")
def revoke_key(prefix):
    """Revoke the key that starts with PREFIX (as `list` shows it)."""
    try:
        client = api_clients.find_by_prefix(db.session, prefix)
    except api_clients.ApiClientError as exc:
        raise click.ClickException(exc.message) from exc
    was_revoked = client.revoked_at is not None
    api_clients.revoke(db.session, client, now=_now())
    db.session.commit()
    click.echo(f"{client.key_prefix} ({client.name}) "
               + ("was already revoked" if was_revoked else "revoked"))


@keys_cli.command("list")
def list_keys():
    """Every client: prefix, name, created, revoked."""
    for client in api_clients.list_clients(db.session):
        revoked = client.revoked_at.isoformat(timespec="seconds") if client.revoked_at else "-"
        click.echo(f"{client.key_prefix}  {client.name}  "
                   f"created {client.created_at.isoformat(timespec='seconds')}  revoked {revoked}")
