"""Citizens send reports with photos through the API, and read what is theirs."""
import io
import os
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from feedback.models import (
    Category,
    Department,
    Notification,
    Photo,
    Report,
    ReportStatus,
    Role,
    User,
)
from feedback.services.auth import issue_token
from tests import factories
from tests.samples import (
    GPS_DEGREES,
    GREEN,
    PDF,
    RED,
    assert_no_metadata,
    iphone_heic,
    near,
    opened,
    phone_jpeg,
    png_bomb,
    truncated_jpeg,
)
from workers import queues
from workers.worker import make_worker

NINH_KIEU = "31135"  # Phường Ninh Kiều, Cần Thơ
NO_PHOTO_NEEDED = "thu-tuc-hanh-chinh"
PHOTO_NEEDED = "giao-thong"


@pytest.fixture
def make_citizen(app, db_session):
    """make_citizen() → (user, headers) for a new citizen with a bearer token."""

    def make_citizen(**fields):
        user = User(role=Role.CITIZEN, phone=f"+849{uuid.uuid4().int % 10**8:08d}", **fields)
        db_session.add(user)
        db_session.flush()
        token = issue_token(user, secret=app.config["SECRET_KEY"],
                            now=datetime.now(timezone.utc), lifetime=timedelta(minutes=30))
        return user, {"Authorization": f"Bearer {token.token}"}

    return make_citizen


@pytest.fixture
def citizen(make_citizen, redis):
    # `redis` empties the rate limiter's counters and the RQ queues around each test.
    return make_citizen()


def send(client, headers, *, photos=(), key=None, **fields):
    """POST a report as the app does: multipart, photos in a repeated `photos` part."""
    data = {"category": NO_PHOTO_NEEDED, "description": "Cán bộ tiếp dân trễ hẹn hai lần.",
            "commune_code": NINH_KIEU, "latitude": "10.0340", "longitude": "105.7880",
            "address": "2 Hai Bà Trưng", "anonymous": "false", "public": "true"}
    data.update({name: value for name, value in fields.items() if value is not None})
    for name in [name for name, value in fields.items() if value is None]:
        data.pop(name, None)
    data["photos"] = [(io.BytesIO(content), name, "image/jpeg") for name, content in photos]
    headers = dict(headers)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/reports", data=data, headers=headers,
                       content_type="multipart/form-data")


def stored_files(app) -> set[str]:
    folder = app.config["PHOTO_FOLDER"]
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


def reports_of(db_session, user) -> int:
    return db_session.execute(
        select(func.count()).select_from(Report).where(Report.citizen_id == user.id)
    ).scalar_one()


# -- sending -----------------------------------------------------------------------------

@pytest.mark.embedded
def test_a_report_without_photos_in_a_category_that_needs_none_is_received(
        client, db_session, citizen):
    user, headers = citizen
    response = send(client, headers)

    assert response.status_code == 201, response.json
    body = response.json
    year = datetime.now(timezone(timedelta(hours=7))).year
    assert body["tracking_code"].startswith(f"PA-{year}-")
    assert len(body["tracking_code"].split("-")[2]) >= 6
    assert (body["status"], body["status_label"]) == ("submitted", "Chờ tiếp nhận")
    assert body["category"]["code"] == NO_PHOTO_NEEDED
    assert body["commune"] == {"code": NINH_KIEU, "name": "Phường Ninh Kiều"}
    assert body["due_at"] is not None and body["department"] is None
    assert body["photos"] == []
    assert [(e["kind"], e["status"]) for e in body["timeline"]] == [("submitted", "submitted")]
    assert response.headers["Location"] == f"/api/v1/reports/{body['tracking_code']}"
    report = db_session.execute(
        select(Report).where(Report.tracking_code == body["tracking_code"])).scalar_one()
    assert report.tracking_code.endswith(f"{report.id:06d}")
    assert (report.area_code, report.province_code) == (NINH_KIEU, "92")
    received = db_session.execute(
        select(Notification).where(Notification.report_id == report.id)).scalars().all()
    assert [(n.user_id, n.kind) for n in received] == [(user.id, "received")]


