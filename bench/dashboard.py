"""Benchmark of the web view's heaviest pages on PostgreSQL; not a test.

A database of its own (phananh_bench_dashboard, dropped and created fresh), migrated,
with the areas and the demo province, then 2,000,000 reports written by one
INSERT ... SELECT generate_series(...), spread over five years as real data is
(MEASURED.md: a month is only a small part of the table): routed by the demo's rules
(commune committees for urban order and waste), answered on time or late, rated,
reopened, rejected, merged; the last weeks still open, some overdue. ANALYZE, then
through the app in-process (Flask's test client: server time, no network), signed in:

1. the supervisor dashboard for this month (`/staff/supervision/dashboard?period=month`):
   the table per department, the ranking, the two charts: target under 300 ms;
   also a full past month by range, and the table per commune;
2. the officer queue of the busiest department (`/staff/department/`): under 100 ms;
   also with a filter.

Each page is fetched once to warm up, then timed RUNS times; the median is held to the
target. EXPLAIN of the month's main reads shows which index each uses. An index the
model lacks can be tried with --create-index "CREATE INDEX ..." (in this database only;
the output says so).

    .venv/bin/python bench/dashboard.py [--reports 2000000] [--runs 7] [--reuse]
                                        [--create-index "CREATE INDEX ..."]

Progress goes to stdout; the last line is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from feedback import create_app  # noqa: E402
from feedback.extensions import db  # noqa: E402
from feedback.services import deadlines, stats  # noqa: E402
from feedback.services.areas import import_areas, official_areas  # noqa: E402
from feedback.services.demo import DEMO_USERS, load_demo  # noqa: E402
from tests.conftest import fresh_postgres_database  # noqa: E402

POSTGRES = os.environ.get("BENCH_DATABASE_URL",
                          "postgresql://postgres@127.0.0.1:5432/phananh_bench_dashboard")
# Only for the cached dashboard's timing; its keys are the dashboard's own.
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TARGET_DASHBOARD_MS = 300
TARGET_QUEUE_MS = 100
YEARS = 5
# Indexes to try in this bench database only (--create-index NAME=SQL), when a read
# of the dashboard turns out to need one that the model lacks.


def log(message: str) -> None:
    print(f"[dashboard] {message}", flush=True)


# The routed categories with their lead department; commune categories go to the
# commune's committee. Weights: how often each category is reported.
CATEGORY_WEIGHTS = {
    "giao-thong": 18, "ha-tang": 10, "trat-tu-do-thi": 14, "xay-dung": 6, "moi-truong-rac": 14,
    "cap-thoat-nuoc-ngap": 8, "dien-chieu-sang": 8, "cay-xanh": 5, "vien-thong": 2,
    "xe-buyt": 2, "an-ninh-trat-tu": 6, "y-te-attp": 2, "giao-duc": 1, "dat-dai": 1,
    "thien-tai": 1, "thu-tuc-hanh-chinh": 2,
}

LOOKUPS = """
CREATE TEMP TABLE bench_categories AS
SELECT row_number() OVER (ORDER BY c.id) - 1 AS idx, c.id AS category_id, c.priority,
       c.code IN ('trat-tu-do-thi', 'moi-truong-rac') AS by_commune,
       r.department_id
FROM categories c
JOIN LATERAL (SELECT department_id FROM routing_rules r
              WHERE r.category_id = c.id AND r.area_code = '92' LIMIT 1) r ON true
CROSS JOIN LATERAL generate_series(1, (CAST(:weights AS jsonb) ->> c.code)::int)
WHERE c.code = ANY(:codes);
CREATE TEMP TABLE bench_communes AS
SELECT row_number() OVER (ORDER BY a.code) - 1 AS idx, a.code, d.id AS committee_id
FROM areas a JOIN departments d ON d.code = 'ct-ubnd-' || a.code
WHERE a.province_code = '92'
"""

# One row per report. `age` is how long ago it was sent; what happened to it follows
# from its age and a few random draws, so the data looks like years of real work.
INSERT = """
INSERT INTO reports (
  tracking_code, source, status, citizen_id, is_anonymous, is_public, is_hidden,
  category_id, priority, description, latitude, longitude, location_from_photo,
  area_code, province_code, lead_department_id, rejection_code, outcome, rating,
  reopen_count, submitted_at, moderated_at, assigned_at, first_response_at, resolved_at,
  rated_at, closed_at, updated_at, step_started_at, due_at, warn_at, overdue_at,
  paused_at, paused_remaining_minutes, resolve_due_at, rating_due_at, version)
