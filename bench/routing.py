"""Routing benchmark: submitted-to-routed latency under a steady load, and the job rate
of route_report next to RQ's own no-op job rate, with 2 real worker processes.

    python bench/routing.py [--rate 50] [--seconds 60] [--backlog 2000]

Builds its own database (phananh_bench_routing) on the local PostgreSQL and uses
Redis database 13 on the local Redis (both flushed first). Prints progress, then as
its last line one JSON object with the figures, the targets and whether each was met.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import percentile  # noqa: E402

import redis as redis_client  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from rq import Queue  # noqa: E402
from rq.job import Job  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from feedback import create_app  # noqa: E402
from feedback.extensions import db  # noqa: E402
from feedback.models import Area, Category, Report, ReportEvent, ReportStatus  # noqa: E402
from feedback.services import deadlines, outbox  # noqa: E402
from feedback.services.areas import import_areas, official_areas  # noqa: E402
from feedback.services.deadlines import Step  # noqa: E402
from feedback.services.demo import load_demo  # noqa: E402
from tests.conftest import fresh_postgres_database  # noqa: E402

POSTGRES = os.environ.get("BENCH_DATABASE_URL",
                          "postgresql://postgres@127.0.0.1:5432/phananh_bench_routing")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TARGET_P99_SECONDS = 1.0
TARGET_RATIO = 0.5


def log(message):
    print(f"[routing] {message}", flush=True)


class Submitter:
    """Submits approved reports as intake does with post-moderation: report, event,
    moderation clock and a routing job in the outbox, in one transaction."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            self.category_ids = db.session.execute(select(Category.id).where(
                Category.code.in_(["giao-thong", "trat-tu-do-thi", "dien-chieu-sang",
                                   "cap-thoat-nuoc-ngap", "cay-xanh"]))).scalars().all()
            self.communes = db.session.execute(select(Area.code).where(
                Area.province_code == "92")).scalars().all()
            self.calendar = deadlines.calendar_for(db.session)
        self.count = 0

    def submit(self, session):
        self.count += 1
        now = datetime.now(timezone.utc)
        report = Report(
            tracking_code=f"PA-B-{uuid.uuid4().hex[:12]}",
            category_id=self.category_ids[self.count % len(self.category_ids)],
            description="Đèn đường không sáng", area_code=self.communes[self.count % 100],
            province_code="92", submitted_at=now, moderated_at=now,
            status=ReportStatus.SUBMITTED,
        )
        session.add(report)
        session.flush()
        deadlines.start_clock(report, Step.MODERATE, now=now, calendar=self.calendar)
        session.add(ReportEvent(report_id=report.id, kind="submitted", created_at=now,
                                to_status=ReportStatus.SUBMITTED))
        outbox.schedule(session, "feedback.services.routing.route_report", report.id,
                        queue="routing", key=f"{report.id}-0")
        session.commit()