def test_a_category_that_needs_a_photo_is_refused_without_one(client, db_session, citizen):
    user, headers = citizen
    response = send(client, headers, category=PHOTO_NEEDED)

    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert "photos" in response.json["details"]
    assert reports_of(db_session, user) == 0


def test_missing_and_malformed_fields_are_named(client, citizen):
    _, headers = citizen
    response = send(client, headers, description=None, latitude="91", longitude="105.7",
                    commune_code="92", category="no-such-category")

    assert response.status_code == 422
    details = response.json["details"]
    assert set(details) >= {"description"}
    response = send(client, headers, latitude="91", commune_code="92", category="nope")
    assert response.status_code == 422
    assert set(response.json["details"]) == {"latitude", "commune_code", "category"}


def test_nfd_text_from_a_phone_is_stored_in_nfc(client, db_session, citizen):
    _, headers = citizen
    nfd = unicodedata.normalize("NFD", "Đèn đường hỏng ở hẻm 51, phường Ninh Kiều")
    title = unicodedata.normalize("NFD", "Đèn hỏng")
    assert nfd != unicodedata.normalize("NFC", nfd)

    response = send(client, headers, description=nfd, title=title)

    assert response.status_code == 201, response.json
    report = db_session.execute(
        select(Report).where(Report.tracking_code == response.json["tracking_code"])).scalar_one()
    assert report.description == unicodedata.normalize("NFC", nfd)
    assert report.title == "Đèn hỏng" == unicodedata.normalize("NFC", title)
    assert response.json["description"] == report.description


def test_staff_cannot_send_a_report(client, auth_header, redis):
    response = send(client, auth_header("officer"))
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"


def test_sending_needs_a_sign_in(client, redis):
    response = send(client, {})
    assert response.status_code == 401


# -- photos ------------------------------------------------------------------------------

def test_a_phone_jpeg_comes_back_upright_with_no_metadata_in_any_served_file(
        app, client, db_session, citizen, redis):
    _, headers = citizen
    response = send(client, headers, photos=[("IMG_0001.JPG", phone_jpeg(2000, 1500))],
                    category=PHOTO_NEEDED, latitude=None, longitude=None)

    assert response.status_code == 201, response.json
    body = response.json
    # The citizen sent no position: the photo's GPS suggests one.
    assert body["location_from_photo"] is True
    assert (body["latitude"], body["longitude"]) == pytest.approx(GPS_DEGREES, abs=1e-5)
    # Nothing is shown before the worker has stripped it.
    assert body["photos"] == [{"position": 0, "state": "pending", "display_url": None,
                               "thumbnail_url": None, "width": None, "height": None,
                               "failure": None}]

    make_worker(app, queues.ALL, redis).work(burst=True)

    report = client.get(f"/api/v1/reports/{body['tracking_code']}", headers=headers).json
    photo = report["photos"][0]
    assert photo["state"] == "ready"
    assert (photo["width"], photo["height"]) == (1200, 1600)
    assert report["thumbnail_url"] == photo["thumbnail_url"]
    for url, size in ((photo["display_url"], (1200, 1600)), (photo["thumbnail_url"], (240, 320))):
        served = client.get(url)
        assert served.status_code == 200
        assert served.content_type == "image/jpeg"
        assert "max-age" in served.headers["Cache-Control"]
        assert_no_metadata(served.data)
        picture = opened(served.data)
        assert picture.size == size
        # Upright: the red block stored top-left of a sideways photo is now top-right.
        assert near(picture.getpixel((picture.width - 5, 5)), RED)
        assert near(picture.getpixel((5, 5)), GREEN)
        again = client.get(url, headers={"If-None-Match": served.headers["ETag"]})
        assert again.status_code == 304


