"""Load test: a province's worst day on one machine; not a test.

The whole production shape on this machine: gunicorn with the repository's
gunicorn.conf.py (sync workers, 2 per core plus one), PostgreSQL, Redis, 2 `flask worker`
processes serving every queue (at nice 10, so the web keeps the cores it needs) and one
`flask scheduler`. A database of its own
(phananh_bench_load, made afresh) with the areas, the demo province, 1,200 citizens and
staff; Redis database 9 (flushed). Then locust (bench/locustfile.py) plays, for
--seconds (300):

- citizens sending reports with one 12-megapixel phone photo (about 3 MB, EXIF with a
  GPS position and orientation 6, each upload made unique) at --rate (15) per second
  on average, as a Poisson stream (each citizen sends when they choose),
  each with an Idempotency-Key and retried once on a failure, through the same rate
  limits as production except the one per client address (every request here comes
  from 127.0.0.1);
- citizens polling their reports, one report and their notifications;
- three moderators approving the queue, officers of the departments the reports go to
  acknowledging and answering, two supervisors with the web dashboard and the overdue
  queue open, someone reading the public list.

When the load ends, the moderators finish the queue (what they had not approved yet),
and the bench waits for the workers to process every photo (target: within 10
minutes of the load's end) and route every approved report. The closing check reads the
database: every report answered 201 exists, once (no Idempotency-Key made two), has its
photo processed (display and thumbnail on disk, no original served), and was routed
exactly once (one `assigned` event); the outbox is empty and RQ has no failed job.

Targets (issue 8): 15 reports a second sustained for 5 minutes, p99 submit latency under
1.5 s, photos processed within 10 minutes of the end, nothing lost or doubled.

    .venv/bin/python bench/load.py [--seconds 300] [--rate 15] [--submitters 60]

Progress goes to stdout; the last line is one JSON object with the figures. Locust's
own CSV files and the servers' logs stay in the scratch folder it prints; the photos the
run stored there (about 13 GB for 5 minutes) are deleted at the end unless
`--keep-photos` is given: ten runs kept used to fill the disk.
"""
import argparse
import csv
import http.client
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database  # noqa: E402
from bench.intake import drop_database, free_port  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/phananh_bench_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
TARGETS = {"reports_per_second_min": 15, "submit_p99_ms_max": 1500,
           "photos_processed_within_s_max": 600, "lost_reports": 0, "doubled_reports": 0}
