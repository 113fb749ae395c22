"""Faults under the report intake: PostgreSQL restarted while citizens submit, and the
photo folder full. Each ends with the same check: nothing accepted was lost, nothing
half-written is left.
"""
import io
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from feedback import create_app
from feedback.extensions import db
from feedback.models import Photo, Report, ReportEvent, Role, User
from feedback.services.auth import issue_token
from tests import samples
from tests.conftest import REDIS_URL, build_schema
from tests.faults import OwnPostgres, can_run_own_postgres, free_port


def _citizen_headers(app) -> dict:
    with app.app_context():
        user = User(role=Role.CITIZEN, phone=f"+8490{uuid.uuid4().int % 10**7:07d}")
        db.session.add(user)
        db.session.commit()
        token = issue_token(user, secret=app.config["SECRET_KEY"],
                            now=datetime.now(timezone.utc), lifetime=timedelta(hours=1)).token
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


def _form(photo: bytes | None = None) -> dict:
    form = {"category": "giao-thong", "description": "Ổ gà giữa đường",
            "latitude": "10.03", "longitude": "105.78", "commune_code": "31135"}
    if photo is not None:
        form["photos"] = [(io.BytesIO(photo), "a.jpg")]
    return form


def _prepared_app(database_url: str, tmp_path, **config):
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "faults-" + uuid.uuid4().hex, "PHOTO_FOLDER": str(tmp_path / "photos"),
        "SUBMIT_RATE_LIMIT": "100000 per hour", "SUBMIT_ADDRESS_RATE_LIMIT": "100000 per hour",
        "LOG_FORMAT": "none", **config,
    })
    build_schema(app)
    return app


@pytest.mark.skipif(not can_run_own_postgres(), reason="needs root, runuser and initdb")
def test_postgresql_restarted_under_load_answers_503_meanwhile_and_loses_nothing(tmp_path):
    # Not under tmp_path: the postgres user must be able to reach the folder.
    home = Path(tempfile.mkdtemp(prefix="phananh-pg-"))
    home.chmod(0o755)
    server = OwnPostgres(home / "cluster", free_port()).init()
    try:
        app = _prepared_app(server.url, tmp_path)
        headers = _citizen_headers(app)
        photo = samples.phone_jpeg(800, 600)
        answers: list[tuple[int, dict]] = []
        stop = threading.Event()

        def citizens():
            client = app.test_client()
            while not stop.is_set():
                response = client.post("/api/v1/reports", data=_form(photo), headers=headers,
                                       content_type="multipart/form-data")
                answers.append((response.status_code, response.get_json(silent=True) or {}))

        thread = threading.Thread(target=citizens)
        thread.start()
        time.sleep(2)
        server.stop()
        time.sleep(2)
        server.start()
        time.sleep(3)
        stop.set()
        thread.join(timeout=60)

        statuses = [status for status, _ in answers]
        assert set(statuses) <= {201, 503}, sorted(set(statuses))
        assert 503 in statuses and statuses[-1] == 201
        assert all(body["code"] == "unavailable" for status, body in answers if status == 503)
        accepted = {body["tracking_code"] for status, body in answers if status == 201}
        with app.app_context():
            stored = set(db.session.execute(select(Report.tracking_code)).scalars())
            photos = dict(db.session.execute(
                select(Photo.report_id, func.count()).group_by(Photo.report_id)).all())
            events = dict(db.session.execute(
                select(ReportEvent.report_id, func.count()).group_by(ReportEvent.report_id)
            ).all())
            ids = db.session.execute(select(Report.id)).scalars().all()
            db.session.remove()
            db.engine.dispose()
        assert accepted <= stored  # nothing accepted was lost
        assert len(stored - accepted) <= 1  # at most one commit whose answer was cut off
        assert all(photos.get(report_id) == 1 and events.get(report_id) for report_id in ids)
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def tiny_photo_folder(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def test_a_full_photo_folder_answers_507_and_keeps_no_report_and_no_file(
        database_url, tiny_photo_folder, tmp_path):
    from tests.conftest import fresh_postgres_database, POSTGRES_URL
    database = fresh_postgres_database(POSTGRES_URL + "_full")
    app = _prepared_app(database, tmp_path, PHOTO_FOLDER=str(tiny_photo_folder))
    headers = _citizen_headers(app)
    client = app.test_client()
    big = samples.phone_jpeg(3000, 2250)
    assert len(big) > 64 * 1024
    response = client.post("/api/v1/reports", data=_form(big), headers=headers,
                           content_type="multipart/form-data")
    assert response.status_code == 507
    assert response.json["code"] == "storage_full"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Report)).scalar() == 0
        db.session.remove()
        db.engine.dispose()
    assert [p.name for p in tiny_photo_folder.iterdir() if not p.name.startswith(".")] == []