def test_the_uploaded_original_is_never_served(app, client, db_session, citizen, redis):
    _, headers = citizen
    body = send(client, headers, photos=[("a.jpg", phone_jpeg(400, 300))]).json
    photo = db_session.execute(select(Photo).join(Report).where(
        Report.tracking_code == body["tracking_code"])).scalar_one()
    photo_id, original_key = photo.id, photo.original_key
    assert original_key in stored_files(app)

    assert client.get(f"/api/v1/photos/{photo_id}/{original_key}").status_code == 404
    make_worker(app, queues.ALL, redis).work(burst=True)
    photo = db_session.get(Photo, photo_id)
    assert photo.state == "ready"
    assert client.get(f"/api/v1/photos/{photo.id}/{photo.original_key}").status_code == 404
    assert client.get(f"/api/v1/photos/{photo.id}/{photo.display_key}").status_code == 200
    assert client.get(f"/api/v1/photos/{photo.id}/..%2Fsecret_key").status_code == 404


def test_a_hidden_photo_is_no_longer_served(app, client, db_session, citizen, redis):
    _, headers = citizen
    body = send(client, headers, photos=[("a.jpg", phone_jpeg(400, 300))]).json
    make_worker(app, queues.ALL, redis).work(burst=True)
    photo = db_session.execute(select(Photo).join(Report).where(
        Report.tracking_code == body["tracking_code"])).scalar_one()
    url = f"/api/v1/photos/{photo.id}/{photo.thumbnail_key}"
    assert client.get(url).status_code == 200

    photo.is_hidden = True
    db_session.commit()

    assert client.get(url).status_code == 404
    report = client.get(f"/api/v1/reports/{body['tracking_code']}", headers=headers).json
    assert report["photos"][0]["display_url"] is None


def test_an_iphone_heic_is_accepted(app, client, db_session, citizen, redis):
    _, headers = citizen
    response = send(client, headers, photos=[("IMG_0002.HEIC", iphone_heic())],
                    category=PHOTO_NEEDED)

    assert response.status_code == 201, response.json
    make_worker(app, queues.ALL, redis).work(burst=True)
    photo = client.get(f"/api/v1/reports/{response.json['tracking_code']}",
                       headers=headers).json["photos"][0]
    assert photo["state"] == "ready"
    served = client.get(photo["display_url"])
    assert_no_metadata(served.data)
    assert opened(served.data).size == (300, 400)


@pytest.mark.parametrize("bad, problem", [
    (("report.jpg", PDF), "not_an_image"),
    (("cut.jpg", truncated_jpeg()), "truncated"),
    (("bomb.png", png_bomb()), "too_many_pixels"),
])
def test_a_bad_photo_is_refused_by_its_index_and_leaves_no_report_and_no_file(
        app, client, db_session, citizen, bad, problem):
    user, headers = citizen
    before = stored_files(app)

    response = send(client, headers, category=PHOTO_NEEDED,
                    photos=[("good.jpg", phone_jpeg(400, 300, seed=11)), bad])

    assert response.status_code == 422
    assert response.json["code"] == "photo_rejected"
    assert list(response.json["details"]) == ["photos[1]"]
    assert response.json["details"]["photos[1]"][0].startswith(problem + ":")
    assert reports_of(db_session, user) == 0
    assert stored_files(app) == before


def test_a_sixth_photo_is_refused_by_its_index_and_nothing_is_kept(
        app, client, db_session, citizen):
    user, headers = citizen
    before = stored_files(app)
    photos = [(f"{i}.jpg", phone_jpeg(200, 150, seed=20 + i)) for i in range(6)]

    response = send(client, headers, category=PHOTO_NEEDED, photos=photos)

    assert response.status_code == 422
    assert list(response.json["details"]) == ["photos[5]"]
    assert response.json["details"]["photos[5]"][0].startswith("too_many:")
    assert reports_of(db_session, user) == 0
    assert stored_files(app) == before


