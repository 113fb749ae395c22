"""Nothing personal leaves through the public pages, the public JSON API or Open311.

Two reports with every personal field filled: one from the citizens' app (name, phone
number, e-mail, exact coordinates, the address as typed, a phone photo with EXIF GPS),
one through Open311 (first and last name, e-mail, phone, device id, exact coordinates,
media with EXIF GPS), and a third the citizen did not allow on the public pages. Each
is approved, routed and handled; then every public answer's raw body is searched for
each personal value, and every photo it links to is fetched and checked stripped.
"""
import html
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from feedback.models import Outcome, Photo, Report, Role, User
from feedback.services import routing, workflow
from feedback.services.auth import issue_token
from tests import factories
from tests.http_servers import body, serving
from tests.samples import assert_no_metadata, phone_jpeg
from workers import queues
from workers.worker import make_worker

NAME = "Nguyễn Thị Riêng Tư"
PHONE = "+84912345678"
EMAIL = "rieng.tu@example.vn"
ADDRESS = "Số 12 hẻm 34 đường Hòa Bình"
LAT, LON = "10.0345678", "105.7812345"

O_FIRST, O_LAST = "Trần", "Văn Bímật"
O_EMAIL = "bimat@example.vn"
O_PHONE = "0987 654 321"
O_DEVICE = "device-7f3a9c21"
O_LAT, O_LON = "10.0456789", "105.7654321"

PERSONAL = [NAME, "Riêng Tư", PHONE, "0912345678", "912345678", EMAIL, ADDRESS, "hẻm 34",
            f"{O_FIRST} {O_LAST}", O_LAST, O_EMAIL, O_PHONE, "0987654321", "987654321",
            O_DEVICE, LAT, LON, O_LAT, O_LON]
# A coordinate finer than three decimals (about 100 m), of any of the positions above or
# of the photos' GPS (10°02'00" N 105°47'24" E).
FINE_COORDINATE = re.compile(r"\b(10\.0\d{4,}|105\.7\d{4,})")
PERSONAL_KEYS = ("citizen", "user_id", "contact", "device", "phone", "email", "full_name",
                 "first_name", "last_name", "address_text", "original")


def texts(response) -> list[str]:
    """The body as sent, and as a reader decodes it (JSON escapes, HTML entities)."""
    raw = response.get_data(as_text=True)
    found = [raw, html.unescape(raw)]
    if response.is_json:
        found.append(json.dumps(response.json, ensure_ascii=False))
    return found


def keys_of(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in keys_of(item)}
    if isinstance(value, list):
        return {k for item in value for k in keys_of(item)}
    return set()


