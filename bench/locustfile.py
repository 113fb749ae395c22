"""The people of bench/load.py's worst day, for locust. Run `python bench/load.py`, which
builds the system and the plan this file reads (LOAD_PLAN), not this file.

Citizens send reports with one 12-megapixel phone photo, each when they choose (together
a Poisson stream at the submit rate), and poll their
reports and notifications; moderators approve the queue; officers acknowledge and answer
their department's work; supervisors open the dashboard and the overdue queue in the web
view; the public reads the public list. Every report answered 201 is written down, with
its Idempotency-Key, for load.py's closing check.
"""
import itertools
import json
import os
import random
import re
import threading
import time
import uuid

import gevent
from locust import FastHttpUser, between, events, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read()) if "LOAD_PLAN" in os.environ else {}
BOUNDARY = "----phananh-load-boundary"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

_lock = threading.Lock()
_accepted: list[dict] = []
_submitted_by_token: dict[str, list[str]] = {}
_citizen_tokens = itertools.cycle(PLAN.get("citizens", [None]))
_photos = [open(path, "rb").read() for path in PLAN.get("photos", [])]
_moderator_slot = itertools.count()
# Each submitter's share of the submit rate: reports a second.
SUBMIT_RATE_PER_CITIZEN = PLAN.get("submit_rate", 15) / PLAN.get("submitters", 60)
_officers = itertools.cycle(PLAN.get("officers", [None]))
_supervisors = itertools.cycle(PLAN.get("supervisors", [None]))


def unique_photo(data: bytes) -> bytes:
    """The photo with a comment segment of its own after its APPn segments, so each
    upload has its own content hash while decoding exactly alike (the pipeline strips
    the comment with the rest of the metadata)."""
    pos = 2
    while data[pos] == 0xFF and 0xE0 <= data[pos + 1] <= 0xEF:
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    comment = uuid.uuid4().hex.encode()
    return data[:pos] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[pos:]


def multipart(fields: dict, photo: bytes) -> bytes:
    head = "".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n" for name, value in fields.items())
    return b"".join([
        head.encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; '
        f'filename="IMG_{random.randint(1000, 9999)}.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode(),
        photo, f"\r\n--{BOUNDARY}--\r\n".encode(),
    ])


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def poisson_pacing(rate: float):
    """A wait_time that starts the user's tasks as a Poisson process of `rate` per second.

    Citizens send reports independently of one another. locust's constant_throughput
    keeps every user on the beat it started on, and the bench starts all users in the
    same second: 60 submitters at 0.25 a second each then sent their 60 reports within
    one second of every four, waves no province sees (the queue behind each wave was
    most of the submit latency measured before 2026-12-02). Here each start is the last
    planned start plus an exponential gap, so the rate holds on average (a user that
    falls behind catches up) and the phases spread out."""

    def wait_time(user) -> float:
        now = time.monotonic()
        planned = getattr(user, "_planned_start", None)
        planned = (now if planned is None else planned) + random.expovariate(rate)
        user._planned_start = planned
        return max(0.0, planned - now)

    return wait_time