def start_workers(env, count=2):
    return [subprocess.Popen([sys.executable, "-m", "flask", "worker", "routing"], cwd=ROOT,
                             env={**os.environ, "FLASK_APP": "wsgi", **env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def stop_workers(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)


def job_rate(connection, job_ids) -> float:
    """Jobs per second from the first job's start to the last one's end, as RQ recorded
    them: the workers' start-up (building the app) is left out, for both kinds of job."""
    jobs = [job for job in Job.fetch_many(list(job_ids), connection=connection) if job]
    began = min(job.started_at for job in jobs)
    ended = max(job.ended_at for job in jobs)
    return len(jobs) / (ended - began).total_seconds()


def routed_count(app, since_id=0):
    with app.app_context():
        value = db.session.execute(select(func.count()).select_from(Report).where(
            Report.id > since_id, Report.status == ReportStatus.ASSIGNED)).scalar()
        db.session.remove()
    return value


def wait_all_routed(app, since_id, total, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if routed_count(app, since_id) >= total:
            return
        time.sleep(0.05)
    raise RuntimeError("not everything was routed in time")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--backlog", type=int, default=2000)
    options = parser.parse_args()

    database = fresh_postgres_database(POSTGRES)
    connection = redis_client.Redis.from_url(REDIS)
    connection.flushdb()
    env = {"DATABASE_URL": database, "REDIS_URL": REDIS, "SECRET_KEY": "bench-" + "x" * 40,
           "PRE_MODERATION": "false", "INSTANCE_PATH": "/tmp/phananh-bench-instance"}
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": REDIS,
                      "SECRET_KEY": env["SECRET_KEY"], "PRE_MODERATION": False})
    with app.app_context():
        upgrade()
        import_areas(db.session, official_areas())
        load_demo(db.session)
        db.session.commit()
    log("database ready")
    submitter = Submitter(app)

    # 1. Latency under a steady load.
    workers = start_workers(env)
    time.sleep(2)
    log(f"steady load: {options.rate:g} reports/s for {options.seconds:g}s, 2 workers")
    interval = 1 / options.rate
    start = time.monotonic()
    sent = 0
    with app.app_context():
        while time.monotonic() - start < options.seconds:
            due = start + sent * interval
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            submitter.submit(db.session)
            sent += 1
        achieved_rate = sent / (time.monotonic() - start)
        db.session.remove()
    wait_all_routed(app, 0, sent)
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT EXTRACT(EPOCH FROM (assigned_at - submitted_at)) FROM reports "
            "WHERE assigned_at IS NOT NULL")).scalars().all()
        last_id = db.session.execute(select(func.max(Report.id))).scalar()
        db.session.remove()
    latencies = [float(value) for value in rows]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    log(f"submitted {sent} at {achieved_rate:.1f}/s: p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms")
    stop_workers(workers)

    # 2. Job rate: a backlog of route_report jobs, then of no-op jobs, each drained by 2 workers.
    with app.app_context():
        for _ in range(options.backlog):
            submitter.submit(db.session)
        db.session.remove()
    workers = start_workers(env)
    wait_all_routed(app, last_id, options.backlog)
    stop_workers(workers)
    with app.app_context():
        backlog_ids = db.session.execute(
            select(Report.id).where(Report.id > last_id)).scalars().all()
        db.session.remove()
    route_ids = [f"route_report-{report_id}-0" for report_id in backlog_ids]  # Submitter's keys
    route_rate = job_rate(connection, route_ids)
    log(f"route_report: {route_rate:.0f} jobs/s")

    queue = Queue("routing", connection=connection)
    with connection.pipeline() as pipeline:
        noop_jobs = queue.enqueue_many(
            [Queue.prepare_data("builtins.abs", args=(1,), result_ttl=600)
             for _ in range(options.backlog)], pipeline=pipeline)
        pipeline.execute()
    workers = start_workers(env)
    while queue.count > 0 or queue.started_job_registry.count > 0:
        time.sleep(0.02)
    stop_workers(workers)
    noop_rate = job_rate(connection, [job.id for job in noop_jobs])
    log(f"no-op: {noop_rate:.0f} jobs/s")

    ratio = route_rate / noop_rate
    result = {
        "benchmark": "routing",
        "load_reports_per_second": round(achieved_rate, 1),
        "load_seconds": options.seconds,
        "reports": sent,
        "latency_p50_ms": round(p50 * 1000, 1),
        "latency_p99_ms": round(p99 * 1000, 1),
        "route_report_jobs_per_second": round(route_rate, 1),
        "noop_jobs_per_second": round(noop_rate, 1),
        "route_to_noop_ratio": round(ratio, 3),
        "targets": {"latency_p99_ms": TARGET_P99_SECONDS * 1000, "route_to_noop_ratio": TARGET_RATIO},
        "met": {"latency_p99_ms": p99 < TARGET_P99_SECONDS, "route_to_noop_ratio": ratio >= TARGET_RATIO},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "workers": 2, "worker_class": "SimpleWorker (flask worker)"},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
