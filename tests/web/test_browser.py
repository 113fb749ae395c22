"""The web view in a real browser: Debian's Chromium driven by Playwright, against a real
server (werkzeug in a thread), a database of its own with committed data, a Redis server
of its own and a real RQ worker. The whole life of one report, what staff may not do,
and screenshots of the main pages with the demo province loaded.

Skipped, saying why, only when Chromium is not installed (apt-get install chromium),
and failed instead under CI=true, where .ci/run installs it.
"""
import csv
import io
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis as redis_client
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from feedback import create_app
from feedback.extensions import db
from feedback.models import (
    ExtensionRequest,
    ExtensionState,
    Report,
    ReportStatus,
    Role,
    User,
)
from feedback.services import deadlines, routing, workflow
from feedback.services.auth import issue_token
from feedback.services.demo_activity import load_demo_activity, scene_picture
from feedback.services.intake import photo_storage
from tests import factories
from tests.conftest import POSTGRES_URL, build_schema, fresh_postgres_database
from tests.faults import OwnRedis
from tests.web.conftest import PASSWORDS
from workers import queues
from workers.worker import make_worker

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SO_XAY_DUNG = "Sở Xây dựng thành phố Cần Thơ"

if not os.path.exists(CHROMIUM) and os.environ.get("CI"):
    # .ci/run installs it: in CI a missing browser is a failure, not a skip.
    pytest.fail(f"Chromium is not installed at {CHROMIUM}", pytrace=False)
if not os.path.exists(CHROMIUM):
    pytest.skip(f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install -y chromium; "
                "or set CHROMIUM_PATH)", allow_module_level=True)