WORKER_NICE = int(os.environ.get("BENCH_WORKER_NICE", 10))
CITIZENS = 1200  # at 15/s for 5 minutes, under 10 reports an hour each (SUBMIT_RATE_LIMIT)
SUBMIT = "citizen: submit report with a 12 MP photo"
# Where the reports of the day come from: field problems that need a photo, across the
# departments the demo's rules name (Sở Xây dựng, commune committees, utilities).
PLACES = [
    {"category": "giao-thong", "commune": "31135", "latitude": 10.0335, "longitude": 105.7839,
     "address": "45 Đại lộ Hòa Bình", "title": "Ổ gà lớn giữa đường",
     "description": "Ổ gà sâu khoảng 20 cm, xe máy đi tối rất dễ té."},
    {"category": "ha-tang", "commune": "31120", "latitude": 10.0452, "longitude": 105.7798,
     "address": "Đường Trần Phú", "title": "Vỉa hè bị sụt lún",
     "description": "Vỉa hè sụt lún, gạch bong tróc, người đi bộ phải xuống lòng đường."},
    {"category": "moi-truong-rac", "commune": "31147", "latitude": 10.0297, "longitude": 105.7698,
     "address": "Hẻm 132 Mậu Thân", "title": "Rác tập kết sai nơi quy định",
     "description": "Bãi rác tự phát ở đầu hẻm bốc mùi hôi, ba ngày chưa được thu gom."},
    {"category": "trat-tu-do-thi", "commune": "31135", "latitude": 10.0332, "longitude": 105.7863,
     "address": "Đường Nguyễn Thái Học", "title": "Lấn chiếm lòng lề đường",
     "description": "Quán ăn bày bàn ghế kín vỉa hè và một phần lòng đường."},
    {"category": "dien-chieu-sang", "commune": "31168", "latitude": 10.0701, "longitude": 105.7569,
     "address": "Đường Lê Hồng Phong", "title": "Đèn đường hư cả đoạn",
     "description": "Khoảng 6 trụ đèn không sáng, buổi tối rất tối và nguy hiểm."},
    {"category": "cay-xanh", "commune": "31150", "latitude": 10.0283, "longitude": 105.7723,
     "address": "Đường 3 tháng 2", "title": "Cây xanh nghiêng sắp đổ",
     "description": "Cây dầu lớn nghiêng ra đường sau cơn mưa, rễ bị bật lên."},
    {"category": "cap-thoat-nuoc-ngap", "commune": "31150", "latitude": 10.0259, "longitude": 105.7801,
     "address": "Đường 30 tháng 4", "title": "Ngập sâu sau mưa",
     "description": "Mưa 30 phút là ngập nửa bánh xe, cống thoát nước bị nghẹt."},
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- setting up --------------------------------------------------------------------------

def prepare(env: dict, scratch: Path) -> dict:
    """Migrate, load the areas and the demo, make citizens and staff; answer the plan
    locust reads (tokens, the officers' departments, the places, the photos)."""
    os.environ.update(env)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from feedback import create_app
    from feedback.extensions import db
    from feedback.models import Category, Department, Role, RoutingRule, User
    from feedback.services.areas import import_areas, official_areas
    from feedback.services.auth import hash_password, issue_token
    from feedback.services.demo import PROVINCE_CODE, load_demo
    from feedback.services.routing import find_rule

    app = create_app()
    now = datetime.now(timezone.utc)
    lifetime = timedelta(hours=3)
    with app.app_context():
        upgrade()
        import_areas(db.session, official_areas())
        load_demo(db.session)
        ioc = db.session.execute(select(Department).where(Department.code == "ct-ioc")).scalar_one()
        citizens = [User(role=Role.CITIZEN, phone=f"+8498{i:07d}", full_name=f"Công dân {i}")
                    for i in range(CITIZENS)]
        moderators = [User(role=Role.MODERATOR, username=f"load.moderator{i}", department=ioc,
                           full_name=f"Kiểm duyệt viên {i}") for i in range(3)]
        password = secrets.token_urlsafe(12)
        supervisors = [User(role=Role.SUPERVISOR, username=f"load.supervisor{i}", department=ioc,
                            full_name=f"Lãnh đạo {i}", password_hash=hash_password(password))
                       for i in range(2)]
        # The departments today's reports are routed to: the rules of their categories.
        departments = {}
        for place in PLACES:
            category = db.session.execute(
                select(Category).where(Category.code == place["category"])).scalar_one()
            rule = find_rule(db.session, category.id, place["commune"], PROVINCE_CODE)
            departments[rule.department.code] = rule.department
        officers = [User(role=Role.OFFICER, username=f"load.officer.{code}", department=department,
                         full_name=f"Cán bộ {department.name}")
                    for code, department in sorted(departments.items())]
        db.session.add_all([*citizens, *moderators, *supervisors, *officers])
        db.session.commit()
        secret = app.config["SECRET_KEY"]
        plan = {
            "citizens": [issue_token(u, secret=secret, now=now, lifetime=lifetime).token
                         for u in citizens],
            "moderators": [issue_token(u, secret=secret, now=now, lifetime=lifetime).token
                           for u in moderators],
            "officers": [{"token": issue_token(u, secret=secret, now=now,
                                               lifetime=lifetime).token,
                          "department": u.department.code} for u in officers],
            "supervisors": [{"username": u.username, "password": password} for u in supervisors],
        }
        rules = db.session.execute(select(RoutingRule)).scalars().all()
        log(f"{CITIZENS} citizens, 3 moderators, 2 supervisors, {len(officers)} officers "
            f"({', '.join(sorted(departments))}); {len(rules)} routing rules")
        db.engine.dispose()
    return plan


def make_photos(scratch: Path, count: int) -> list[str]:
    """12 MP phone photos (bench/photos.py's), made in a child so this process stays small."""
    paths = [str(scratch / f"phone-{i}.jpg") for i in range(count)]
    code = ("import sys; sys.path.insert(0, 'bench'); from photos import phone_jpeg\n"
            "for i, path in enumerate(sys.argv[1:]):\n"
            "    open(path, 'wb').write(phone_jpeg(4000 + 8 * i, 3000, quality=92))\n")
    subprocess.run([sys.executable, "-c", code, *paths], cwd=ROOT, check=True)
    return paths


def start(name: str, command: list[str], env: dict, scratch: Path) -> subprocess.Popen:
    log_file = open(scratch / f"{name}.log", "wb")
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(port: int, processes: dict, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            body = json.loads(response.read())
            connection.close()
            if response.status == 200:
                return body
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError("the system did not become healthy")


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- after the load ----------------------------------------------------------------------

def api(port: int, method: str, path: str, token: str) -> tuple[int, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, (json.loads(body) if body else None)


def finish_moderation(port: int, token: str) -> int:
    """What a moderator does when the rush is over: approve what is left in the queue."""
    approved = 0
    while True:
        status, queue = api(port, "GET", "/api/v1/moderation/queue", token)
        if status != 200 or not queue:
            return approved
        for item in queue:
            status, _ = api(port, "POST", f"/api/v1/reports/{item['tracking_code']}/approve",
                            token)
            approved += status == 200


def database_figures(engine) -> dict:
    from sqlalchemy import text

    with engine.connect() as connection:
        return dict(connection.execute(text("""
            SELECT
              (SELECT count(*) FROM photos WHERE kind = 'report' AND state = 'pending')
                AS pending_photos,
              (SELECT count(*) FROM reports WHERE moderated_at IS NOT NULL
                 AND status = 'submitted' AND manual_routing IS NULL) AS waiting_for_routing,
              (SELECT count(*) FROM outbox_messages WHERE completed_at IS NULL) AS outbox_open
        """)).mappings().one())


def wait_for_workers(engine, started: float, timeout: float) -> dict:
    """Poll until every photo is processed and every approved report routed."""
    photos_done_at = routed_at = None
    while time.monotonic() - started < timeout:
        figures = database_figures(engine)
        now = time.monotonic() - started
        if photos_done_at is None and figures["pending_photos"] == 0:
            photos_done_at = now
            log(f"every photo processed {now:.0f} s after the load ended")
        if routed_at is None and figures["waiting_for_routing"] == 0:
            routed_at = now
        if photos_done_at is not None and routed_at is not None and figures["outbox_open"] == 0:
            break
        time.sleep(2)
    return {"photos_processed_after_s": photos_done_at, "routed_after_s": routed_at,
            **database_figures(engine)}


def closing_check(engine, accepted: list[dict], photo_folder: Path) -> dict:
    """Every 201 exists once, with its photo processed, routed exactly once."""
    from sqlalchemy import bindparam, text

    codes = {item["code"] for item in accepted}
    keys = {item["key"] for item in accepted}
    with engine.connect() as connection:
        rows = connection.execute(text("""
            SELECT r.tracking_code, r.idempotency_key,
                   (SELECT count(*) FROM photos p WHERE p.report_id = r.id
                      AND p.kind = 'report') AS photos,
                   (SELECT count(*) FROM photos p WHERE p.report_id = r.id AND p.kind = 'report'
                      AND p.state = 'ready' AND p.display_key IS NOT NULL
                      AND p.thumbnail_key IS NOT NULL) AS ready_photos,
                   (SELECT count(*) FROM report_events e WHERE e.report_id = r.id
                      AND e.kind = 'assigned') AS assigned_events
            FROM reports r WHERE r.tracking_code IN :codes
        """).bindparams(bindparam("codes", expanding=True)), {"codes": sorted(codes) or [""]}
        ).mappings().all()
        total_reports = connection.execute(text("SELECT count(*) FROM reports")).scalar_one()
        demo_reports = connection.execute(text(
            "SELECT count(*) FROM reports WHERE idempotency_key IS NULL")).scalar_one()
        display_keys = connection.execute(text(
            "SELECT display_key, thumbnail_key FROM photos WHERE kind = 'report' "
            "AND state = 'ready'")).all()
    found = {row["tracking_code"]: row for row in rows}
    missing_files = sum(1 for display, thumb in display_keys
                        if not (photo_folder / display).exists()
                        or not (photo_folder / thumb).exists())
    return {
        "accepted": len(accepted),
        "accepted_distinct_codes": len(codes),
        "idempotency_keys": len(keys),
        "lost": len(codes - set(found)),
        # A report in the database that no 201 accounts for, or a key answered twice.
        "doubled": (total_reports - demo_reports - len(codes)) + (len(accepted) - len(keys)),
        "without_their_photo": sum(1 for row in rows if row["photos"] != 1),
        "photo_not_processed": sum(1 for row in rows if row["ready_photos"] != 1),
        "photo_files_missing": missing_files,
        "not_routed": sum(1 for row in rows if row["assigned_events"] == 0),
        "routed_more_than_once": sum(1 for row in rows if row["assigned_events"] > 1),
    }


def failed_jobs(redis_url: str) -> int:
    import redis
    from rq import Queue

    from workers import queues

    connection = redis.Redis.from_url(redis_url)
    return sum(Queue(name, connection=connection).failed_job_registry.count
               for name in queues.ALL)


_ROLES = (("locust", "locust"), ("gunicorn", "gunicorn"), ("flask worker", "workers"),
          ("flask scheduler", "scheduler"), ("postgres", "postgresql"),
          ("redis-server", "redis"))


def cpu_seconds_by_role() -> dict:
    """CPU seconds (user + system) used so far by every process on the machine and its
    ended children, summed by what it is (locust, gunicorn, the workers, PostgreSQL,
    Redis, the rest): two readings say where the cores went between them."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        role = next((name for pattern, name in _ROLES if pattern in command), "other")
        if fields[0] == "Z":
            continue  # ended, not yet reaped: its time reaches its parent once it is
        used = int(fields[11]) + int(fields[12])
        if int(entry) != os.getpid():
            # Its children that ended (gunicorn's recycled workers, PostgreSQL's backends).
            used += int(fields[13]) + int(fields[14])
        totals[role] = totals.get(role, 0.0) + used / ticks
    return totals


def cores_used(before: dict, after: dict, seconds: float) -> dict:
    """Cores each kind of process used on average between two readings (a process that
    ended between them counts with its parent, as the parent's children's time)."""
    return {role: round(max(0.0, after.get(role, 0.0) - before.get(role, 0.0)) / seconds, 2)
            for role in sorted(set(before) | set(after))}


def locust_figures(prefix: Path, seconds: float) -> dict:
    """Per kind of request: count, failures, throughput, p50 and p99 in ms (locust's
    percentiles are rounded to two significant digits above 100 ms)."""
    kinds = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            count = int(row["Request Count"])
            kinds[row["Name"]] = {
                "requests": count, "failures": int(row["Failure Count"]),
                "per_second": round(count / seconds, 2),
                "p50_ms": float(row["50%"] or 0), "p99_ms": float(row["99%"] or 0),
                "max_ms": round(float(row["Max Response Time"] or 0)),
            }
    return kinds


# -- main --------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                              DEFAULT_REDIS_URL))
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=float, default=15, help="reports per second")
    parser.add_argument("--submitters", type=int, default=60)
    parser.add_argument("--readers", type=int, default=30)
    parser.add_argument("--photos-timeout", type=float, default=600)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--keep-photos", action="store_true",
                        help="keep the photos stored during the run in the scratch folder")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="phananh-load-"))
    log(f"scratch folder {scratch}; database {args.database_url} (made afresh); "
        f"Redis {args.redis_url} (flushed)")
    database_url = fresh_database(args.database_url, driver="postgresql")
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    photo_folder = scratch / "photos"
    env = {
        "DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "FLASK_APP": "wsgi",
        "SECRET_KEY": secrets.token_urlsafe(48), "INSTANCE_PATH": str(scratch / "instance"),
        "PHOTO_FOLDER": str(photo_folder), "FEEDBACK_ENV": "development",
        "LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1",
        # Every request of the bench comes from 127.0.0.1; in the field they come from a
        # province's phones. The per-account limits stay as in production.
        "SUBMIT_ADDRESS_RATE_LIMIT": "100000000 per hour",
    }
    log("migrating, loading the areas and the demo province, making citizens and staff")
    plan = prepare(env, scratch)
    log("making 12 MP phone photos")
    plan.update({"photos": make_photos(scratch, 6), "places": PLACES, "submit_rate": args.rate,
                 "submitters": args.submitters, "readers": args.readers, "public": 2,
                 "accepted_file": str(scratch / "accepted.json")})
    plan_file = scratch / "plan.json"
    plan_file.write_text(json.dumps(plan))
    sizes = [os.path.getsize(path) for path in plan["photos"]]
    log(f"photos of {min(sizes) / 1e6:.1f} to {max(sizes) / 1e6:.1f} MB")

    port = free_port()
    workers_per_core = os.cpu_count() * 2 + 1
    processes = {
        "gunicorn": start("gunicorn", [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                       "--bind", f"127.0.0.1:{port}", "wsgi:app"], env, scratch),
        # Workers yield the cores to the web (README, "Production"): photos can wait a
        # minute, a citizen holding the app cannot.
        **{f"worker-{n}": start(f"worker-{n}", [sys.executable, "-m", "flask", "worker",
                                                "--nice", str(WORKER_NICE)], env, scratch)
           for n in (1, 2)},
        "scheduler": start("scheduler", [sys.executable, "-m", "flask", "scheduler"], env,
                           scratch),
    }
    from sqlalchemy import create_engine

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    result = {}
    try:
        health = wait_healthy(port, processes)
        log(f"up: gunicorn ({workers_per_core} sync workers) on 127.0.0.1:{port}, 2 workers, "
            f"1 scheduler; /healthz {health.get('status')}")
        users = (args.submitters + args.readers + len(plan["moderators"]) + len(plan["officers"])
                 + len(plan["supervisors"]) + plan["public"])
        log(f"load: {users} users for {args.seconds:g} s, reports at {args.rate:g}/s")
        began = time.monotonic()
        load_at = time.time()
        cpu_before = cpu_seconds_by_role()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([
            sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
            "--headless", "--host", f"http://127.0.0.1:{port}", "-u", str(users),
            "-r", str(users), "-t", f"{int(args.seconds)}s", "--stop-timeout", "60",
            "--csv", str(scratch / "locust"), "--only-summary", "--loglevel", "WARNING",
        ], cwd=ROOT, env={**os.environ, "LOAD_PLAN": str(plan_file)}, check=False,
            stdout=open(scratch / "locust.log", "wb"), stderr=subprocess.STDOUT)
        ended = time.monotonic()
        load_seconds = ended - began
        cpu_after = cpu_seconds_by_role()
        # Locust has ended by now: its CPU is what this process's finished children used.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_after["locust"] = (children.ru_utime + children.ru_stime
                               - children_before.ru_utime - children_before.ru_stime)
        cores = cores_used(cpu_before, cpu_after, load_seconds)
        log(f"cores used during the load: {cores}")
        log(f"load over after {load_seconds:.0f} s; the moderators finish the queue")
        finished = finish_moderation(port, plan["moderators"][0])
        log(f"{finished} more approved; waiting for the workers")
        drained = wait_for_workers(engine, ended, args.photos_timeout)
        accepted = json.loads((scratch / "accepted.json").read_text())
        check = closing_check(engine, accepted, photo_folder)
        check["failed_jobs"] = failed_jobs(args.redis_url)
        kinds = locust_figures(scratch / "locust", args.seconds)
        submit = kinds.get(SUBMIT, {"per_second": 0, "p99_ms": float("inf")})
        accepted_rate = check["accepted"] / args.seconds
        photos_after = drained["photos_processed_after_s"]
        met = {
            "reports_per_second_min": accepted_rate >= TARGETS["reports_per_second_min"] * 0.98,
            "submit_p99_ms_max": submit["p99_ms"] < TARGETS["submit_p99_ms_max"],
            "photos_processed_within_s_max": photos_after is not None
            and photos_after <= TARGETS["photos_processed_within_s_max"],
            "lost_reports": check["lost"] == 0 and check["not_routed"] == 0
            and check["without_their_photo"] == 0 and check["photo_not_processed"] == 0
            and check["photo_files_missing"] == 0,
            "doubled_reports": check["doubled"] == 0 and check["routed_more_than_once"] == 0,
        }
        errors = sum(kind["failures"] for kind in kinds.values())
        result = {
            "benchmark": "load",
            "figures": {
                "reports_accepted_per_second": round(accepted_rate, 2),
                "requests_per_second": round(sum(k["requests"] for k in kinds.values())
                                             / args.seconds, 1),
                "errors": errors,
                "submit_p50_ms": submit.get("p50_ms"), "submit_p99_ms": submit.get("p99_ms"),
                "photos_processed_after_load_s": photos_after,
                "routed_after_load_s": drained["routed_after_s"],
                "approved_after_load": finished,
                "cores_used_during_load": cores,
                "by_request": kinds,
                "closing_check": check,
            },
            "targets": TARGETS,
            "met": met,
            "settings": {"seconds": args.seconds, "rate": args.rate,
                         "submitters": args.submitters, "readers": args.readers,
                         "gunicorn": f"gunicorn.conf.py, {workers_per_core} sync workers",
                         "workers": f"2 flask worker (all queues, nice {WORKER_NICE}), "
                                    "1 flask scheduler",
                         "started_at": datetime.fromtimestamp(load_at, timezone.utc).isoformat(
                             timespec="seconds")},
            "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(),
                        "load_average_after": os.getloadavg()},
        }
    finally:
        for process in processes.values():
            stop_group(process)
        engine.dispose()
        if not args.keep_database:
            drop_database(database_url)
        if not args.keep_photos:
            shutil.rmtree(photo_folder, ignore_errors=True)
            for photo in plan.get("photos", []):
                Path(photo).unlink(missing_ok=True)
    log(f"logs and locust's CSV files in {scratch}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
