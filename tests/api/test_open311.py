"""Open311 GeoReport v2 under /open311/v2: every method in JSON and XML, against the
specification's field lists (wiki.open311.org/GeoReport_v2), errors included."""
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from feedback.models import ApiClient, Report, ReportSource, ReportStatus
from feedback.services import open311, workflow
from tests import factories

FORMATS = ("json", "xml")
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type",
                  "keywords", "group"]
ATTRIBUTE_FIELDS = ["variable", "code", "datatype", "required", "datatype_description",
                    "order", "description"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"]
UPDATE_FIELDS = ["update_id", "service_request_id", "status", "updated_datetime",
                 "description", "media_url"]
NINH_KIEU = "31135"


def _element(element):
    children = list(element)
    if not children:
        return element.text or ""
    if all(child.tag == children[0].tag for child in children) and len(children) > 1 or (
            element.tag in ("services", "attributes", "values", "endpoints", "formats",
                            "service_requests", "errors", "service_request_updates")):
        return [_element(child) for child in children]
    return {child.tag: _element(child) for child in children}


def read(response, fmt):
    """The body as Python: JSON as it is, XML as nested dicts and lists of strings."""
    if fmt == "json":
        assert response.content_type == "application/json; charset=utf-8"
        return json.loads(response.data)
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(response.data)
    return root.tag, _element(root)


def items(response, fmt, root, item):
    """A list answer: checks the XML root and item element names."""
    if fmt == "json":
        body = read(response, fmt)
        assert isinstance(body, list)
        return body
    tree = ET.fromstring(response.data)
    assert tree.tag == root
    assert all(child.tag == item for child in tree)
    return [_element(child) for child in tree]


def keys(item) -> list:
    return list(item.keys())


def errors(response, fmt, status):
    assert response.status_code == status, response.data
    found = items(response, fmt, "errors", "error")
    assert found and all(keys(error) == ["code", "description"] for error in found)
    assert all(int(error["code"]) == status for error in found)
    return [error["description"] for error in found]


@pytest.fixture
def now():
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def key(db_session, redis):
    _, key = factories.api_client(db_session)
    db_session.commit()
    return key


def post(client, fmt="json", **form):
    return client.post(f"/open311/v2/requests.{fmt}", data=form)


# -- discovery and services ----------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_v2_endpoint_its_formats_and_type(client, fmt):
    response = client.get(f"/open311/v2/discovery.{fmt}")
    assert response.status_code == 200
    body = read(response, fmt)
    if fmt == "xml":
        tag, body = body
        assert tag == "discovery"
    assert keys(body) == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = body["endpoints"][0]
    assert keys(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["type"] == "test"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert "+07:00" in body["changeset"]
    assert client.get(f"/open311/discovery.{fmt}").status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_categories_with_every_field_of_the_spec(client, fmt):
    response = client.get(f"/open311/v2/services.{fmt}")
    assert response.status_code == 200
    services = items(response, fmt, "services", "service")
    assert len(services) == 17
    assert all(keys(service) == SERVICE_FIELDS for service in services)
    traffic = next(s for s in services if s["service_code"] == "giao-thong")
    assert traffic["service_name"] == "Giao thông"
    assert traffic["metadata"] in (True, "true")
    assert traffic["type"] == "batch"
    assert traffic["group"] == "Thông thường"
    disaster = next(s for s in services if s["service_code"] == "thien-tai")
    assert disaster["group"] == "Khẩn cấp"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_service_definition_asks_for_the_commune_among_the_provinces_communes(client, fmt):
    response = client.get(f"/open311/v2/services/giao-thong.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        definition = read(response, fmt)
    else:
        tag, definition = read(response, fmt)
        assert tag == "service_definition"
    assert keys(definition) == ["service_code", "attributes"]
    assert definition["service_code"] == "giao-thong"
    commune, title = definition["attributes"]
    assert keys(commune) == [*ATTRIBUTE_FIELDS, "values"]
    assert keys(title) == ATTRIBUTE_FIELDS
    assert commune["code"] == "commune_code"
    assert commune["datatype"] == "singlevaluelist"
    assert commune["required"] in (True, "true")
    assert str(commune["order"]) == "1"
    values = commune["values"]
    assert len(values) == 103  # Cần Thơ's communes, wards and special zones
    assert {"key": NINH_KIEU, "name": "Phường Ninh Kiều"} in values
    assert all(keys(value) == ["key", "name"] for value in values)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_service_is_404_in_the_spec_error_shape(client, fmt):
    descriptions = errors(client.get(f"/open311/v2/services/khong-co.{fmt}"), fmt, 404)
    assert "khong-co" in descriptions[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_paths_and_methods_answer_in_the_spec_error_shape_not_html(client, fmt):
    errors(client.get(f"/open311/v2/nothing.{fmt}"), fmt, 404)
    errors(client.delete(f"/open311/v2/requests.{fmt}"), fmt, 405)
    errors(client.post(f"/open311/v2/services.{fmt}"), fmt, 405)
    # Another format than json or xml is no method of ours.
    assert client.get("/open311/v2/services.csv").status_code == 404


# -- GET requests -------------------------------------------------------------------------

@pytest.fixture
def handled(db_session, now):
    """A resolved report with an answer photo, an open one, and reports that are not
    public: waiting for moderation, rejected, hidden, private."""
    resolved = factories.resolved_report(db_session, now=now - timedelta(days=2),
                                         outcome="fixed", text="Đã vá ổ gà", answer_photos=1)
    resolved.title = "Ổ gà"
    resolved.latitude, resolved.longitude = 10.0345678, 105.7812345
    factories.ready_photo(db_session, resolved)
    open_one = factories.acknowledged_report(db_session, now=now - timedelta(days=1))
    waiting = factories.report(db_session, now=now)
    rejected = factories.report(db_session, now=now)
    workflow.reject(db_session, rejected, actor=factories.staff(db_session, "moderator"),
                    now=now, reason_code="spam")
    hidden = factories.routed_report(db_session, now=now)
    hidden.is_hidden = True
    private = factories.routed_report(db_session, now=now)
    private.is_public = False
    db_session.commit()
    return {"resolved": resolved.tracking_code, "open": open_one.tracking_code,
            "hidden_codes": [r.tracking_code for r in (waiting, rejected, hidden, private)]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_are_the_public_reports_with_every_field_of_the_spec(client, handled, fmt):
    response = client.get(f"/open311/v2/requests.{fmt}")
    assert response.status_code == 200
    requests = items(response, fmt, "service_requests", "request")
    codes = [r["service_request_id"] for r in requests]
    assert codes == [handled["open"], handled["resolved"]]  # newest first
    assert not set(codes) & set(handled["hidden_codes"])
    assert all(keys(r) == REQUEST_FIELDS for r in requests)
    resolved = requests[1]
    assert resolved["status"] == "closed"
    assert resolved["status_notes"] == "Đã khắc phục: Đã vá ổ gà"
    assert resolved["service_code"] == "giao-thong"
    assert resolved["service_name"] == "Giao thông"
    assert resolved["agency_responsible"] == "Sở Xây dựng thành phố Cần Thơ"
    assert resolved["description"].startswith("Ổ gà\n\n")
    assert resolved["address"] == "Phường Ninh Kiều, Thành phố Cần Thơ"
    assert str(resolved["lat"]) == "10.035" and str(resolved["long"]) == "105.781"
    assert resolved["requested_datetime"].endswith("+07:00")
    assert resolved["updated_datetime"].endswith("+07:00")
    assert resolved["expected_datetime"].endswith("+07:00")
    assert resolved["media_url"].startswith("http://localhost/api/v1/photos/")
    open_one = requests[0]
    assert open_one["status"] == "open"
    assert open_one["status_notes"] == "Đang xử lý"
    assert open_one["media_url"] in (None, "")


@pytest.mark.parametrize("fmt", FORMATS)
def test_expected_datetime_is_the_resolution_deadline(client, db_session, handled, fmt):
    report = db_session.execute(
        select(Report).where(Report.tracking_code == handled["open"])).scalar_one()
    body = items(client.get(f"/open311/v2/requests/{handled['open']}.{fmt}"), fmt,
                 "service_requests", "request")
    assert body[0]["expected_datetime"] == open311.local(report.resolve_due_at,
                                                         "Asia/Ho_Chi_Minh")


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_filter_by_status_service_code_and_ids(client, handled, fmt):
    def codes(query):
        response = client.get(f"/open311/v2/requests.{fmt}?{query}")
        assert response.status_code == 200, response.data
        return [r["service_request_id"]
                for r in items(response, fmt, "service_requests", "request")]

    assert codes("status=open") == [handled["open"]]
    assert codes("status=closed") == [handled["resolved"]]
    assert codes("status=open,closed") == [handled["open"], handled["resolved"]]
    assert codes("service_code=xay-dung") == []
    assert codes("service_code=xay-dung,giao-thong") == [handled["open"], handled["resolved"]]
    # service_request_id overrides every other argument; unpublished ids are not found.
    ids = ",".join([handled["resolved"], *handled["hidden_codes"]])
    assert codes(f"service_request_id={ids}&status=open") == [handled["resolved"]]
    assert codes("page=1&page_size=1") == [handled["open"]]
    assert codes("page=2&page_size=1") == [handled["resolved"]]
    assert codes("page=3&page_size=1") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_filter_by_dates_and_default_to_the_last_90_days(client, db_session, now,
                                                                   handled, fmt):
    old = factories.routed_report(db_session, now=now - timedelta(days=120))
    db_session.commit()

    def codes(query=""):
        response = client.get(f"/open311/v2/requests.{fmt}?{query}")
        assert response.status_code == 200, response.data
        return [r["service_request_id"]
                for r in items(response, fmt, "service_requests", "request")]

    assert old.tracking_code not in codes()
    start = (now - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=100)).isoformat()
    assert codes(f"start_date={start}&end_date={end}") == [old.tracking_code]
    assert codes(f"start_date={start}") == [old.tracking_code]
    day = (now - timedelta(days=1)).astimezone(timezone(timedelta(hours=7))).date()
    assert codes(f"start_date={day.isoformat()}") == [handled["open"]]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("query, problem", [
    ("start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z", "90 days"),
    ("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "before"),
    ("start_date=yesterday", "start_date"),
    # Far from any report, and far enough to overflow a datetime in UTC arithmetic.
    ("end_date=9999-12-31T23:59:59-07:00", "end_date"),
    ("start_date=0001-01-01T00:00:00%2B07:00", "start_date"),
    ("status=pending", "status"),
    ("page=0", "page"),
    ("page_size=1001", "page_size"),
    ("page_size=many", "page"),
])
def test_bad_arguments_to_get_requests_are_400(client, fmt, query, problem):
    descriptions = errors(client.get(f"/open311/v2/requests.{fmt}?{query}"), fmt, 400)
    assert problem in descriptions[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_request_by_its_id_and_404_for_one_not_published(client, handled, fmt):
    response = client.get(f"/open311/v2/requests/{handled['resolved'].lower()}.{fmt}")
    found = items(response, fmt, "service_requests", "request")
    assert [r["service_request_id"] for r in found] == [handled["resolved"]]
    assert keys(found[0]) == REQUEST_FIELDS
    for code in handled["hidden_codes"]:
        errors(client.get(f"/open311/v2/requests/{code}.{fmt}"), fmt, 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_duplicate_is_closed_and_names_the_report_it_was_merged_into(
        client, db_session, now, fmt):
    original = factories.routed_report(db_session, now=now)
    copy = factories.report(db_session, now=now)
    workflow.mark_duplicate(db_session, copy, original,
                            actor=factories.staff(db_session, "moderator"), now=now)
    db_session.commit()
    found = items(client.get(f"/open311/v2/requests/{copy.tracking_code}.{fmt}"), fmt,
                  "service_requests", "request")[0]
    assert found["status"] == "closed"
    assert found["status_notes"] == f"Trùng với phản ánh {original.tracking_code}"


# -- POST requests and tokens ----------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_a_posted_request_waits_for_moderation_and_its_token_then_gives_its_id(
        client, db_session, key, fmt):
    response = post(client, fmt, api_key=key, service_code="thu-tuc-hanh-chinh",
                    lat="10.0345", long="105.7811", description="Cán bộ trễ hẹn",
                    **{"attribute[commune_code]": NINH_KIEU}, first_name="Lan",
                    last_name="Nguyễn", email="lan@example.vn", phone="0912 345 678",
                    device_id="device-abc")
    assert response.status_code == 200, response.data
    answer = items(response, fmt, "service_requests", "request")
    assert len(answer) == 1 and keys(answer[0]) == ["token", "service_notice", "account_id"]
    token = answer[0]["token"]

    report = db_session.execute(select(Report).order_by(Report.id.desc()).limit(1)).scalar_one()
    assert report.status == ReportStatus.SUBMITTED and report.moderated_at is None
    assert report.source == ReportSource.OPEN311
    assert report.citizen_id is None
    assert (report.contact_name, report.contact_email, report.contact_phone,
            report.device_id) == ("Lan Nguyễn", "lan@example.vn", "0912 345 678", "device-abc")
    client_row = db_session.execute(select(ApiClient)).scalars().all()[-1]
    assert report.api_client_id == client_row.id
    assert report.area_code == NINH_KIEU and report.province_code == "92"

    # Until a moderator approves it, the token has no id to give.
    pending = items(client.get(f"/open311/v2/tokens/{token}.{fmt}"), fmt,
                    "service_requests", "request")
    assert keys(pending[0]) == ["service_request_id", "token"]
    assert pending[0]["service_request_id"] in (None, "")
    assert pending[0]["token"] == token
    errors(client.get(f"/open311/v2/requests/{report.tracking_code}.{fmt}"), fmt, 404)

    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"),
                     now=datetime.now(timezone.utc))
    db_session.commit()
    resolved = items(client.get(f"/open311/v2/tokens/{token}.{fmt}"), fmt,
                     "service_requests", "request")
    assert resolved == [{"service_request_id": report.tracking_code, "token": token}]
    assert client.get(f"/open311/v2/requests/{report.tracking_code}.{fmt}").status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_deviceid_is_accepted_as_device_id_and_address_string_names_the_commune(
        client, db_session, key, fmt):
    response = post(client, fmt, api_key=key, service_code="thu-tuc-hanh-chinh",
                    address_string="12 Hòa Bình, phuong Ninh Kieu, Can Tho",
                    description="Xếp hàng lâu", deviceid="old-client-7")
    assert response.status_code == 200, response.data
    report = db_session.execute(select(Report).order_by(Report.id.desc()).limit(1)).scalar_one()
    assert report.device_id == "old-client-7"
    assert report.area_code == NINH_KIEU
    assert report.latitude is None and report.address_text.startswith("12 Hòa Bình")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_rejected_request_has_no_id_and_its_token_says_so(client, db_session, key, fmt):
    answer = items(post(client, fmt, api_key=key, service_code="thu-tuc-hanh-chinh",
                        lat="10.03", long="105.78", description="Quảng cáo",
                        **{"attribute[commune_code]": NINH_KIEU}),
                   fmt, "service_requests", "request")
    report = db_session.execute(select(Report).order_by(Report.id.desc()).limit(1)).scalar_one()
    workflow.reject(db_session, report, actor=factories.staff(db_session, "moderator"),
                    now=datetime.now(timezone.utc), reason_code="spam")
    db_session.commit()
    errors(client.get(f"/open311/v2/tokens/{answer[0]['token']}.{fmt}"), fmt, 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_forged_or_unknown_token_is_404(client, fmt):
    errors(client.get(f"/open311/v2/tokens/1-{'0' * 24}.{fmt}"), fmt, 404)
    errors(client.get(f"/open311/v2/tokens/nonsense.{fmt}"), fmt, 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_posting_without_a_key_or_with_a_wrong_or_revoked_one_is_403(
        client, db_session, key, fmt):
    form = {"service_code": "thu-tuc-hanh-chinh", "lat": "10.03", "long": "105.78",
            "description": "x", "attribute[commune_code]": NINH_KIEU}
    errors(post(client, fmt, **form), fmt, 403)
    errors(post(client, fmt, api_key="pa_wrong", **form), fmt, 403)
    client_row = db_session.execute(select(ApiClient)).scalars().all()[-1]
    client_row.revoked_at = datetime.now(timezone.utc)
    db_session.commit()
    errors(post(client, fmt, api_key=key, **form), fmt, 403)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("form, problem", [
    ({}, "service_code"),
    ({"service_code": "khong-co"}, "khong-co"),
    ({"service_code": "thu-tuc-hanh-chinh"}, "location"),
    ({"service_code": "thu-tuc-hanh-chinh", "lat": "10.03"}, "lat and long"),
    ({"service_code": "thu-tuc-hanh-chinh", "lat": "north", "long": "105"}, "lat"),
    ({"service_code": "thu-tuc-hanh-chinh", "lat": "10.03", "long": "105.78"},
     "attribute[commune_code]"),
    ({"service_code": "thu-tuc-hanh-chinh", "lat": "10.03", "long": "105.78",
      "attribute[commune_code]": "00004"}, "00004"),  # Ba Đình, Hà Nội: not served here
    ({"service_code": "thu-tuc-hanh-chinh", "address_string": "somewhere"}, "commune"),
    ({"service_code": "giao-thong", "lat": "10.03", "long": "105.78",
      "attribute[commune_code]": NINH_KIEU}, "media_url"),  # this category needs a photo
    ({"service_code": "thu-tuc-hanh-chinh", "lat": "10.03", "long": "105.78",
      "attribute[commune_code]": NINH_KIEU, "email": "not-an-address"}, "email"),
    ({"service_code": "thu-tuc-hanh-chinh", "lat": "10.03", "long": "105.78",
      "attribute[commune_code]": NINH_KIEU, "description": "x" * 4001}, "description"),
])
def test_a_request_that_cannot_be_taken_is_400_and_nothing_is_kept(
        client, db_session, key, fmt, form, problem):
    before = db_session.execute(select(Report.id).order_by(Report.id.desc()).limit(1)).first()
    descriptions = errors(post(client, fmt, api_key=key, **form), fmt, 400)
    assert any(problem in d for d in descriptions), descriptions
    after = db_session.execute(select(Report.id).order_by(Report.id.desc()).limit(1)).first()
    assert after == before


def test_a_description_left_out_becomes_the_service_name(client, db_session, key):
    response = post(client, api_key=key, service_code="thu-tuc-hanh-chinh", lat="10.03",
                    long="105.78", **{"attribute[commune_code]": NINH_KIEU})
    assert response.status_code == 200, response.data
    report = db_session.execute(select(Report).order_by(Report.id.desc()).limit(1)).scalar_one()
    assert report.description == "Thủ tục hành chính và thái độ cán bộ"


def test_too_many_posts_with_one_key_are_429_in_the_spec_shape(app, client, key, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_POST_RATE_LIMIT", "2 per minute")
    form = {"api_key": key, "service_code": "thu-tuc-hanh-chinh", "lat": "10.03",
            "long": "105.78", "attribute[commune_code]": NINH_KIEU}
    assert post(client, **form).status_code == 200
    assert post(client, **form).status_code == 200
    response = post(client, **form)
    errors(response, "json", 429)
    assert response.headers["Retry-After"]


# -- servicerequestupdates --------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_updates_follow_a_reports_public_history_with_mysociety_statuses(
        client, handled, fmt):
    response = client.get(f"/open311/v2/servicerequestupdates.{fmt}")
    assert response.status_code == 200
    updates = items(response, fmt, "service_request_updates", "request_update")
    assert all(keys(u)[:len(UPDATE_FIELDS)] == UPDATE_FIELDS for u in updates)
    resolved = [u for u in updates if u["service_request_id"] == handled["resolved"]]
    assert [u["status"] for u in resolved] == ["open", "open", "in_progress", "fixed"]
    assert resolved[1]["description"] == "Chuyển đơn vị xử lý: Sở Xây dựng thành phố Cần Thơ"
    assert resolved[-1]["description"] == "Đã vá ổ gà"
    assert resolved[-1]["media_url"].startswith("http://localhost/api/v1/photos/")
    assert all(u["updated_datetime"].endswith("+07:00") for u in updates)
    shown = {u["service_request_id"] for u in updates}
    assert not shown & set(handled["hidden_codes"])
    assert len({u["update_id"] for u in updates}) == len(updates)


@pytest.mark.parametrize("fmt", FORMATS)
def test_updates_keep_to_their_window(client, handled, now, fmt):
    start = (now + timedelta(hours=2)).isoformat()
    end = (now + timedelta(hours=4)).isoformat()
    response = client.get(f"/open311/v2/servicerequestupdates.{fmt}"
                          f"?start_date={start}&end_date={end}")
    assert items(response, fmt, "service_request_updates", "request_update") == []
    errors(client.get(f"/open311/v2/servicerequestupdates.{fmt}"
                      "?start_date=2026-01-01&end_date=2026-06-01"), fmt, 400)


def test_the_api_error_handler_leaves_open311_paths_to_open311(client):
    """/api/ errors are {"code", "message", "details"}; Open311's are the spec's list."""
    body = client.get("/open311/v2/requests/NOPE.json").json
    assert body == [{"code": 404, "description": "No service request NOPE."}]
    assert client.get("/api/v1/public/reports/NOPE").json["code"] == "not_found"


def test_a_plus_left_unencoded_in_a_date_is_read_as_the_offset(client, handled, now):
    start = (now - timedelta(days=3)).astimezone(timezone(timedelta(hours=7)))
    query = start.isoformat().replace("+", " ")  # what an unencoded "+07:00" becomes
    response = client.get(f"/open311/v2/requests.json?start_date={query}")
    assert response.status_code == 200, response.json
    assert len(response.json) == 2


def test_text_xml_cannot_carry_is_left_out_and_markup_is_escaped(client, db_session, now):
    report = factories.routed_report(db_session, now=now,
                                     description="a <b> & \x0b\x1f c \ufffe d")
    db_session.commit()
    response = client.get(f"/open311/v2/requests/{report.tracking_code}.xml")
    assert response.status_code == 200
    found = items(response, "xml", "service_requests", "request")[0]
    assert found["description"] == "a <b> &  c  d"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_database_that_does_not_answer_is_503_in_the_spec_shape(client, monkeypatch, fmt):
    from sqlalchemy.exc import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(open311, "services", down)
    response = client.get(f"/open311/v2/services.{fmt}")
    errors(response, fmt, 503)
    assert response.headers["Retry-After"] == "5"


def test_a_body_far_larger_than_a_form_is_413_in_the_spec_shape(client, key):
    response = post(client, api_key=key, service_code="thu-tuc-hanh-chinh",
                    description="x" * 100_000)
    errors(response, "json", 413)