class Live:
    """The running system: app, server address, and a way to run the worker."""

    def __init__(self, app, url: str, redis_url: str):
        self.app = app
        self.url = url
        self.redis_url = redis_url

    def work(self) -> None:
        """A real RQ worker empties every queue (routing, photos, notifications), then stops."""
        connection = redis_client.Redis.from_url(self.redis_url)
        make_worker(self.app, queues.ALL, connection).work(burst=True)

    def session(self):
        return self.app.app_context()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    redis_server = OwnRedis(tmp_path_factory.mktemp("redis")).start()
    database = fresh_postgres_database(POSTGRES_URL + "_browser")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": redis_server.url,
        "SECRET_KEY": "browser-tests-" + uuid.uuid4().hex,
        "PHOTO_FOLDER": str(tmp_path_factory.mktemp("photos")),
        "LOGIN_RATE_LIMIT": "10000 per minute", "SUBMIT_RATE_LIMIT": "1000 per hour",
        "LOG_FORMAT": "none", "DASHBOARD_CACHE_SECONDS": 0,
    })
    build_schema(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(app, f"http://127.0.0.1:{server.server_port}", redis_server.url)
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()
        redis_server.stop()


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            yield playwright, browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def demo_activity(live):
    """A month of activity in the demo province, committed once for the module."""
    with live.session():
        counts = load_demo_activity(db.session, now=datetime.now(timezone.utc),
                                    storage=photo_storage(), config=live.app.config)
        db.session.commit()
        db.session.remove()
    return counts


def signed_in(chromium, live, username: str, *, width: int = 1440, height: int = 900):
    """A page in a browser context of its own (its own cookies), signed in through the form."""
    _playwright, browser = chromium
    context = browser.new_context(base_url=live.url, viewport={"width": width, "height": height},
                                  device_scale_factor=1, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.goto("/staff/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/staff/login" not in page.url, page.content()[:500]
    return page


def dashboard_row(page, live, name: str) -> dict:
    """The row of `name` in the dashboard's CSV export for today, as {column: value}."""
    today = datetime.now(ZoneInfo(live.app.config["TIME_ZONE"])).date().isoformat()
    response = page.request.get(
        f"/staff/supervision/dashboard.csv?period=range&from={today}&to={today}&by=department")
    assert response.status == 200
    rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff"))))
    header = rows[0]
    for row in rows[1:]:
        if row[1] == name:
            return dict(zip(header, row))
    return {column: "0" for column in header}


def _count(row: dict, column: str) -> int:
    return int(row.get(column) or 0)


def test_a_report_from_the_citizen_to_the_supervisors_dashboard(live, chromium, tmp_path):
    playwright, _browser = chromium
    supervisor = signed_in(chromium, live, "supervisor")
    before = dashboard_row(supervisor, live, SO_XAY_DUNG)

    # A citizen sends a report with a photo through the API.
    with live.session():
        citizen = User(role=Role.CITIZEN, phone=f"+8497{uuid.uuid4().int % 10**7:07d}",
                       full_name="Lâm Thị Thu")
        db.session.add(citizen)
        db.session.commit()
        token = issue_token(citizen, secret=live.app.config["SECRET_KEY"],
                            now=datetime.now(timezone.utc), lifetime=timedelta(hours=1)).token
        db.session.remove()
    api = playwright.request.new_context(base_url=live.url, extra_http_headers={
        "Authorization": f"Bearer {token}"})
    sent = api.post("/api/v1/reports", headers={"Idempotency-Key": str(uuid.uuid4())}, multipart={
        "category": "giao-thong", "commune_code": "31135",
        "title": "Ổ gà trước chợ Ninh Kiều <script>alert(1)</script>",
        "description": "Ổ gà sâu trước số 12 Hai Bà Trưng, xe máy đã té hai lần.",
        "latitude": "10.0341", "longitude": "105.7880", "address": "12 Hai Bà Trưng",
        "photos": {"name": "o-ga.jpg", "mimeType": "image/jpeg",
                   "buffer": scene_picture("giao-thong", 7)},
    })
    assert sent.status == 201, sent.text()
    code = sent.json()["tracking_code"]
    live.work()  # the photo's public copies

    # A moderator approves it in the browser.
    moderator = signed_in(chromium, live, "moderator")
    moderator.goto("/staff/moderation/")
    moderator.click(f"a.tracking:text('{code}')")
    expect(moderator.locator("h1.tracking")).to_have_text(code)
    # The citizen's text is shown as text, never run.
    expect(moderator.locator("h2.report-title")).to_contain_text("<script>alert(1)</script>")
    expect(moderator.locator(".gallery img")).to_have_count(1)
    moderator.get_by_role("button", name="Tiếp nhận và chuyển xử lý").click()
    expect(moderator.locator(".flash.success")).to_contain_text(code)

    live.work()  # a real worker routes it by the rules: traffic → Sở Xây dựng
    with live.session():
        report = db.session.execute(select(Report).where(Report.tracking_code == code)).scalar_one()
        assert report.status == ReportStatus.ASSIGNED
        assert report.lead_department.name == SO_XAY_DUNG
        db.session.remove()

    # The officer of that department acknowledges and answers it with a photo.
    officer = signed_in(chromium, live, "officer")
    officer.goto("/staff/department/")
    officer.click(f"a.tracking:text('{code}')")
    officer.get_by_role("button", name="Tiếp nhận xử lý").click()
    expect(officer.locator(".flash.success")).to_contain_text(code)
    proof = tmp_path / "da-va.jpg"
    proof.write_bytes(scene_picture("fixed", 8))
    officer.check("input[name=outcome][value=fixed]")
    officer.fill("#answer-text", "Đã vá ổ gà bằng bê tông nhựa ngày hôm nay.")
    officer.set_input_files("#answer-photos", str(proof))
    officer.get_by_role("button", name="Gửi kết quả").click()
    expect(officer.locator(".flash.success")).to_contain_text(code)
    live.work()  # the answer photo's public copies
    officer.reload()
    expect(officer.locator(".status").first).to_have_text("Đã xử lý")
    expect(officer.locator("section:has-text('Kết quả xử lý') .gallery img")).to_have_count(1)

    # The citizen rates the answer through the API.
    rated = api.post(f"/api/v1/reports/{code}/rating", data={"rating": "satisfied"})
    assert rated.status == 200, rated.text()
    assert rated.json()["status"] == "closed"

    # The supervisor's dashboard shows it resolved on time, and the exports contain it.
    after = dashboard_row(supervisor, live, SO_XAY_DUNG)
    assert _count(after, "Đã xử lý") == _count(before, "Đã xử lý") + 1
    assert _count(after, "Đúng hạn") == _count(before, "Đúng hạn") + 1
    assert _count(after, "Trễ hạn") == _count(before, "Trễ hạn")
    assert _count(after, "Tiếp nhận") == _count(before, "Tiếp nhận") + 1
    today = datetime.now(ZoneInfo(live.app.config["TIME_ZONE"])).date().isoformat()
    query = f"period=range&from={today}&to={today}&by=department"
    supervisor.goto(f"/staff/supervision/dashboard?{query}")
    row = supervisor.locator("#figures tbody tr", has_text=SO_XAY_DUNG)
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(2)).to_have_text(after["Đã xử lý"])
    expect(cells.nth(3)).to_have_text(after["Đúng hạn"])
    workbook = load_workbook(io.BytesIO(supervisor.request.get(
        f"/staff/supervision/dashboard.xlsx?{query}").body()))
    sheet = workbook.active
    header = [cell.value for cell in sheet[3]]
    rows = {line[1]: dict(zip(header, line)) for line in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows[SO_XAY_DUNG]["Đúng hạn"] == int(after["Đúng hạn"])
    assert rows[SO_XAY_DUNG]["Đã xử lý"] == int(after["Đã xử lý"])
    api.dispose()


def test_an_officer_cannot_open_another_departments_report_nor_a_moderator_decide_an_extension(
        live, chromium):
    now = datetime.now(timezone.utc)
    with live.session():
        # Urban order in Ninh Kiều goes to the ward's people's committee, not Sở Xây dựng.
        theirs = factories.report(db.session, category="trat-tu-do-thi", commune="31135", now=now)
        workflow.approve(db.session, theirs, actor=factories.staff(db.session, "moderator"), now=now)
        routing.route(db.session, theirs, now=now)
        ours = factories.acknowledged_report(db.session, now=now)
        latest = deadlines.latest_extension_due(ours, calendar=deadlines.calendar_for(db.session))
        extension = workflow.request_extension(
            db.session, ours, actor=factories.staff(db.session, "officer"), now=now,
            reason="Cần thêm vật tư.", new_due_at=latest)
        db.session.commit()
        their_code, extension_id = theirs.tracking_code, extension.id
        assert theirs.lead_department.code == "ct-ubnd-31135"
        db.session.remove()

    officer = signed_in(chromium, live, "officer")
    response = officer.goto(f"/staff/reports/{their_code}")
    assert response.status == 403
    expect(officer.locator("h1")).to_contain_text("không có quyền")
    officer.goto("/staff/department/")
    expect(officer.locator(f"a.tracking:text('{their_code}')")).to_have_count(0)

    moderator = signed_in(chromium, live, "moderator")
    expect(moderator.locator("nav.mainnav a", has_text="Gia hạn")).to_have_count(0)
    assert moderator.goto("/staff/supervision/extensions").status == 403
    # Even a well-formed form post, with the moderator's own CSRF token, is refused.
    status = moderator.evaluate("""async (id) => {
        const token = document.querySelector('meta[name=csrf-token]').content;
        const body = new URLSearchParams({csrf_token: token, approve: 'true'});
        const r = await fetch(`/staff/supervision/extensions/${id}/decision`,
                              {method: 'POST', body, redirect: 'manual'});
        return r.status; }""", extension_id)
    assert status == 403
    with live.session():
        assert db.session.get(ExtensionRequest, extension_id).state == ExtensionState.PENDING
        db.session.remove()


def test_screenshots_of_the_main_pages_with_the_demo_province(live, chromium, demo_activity):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    moderator = signed_in(chromium, live, "moderator")
    moderator.goto("/staff/moderation/")
    expect(moderator.locator("ul.queue > li")).to_have_count(demo_activity["submitted"])
    moderator.screenshot(path=str(SCREENSHOTS / "moderator_queue.png"), full_page=True)
    moderator.locator("ul.queue a.tracking").first.click()
    moderator.locator("details.action:has-text('Gộp vào phản ánh trùng') summary").click()
    moderator.screenshot(path=str(SCREENSHOTS / "moderator_report.png"), full_page=True)

    officer = signed_in(chromium, live, "officer")
    officer.goto("/staff/department/")
    expect(officer.locator("tr.overdue").first).to_be_visible()
    officer.screenshot(path=str(SCREENSHOTS / "officer_queue.png"), full_page=True)

    supervisor = signed_in(chromium, live, "supervisor")
    supervisor.goto("/staff/supervision/dashboard?period=month")
    expect(supervisor.locator("#figures tbody tr").first).to_be_visible()
    supervisor.screenshot(path=str(SCREENSHOTS / "supervisor_dashboard.png"), full_page=True)

    phone = signed_in(chromium, live, "officer", width=390, height=844)
    phone.goto("/staff/department/")
    phone.screenshot(path=str(SCREENSHOTS / "officer_queue_phone.png"), full_page=True)
    for name in ("moderator_queue", "officer_queue", "supervisor_dashboard"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000


def test_a_moderator_who_loses_the_claim_is_told_and_the_forms_are_locked(live, chromium):
    from feedback.services.moderation import Claims

    live.app.config["WEB_CLAIM_SECONDS"] = 10  # the page renews every 5 seconds
    try:
        with live.session():
            taken = factories.report(db.session, now=datetime.now(timezone.utc))
            lapsing = factories.report(db.session, now=datetime.now(timezone.utc))
            db.session.commit()
            taken_id, taken_code, lapsing_code = taken.id, taken.tracking_code, lapsing.tracking_code
            admin = factories.staff(db.session, "admin")
            db.session.remove()
        moderator = signed_in(chromium, live, "moderator")

        # Someone else takes the report (the moderator's claim had lapsed, say).
        moderator.goto(f"/staff/reports/{taken_code}")
        notice = moderator.locator("[data-claim-url]")
        expect(notice).to_be_hidden()
        claims = Claims(redis_client.Redis.from_url(live.redis_url), ttl=60)
        claims.connection.delete(claims._key(taken_id))
        claims.take(taken_id, admin)
        expect(notice).to_contain_text("Quản trị hệ thống đã nhận phản ánh này", timeout=15_000)
        approve = moderator.get_by_role("button", name="Tiếp nhận và chuyển xử lý")
        expect(approve).to_be_disabled()
        expect(moderator.get_by_role("button", name="Trả lại hàng chờ")).to_be_disabled()

        # No renewal gets through for longer than a claim lasts.
        moderator.goto(f"/staff/reports/{lapsing_code}")
        moderator.route("**/claim", lambda route: route.abort())
        expect(notice).to_contain_text("Không gia hạn được", timeout=20_000)
        expect(approve).to_be_disabled()
    finally:
        live.app.config["WEB_CLAIM_SECONDS"] = 300


def test_a_moderator_blurs_a_face_by_dragging_over_the_photo(live, chromium):
    with live.session():
        report = factories.report(db.session, now=datetime.now(timezone.utc))
        photo = factories.stored_photo(db.session, report, seed=7)
        db.session.commit()
        code, photo_id, old_display = report.tracking_code, photo.id, photo.display_key
        db.session.remove()
    moderator = signed_in(chromium, live, "moderator")
    moderator.goto(f"/staff/reports/{code}")
    moderator.get_by_text("Làm mờ một vùng (khuôn mặt, biển số xe)").click()
    picture = moderator.locator("[data-blur-picker] img")
    expect(picture).to_be_visible()
    moderator.wait_for_function("document.querySelector('[data-blur-picker] img').complete")
    box = picture.bounding_box()
    moderator.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    moderator.mouse.down()
    moderator.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.65, steps=5)
    moderator.mouse.up()
    expect(moderator.locator(".blur-box")).to_be_visible()
    chosen = [float(moderator.locator(f"input[name={name}]").input_value())
              for name in ("left", "top", "width", "height")]
    assert chosen == pytest.approx([40, 40, 20, 25], abs=1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    moderator.screenshot(path=str(SCREENSHOTS / "moderator_blur_region.png"), full_page=True)
    moderator.get_by_role("button", name="Làm mờ vùng này").click()
    expect(moderator.locator(".flash.success")).to_contain_text("Đã làm mờ vùng đã chọn")
    with live.session():
        from feedback.models import Photo

        photo = db.session.get(Photo, photo_id)
        assert photo.display_key != old_display
        db.session.remove()
    moderator.screenshot(path=str(SCREENSHOTS / "moderator_blurred_photo.png"), full_page=True)
