"""Benchmark of the public list and Open311's GET requests over 90 days on PostgreSQL;
not a test.

A database of its own (phananh_bench_public, dropped and created fresh), migrated, with
the areas and the demo province, then 2,000,000 reports written by one
INSERT ... SELECT generate_series(...), spread evenly over five years as real data is
(about 1,100 a day, a large city's rate), with the mix a province sees: old reports
mostly closed, recent ones open, resolved or waiting for moderation; 5% rejected, 2%
merged as duplicates, 8% not public, 1% hidden; exact coordinates; a third with a
ready photo. VACUUM ANALYZE, then each request below through the app (Flask's test
client: the server's whole time, from WSGI call to the last byte of the body), a few
times to warm up, then RUNS times; the median and the 95th percentile must be under
200 ms:

- /api/v1/public/reports: the last 90 days (the default), then filtered by category,
  commune, department, a rare status, and 50 pages deep;
- /open311/v2/requests.json and .xml: the last 90 days (the default page of 100),
  then with status and service_code.

Also printed, for information and without a target: Open311's largest page
(page_size=1000), a bulk reader's request.

EXPLAIN ANALYZE of the main queries is printed. With --with-index the bench also
creates, in this database only, a partial index of public reports by submitted_at and
measures again, saying so in its output: measured, it is not needed (docs/decisions.md).
--reuse measures an earlier run's database again without loading it (and drops that
index if an earlier run left it). Progress goes to stdout; the last line
is one JSON object with the figures, the targets, whether each was met, and the machine.

    .venv/bin/python bench/public.py [--reports 2000000] [--runs 30] [--with-index] [--reuse]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import cpu_model, fresh_database, percentile, say  # noqa: E402

import psycopg  # noqa: E402
from sqlalchemy import make_url, select  # noqa: E402

TARGET_MS = 200.0
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/phananh_bench_public"
YEARS = 5
WARM_UP = 3

# One row per g, g = 1 the oldest: submitted_at climbs evenly over YEARS up to now, with
# a few hours of jitter. Age decides the status, as in real data: a report sent today
# still waits for moderation or a department; one sent last year is closed.
LOAD_SQL = """
WITH numbered AS (
    SELECT g,
           %(now)s - make_interval(secs => ((%(reports)s - g)::float8 / %(reports)s
                                           * %(years)s * 365 * 86400
                                           + (g * 7919) %% 14400)::float8) AS sent,
           (g * 104729) %% 1000 AS dice
    FROM generate_series(1::bigint, %(reports)s::bigint) AS g
), aged AS (
    SELECT g, sent, dice, extract(epoch FROM %(now)s - sent) / 86400 AS age,
           CASE
             WHEN dice < 50 THEN 'rejected'
             WHEN dice < 70 THEN 'duplicate'
             ELSE NULL
           END AS fate
    FROM numbered
), statused AS (
    SELECT g, sent, dice, age,
           coalesce(fate, CASE
             WHEN age < 1 AND dice %% 10 < 3 THEN 'submitted'
             WHEN age < 3 THEN (ARRAY['assigned', 'in_progress', 'in_progress',
                                      'awaiting_citizen', 'resolved'])[1 + dice %% 5]
             WHEN age < 14 THEN (ARRAY['in_progress', 'resolved', 'resolved', 'closed',
                                       'closed', 'awaiting_citizen'])[1 + dice %% 6]
             WHEN age < 30 THEN (ARRAY['resolved', 'closed', 'closed', 'closed',
                                       'in_progress'])[1 + dice %% 5]
             ELSE 'closed'
           END) AS status
    FROM aged
)
INSERT INTO reports (
    tracking_code, source, status, citizen_id, contact_name, contact_phone, is_anonymous,
    is_public, is_hidden, category_id, priority, title, description, latitude, longitude,
    location_from_photo, address_text, area_code, province_code, lead_department_id,
    duplicate_of_id, reopen_count, submitted_at, moderated_at, assigned_at,
    first_response_at, resolved_at, closed_at, updated_at, due_at, resolve_due_at,
    overdue_at, outcome, answer_text, rejection_code, version)