class Citizen(FastHttpUser):
    """Sends a report with one photo now and then (all of them together: a Poisson
    stream at the submit rate); retries a failed send once with the same
    Idempotency-Key, as the app does on a flaky line."""

    weight = PLAN.get("submitters", 60)
    fixed_count = PLAN.get("submitters", 60)
    wait_time = poisson_pacing(SUBMIT_RATE_PER_CITIZEN)
    network_timeout = 60.0
    connection_timeout = 60.0

    def on_start(self):
        # The first report, too, at a moment of this citizen's own.
        gevent.sleep(random.uniform(0, 1 / SUBMIT_RATE_PER_CITIZEN))
        self._planned_start = time.monotonic()

    @task
    def submit(self):
        token = next(_citizen_tokens)
        place = random.choice(PLAN["places"])
        body = multipart({
            "category": place["category"], "title": place["title"],
            "description": place["description"] + f" (lần {random.randint(1, 999)})",
            "latitude": f"{place['latitude'] + random.uniform(-0.004, 0.004):.6f}",
            "longitude": f"{place['longitude'] + random.uniform(-0.004, 0.004):.6f}",
            "address": place["address"], "commune_code": place["commune"],
            "anonymous": random.choice(["false", "false", "true"]), "public": "true",
        }, unique_photo(random.choice(_photos)))
        key = uuid.uuid4().hex
        headers = {**bearer(token), "Idempotency-Key": key,
                   "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        for attempt in range(2):
            with self.client.post("/api/v1/reports", data=body, headers=headers,
                                  name="citizen: submit report with a 12 MP photo",
                                  catch_response=True) as response:
                if response.status_code == 201:
                    code = response.json()["tracking_code"]
                    with _lock:
                        _accepted.append({"key": key, "code": code, "attempt": attempt})
                        _submitted_by_token.setdefault(token, []).append(code)
                    response.success()
                    return
                if response.status_code and response.status_code < 500:
                    response.failure(f"{response.status_code}: {response.text[:200]}")
                    return
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")


class CitizenReading(FastHttpUser):
    """Opens the app: their reports, one of them, their notifications."""

    weight = 1
    fixed_count = PLAN.get("readers", 30)
    wait_time = between(1, 3)

    def on_start(self):
        self.token = next(_citizen_tokens)

    @task(3)
    def my_reports(self):
        self.client.get("/api/v1/me/reports", headers=bearer(self.token),
                        name="citizen: my reports")

    @task(2)
    def one_report(self):
        with _lock:
            codes = list(_submitted_by_token.get(self.token, ()))
        if codes:
            self.client.get(f"/api/v1/reports/{random.choice(codes)}",
                            headers=bearer(self.token), name="citizen: one report")

    @task(2)
    def notifications(self):
        self.client.get("/api/v1/me/notifications", headers=bearer(self.token),
                        name="citizen: notifications")


class Moderator(FastHttpUser):
    """Approves the oldest reports of the queue; each moderator takes its own share
    (by tracking number), as a team splits a queue, so two never approve the same."""

    weight = 1
    fixed_count = len(PLAN.get("moderators", []))
    wait_time = between(0.5, 1.5)

    def on_start(self):
        self.slot = next(_moderator_slot) % max(1, len(PLAN["moderators"]))
        self.token = PLAN["moderators"][self.slot]

    @task
    def work_the_queue(self):
        response = self.client.get("/api/v1/moderation/queue", headers=bearer(self.token),
                                   name="moderator: queue")
        if response.status_code != 200:
            return
        share = len(PLAN["moderators"])
        mine = [item["tracking_code"] for item in response.json()
                if int(item["tracking_code"].rsplit("-", 1)[1]) % share == self.slot]
        for code in mine[:25]:
            self.client.post(f"/api/v1/reports/{code}/approve", headers=bearer(self.token),
                             name="moderator: approve")


class Officer(FastHttpUser):
    """Works a department's queue: acknowledges new work, answers what it is on."""

    weight = 1
    fixed_count = len(PLAN.get("officers", []))
    wait_time = between(2, 5)

    def on_start(self):
        self.officer = next(_officers)

    @task
    def work_the_queue(self):
        headers = bearer(self.officer["token"])
        response = self.client.get(f"/api/v1/departments/{self.officer['department']}/queue",
                                   headers=headers, name="officer: department queue")
        if response.status_code != 200:
            return
        # The reports it only coordinates are in its queue too (marked); the lead moves them.
        items = [item for item in response.json() if not item.get("coordinating")]
        for item in [i for i in items if i["status"] == "assigned"][:3]:
            self.client.get(f"/api/v1/staff/reports/{item['tracking_code']}", headers=headers,
                            name="officer: open a report")
            self.client.post(f"/api/v1/reports/{item['tracking_code']}/acknowledge",
                             headers=headers, name="officer: acknowledge")
        for item in [i for i in items if i["status"] == "in_progress"][:2]:
            self.client.post(f"/api/v1/reports/{item['tracking_code']}/answer", headers=headers,
                             json={"outcome": "planned",
                                   "text": "Đã kiểm tra hiện trường, đưa vào kế hoạch sửa chữa "
                                           "quý tới."},
                             name="officer: answer")


class Supervisor(FastHttpUser):
    """Signs in to the web view and keeps the dashboard and the overdue queue open."""

    weight = 1
    fixed_count = len(PLAN.get("supervisors", []))
    wait_time = between(5, 10)

    def on_start(self):
        account = next(_supervisors)
        page = self.client.get("/staff/login", name="supervisor: sign-in page")
        token = CSRF.search(page.text).group(1)
        self.client.post("/staff/login", data={**account, "csrf_token": token},
                         name="supervisor: sign in")

    @task(3)
    def dashboard(self):
        self.client.get("/staff/supervision/dashboard?period=month",
                        name="supervisor: dashboard (this month)")

    @task(1)
    def overdue(self):
        self.client.get("/staff/supervision/overdue", name="supervisor: overdue queue")


class Public(FastHttpUser):
    """Someone reading the public list of reports."""

    weight = 1
    fixed_count = PLAN.get("public", 2)
    wait_time = between(1, 2)

    @task
    def public_list(self):
        self.client.get("/api/v1/public/reports", name="public: list")


@events.test_stop.add_listener
def write_down_what_was_accepted(environment, **kwargs):
    with _lock, open(PLAN["accepted_file"], "w") as out:
        json.dump(_accepted, out)


if __name__ == "__main__":
    raise SystemExit("Run `python bench/load.py`: it builds the system and the plan this "
                     "file reads.")