def test_a_photo_over_the_size_limit_is_refused_by_its_index_and_nothing_is_kept(
        app, client, db_session, citizen, monkeypatch):
    user, headers = citizen
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 100_000)
    big = phone_jpeg(1600, 1200, seed=3)
    big += b"\0" * (100_001 - len(big)) if len(big) <= 100_000 else b""
    before = stored_files(app)

    response = send(client, headers, photos=[("small.jpg", phone_jpeg(300, 200, seed=4)),
                                             ("big.jpg", big)])

    assert response.status_code == 422
    assert list(response.json["details"]) == ["photos[1]"]
    assert response.json["details"]["photos[1]"][0].startswith("too_large:")
    assert reports_of(db_session, user) == 0
    assert stored_files(app) == before


def test_a_body_far_over_the_limit_is_refused_as_too_large(app, client, citizen, monkeypatch):
    _, headers = citizen
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 10_000)
    response = send(client, headers, photos=[("huge.jpg", b"\xff\xd8\xff" + bytes(2_000_000))])
    assert response.status_code == 413
    assert response.json["code"] == "payload_too_large"


def test_a_text_part_named_photos_is_refused(client, citizen):
    _, headers = citizen
    response = client.post("/api/v1/reports", headers=headers, content_type="multipart/form-data",
                           data={"category": NO_PHOTO_NEEDED, "description": "x",
                                 "commune_code": NINH_KIEU, "photos": "not a file"})
    assert response.status_code == 422
    assert "photos" in response.json["details"]


# -- retries -----------------------------------------------------------------------------

def test_a_retry_with_the_same_idempotency_key_makes_no_duplicate(
        app, client, db_session, citizen):
    user, headers = citizen
    key = str(uuid.uuid4())
    photo = [("a.jpg", phone_jpeg(400, 300, seed=5))]
    first = send(client, headers, key=key, photos=photo)
    files = stored_files(app)

    retry = send(client, headers, key=key, photos=photo)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.json["tracking_code"] == first.json["tracking_code"]
    assert reports_of(db_session, user) == 1
    assert db_session.execute(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == user.id)).scalar_one() == 1
    assert stored_files(app) == files


def test_the_same_idempotency_key_with_a_different_body_is_a_conflict(
        client, db_session, citizen):
    user, headers = citizen
    key = str(uuid.uuid4())
    assert send(client, headers, key=key).status_code == 201

    response = send(client, headers, key=key, description="Một phản ánh khác hẳn.")

    assert response.status_code == 409
    assert response.json["code"] == "idempotency_conflict"
    assert "Idempotency-Key" in response.json["details"]
    assert reports_of(db_session, user) == 1


def test_two_citizens_may_use_the_same_idempotency_key(client, db_session, make_citizen, redis):
    key = "same-key-on-two-phones"
    for _ in range(2):
        _, headers = make_citizen()
        assert send(client, headers, key=key).status_code == 201


def test_an_idempotency_key_that_is_not_visible_ascii_is_refused(client, citizen):
    _, headers = citizen
    response = send(client, headers, key="x" * 101)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["details"]


# -- limits ------------------------------------------------------------------------------

