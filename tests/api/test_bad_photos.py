"""The bad-photo corpus over HTTP: each file a citizen's app might send (or an attacker
might) gets a clean 422 naming the photo and leaves no report and no file, or is taken,
and then every copy the API serves is upright, stripped JPEG with nothing else inside.

tests/services/test_photos.py proves the pipeline on the same kinds of files; this is
what the app sees through POST /api/v1/reports and the photo URLs.
"""
import hashlib
import io
import os
import struct
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from feedback.models import Report
from feedback.services.auth import issue_token
from tests import factories
from tests.samples import (
    ASCII,
    PDF,
    RATIONAL,
    RED,
    XMP,
    assert_no_metadata,
    iphone_heic,
    near,
    opened,
    phone_exif,
    phone_jpeg,
    png_chunk,
    raw_exif,
    raw_png,
    rationals,
    truncated_jpeg,
)
from workers import queues
from workers.worker import make_worker

PHP = b"<?php system($_GET['c']); ?>"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
# Bytes that must never come back out of a served copy.
POISON = (b"PK\x03\x04", b"evil.php", b"<?php", b"<script", b"%PDF", b"Tran Thi B")


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("evil.php", date_time=(2026, 1, 1, 0, 0, 0)), PHP)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims width x height."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", b"x\x9c\x03\x00\x00\x00\x00\x01") + png_chunk(b"IEND", b""))


def with_png_text(png: bytes, keyword: bytes, value: bytes) -> bytes:
    """The PNG with a tEXt chunk before its end."""
    return png[:-12] + png_chunk(b"tEXt", keyword + b"\x00" + value) + png[-12:]


def encoded(picture: Image.Image, format: str, **params) -> bytes:
    out = io.BytesIO()
    picture.save(out, format, **params)
    return out.getvalue()


def cmyk_jpeg() -> bytes:
    return encoded(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG", quality=95,
                   exif=phone_exif(1), xmp=XMP, comment=b"Shot by Tran Thi B")


def sixteen_bit_png() -> bytes:
    row = struct.pack(">" + "H" * 3 * 64, *([65535, 0, 0] * 64))
    return with_png_text(raw_png(64, 48, 16, 2, [row] * 48), b"Author", b"Tran Thi B")


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (64, 64), colour) for colour in (RED, (0, 0, 255))]
    return encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True,
                   exif=phone_exif(1).tobytes(), xmp=XMP)


def malformed_gps_jpeg() -> bytes:
    longitude = [(3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, rationals((105, 1), (46, 1), (12, 1)))]
    latitude = rationals((10, 0), (2, 1), (30, 1))  # ten over zero degrees
    exif = raw_exif([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, latitude), *longitude])
    return encoded(Image.new("RGB", (400, 300), RED), "JPEG", exif=exif,
                   comment=b"Shot by Tran Thi B")


REFUSED = {
    "zero bytes": (lambda: b"", "empty"),
    "a truncated jpeg": (truncated_jpeg, "truncated"),
    "a pdf with a jpeg header": (
        lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + PDF,
        "truncated"),
    "a pdf named .jpg": (lambda: PDF, "not_an_image"),
    "an html page named .jpg": (lambda: HTML, "not_an_image"),
    "a php script named .jpg": (lambda: PHP, "not_an_image"),
    "a zip with a jpeg after it": (lambda: zip_file() + phone_jpeg(300, 200), "not_an_image"),
    "a png claiming 100000 x 100000 pixels": (lambda: png_claiming(100_000, 100_000),
                                              "too_many_pixels"),
    "a gif": (lambda: encoded(Image.new("RGB", (20, 20), RED), "GIF"), "unsupported_type"),
}

ACCEPTED = {
    "a jpeg with a zip after it": lambda: phone_jpeg(400, 300) + zip_file(),
    "a jpeg with php after it": lambda: phone_jpeg(400, 300) + PHP,
    "a jpeg with html after it": lambda: phone_jpeg(400, 300) + HTML,
    "a cmyk jpeg": cmyk_jpeg,
    "a 16-bit png": sixteen_bit_png,
    "an animated webp": animated_webp,
    "a jpeg whose exif has malformed gps": malformed_gps_jpeg,
    "an iphone heic": lambda: iphone_heic(400, 300),
}


@pytest.fixture
def citizen(app, db_session, redis):
    # `redis` empties the rate limiter's counters and the RQ queues around each test.
    user = factories.citizen(db_session)
    token = issue_token(user, secret=app.config["SECRET_KEY"], now=datetime.now(timezone.utc),
                        lifetime=timedelta(minutes=30))
    return user, {"Authorization": f"Bearer {token.token}"}


def send(client, headers, photo: bytes, filename="anh.jpg", content_type="image/jpeg"):
    """A report that needs a photo, with this one, and no position of its own."""
    data = {"category": "giao-thong", "description": "Ổ gà lớn trước số 12 Hòa Bình.",
            "commune_code": "31135", "photos": [(io.BytesIO(photo), filename, content_type)]}
    return client.post("/api/v1/reports", data=data, headers=headers,
                       content_type="multipart/form-data")


def stored_files(app) -> set[str]:
    folder = app.config["PHOTO_FOLDER"]
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_bad_photo_is_refused_by_name_and_leaves_no_report_and_no_file(
        app, client, db_session, citizen, name):
    make, code = REFUSED[name]
    user, headers = citizen
    files_before = stored_files(app)

    response = send(client, headers, make())

    assert response.status_code == 422, response.json
    assert response.json["code"] == "photo_rejected"
    assert set(response.json) == {"code", "message", "details"}
    assert list(response.json["details"]) == ["photos[0]"]
    assert response.json["details"]["photos[0]"][0].startswith(f"{code}: ")
    assert db_session.execute(select(func.count()).select_from(Report).where(
        Report.citizen_id == user.id)).scalar_one() == 0
    assert stored_files(app) == files_before


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_a_strange_but_real_photo_is_taken_and_every_served_copy_is_bare_jpeg(
        app, client, db_session, citizen, redis, name):
    user, headers = citizen
    files_before = stored_files(app)

    upload = ACCEPTED[name]()
    response = send(client, headers, upload, content_type="text/html")
    assert response.status_code == 201, response.json
    make_worker(app, queues.ALL, redis).work(burst=True)

    report = client.get(f"/api/v1/reports/{response.json['tracking_code']}", headers=headers).json
    (photo,) = report["photos"]
    assert photo["state"] == "ready", photo
    for url in (photo["display_url"], photo["thumbnail_url"]):
        served = client.get(url)
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        data = served.get_data()
        assert_no_metadata(data)
        assert opened(data).mode == "RGB"
        for poison in POISON:
            assert poison not in data, poison
    # Stored by content hash: the original (never served) and the two copies (one file
    # when the photo is no bigger than a thumbnail), and nothing else.
    sha256 = hashlib.sha256(upload).hexdigest()
    copies = {url.rsplit("/", 1)[1] for url in (photo["display_url"], photo["thumbnail_url"])}
    (original,) = [file for file in stored_files(app) if file.startswith(f"original-{sha256}.")]
    assert stored_files(app) - files_before <= {original, *copies} <= stored_files(app)
    if name == "a jpeg whose exif has malformed gps":
        assert (report["latitude"], report["location_from_photo"]) == (None, False)
    if name == "an animated webp":
        display = opened(client.get(photo["display_url"]).get_data())
        assert near(display.getpixel((32, 32)), RED, 12)  # the first frame
    if name == "a 16-bit png":
        display = opened(client.get(photo["display_url"]).get_data())
        assert near(display.getpixel((32, 24)), RED, 12)