SELECT
    'PA-' || extract(year FROM sent)::int || '-' || lpad(g::text, 7, '0'),
    CASE WHEN dice %% 17 = 0 THEN 'open311' ELSE 'app' END,
    status,
    NULL, 'Người gửi ' || g, '+8491' || lpad((g %% 10000000)::text, 7, '0'),
    dice %% 9 = 0,
    dice %% 12 <> 0,
    dice %% 97 = 0,
    (%(categories)s::bigint[])[1 + g %% cardinality(%(categories)s::bigint[])],
    3,
    CASE WHEN dice %% 3 = 0 THEN 'Phản ánh số ' || g END,
    'Mô tả phản ánh thử tải số ' || g || ': ổ gà, rác, đèn đường hỏng, ngập sau mưa.',
    10.0 + (g * 37 %% 100000) / 1e6 * 3, 105.7 + (g * 53 %% 100000) / 1e6 * 3,
    false, 'Số ' || (g %% 300) || ' đường thử tải',
    (%(communes)s::text[])[1 + g %% cardinality(%(communes)s::text[])], '92',
    CASE WHEN status IN ('submitted', 'rejected', 'duplicate') THEN NULL
         ELSE (%(departments)s::bigint[])[1 + g %% cardinality(%(departments)s::bigint[])]
    END,
    CASE WHEN status = 'duplicate' AND g > 1 THEN g - 1 END,
    0,
    sent,
    CASE WHEN status <> 'submitted' THEN sent + interval '1 hour' END,
    CASE WHEN status NOT IN ('submitted', 'rejected', 'duplicate')
         THEN sent + interval '2 hours' END,
    CASE WHEN status IN ('in_progress', 'awaiting_citizen', 'resolved', 'closed')
         THEN sent + interval '5 hours' END,
    CASE WHEN status IN ('resolved', 'closed')
         THEN sent + least(interval '4 days', (%(now)s - sent) / 2) END,
    CASE WHEN status = 'closed' THEN sent + least(interval '11 days', (%(now)s - sent) * 0.9) END,
    sent + CASE WHEN status = 'closed' THEN least(interval '11 days', (%(now)s - sent) * 0.9)
                ELSE least(interval '2 hours', (%(now)s - sent) / 2) END,
    CASE WHEN status IN ('assigned', 'in_progress') THEN sent + interval '7 days' END,
    CASE WHEN status IN ('in_progress', 'awaiting_citizen', 'resolved', 'closed')
         THEN sent + interval '7 days' END,
    CASE WHEN status IN ('assigned', 'in_progress') AND age > 7 THEN sent + interval '7 days' END,
    CASE WHEN status IN ('resolved', 'closed')
         THEN (ARRAY['fixed', 'fixed', 'planned', 'no_action'])[1 + dice %% 4] END,
    CASE WHEN status IN ('resolved', 'closed') THEN 'Đơn vị đã xử lý phản ánh số ' || g END,
    CASE WHEN status = 'rejected' THEN 'spam' END,
    1
FROM statused
"""

PHOTOS_SQL = """
INSERT INTO photos (report_id, kind, position, state, original_key, original_sha256,
                    original_format, original_bytes, display_key, thumbnail_key, width,
                    height, is_hidden, created_at, processed_at)
SELECT id, 'report', 0, 'ready', 'original-' || md5(id::text) || '.jpg',
       md5(id::text) || md5(id::text), 'jpeg', 2500000,
       md5('d' || id) || md5('D' || id) || '.jpg', md5('t' || id) || md5('T' || id) || '.jpg',
       1600, 1200, id % 50 = 0, submitted_at, submitted_at + interval '1 minute'