SELECT
  'PA-B-' || g.n, 'app', s.status, NULL, false, true, false,
  c.category_id, c.priority, 'Phản ánh thử nghiệm', 10.03, 105.78, false,
  m.code, '92',
  CASE WHEN s.status IN ('submitted', 'rejected', 'duplicate') THEN NULL
       WHEN c.by_commune THEN m.committee_id ELSE c.department_id END,
  CASE WHEN s.status = 'rejected' THEN 'spam' END,
  CASE WHEN s.status IN ('resolved', 'closed') THEN
       (ARRAY['fixed', 'fixed', 'fixed', 'planned', 'no_action'])[1 + floor(g.r4 * 5)::int] END,
  CASE WHEN s.status = 'closed' AND g.r5 < 0.7 THEN
       CASE WHEN g.r6 < 0.7 THEN 'satisfied' WHEN g.r6 < 0.9 THEN 'acceptable'
            ELSE 'unsatisfied' END END,
  CASE WHEN s.status IN ('resolved', 'closed') AND g.r7 < 0.03 THEN 1 ELSE 0 END,
  t.submitted_at,
  CASE WHEN s.status <> 'submitted' THEN t.assigned_at END,
  CASE WHEN s.status NOT IN ('submitted', 'rejected', 'duplicate') THEN t.assigned_at END,
  CASE WHEN s.status IN ('in_progress', 'awaiting_citizen', 'resolved', 'closed')
       THEN t.first_response_at END,
  CASE WHEN s.status IN ('resolved', 'closed') THEN t.resolved_at END,
  CASE WHEN s.status = 'closed' AND g.r5 < 0.7 THEN t.resolved_at + interval '20 hours' END,
  CASE WHEN s.status = 'closed' THEN t.resolved_at + interval '7 days' END,
  t.submitted_at,
  t.submitted_at,
  CASE s.status WHEN 'submitted' THEN t.submitted_at + interval '1 day'
                WHEN 'assigned' THEN t.assigned_at + interval '1 day'
                WHEN 'in_progress' THEN t.resolve_due_at END,
  CASE s.status WHEN 'submitted' THEN t.submitted_at + interval '18 hours'
                WHEN 'assigned' THEN t.assigned_at + interval '18 hours'
                WHEN 'in_progress' THEN t.resolve_due_at - interval '1 day' END,
  CASE WHEN s.status = 'in_progress' AND t.resolve_due_at < :now THEN t.resolve_due_at
       WHEN s.status IN ('resolved', 'closed') AND t.resolved_at > t.resolve_due_at
            THEN t.resolve_due_at END,
  CASE WHEN s.status = 'awaiting_citizen' THEN t.first_response_at END,
  CASE WHEN s.status = 'awaiting_citizen' THEN 600 END,
  CASE WHEN s.status NOT IN ('submitted', 'assigned', 'rejected', 'duplicate')
       THEN t.resolve_due_at END,
  CASE WHEN s.status = 'resolved' THEN t.resolved_at + interval '7 days' END,
  1