def test_too_many_reports_from_one_account_are_refused_with_429_in_the_json_shape(
        app, client, citizen, monkeypatch):
    _, headers = citizen
    monkeypatch.setitem(app.config, "SUBMIT_RATE_LIMIT", "2 per hour")
    assert [send(client, headers).status_code for _ in range(2)] == [201, 201]

    response = send(client, headers)

    assert response.status_code == 429
    assert set(response.json) == {"code", "message", "details"}
    assert response.json["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_another_account_is_not_held_by_a_neighbours_limit(app, client, make_citizen, redis,
                                                           monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_LIMIT", "1 per hour")
    _, first = make_citizen()
    _, second = make_citizen()
    assert send(client, first).status_code == 201
    assert send(client, first).status_code == 429
    assert send(client, second).status_code == 201


def test_too_many_reports_from_one_address_are_refused(app, client, make_citizen, redis,
                                                       monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_ADDRESS_RATE_LIMIT", "2 per hour")
    codes = [send(client, make_citizen()[1]).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


# -- reading -----------------------------------------------------------------------------

def test_a_citizen_cannot_read_another_citizens_report(client, make_citizen, redis):
    _, owner = make_citizen()
    _, other = make_citizen()
    code = send(client, owner).json["tracking_code"]

    assert client.get(f"/api/v1/reports/{code}", headers=owner).status_code == 200
    response = client.get(f"/api/v1/reports/{code}", headers=other)
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_a_tracking_code_is_found_in_lower_case_too(client, citizen):
    _, headers = citizen
    code = send(client, headers).json["tracking_code"]
    assert client.get(f"/api/v1/reports/{code.lower()}", headers=headers).status_code == 200


def test_my_reports_are_listed_newest_first_a_page_at_a_time(client, citizen):
    _, headers = citizen
    codes = [send(client, headers, description=f"Phản ánh số {i}").json["tracking_code"]
             for i in range(3)]

    first = client.get("/api/v1/me/reports?per_page=2", headers=headers).json
    second = client.get("/api/v1/me/reports?per_page=2&page=2", headers=headers).json

    assert first["total"] == 3
    assert [r["tracking_code"] for r in first["items"] + second["items"]] == codes[::-1]
    assert first["items"][0]["status_label"] == "Chờ tiếp nhận"


def test_the_department_and_the_answer_show_once_assigned_and_resolved(
        client, db_session, citizen):
    _, headers = citizen
    code = send(client, headers).json["tracking_code"]
    report = db_session.execute(select(Report).where(Report.tracking_code == code)).scalar_one()
    department = db_session.execute(
        select(Department).where(Department.code == "ct-so-noi-vu")).scalar_one()
    report.lead_department = department
    report.status = ReportStatus.RESOLVED
    report.answer_text = "Đã nhắc nhở cán bộ."
    db_session.commit()

    body = client.get(f"/api/v1/reports/{code}", headers=headers).json
    assert body["department"] == department.name
    assert body["answer"] == "Đã nhắc nhở cán bộ."
    listed = client.get("/api/v1/me/reports", headers=headers).json["items"][0]
    assert listed["department"] == department.name


def test_my_notifications_are_listed_and_can_be_marked_read(client, db_session, citizen):
    user, headers = citizen
    code = send(client, headers).json["tracking_code"]

    page = client.get("/api/v1/me/notifications", headers=headers).json
    assert (page["total"], page["unread"]) == (1, 1)
    notification = page["items"][0]
    assert (notification["kind"], notification["tracking_code"]) == ("received", code)
    assert code in notification["title"]

    read = client.post(f"/api/v1/me/notifications/{notification['id']}/read", headers=headers)
    assert read.status_code == 200 and read.json["read_at"] is not None
    assert client.get("/api/v1/me/notifications", headers=headers).json["unread"] == 0


def test_another_persons_notification_cannot_be_marked_read(client, make_citizen, redis):
    _, owner = make_citizen()
    _, other = make_citizen()
    send(client, owner)
    notification_id = client.get("/api/v1/me/notifications", headers=owner).json["items"][0]["id"]
    response = client.post(f"/api/v1/me/notifications/{notification_id}/read", headers=other)
    assert response.status_code == 404


def test_an_anonymous_report_shows_no_identity_to_its_department(
        client, db_session, citizen, auth_header):
    user, headers = citizen
    user.full_name = "Trần Thị B"
    code = send(client, headers, category="xay-dung", anonymous="true",
                photos=[("a.jpg", phone_jpeg(300, 200, seed=9))]).json["tracking_code"]
    report = db_session.execute(select(Report).where(Report.tracking_code == code)).scalar_one()
    report.lead_department = db_session.execute(
        select(Department).where(Department.code == "ct-so-xay-dung")).scalar_one()
    report.status = ReportStatus.ASSIGNED
    db_session.commit()

    response = client.get("/api/v1/departments/ct-so-xay-dung/queue",
                          headers=auth_header("officer"))

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert code in text
    assert user.phone not in text and "Trần Thị B" not in text


# -- nearby ------------------------------------------------------------------------------

def _report(db_session, citizen, category, *, lat, lon, status=ReportStatus.ASSIGNED,
            resolved_days_ago=None, public=True, moderated=True, title="Ổ gà giữa đường"):
    now = datetime.now(timezone.utc)
    report = Report(
        tracking_code=f"T-{uuid.uuid4().hex[:12]}", citizen_id=citizen.id, category=category,
        description="...", title=title, latitude=lat, longitude=lon, status=status,
        area_code=NINH_KIEU, province_code="92", is_public=public,
        moderated_at=now if moderated else None,
        resolved_at=now - timedelta(days=resolved_days_ago) if resolved_days_ago else None)
    db_session.add(report)
    db_session.flush()
    return report


def test_nearby_reports_of_the_same_category_within_250_metres_are_offered(
        client, db_session, citizen):
    user, _ = citizen
    traffic, other = (db_session.execute(select(Category).where(Category.code == code))
                      .scalar_one() for code in (PHOTO_NEEDED, "cay-xanh"))
    here = (10.0500, 105.7500)  # away from where the other tests report
    metres = 1 / 111_195  # degrees of latitude per metre
    near_open = _report(db_session, user, traffic, lat=here[0] + 100 * metres, lon=here[1])
    just_resolved = _report(db_session, user, traffic, lat=here[0], lon=here[1] + 0.001,
                            status=ReportStatus.RESOLVED, resolved_days_ago=5)
    unmoderated = _report(db_session, user, traffic, lat=here[0] - 50 * metres, lon=here[1],
                          status=ReportStatus.SUBMITTED, moderated=False)
    _report(db_session, user, traffic, lat=here[0] + 300 * metres, lon=here[1])  # too far
    _report(db_session, user, traffic, lat=here[0], lon=here[1], status=ReportStatus.RESOLVED,
            resolved_days_ago=40)  # long resolved
    _report(db_session, user, traffic, lat=here[0], lon=here[1], status=ReportStatus.REJECTED)
    _report(db_session, user, traffic, lat=here[0], lon=here[1], public=False)
    _report(db_session, user, other, lat=here[0], lon=here[1])  # another category

    response = client.get(f"/api/v1/reports/nearby?category={PHOTO_NEEDED}"
                          f"&latitude={here[0]}&longitude={here[1]}")

    assert response.status_code == 200
    found = response.json
    assert [r["tracking_code"] for r in found] == [
        unmoderated.tracking_code, near_open.tracking_code, just_resolved.tracking_code]
    assert [r["distance_m"] for r in found][:2] == [50, 100]
    assert found[2]["distance_m"] == pytest.approx(109, abs=1)
    assert found[0]["title"] is None  # not yet seen by a moderator
    assert found[1]["title"] == "Ổ gà giữa đường"
    assert set(found[1]) == {"tracking_code", "status", "status_label", "category", "title",
                             "distance_m", "submitted_at"}


def test_nearby_needs_a_category_and_a_position(client):
    response = client.get("/api/v1/reports/nearby?category=giao-thong&latitude=95")
    assert response.status_code == 422
    assert set(response.json["details"]) == {"latitude", "longitude"}


def test_officers_see_and_read_their_departments_notifications_and_no_others(
        client, db_session, auth_header, now):
    report = factories.routed_report(db_session, now=now)  # to Sở Xây dựng: "new work"
    db_session.commit()
    officer = auth_header("officer")  # Sở Xây dựng
    page = client.get("/api/v1/me/notifications", headers=officer).json
    [notice] = [item for item in page["items"] if item["tracking_code"] == report.tracking_code]
    assert notice["kind"] == "new_work" and page["unread"] >= 1

    other = auth_header("officer.ninhkieu")
    assert report.tracking_code not in [
        item["tracking_code"]
        for item in client.get("/api/v1/me/notifications", headers=other).json["items"]]
    assert client.post(f"/api/v1/me/notifications/{notice['id']}/read",
                       headers=other).status_code == 404
    read = client.post(f"/api/v1/me/notifications/{notice['id']}/read", headers=officer)
    assert read.status_code == 200 and read.json["read_at"] is not None