FROM reports WHERE id % 3 = 0
"""

# Printed, not held to the target: a bulk reader's largest page.
INFORMATIONAL = ("open311_requests_page_size_1000",)
PROPOSED_INDEX_NAME = "ix_reports_public_submitted_at"
PROPOSED_INDEX = (
    "CREATE INDEX {name} ON reports (submitted_at) "
    "WHERE is_public AND NOT is_hidden AND moderated_at IS NOT NULL "
    "AND status <> 'rejected'"
)


def measure(client, url: str, runs: int) -> dict:
    for _ in range(WARM_UP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.data[:300])
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        size = len(body)
        assert response.status_code == 200, url
    return {"median_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "max_ms": round(max(times), 1), "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--with-index", action="store_const", const=PROPOSED_INDEX_NAME,
                        default=None,
                        help="also measure with a partial index of public reports by "
                             "submitted_at, created in the bench database only")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of an earlier run (skip the load)")
    args = parser.parse_args()

    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-public-"))
    from flask_migrate import upgrade

    from feedback import create_app
    from feedback.extensions import db
    from feedback.models import Area, Category, Department
    from feedback.services import public
    from feedback.services.areas import import_areas, official_areas
    from feedback.services.demo import PROVINCE_CODE, load_demo

    if args.reuse:
        url = make_url(args.database_url).set(drivername="postgresql+psycopg").render_as_string(
            hide_password=False)
        say(f"database {make_url(url).database}: reused")
        with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(
                hide_password=False), autocommit=True) as connection:
            # An earlier --with-index run left it: measure with the model's indexes only.
            connection.execute(f"DROP INDEX IF EXISTS {PROPOSED_INDEX_NAME}")
    else:
        url = fresh_database(args.database_url)
        say(f"database {make_url(url).database}: created fresh")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                      "SECRET_KEY": "bench-" + "x" * 40, "PUSH_WEBHOOK_URL": None,
                      "LOG_FORMAT": "none", "RATELIMIT_ENABLED": False})
    now = datetime.now(timezone.utc).replace(microsecond=0)
    raw = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    with app.app_context():
        session = db.session
        load_seconds = None
        if not args.reuse:
            upgrade()
            import_areas(session, official_areas())
            load_demo(session)
            session.commit()
            say("migrated; areas and the demo province loaded")
            categories = session.execute(select(Category.id).order_by(Category.id)).scalars().all()
            departments = session.execute(
                select(Department.id).order_by(Department.id)).scalars().all()
            communes = session.execute(
                select(Area.code).where(Area.province_code == PROVINCE_CODE).order_by(Area.code)
            ).scalars().all()
            session.remove()
            started = time.perf_counter()
            with psycopg.connect(raw, autocommit=True) as connection:
                connection.execute(LOAD_SQL, {
                    "reports": args.reports, "now": now, "years": YEARS,
                    "categories": categories, "departments": departments,
                    "communes": communes})
                say(f"{args.reports:,} reports written in {time.perf_counter() - started:.1f} s")
                connection.execute(PHOTOS_SQL)
                connection.execute("VACUUM ANALYZE reports")
                connection.execute("VACUUM ANALYZE photos")
            load_seconds = round(time.perf_counter() - started, 1)
            say(f"photos written, analysed: {load_seconds} s in all")
        with psycopg.connect(raw, autocommit=True) as connection:
            server_version = connection.execute("SHOW server_version").fetchone()[0]
            counts = dict(connection.execute(
                "SELECT status, count(*) FROM reports "
                "WHERE submitted_at >= now() - interval '90 days' GROUP BY status").fetchall())
            total = connection.execute("SELECT count(*) FROM reports").fetchone()[0]
            indexes = [row[0] for row in connection.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'reports' "
                "ORDER BY indexname").fetchall()]
        say(f"{total:,} reports; in the last 90 days by status: {counts}")

        client = app.test_client()
        department = "ct-so-xay-dung"
        recent = session.execute(
            select(Area.code).where(Area.province_code == PROVINCE_CODE)
            .order_by(Area.code).limit(1)).scalar_one()
        session.remove()
        requests = {
            "public_list_90_days": "/api/v1/public/reports",
            "public_list_category": "/api/v1/public/reports?category=giao-thong",
            "public_list_commune": f"/api/v1/public/reports?commune={recent}",
            "public_list_department": f"/api/v1/public/reports?department={department}",
            "public_list_rare_status": "/api/v1/public/reports?status=awaiting_citizen",
            "public_list_page_50": "/api/v1/public/reports?page=50",
            "open311_requests_90_days_json": "/open311/v2/requests.json",
            "open311_requests_90_days_xml": "/open311/v2/requests.xml",
            "open311_requests_open_traffic": "/open311/v2/requests.json?status=open"
                                             "&service_code=giao-thong",
            "open311_requests_page_size_1000": "/open311/v2/requests.json?page_size=1000",
        }

        def run_all(label: str) -> dict:
            results = {}
            for name, request_url in requests.items():
                results[name] = measure(client, request_url, args.runs)
                figures = results[name]
                say(f"[{label}] {name}: median {figures['median_ms']} ms, "
                    f"p95 {figures['p95_ms']} ms ({figures['bytes']:,} bytes)  {request_url}")
            return results

        def explain() -> dict:
            """EXPLAIN ANALYZE of the two main reads, as the services send them."""
            plans = {}
            session = db.session
            filters = public.Filters(period=public.period(
                None, None, today=datetime.now(timezone.utc).date()))
            statements = {
                "public_list": public._list_select()
                .where(*public._filter_conditions(filters, "Asia/Ho_Chi_Minh"))
                .order_by(public.Report.submitted_at.desc(), public.Report.id.desc())
                .limit(21),
                "public_list_rare_status": public._list_select()
                .where(*public._filter_conditions(public.Filters(
                    period=filters.period, statuses=[public.S.AWAITING_CITIZEN]),
                    "Asia/Ho_Chi_Minh"))
                .order_by(public.Report.submitted_at.desc(), public.Report.id.desc())
                .limit(21),
            }
            for name, statement in statements.items():
                compiled = statement.compile(dialect=session.get_bind().dialect,
                                             compile_kwargs={"render_postcompile": True})
                rows = session.connection().exec_driver_sql(
                    f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.construct_params()).all()
                plans[name] = "\n".join(row[0] for row in rows)
                say(f"plan {name}:\n{plans[name]}")
            session.rollback()
            session.remove()
            return plans

        results = run_all("model's indexes")
        explain()
        with_index = None
        if args.with_index:
            with psycopg.connect(raw, autocommit=True) as connection:
                connection.execute(f"DROP INDEX IF EXISTS {args.with_index}")
                connection.execute(PROPOSED_INDEX.format(name=args.with_index))
                connection.execute("ANALYZE reports")
            say(f"created {args.with_index} IN THE BENCH DATABASE ONLY (not in the model): "
                + PROPOSED_INDEX.format(name=args.with_index))
            with_index = run_all(f"with {args.with_index}")
            explain()
        db.engine.dispose()

    def met_of(figures_by_name: dict) -> dict:
        return {name: f["median_ms"] < TARGET_MS and f["p95_ms"] < TARGET_MS
                for name, f in figures_by_name.items() if name not in INFORMATIONAL}

    met = met_of(results)
    output = {
        "bench": "public",
        "reports": args.reports,
        "reports_last_90_days": sum(counts.values()),
        "runs_per_request": args.runs,
        "figures": {k: v for k, v in results.items() if k not in INFORMATIONAL},
        "informational": {k: v for k, v in results.items() if k in INFORMATIONAL},
        "targets": {"median_ms_max": TARGET_MS, "p95_ms_max": TARGET_MS},
        "met": met,
        "all_met": all(met.values()),
        "indexes_used": "the model's own (" + ", ".join(indexes) + ")",
        "load_seconds": load_seconds,
        "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(),
                    "python": platform.python_version(), "postgresql": server_version,
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
    }
    if with_index is not None:
        output["with_proposed_index"] = {
            "created_in_bench_database_only": PROPOSED_INDEX.format(name=args.with_index),
            "figures": with_index,
            "met": met_of(with_index),
        }
    print(json.dumps(output, ensure_ascii=False))


if __name__ == "__main__":
    main()
