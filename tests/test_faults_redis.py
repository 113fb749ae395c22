"""Redis stopped and started again while citizens send reports: the app under gunicorn,
real `flask worker` and `flask scheduler` processes, a database and a Redis server of the
test's own. It ends with the same check as every fault test: nothing accepted was lost,
nothing was done twice. And what the rate limiter and /healthz do while Redis is away.
"""
import json
import threading
import time
import uuid
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.models import (
    Notification,
    OutboxMessage,
    Photo,
    PhotoState,
    Report,
    ReportEvent,
    ReportStatus,
)
from tests import samples
from tests.conftest import POSTGRES_URL
from tests.faults import (
    FaultSystem,
    citizen_headers,
    http_request,
    multipart,
    wait_until,
)

CITIZENS = 4
NINH_KIEU = "31135"
CLIENT_TIMEOUT = 30  # seconds: an answer slower than this counts as a hang


@pytest.fixture
def system(tmp_path, own_redis):
    system = FaultSystem(
        tmp_path, own_redis, POSTGRES_URL + "_faults_redis",
        # Routing follows submission directly; the limits are not what is under test here.
        PRE_MODERATION="false", SUBMIT_RATE_LIMIT="100000 per hour",
        SUBMIT_ADDRESS_RATE_LIMIT="100000 per hour", SCHEDULER_LOCK_SECONDS="3")
    yield system
    system.close()


class Citizen(threading.Thread):
    """Sends reports one after another until told to stop, as the app does on a flaky line:
    a report keeps its Idempotency-Key through every retry until it is answered 201, and
    now and then the app, having lost an answer, sends an accepted report once more."""

    def __init__(self, url: str, headers: dict, number: int, stopping: threading.Event):
        super().__init__(daemon=True)
        self.url, self.headers, self.number, self.stopping = url, headers, number, stopping
        self.answers: list[tuple[str, int, dict, dict]] = []  # (key, status, headers, body)
        self.failures: list[str] = []  # anything but a 201 or a clean 5xx
        self.with_photo: set[str] = set()  # the keys of reports sent with a photo

    def run(self):
        sent = 0
        while not self.stopping.is_set():
            sent += 1
            key = f"citizen-{self.number}-{sent}-{uuid.uuid4()}"
            fields = {"category": "xe-buyt", "description": f"Xe buýt số {sent} bỏ trạm",
                      "commune_code": NINH_KIEU, "latitude": "10.03", "longitude": "105.78"}
            files = []
            if sent % 2 == 0:  # every other one with a photo of its own (its own hash)
                fields["category"] = "giao-thong"
                self.with_photo.add(key)
                files = [("photos", "a.jpg", samples.phone_jpeg(
                    160, 120, seed=self.number * 10_000 + sent))]
            body, content_type = multipart(fields, files)
            self.send(key, body, content_type)
            if sent % 5 == 0:
                self.send(key, body, content_type)  # the first 201 was "lost"

    def send(self, key: str, body: bytes, content_type: str) -> None:
        headers = {**self.headers, "Idempotency-Key": key, "Content-Type": content_type}
        for _ in range(20):
            try:
                status, answer_headers, raw = http_request(
                    "POST", self.url + "/api/v1/reports", body=body, headers=headers,
                    timeout=CLIENT_TIMEOUT)
            except OSError as exc:
                self.failures.append(f"{key}: {type(exc).__name__}: {exc}")
                return
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = {}
            self.answers.append((key, status, answer_headers, answer))
            if status == 201:
                return
            if not (status >= 500 and {"code", "message", "details"} <= set(answer)):
                self.failures.append(f"{key}: {status} {raw[:200]!r}")
                return
            time.sleep(0.5)
        self.failures.append(f"{key}: never accepted")


class Watch(threading.Thread):
    """Asks /healthz twice a second; keeps (time, status, what it said of Redis)."""

    def __init__(self, url: str, stopping: threading.Event):
        super().__init__(daemon=True)
        self.url, self.stopping = url, stopping
        self.seen: list[tuple[float, int, dict]] = []

    def run(self):
        while not self.stopping.is_set():
            try:
                status, _, raw = http_request("GET", self.url + "/healthz", timeout=10)
                self.seen.append((time.time(), status, json.loads(raw)))
            except OSError:
                self.seen.append((time.time(), 0, {}))
            time.sleep(0.5)


