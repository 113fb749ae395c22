"""Every operation of the OpenAPI document, fuzzed in-process by schemathesis: valid and
invalid input alike must never make a 5xx, and every answer must match the document
(status code, content type, documented headers, body schema).

Each call is signed in as a role that may make it (so the fuzzer gets past 401 into the
handlers), and most calls with ids in their path name objects that exist (a report in
each state, an extension, a notification, a photo...) instead of made-up ones.
"""
import os
import zlib
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from feedback.services import workflow
from feedback.services.auth import issue_token
from tests import factories
from tests.operations import OPENAPI_PATH, SELF_ENDING, STATES, World, allowed_roles, operations

# Examples per operation in the fuzzing phase, on top of the coverage phase's boundary
# cases: about 2,500 calls in all, the same ones every run (derandomized).
# FUZZ_EXAMPLES=500 looks harder.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 20))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def _document() -> dict:
    """The OpenAPI document, read at collection time from an app with no database
    behind it: it comes from the views' decorators alone, and a test below holds it
    equal to the one the app under test serves."""
    from feedback import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "REDIS_URL": None, "SECRET_KEY": "document-only-" + "x" * 32,
                      "LOG_FORMAT": "none"})
    return app.test_client().get(OPENAPI_PATH).json


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.mark.embedded
def test_the_fuzzed_document_is_the_one_the_app_serves(client):
    assert client.get(OPENAPI_PATH).json == DOCUMENT


def test_every_signed_in_operation_says_who_may_call_it():
    unsaid = [label for label, _, _, operation in operations(DOCUMENT)
              if allowed_roles(operation, label) is None]
    assert unsaid == []


@pytest.fixture
def world(app, db_session, redis, monkeypatch):
    # The fuzzer calls some operations a hundred times: limits would answer 429 to most.
    for key in ("SUBMIT_RATE_LIMIT", "SUBMIT_ADDRESS_RATE_LIMIT", "NEARBY_RATE_LIMIT",
                "OTP_SEND_LIMIT_PER_PHONE", "OTP_SEND_LIMIT_PER_ADDRESS",
                "OTP_VERIFY_LIMIT_PER_ADDRESS", "PUBLIC_SCORECARD_RATE_LIMIT"):
        monkeypatch.setitem(app.config, key, "100000 per minute")
    return World(app, db_session)


def existing_state(case) -> str | None:
    """Which existing objects this case names instead of its generated ids, if any:
    picked from the case's own data, so a failing case replays the same way."""
    if not case.path_parameters:
        return None
    choices = [None, *STATES]
    drawn = repr((sorted(case.path_parameters.items()), case.query, case.body)).encode()
    return choices[zlib.crc32(drawn) % len(choices)]


@schema.parametrize()
# Only for the node ids: pytest 9.2 builds them from the original name and parameters, so
# without one every operation's test is named alike (schemathesis puts the operation in
# the name only).
@pytest.mark.parametrize("mode", ["fuzzed"])
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_document_says(case, mode, app, world, db_session):
    label = f"{case.method.upper()} {case.path}"
    roles = allowed_roles(case.operation.definition.raw, label)
    state = existing_state(case)
    if state is not None:
        known = world.path_values(state)
        for name in case.path_parameters:
            if name in known:
                case.path_parameters[name] = known[name]
    headers = world.bearer(roles[0], throwaway=label in SELF_ENDING) if roles else {}
    try:
        case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    finally:
        # What a request left unsaved is rolled back, as the request's teardown does.
        db_session.rollback()


# -- what the fuzzer found, as plain tests -----------------------------------------------

def bearer(app, user) -> dict:
    token = issue_token(user, secret=app.config["SECRET_KEY"], now=datetime.now(timezone.utc),
                        lifetime=timedelta(minutes=10))
    return {"Authorization": f"Bearer {token.token}"}


def test_a_citizens_moves_answer_what_their_document_says(app, client, db_session):
    now = datetime.now(timezone.utc)
    sender = factories.citizen(db_session)
    waiting = factories.acknowledged_report(db_session, now=now, sender=sender)
    workflow.request_info(db_session, waiting, actor=factories.staff(db_session, "officer"),
                          now=now, question="Ở số nhà nào?")
    resolved = factories.resolved_report(db_session, now=now, sender=sender)
    reopened = factories.resolved_report(db_session, now=now, sender=sender)

    for move, code, body in (("info", waiting.tracking_code, {"text": "Số 12"}),
                             ("rating", resolved.tracking_code, {"rating": "satisfied"}),
                             ("reopen", reopened.tracking_code, {"reason": "Vẫn còn ổ gà"})):
        response = client.post(f"/api/v1/reports/{code}/{move}", json=body,
                               headers=bearer(app, sender))
        assert response.status_code == 200, response.json
        schema[f"/api/v1/reports/{{tracking_code}}/{move}"]["POST"].validate_response(response)
        assert response.json["tracking_code"] == code


@pytest.mark.parametrize("role, method, path, body", [
    (None, "GET", "/api/v1/public/scorecards?from=0001-01-01", None),
    (None, "GET", "/api/v1/public/scorecards?to=9999-12-31", None),
    (None, "GET", "/api/v1/public/reports?from=0001-01-01", None),
    (None, "GET", "/api/v1/public/reports?to=9999-12-31", None),
    ("supervisor", "GET", "/api/v1/stats?start=0001-01-01&end=0001-01-02", None),
    ("supervisor", "GET", "/api/v1/stats?start=9999-12-30&end=9999-12-31T23:00:00-07:00", None),
    ("admin", "POST", "/api/v1/admin/calendar-overrides", {"day": "9999-12-31",
                                                           "kind": "day_off"}),
    ("officer", "POST", "/api/v1/reports/{fresh}/extensions",
     {"reason": "Chờ vật tư", "new_due_at": "0001-01-01T00:00:00+07:00"}),
], ids=["scorecards from year 1", "scorecards to 9999", "public reports from year 1",
        "public reports to 9999", "stats from year 1", "stats to 9999",
        "a day off in 9999", "an extension to year 1"])
def test_a_day_outside_any_calendar_is_refused_with_422(client, db_session, world, role, method,
                                                        path, body):
    fresh = factories.acknowledged_report(db_session, now=datetime.now(timezone.utc))
    path = path.format(fresh=fresh.tracking_code)
    response = client.open(path, method=method, json=body,
                           headers=world.bearer(role) if role else {})
    assert response.status_code == 422, response.get_data()[:300]
    assert response.json["code"] == "validation_failed"
