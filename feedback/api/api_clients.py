"""Admins issue and revoke the API keys of outside systems (Open311 clients)."""
from datetime import datetime, timezone

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from feedback.api.errors import NotFound, ValidationFailed
from feedback.api.security import BEARER_AUTH, authenticated_user, require_roles
from feedback.extensions import db
from feedback.models import ApiClient, Role
from feedback.services import api_clients

blp = Blueprint("api_clients", __name__, url_prefix="/api/v1/admin/api-clients",
                description="API keys of outside systems (Open311 clients); admins only")


class ApiClientInputSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200),
                            metadata={"description": "The system or organisation"})
    contact_email = ma.fields.String(load_default=None, allow_none=True,
                                     validate=ma.validate.Length(max=200))


class ApiClientSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    contact_email = ma.fields.String(allow_none=True)
    key_prefix = ma.fields.String(metadata={"description": "The key's first characters"})
    created_at = ma.fields.AwareDateTime()
    revoked_at = ma.fields.AwareDateTime(allow_none=True)


class IssuedKeySchema(ApiClientSchema):
    api_key = ma.fields.String(metadata={"description": "Shown this once; only a hash is kept"})


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _fields(client: ApiClient) -> dict:
    """Read before the commit expires them."""
    return {name: getattr(client, name) for name in ApiClientSchema().fields}


@blp.route("")
class ApiClients(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @require_roles(Role.ADMIN)
    @blp.response(200, ApiClientSchema(many=True))
    def get(self):
        """Every client, newest first, revoked ones included. Keys are never shown again."""
        return api_clients.list_clients(db.session)

    @blp.doc(security=BEARER_AUTH)
    @require_roles(Role.ADMIN)
    @blp.arguments(ApiClientInputSchema)
    @blp.response(201, IssuedKeySchema)
    def post(self, body):
        """Issue a key to a named client. The answer holds the key, this once."""
        try:
            issued = api_clients.issue_key(db.session, name=body["name"],
                                           contact_email=body["contact_email"], now=_now(),
                                           created_by=authenticated_user())
        except api_clients.ApiClientError as exc:
            raise ValidationFailed(details={exc.field: [exc.message]}) from None
        answer = {**_fields(issued.client), "api_key": issued.key}
        db.session.commit()
        return answer


@blp.route("/<int:client_id>/revoke")
class RevokeApiClient(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @require_roles(Role.ADMIN)
    @blp.response(200, ApiClientSchema)
    @blp.alt_response(404, description="No such client")
    def post(self, client_id):
        """Revoke the client's key: it stops working at once. Again: no change."""
        client = db.session.get(ApiClient, client_id)
        if client is None:
            raise NotFound(f"No API client {client_id}.")
        api_clients.revoke(db.session, client, now=_now())
        answer = _fields(client)
        db.session.commit()
        return answer