def _state(app) -> dict:
    with app.app_context():
        session = db.session
        state = {
            "reports": dict(session.execute(
                select(Report.tracking_code, Report.id)).all()),
            "statuses": Counter(session.execute(select(Report.status)).scalars()),
            "events": Counter(session.execute(
                select(ReportEvent.report_id, ReportEvent.kind)).all()),
            "notifications": Counter(session.execute(
                select(Notification.report_id, Notification.kind, Notification.user_id,
                       Notification.department_id)).all()),
            "photos": session.execute(
                select(Photo.report_id, Photo.state, Photo.display_key, Photo.processed_at)
            ).all(),
            "pending_messages": session.execute(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.completed_at.is_(None))).scalar(),
        }
        session.remove()
    return state


def _work_left(state: dict) -> int:
    """Outbox messages not completed, reports not routed, photos not processed."""
    return (state["pending_messages"]
            + sum(count for status, count in state["statuses"].items()
                  if status != ReportStatus.ASSIGNED)
            + sum(1 for photo in state["photos"] if photo.state != PhotoState.READY))


def test_redis_stopped_and_started_again_under_load_loses_no_report_and_does_nothing_twice(
        system):
    url = system.web(workers=2)
    system.worker(), system.worker(), system.scheduler()
    system.wait_ready(workers=2, schedulers=1)
    stopping, watching = threading.Event(), threading.Event()
    citizens = [Citizen(url, headers, number, stopping)
                for number, headers in enumerate(citizen_headers(system.app, CITIZENS))]
    watch = Watch(url, watching)
    for thread in (*citizens, watch):
        thread.start()

    outages = []
    # Away twice, 4 s each: once coming back with its data, once empty (queued jobs lost).
    # Between the two, long enough for the workers and the scheduler to be back at work.
    for pause, lose_data in ((3, False), (7, True)):
        time.sleep(pause)
        system.redis_server.stop()
        away = time.time()
        time.sleep(4)
        system.redis_server.start(lose_data=lose_data)
        outages.append((away, time.time()))
    time.sleep(3)
    stopping.set()
    for citizen in citizens:
        citizen.join(timeout=CLIENT_TIMEOUT + 5)
    watching.set()
    watch.join(timeout=15)

    answers = [answer for citizen in citizens for answer in citizen.answers]
    assert [failure for citizen in citizens for failure in citizen.failures] == []
    # Redis away turns no citizen away: every answer, during the outages too, is a 201.
    assert Counter(status for _, status, _, _ in answers).keys() == {201}
    accepted = {}  # Idempotency-Key → tracking code
    for key, status, headers, body in answers:
        if status == 201:
            assert accepted.setdefault(key, body["tracking_code"]) == body["tracking_code"]
    replays = [a for a in answers if a[1] == 201 and a[2].get("idempotent-replayed") == "true"]
    assert replays and len(accepted) >= 20, (len(accepted), len(replays))
    sent_during_outages = [key for key, _, _, body in answers if body.get("submitted_at")
                           and any(a <= datetime.fromisoformat(body["submitted_at"]).timestamp()
                                   <= b for a, b in outages)]
    assert sent_during_outages, "no report was sent while Redis was away"

    # What was handed over while Redis was away, or lost with its data, the relay delivers.
    # How much that is depends on how fast the machine took the load (2,700 reports and
    # 1,300 photos seen): the wait lasts while the backlog shrinks, 90 s past the last
    # progress, 5 minutes at most.
    last = {}

    def all_done():
        state = _state(system.app)
        last["left"] = _work_left(state)
        return state if last["left"] == 0 else None

    try:
        state = wait_until(all_done, timeout=90, interval=1, cap=300,
                           work_left=lambda: last["left"],
                           message="every report routed and every photo processed")
    except AssertionError:
        left = _state(system.app)
        raise AssertionError(
            f"statuses {dict(left['statuses'])}, pending messages {left['pending_messages']}, "
            f"photos {Counter(p.state for p in left['photos'])}, processes "
            f"{[p.poll() for p in system.processes]}\n{system.logs()}") from None
    assert set(state["reports"]) == set(accepted.values())  # none lost, none made twice
    ids = list(state["reports"].values())
    assert all(state["events"][report_id, "submitted"] == 1 for report_id in ids)
    assert all(state["events"][report_id, "assigned"] == 1 for report_id in ids)
    assert all(count == 1 for count in state["notifications"].values())
    kinds = {}
    for report_id, kind, _, _ in state["notifications"]:
        kinds.setdefault(report_id, set()).add(kind)
    # The citizen hears "received" and "assigned"; the department gets it as new work.
    assert all(kinds.get(report_id) == {"received", "assigned", "new_work"} for report_id in ids)
    photos = state["photos"]
    with_photo = {key for citizen in citizens for key in citizen.with_photo} & set(accepted)
    assert len(photos) == len({p.report_id for p in photos}) == len(with_photo)
    photo_folder = system.tmp_path / "photos"
    assert all((photo_folder / photo.display_key).is_file() for photo in photos)
    assert not list(photo_folder.glob(".tmp-*"))

    # /healthz said "degraded" with Redis unreachable while it was away, and kept
    # answering 200: the web processes stay in rotation, as they still take reports.
    for at, status, body in watch.seen:
        if any(a + 0.5 < at < b - 0.5 for a, b in outages):
            assert (status, body["status"], body["redis"]["ok"]) == (200, "degraded", False)
    assert watch.seen[-1][1] == 200 and watch.seen[-1][2]["status"] == "ok"