FROM (
  SELECT n, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
         random() AS r6, random() AS r7, random() AS r8,
         -- Later years have more reports: the app grows (density rises ~2x over the span).
         :span_seconds * sqrt(random()) AS back
  FROM generate_series(CAST(1 AS bigint), CAST(:reports AS bigint)) AS n
) AS g
CROSS JOIN LATERAL (
  SELECT :now - make_interval(secs => :span_seconds - g.back) AS submitted_at
) AS sent
CROSS JOIN LATERAL (
  SELECT sent.submitted_at,
         sent.submitted_at + make_interval(mins => 10 + floor(g.r2 * 480)::int) AS assigned_at,
         sent.submitted_at + make_interval(mins => 30 + floor(g.r2 * 1400)::int) AS first_response_at,
         sent.submitted_at + interval '7 days' + make_interval(mins => floor(g.r2 * 1400)::int)
           AS resolve_due_at,
         sent.submitted_at + make_interval(mins => 120 + floor(g.r3 * g.r3 * 14400)::int)
           AS resolved_at,
         extract(epoch FROM :now - sent.submitted_at) / 86400.0 AS age_days
) AS t
CROSS JOIN LATERAL (
  SELECT CASE
    WHEN g.r1 < 0.03 THEN 'rejected'
    WHEN g.r1 < 0.05 THEN 'duplicate'
    WHEN t.age_days < 0.5 THEN (ARRAY['submitted', 'assigned', 'in_progress'])[1 + floor(g.r8 * 3)::int]
    WHEN t.age_days < 10 AND t.resolved_at > :now THEN
         (ARRAY['assigned', 'in_progress', 'in_progress', 'in_progress', 'awaiting_citizen'])[1 + floor(g.r8 * 5)::int]
    WHEN t.age_days < 10 AND t.resolved_at + interval '7 days' > :now THEN 'resolved'
    WHEN g.r8 < 0.002 THEN 'in_progress'  -- stuck for a long time: overdue
    ELSE 'closed' END AS status
) AS s
JOIN bench_categories c ON c.idx = floor(g.r5 * (SELECT count(*) FROM bench_categories))::int
JOIN bench_communes m ON m.idx = floor(g.r6 * (SELECT count(*) FROM bench_communes))::int
-- In the order they were sent, as an append-only table fills: a month's rows lie together.
ORDER BY t.submitted_at
"""


def build(app, reports: int, now: datetime) -> None:
    with app.app_context():
        upgrade()
        import_areas(db.session, official_areas())
        load_demo(db.session)
        db.session.commit()
        connection = db.session.connection()
        first, second = LOOKUPS.strip().split(";\n", 1)
        connection.execute(text(first), {"weights": json.dumps(CATEGORY_WEIGHTS),
                                         "codes": list(CATEGORY_WEIGHTS)})
        connection.execute(text(second.rstrip(";\n")))
        started = time.perf_counter()
        connection.execute(text(INSERT), {
            "reports": reports, "now": now, "span_seconds": YEARS * 365 * 86400})
        db.session.commit()
        log(f"{reports:,} reports written in {time.perf_counter() - started:.0f} s")
        # The hours the app keeps on each report as it is answered (stats.keep_durations).
        started = time.perf_counter()
        filled = stats.fill_in_durations(db.session.connection(),
                                         deadlines.calendar_for(db.session))
        db.session.commit()
        log(f"{filled:,} reports' hours filled in in {time.perf_counter() - started:.0f} s")
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            started = time.perf_counter()
            auto.execute(text("VACUUM ANALYZE reports"))
            log(f"VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")


def describe(app, now: datetime) -> dict:
    with app.app_context():
        row = db.session.execute(text("""
            SELECT count(*), min(submitted_at), max(submitted_at),
                   count(*) FILTER (WHERE submitted_at >= date_trunc('month', CAST(:now AS timestamptz))),
                   count(*) FILTER (WHERE status IN ('assigned', 'in_progress', 'awaiting_citizen'))
            FROM reports"""), {"now": now}).one()
        busiest = db.session.execute(text("""
            SELECT d.code, count(*) FROM reports r JOIN departments d ON d.id = r.lead_department_id
            WHERE r.status IN ('assigned', 'in_progress', 'awaiting_citizen')
            GROUP BY d.code ORDER BY count(*) DESC LIMIT 1""")).one()
        version = db.session.execute(text("SHOW server_version")).scalar()
        db.session.remove()
    return {"reports": row[0], "first": row[1].date().isoformat(),
            "last": row[2].date().isoformat(), "this_month": row[3], "open": row[4],
            "busiest_department": busiest[0], "busiest_open": busiest[1],
            "postgresql": version}


class Client:
    """The app in-process, signed in through the form with its CSRF token."""

    def __init__(self, app, username: str, password: str):
        import re

        self.client = app.test_client()
        page = self.client.get("/staff/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        response = self.client.post("/staff/login", data={
            "username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.status_code

    def time(self, url: str, runs: int) -> dict:
        first = self._once(url)
        timings = [self._once(url) for _ in range(runs)]
        return {"median_ms": round(statistics.median(timings), 1), "first_ms": round(first, 1),
                "worst_ms": round(max(timings), 1), "runs": runs}

    def _once(self, url: str) -> float:
        started = time.perf_counter()
        response = self.client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        return elapsed


def breakdown(app, now: datetime) -> dict:
    """Where the dashboard's time goes: stats.figures for the table, stats.series for the
    charts; and within one stats.figures call, SQL against Python."""
    from zoneinfo import ZoneInfo

    from feedback.web.supervision import buckets, choice_from

    with app.test_request_context():
        choice = choice_from({"period": "month"},
                             now.astimezone(ZoneInfo(app.config["TIME_ZONE"])).date())
        started = time.perf_counter()
        stats.figures(db.session, group_by="department", period=choice.period, now=now)
        table = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        zone = ZoneInfo(app.config["TIME_ZONE"])
        stats.series(db.session, [stats.Period.of_days(first, stop, zone)
                                  for _label, first, stop in buckets(choice)], now=now)
        charts = (time.perf_counter() - started) * 1000
        spent = []

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_started"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            spent.append(time.perf_counter() - conn.info["bench_started"])

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        started = time.perf_counter()
        stats.figures(db.session, group_by="department", period=choice.period, now=now)
        whole = (time.perf_counter() - started) * 1000
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
        db.session.remove()
    return {"table_figures_ms": round(table, 1), "chart_figures_ms": round(charts, 1),
            "one_figures_call_ms": round(whole, 1),
            "of_which_sql_ms": round(sum(spent) * 1000, 1),
            "statements": len(spent)}


def explain(app, now: datetime) -> list[str]:
    """The plans of the heaviest reads, to show which use an index."""
    with app.app_context():
        plans = []
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for label, sql in (
            ("received in the month", "SELECT lead_department_id, count(*) FROM reports "
             "WHERE submitted_at >= :a AND submitted_at < :b "
             "AND status NOT IN ('rejected', 'duplicate') GROUP BY 1"),
            ("resolved in the month", "SELECT lead_department_id, rating, count(*) FROM reports "
             "WHERE resolved_at >= :a AND resolved_at < :b GROUP BY 1, 2"),
        ):
            plan = db.session.execute(text("EXPLAIN " + sql), {"a": month, "b": now}).scalars().all()
            plans.append(f"{label}: {plan[0].strip()}"
                         + (f" / {plan[1].strip()}" if len(plan) > 1 else ""))
        db.session.remove()
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--create-index", action="append", default=[], metavar="SQL",
                        help="CREATE INDEX ... to try, in this bench database only")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of an earlier run (no rebuild)")
    arguments = parser.parse_args()

    now = datetime.now(timezone.utc)
    database = POSTGRES if arguments.reuse else fresh_postgres_database(POSTGRES)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database.replace("postgresql://", "postgresql+psycopg://", 1)
        if database.startswith("postgresql://") else database,
        "REDIS_URL": REDIS, "SECRET_KEY": "bench-" + uuid.uuid4().hex, "LOG_FORMAT": "none",
        "LOGIN_RATE_LIMIT": "1000 per minute", "RATELIMIT_ENABLED": False,
    })
    if not arguments.reuse:
        log(f"building {arguments.reports:,} reports over {YEARS} years in {database}")
        build(app, arguments.reports, now)
    created = []
    if arguments.create_index:
        with app.app_context():
            for statement in arguments.create_index:
                started = time.perf_counter()
                db.session.execute(text(statement))
                db.session.commit()
                created.append(statement)
                log(f"created (in this bench database only) in "
                    f"{time.perf_counter() - started:.0f} s: {statement}")
            db.session.execute(text("ANALYZE reports"))
            db.session.commit()
            db.session.remove()
    shape = describe(app, now)
    log(f"data: {json.dumps(shape, default=str)}")
    for line in explain(app, now):
        log(f"plan: {line}")

    passwords = {user.username: user.password for user in DEMO_USERS}
    supervisor = Client(app, "supervisor", passwords["supervisor"])
    last_month_end = now.date().replace(day=1) - timedelta(days=1)
    last_month = f"from={last_month_end.replace(day=1).isoformat()}&to={last_month_end.isoformat()}"
    # Computed on every view (fresh=1), as the first view after the cache expires is.
    dashboard = supervisor.time("/staff/supervision/dashboard?period=month&fresh=1",
                                arguments.runs)
    log(f"dashboard, this month, by department, computed: {dashboard}")
    cached = supervisor.time("/staff/supervision/dashboard?period=month", arguments.runs)
    log(f"dashboard, this month, by department, from the cache: {cached}")
    past_month = supervisor.time(
        f"/staff/supervision/dashboard?period=range&{last_month}&fresh=1", arguments.runs)
    log(f"dashboard, {last_month}, by department, computed: {past_month}")
    by_commune = supervisor.time("/staff/supervision/dashboard?period=month&by=area&fresh=1",
                                 arguments.runs)
    log(f"dashboard, this month, by commune, computed: {by_commune}")
    export = supervisor.time("/staff/supervision/dashboard.xlsx?period=month", 3)
    log(f"Excel export, this month (cached figures): {export}")
    parts = breakdown(app, now)
    log(f"breakdown: {parts}")

    with app.app_context():
        # The busiest department gets the demo officer, so its queue is the one timed.
        db.session.execute(text(
            "UPDATE users SET department_id = (SELECT id FROM departments WHERE code = :code) "
            "WHERE username = 'officer'"), {"code": shape["busiest_department"]})
        db.session.commit()
        db.session.remove()
    officer = Client(app, "officer", passwords["officer"])
    queue = officer.time("/staff/department/", arguments.runs)
    log(f"officer queue, {shape['busiest_department']} ({shape['busiest_open']:,} open): {queue}")
    filtered = officer.time("/staff/department/?status=in_progress&page=2", arguments.runs)
    log(f"officer queue, in progress, page 2: {filtered}")
    overdue = supervisor.time("/staff/supervision/overdue", arguments.runs)
    log(f"supervisor overdue queue: {overdue}")
    with app.app_context():
        db.engine.dispose()

    result = {
        "benchmark": "dashboard",
        "data": shape,
        "indexes_created_in_bench_database_only": created,
        "dashboard_month_ms": dashboard["median_ms"],
        "dashboard_month_cached_ms": cached["median_ms"],
        "dashboard_past_month_ms": past_month["median_ms"],
        "dashboard_month_by_commune_ms": by_commune["median_ms"],
        "excel_export_month_ms": export["median_ms"],
        "officer_queue_ms": queue["median_ms"],
        "officer_queue_filtered_ms": filtered["median_ms"],
        "overdue_queue_ms": overdue["median_ms"],
        "breakdown": parts,
        "targets": {"dashboard_month_ms": TARGET_DASHBOARD_MS, "officer_queue_ms": TARGET_QUEUE_MS},
        "met": {
            "dashboard_month": dashboard["median_ms"] < TARGET_DASHBOARD_MS,
            "dashboard_month_cached": cached["median_ms"] < TARGET_DASHBOARD_MS,
            "dashboard_past_month": past_month["median_ms"] < TARGET_DASHBOARD_MS,
            "officer_queue": queue["median_ms"] < TARGET_QUEUE_MS,
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "postgresql": shape["postgresql"]},
    }
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
