"""Open311 over real HTTP: a third-party GeoReport v2 client from PyPI (`georeport`) reads
our services and requests, and media_url is fetched from a server the test starts."""
from datetime import datetime, timedelta, timezone

import pytest
from georeport import GeoReport
from sqlalchemy import select

from feedback.models import Photo, PhotoState, Report, ReportSource
from feedback.services import workflow
from tests import factories
from tests.http_servers import body, live_app, serving
from tests.samples import assert_no_metadata, phone_jpeg
from workers import queues
from workers.worker import make_worker

NINH_KIEU = "31135"


@pytest.fixture
def reports(db_session):
    now = datetime.now(timezone.utc) - timedelta(hours=2)
    resolved = factories.resolved_report(db_session, now=now - timedelta(days=3),
                                         outcome="planned", text="Đưa vào kế hoạch 2027")
    open_one = factories.acknowledged_report(db_session, now=now)
    db_session.commit()
    return resolved.tracking_code, open_one.tracking_code


@pytest.fixture
def server(app, db_session):
    with live_app(app) as base:
        yield base


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_georeport_client_reads_our_services_and_a_definition(server, fmt):
    client = GeoReport(f"{server}/open311/v2", output_format=fmt)

    services = client.get_service_list()
    assert len(services) == 17
    traffic = next(s for s in services if s["service_code"] == "giao-thong")
    assert traffic["service_name"] == "Giao thông"

    definition = client.get_service_definition("giao-thong")
    assert definition["service_code"] == "giao-thong"
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = attributes["attribute"]
    assert attributes[0]["code"] == "commune_code"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_georeport_client_reads_requests_by_status_and_by_id(server, reports, fmt):
    resolved, open_one = reports
    client = GeoReport(f"{server}/open311/v2", output_format=fmt)

    everything = client.get_service_requests()
    assert [r["service_request_id"] for r in everything] == [open_one, resolved]

    closed = client.get_service_requests(status="closed")
    if fmt == "xml":
        closed = [closed]  # xmltodict gives a single element as a dict
    assert [r["service_request_id"] for r in closed] == [resolved]
    assert closed[0]["status_notes"] == "Đưa vào kế hoạch: Đưa vào kế hoạch 2027"

    one = client.get_service_request(open_one)
    assert one["service_request_id"] == open_one
    assert one["status"] == "open"
    assert one["agency_responsible"] == "Sở Xây dựng thành phố Cần Thơ"
    assert one["requested_datetime"].endswith("+07:00")


def test_a_media_url_goes_through_the_same_photo_pipeline_as_an_app_upload(
        app, client, db_session, redis, monkeypatch):
    """From a server on 127.0.0.1, allowed for this test only: the photo is stored, made
    upright and stripped by the photo job, and only stripped copies are ever served."""
    monkeypatch.setitem(app.config, "OPEN311_ALLOW_PRIVATE_MEDIA", True)
    _, key = factories.api_client(db_session)
    db_session.commit()
    photo = phone_jpeg(1200, 900)
    with serving({"/IMG_0001.JPG": body(photo, content_type="application/octet-stream")}) as media:
        response = client.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": "giao-thong", "lat": "10.0345", "long": "105.7811",
            "attribute[commune_code]": NINH_KIEU, "description": "Ổ gà trước chợ",
            "media_url": f"{media}/IMG_0001.JPG"})
    assert response.status_code == 200, response.data

    report = db_session.execute(select(Report).order_by(Report.id.desc()).limit(1)).scalar_one()
    assert report.source == ReportSource.OPEN311
    stored = db_session.execute(select(Photo).where(Photo.report_id == report.id)).scalar_one()
    assert stored.state == PhotoState.PENDING and stored.original_bytes == len(photo)
    photo_id, report_id = stored.id, report.id

    make_worker(app, queues.ALL, redis).work(burst=True)
    stored = db_session.get(Photo, photo_id)
    assert stored.state == PhotoState.READY
    report = db_session.get(Report, report_id)
    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"),
                     now=datetime.now(timezone.utc))
    db_session.commit()

    media_url = client.get(f"/open311/v2/requests/{report.tracking_code}.json").json[0]["media_url"]
    assert media_url.endswith(stored.display_key)
    served = client.get(media_url.removeprefix("http://localhost"))
    assert served.status_code == 200
    assert_no_metadata(served.data)


def test_media_url_on_an_inside_address_is_refused_by_default(client, db_session, redis):
    _, key = factories.api_client(db_session)
    db_session.commit()
    form = {"api_key": key, "service_code": "giao-thong", "lat": "10.0345", "long": "105.7811",
            "attribute[commune_code]": NINH_KIEU, "description": "Ổ gà"}
    with serving({"/a.jpg": body(phone_jpeg(400, 300))}) as media:
        for url in (f"{media}/a.jpg", "http://10.0.0.8/a.jpg", "http://169.254.169.254/",
                    "http://[::1]/a.jpg", media.replace("127.0.0.1", "localhost") + "/a.jpg"):
            response = client.post("/open311/v2/requests.json", data={**form, "media_url": url})
            assert response.status_code == 400, url
            assert response.json[0]["description"].startswith("media_url:")
    assert db_session.execute(select(Report).where(
        Report.source == ReportSource.OPEN311)).first() is None


def test_media_that_is_not_a_photo_is_refused_as_any_upload_would_be(
        app, client, db_session, redis, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_ALLOW_PRIVATE_MEDIA", True)
    _, key = factories.api_client(db_session)
    db_session.commit()
    with serving({"/a.jpg": body(b"<html>not a photo</html>", content_type="image/jpeg")}) as media:
        response = client.post("/open311/v2/requests.xml", data={
            "api_key": key, "service_code": "giao-thong", "lat": "10.0345", "long": "105.7811",
            "attribute[commune_code]": NINH_KIEU, "media_url": f"{media}/a.jpg"})
    assert response.status_code == 400
    assert b"<description>media_url: " in response.data