NEARBY = "/api/v1/reports/nearby?category=xe-buyt&latitude=10.03&longitude=105.78"


def test_with_redis_away_the_limiter_counts_in_memory_and_healthz_says_degraded(
        tmp_path, own_redis):
    system = FaultSystem(tmp_path, own_redis, POSTGRES_URL + "_faults_redis",
                         NEARBY_RATE_LIMIT="3 per minute")
    try:
        url = system.web(workers=1)  # one process: one memory to count in

        def nearby(times: int) -> list[int]:
            return [http_request("GET", url + NEARBY)[0] for _ in range(times)]

        assert nearby(4) == [200, 200, 200, 429]  # counted in Redis
        own_redis.stop()
        # Counted in the process's memory from zero: what Redis counted is not seen, and
        # the limit still holds (per web process: N processes let N times as much through).
        assert nearby(4) == [200, 200, 200, 429]
        status, _, raw = http_request("GET", url + "/healthz")
        health = json.loads(raw)
        assert (status, health["status"]) == (200, "degraded")
        assert health["database"]["ok"] is True
        assert health["redis"] == {"ok": False, "error": "ConnectionError"}
        assert health["workers"] == {}
        [headers] = citizen_headers(system.app, 1)
        body, content_type = multipart({"category": "xe-buyt", "description": "Xe bỏ trạm",
                                        "commune_code": NINH_KIEU})
        status, _, _ = http_request("POST", url + "/api/v1/reports", body=body,
                                    headers={**headers, "Content-Type": content_type})
        assert status == 201  # Redis away turns no citizen away

        own_redis.start()
        system.redis.flushdb()  # Redis's counts gone: a 200 now means it counts there again
        back = time.monotonic()
        wait_until(lambda: nearby(1) == [200], timeout=40, interval=0.5,
                   message="the limiter to count in Redis again")
        # Flask-Limiter looks again after 1, 2, 4 ... 32 s (it looked at 1 and 3 s meanwhile).
        assert time.monotonic() - back < 35
        assert nearby(3) == [200, 200, 429]
        assert http_request("GET", url + "/healthz")[0] == 200
    finally:
        system.close()


def test_a_hung_redis_holds_a_citizen_up_for_seconds_not_for_ever(tmp_path, own_redis):
    system = FaultSystem(tmp_path, own_redis, POSTGRES_URL + "_faults_redis",
                         NEARBY_RATE_LIMIT="1000 per minute", PRE_MODERATION="false")
    try:
        url = system.web(workers=1)
        [headers] = citizen_headers(system.app, 1)
        body, content_type = multipart({"category": "xe-buyt", "description": "Xe bỏ trạm",
                                        "commune_code": NINH_KIEU})
        assert http_request("GET", url + NEARBY)[0] == 200
        own_redis.freeze()
        try:
            # The limiter's counts, then the report's hand-over to RQ after its commit: each
            # gives up on the hung server after a second (5 s and 15 s before), the limiter
            # counts in memory and the report's work waits in the outbox.
            started = time.monotonic()
            submitted, _, raw = http_request(
                "POST", url + "/api/v1/reports", body=body,
                headers={**headers, "Content-Type": content_type}, timeout=CLIENT_TIMEOUT)
            submit_seconds = time.monotonic() - started
            started = time.monotonic()
            read = http_request("GET", url + NEARBY, timeout=CLIENT_TIMEOUT)[0]
            read_seconds = time.monotonic() - started
        finally:
            own_redis.thaw()
        assert (submitted, read) == (201, 200)
        assert submit_seconds < 5 and read_seconds < 3, (submit_seconds, read_seconds)
        code = json.loads(raw)["tracking_code"]
        with system.app.app_context():
            report_id = db.session.execute(
                select(Report.id).where(Report.tracking_code == code)).scalar_one()
            waiting = db.session.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.completed_at.is_(None))).scalar_one()
            db.session.remove()
        assert report_id and waiting >= 1  # its work is kept for the relay
    finally:
        system.close()