@pytest.fixture
def handled(app, client, db_session, redis, monkeypatch):
    now = datetime.now(timezone.utc)

    # From the app: a citizen with a name, a phone number and an e-mail.
    citizen = User(role=Role.CITIZEN, phone=PHONE, full_name=NAME, email=EMAIL)
    db_session.add(citizen)
    db_session.flush()
    citizen_id = citizen.id
    db_session.commit()
    token = issue_token(citizen, secret=app.config["SECRET_KEY"], now=now,
                        lifetime=timedelta(minutes=30)).token
    sent = client.post("/api/v1/reports", headers={"Authorization": f"Bearer {token}"},
                       content_type="multipart/form-data", data={
                           "category": "giao-thong", "description": "Ổ gà sâu giữa đường",
                           "commune_code": "31135", "latitude": LAT, "longitude": LON,
                           "address": ADDRESS, "public": "true",
                           "photos": [(io.BytesIO(phone_jpeg(800, 600, seed=1)), "a.jpg"),
                                      (io.BytesIO(phone_jpeg(640, 480, seed=2)), "b.jpg")]})
    assert sent.status_code == 201, sent.json
    app_code = sent.json["tracking_code"]

    # Through Open311, media from a server on this machine (allowed for this test).
    monkeypatch.setitem(app.config, "OPEN311_ALLOW_PRIVATE_MEDIA", True)
    _, key = factories.api_client(db_session)
    db_session.commit()
    with serving({"/p.jpg": body(phone_jpeg(800, 600, seed=3))}) as media:
        posted = client.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": "giao-thong", "lat": O_LAT, "long": O_LON,
            "attribute[commune_code]": "31135", "description": "Nắp cống bị vỡ",
            "first_name": O_FIRST, "last_name": O_LAST, "email": O_EMAIL, "phone": O_PHONE,
            "device_id": O_DEVICE, "media_url": f"{media}/p.jpg"})
    assert posted.status_code == 200, posted.data
    open311_token = posted.json[0]["token"]

    # Not allowed on the public pages by its citizen.
    private = client.post("/api/v1/reports", headers={"Authorization": f"Bearer {token}"},
                          content_type="multipart/form-data", data={
                              "category": "thu-tuc-hanh-chinh", "description": "Riêng tư",
                              "commune_code": "31135", "latitude": "10.0411111",
                              "longitude": "105.7711111", "public": "false"})
    private_code = private.json["tracking_code"]

    make_worker(app, queues.ALL, redis).work(burst=True)
    moderator = factories.staff(db_session, "moderator")
    officer = factories.staff(db_session, "officer")
    reports = db_session.execute(select(Report).where(Report.citizen_id.is_(None) | (
        Report.citizen_id == citizen_id))).scalars().all()
    for report in reports:
        workflow.approve(db_session, report, actor=moderator, now=now)
        routing.route(db_session, report, now=now)
        db_session.flush()
        if report.category.code == "giao-thong":
            workflow.acknowledge(db_session, report, actor=officer, now=now)
            workflow.answer(db_session, report, actor=officer, now=now,
                            outcome=Outcome.PLANNED, text="Đưa vào kế hoạch sửa chữa")
    open311_code = next(r.tracking_code for r in reports if r.citizen_id is None)
    hidden = db_session.execute(select(Photo).join(Report).where(
        Report.tracking_code == app_code).order_by(Photo.position)).scalars().all()[1]
    hidden.is_hidden = True
    photos = db_session.execute(select(Photo).join(Report).where(
        Report.id.in_([r.id for r in reports]))).scalars().all()
    assert all(p.state == "ready" for p in photos)
    secrets = [*PERSONAL, private_code, *(p.original_key for p in photos),
               hidden.display_key, hidden.thumbnail_key, f"/api/v1/photos/{hidden.id}/"]
    db_session.commit()
    return {"codes": (app_code, open311_code), "token": open311_token, "secrets": secrets}


def public_answers(client, handled):
    app_code, open311_code = handled["codes"]
    urls = ["/api/v1/public/reports", "/cong-khai/", "/cong-khai/?status=resolved",
            "/api/v1/public/scorecards", "/cong-khai/don-vi"]
    for code in (app_code, open311_code):
        urls += [f"/api/v1/public/reports/{code}", f"/cong-khai/phan-anh/{code}"]
    for fmt in ("json", "xml"):
        urls += [f"/open311/v2/requests.{fmt}", f"/open311/v2/servicerequestupdates.{fmt}",
                 f"/open311/v2/tokens/{handled['token']}.{fmt}"]
        urls += [f"/open311/v2/requests/{code}.{fmt}" for code in (app_code, open311_code)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.data[:300])
        yield url, response


def test_no_personal_value_appears_in_any_public_answer(client, handled):
    app_code, open311_code = handled["codes"]
    listed = client.get("/api/v1/public/reports").get_data(as_text=True)
    assert app_code in listed and open311_code in listed  # the reports are there...
    for url, response in public_answers(client, handled):
        for text in texts(response):
            for secret in handled["secrets"]:  # ...and nothing personal of theirs
                assert secret not in text, (url, secret)
            assert not FINE_COORDINATE.search(text), (url, FINE_COORDINATE.search(text))
        if response.is_json:
            leaked = {k for k in keys_of(response.json)
                      if any(word in k for word in PERSONAL_KEYS)}
            assert not leaked, (url, leaked)


def test_the_positions_are_published_rounded_to_about_100_metres(client, handled):
    app_code, open311_code = handled["codes"]
    mine = client.get(f"/api/v1/public/reports/{app_code}").json
    assert (mine["latitude"], mine["longitude"]) == (10.035, 105.781)
    theirs = client.get(f"/open311/v2/requests/{open311_code}.json").json[0]
    assert (theirs["lat"], theirs["long"]) == (10.046, 105.765)


def test_every_photo_a_public_answer_links_to_is_stripped_of_its_metadata(client, handled):
    linked = set()
    for _, response in public_answers(client, handled):
        for text in texts(response):
            linked |= set(re.findall(r"/api/v1/photos/\d+/[0-9a-f]{64}\.jpg", text))
    assert len(linked) >= 4  # each report's photo, display and thumbnail
    for path in linked:
        served = client.get(path)
        assert served.status_code == 200, path
        assert_no_metadata(served.data)
