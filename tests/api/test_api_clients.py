"""Admins issue and revoke Open311 API keys, over the API and with `flask open311 keys`."""
from sqlalchemy import select

from feedback.models import ApiClient
from feedback.services import api_clients

OPEN311_POST = {"service_code": "thu-tuc-hanh-chinh", "lat": "10.03", "long": "105.78",
                "attribute[commune_code]": "31135", "description": "Trễ hẹn"}


def test_an_admin_issues_a_key_that_is_shown_once_and_stored_only_as_a_hash(
        client, db_session, auth_header, redis):
    response = client.post("/api/v1/admin/api-clients", headers=auth_header("admin"),
                           json={"name": "Cổng dịch vụ công", "contact_email": "it@example.vn"})
    assert response.status_code == 201, response.json
    body = response.json
    key = body["api_key"]
    assert key.startswith("pa_") and len(key) > 40
    assert body["key_prefix"] == key[:12]
    stored = db_session.get(ApiClient, body["id"])
    assert stored.key_hash == api_clients.hash_key(key) and key not in stored.key_hash
    listed = client.get("/api/v1/admin/api-clients", headers=auth_header("admin")).json
    assert listed[0]["name"] == "Cổng dịch vụ công"
    assert "api_key" not in listed[0] and key not in str(listed)

    assert client.post("/open311/v2/requests.json",
                       data={"api_key": key, **OPEN311_POST}).status_code == 200


def test_a_revoked_key_stops_working_at_once(client, auth_header, redis):
    issued = client.post("/api/v1/admin/api-clients", headers=auth_header("admin"),
                         json={"name": "Đối tác"}).json
    revoked = client.post(f"/api/v1/admin/api-clients/{issued['id']}/revoke",
                          headers=auth_header("admin"))
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    again = client.post(f"/api/v1/admin/api-clients/{issued['id']}/revoke",
                        headers=auth_header("admin"))
    assert again.json["revoked_at"] == revoked.json["revoked_at"]
    response = client.post("/open311/v2/requests.json",
                           data={"api_key": issued["api_key"], **OPEN311_POST})
    assert response.status_code == 403


def test_only_admins_manage_keys(client, auth_header):
    for user in ("moderator", "supervisor", "officer"):
        assert client.get("/api/v1/admin/api-clients",
                          headers=auth_header(user)).status_code == 403
    assert client.post("/api/v1/admin/api-clients", json={"name": "x"}).status_code == 401
    response = client.post("/api/v1/admin/api-clients/999999/revoke", headers=auth_header("admin"))
    assert response.status_code == 404


def test_a_client_needs_a_name(client, auth_header):
    response = client.post("/api/v1/admin/api-clients", headers=auth_header("admin"),
                           json={"name": "   "})
    assert response.status_code == 422
    assert "name" in response.json["details"]


def test_the_cli_creates_a_key_printed_once_lists_it_and_revokes_it_by_prefix(
        runner, db_session):
    created = runner.invoke(args=["open311", "keys", "create", "Ứng dụng phường"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("pa_")
    client = db_session.execute(
        select(ApiClient).where(ApiClient.key_hash == api_clients.hash_key(key))).scalar_one()

    listed = runner.invoke(args=["open311", "keys", "list"])
    assert client.key_prefix in listed.output and key not in listed.output

    revoked = runner.invoke(args=["open311", "keys", "revoke", client.key_prefix])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.output
    db_session.refresh(client)
    assert client.revoked_at is not None
    assert api_clients.authenticate(db_session, key) is None


def test_the_cli_refuses_a_prefix_too_short_or_unknown(runner):
    assert runner.invoke(args=["open311", "keys", "revoke", "pa_"]).exit_code != 0
    unknown = runner.invoke(args=["open311", "keys", "revoke", "pa_zzzzzzzzz"])
    assert unknown.exit_code != 0 and "No key" in unknown.output
