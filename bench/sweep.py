"""Benchmark of the deadline sweep (feedback/services/sweep.py) on PostgreSQL; not a test.

A database of its own (phananh_bench_sweep, dropped and created fresh), migrated, with
the areas and the demo province, then 1,000,000 reports written by one
INSERT ... SELECT generate_series(...): 20% open, their due times spread over 60 days
(those already past were marked overdue by an earlier sweep and have their next
reminder ahead), and 10,000 of them newly overdue (due in the last ten minutes, as
after a flood of urgent reports or a sweep that was down). The rest are resolved,
closed or rejected over two years. ANALYZE, then:

1. EXPLAIN each statement the sweep selects with: it must read its partial index
   (Index Scan / Bitmap Index Scan), never a Seq Scan on reports;
2. one sweep, as the periodic job runs it (batches of 1,000, each committed), marks the
   10,000 overdue, with an event, a notification to the department and one to each
   supervisor per report: target under 2 s. Timed SWEEP_RUNS times, the same 10,000
   put back to "not yet marked" (and the tables vacuumed, as autovacuum would have) before
   each run after the first; the median is held to the target, every run is printed;
3. a sweep with nothing to do: target under 50 ms (median of 20 runs in one worker-like
   connection, so psycopg's prepared statements and PostgreSQL's generic plans come
   into play; first and worst printed too), and again with generic plans forced.

Progress goes to stdout; the last line is one JSON object with the figures.

    .venv/bin/python bench/sweep.py [--reports 1000000] [--newly-overdue 10000]
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
from bench.common import fresh_database, say  # noqa: E402

import psycopg  # noqa: E402
from sqlalchemy import func, make_url, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

TARGETS = {"sweep_newly_overdue_seconds_max": 2.0, "idle_sweep_ms_max": 50.0}
INDEX_OF_PART = {
    "overdue": "ix_reports_sweep_due",
    "warn": "ix_reports_sweep_warn",
    "remind": "ix_reports_sweep_remind",
    "close": "ix_reports_rating_due",
}
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/phananh_bench_sweep"
# psycopg prepares a statement on its 5th run and PostgreSQL may switch a prepared
# statement to a generic plan after 5 more: 20 runs cover both.
IDLE_RUNS = 20
SWEEP_RUNS = 5

# One row per g. Buckets: every fifth report is open (20%); the first `newly` open ones
# are due within the last ten minutes and not yet marked; open ones otherwise have due
# times spread over 60 days (ten behind, fifty ahead), with one in fifty waiting for
# the citizen (no clock). The others are closed (most), resolved in their rating
# window, or rejected, submitted over two years.
LOAD_SQL = """
WITH numbered AS (
    SELECT g,
           CASE
             WHEN g %% 5 = 0 AND g / 5 <= %(newly)s THEN 'new_overdue'
             WHEN g %% 5 = 0 AND g %% 250 = 0 THEN 'paused'
             WHEN g %% 5 = 0 THEN 'running'
             WHEN g %% 20 = 1 THEN 'resolved'
             WHEN g %% 20 = 2 THEN 'rejected'
             ELSE 'closed'
           END AS kind
    FROM generate_series(1::bigint, %(reports)s::bigint) AS g
), timed AS (
    SELECT g, kind,
           CASE kind
             WHEN 'new_overdue' THEN %(now)s - make_interval(secs => (1 + g %% 600)::int)
             WHEN 'running' THEN %(now)s - interval '10 days' + interval '30 seconds'
                                 + make_interval(mins => ((g * 7919) %% (60 * 1440))::int)
           END AS due,
           %(now)s - make_interval(mins => (10 + (g * 104729) %% (730 * 1440))::int) AS past
    FROM numbered
)
INSERT INTO reports (
    tracking_code, source, status, is_anonymous, is_public, is_hidden, category_id,
    priority, description, location_from_photo, area_code, province_code,
    lead_department_id, reopen_count, submitted_at, moderated_at, assigned_at,
    first_response_at, resolved_at, closed_at, rating_due_at, updated_at,
    step_started_at, due_at, warn_at, warned_at, overdue_at, escalated_at, remind_at,
    paused_at, paused_remaining_minutes, resolve_due_at, outcome, rejection_code, version)
SELECT
    'PA-B-' || lpad(g::text, 9, '0'),
    'app',
    CASE kind WHEN 'new_overdue' THEN 'in_progress' WHEN 'running' THEN
                   CASE WHEN g %% 3 = 0 THEN 'assigned' ELSE 'in_progress' END
              WHEN 'paused' THEN 'awaiting_citizen' ELSE kind END,
    false, true, false,
    (%(categories)s::bigint[])[1 + g %% cardinality(%(categories)s::bigint[])],
    3, 'Phản ánh thử tải', false,
    (%(communes)s::text[])[1 + g %% cardinality(%(communes)s::text[])], '92',
    CASE WHEN kind = 'rejected' THEN NULL
         ELSE (%(departments)s::bigint[])[1 + g %% cardinality(%(departments)s::bigint[])] END,
    0,
    coalesce(due - interval '7 days', past),
    coalesce(due - interval '7 days', past) + interval '1 hour',
    CASE WHEN kind <> 'rejected' THEN coalesce(due - interval '7 days', past)
                                      + interval '2 hours' END,
    CASE WHEN kind <> 'rejected' THEN coalesce(due - interval '7 days', past)
                                      + interval '3 hours' END,
    CASE WHEN kind IN ('resolved', 'closed') THEN past + interval '3 days' END,
    CASE WHEN kind = 'closed' THEN past + interval '5 days' END,
    CASE WHEN kind = 'resolved' THEN %(now)s + make_interval(mins => (1 + g %% 10080)::int)
         WHEN kind = 'closed' THEN past + interval '10 days' END,
    %(now)s,
    CASE WHEN due IS NOT NULL THEN due - interval '7 days' END,
    due,
    due - interval '42 hours',
    CASE WHEN due - interval '42 hours' <= %(now)s THEN due - interval '42 hours' END,
    CASE WHEN kind = 'running' AND due <= %(now)s THEN due END,
    CASE WHEN kind = 'running' AND due <= %(now)s THEN due END,
    CASE WHEN kind = 'running' AND due <= %(now)s
         THEN %(now)s + make_interval(mins => (1 + g %% 1440)::int) END,
    CASE WHEN kind = 'paused' THEN past END,
    CASE WHEN kind = 'paused' THEN 600 END,
    CASE WHEN kind IN ('rejected') THEN NULL
         ELSE coalesce(due, past + interval '7 days') END,
    CASE WHEN kind IN ('resolved', 'closed') THEN 'fixed' END,
    CASE WHEN kind = 'rejected' THEN 'spam' END,
    1
FROM timed
"""


def explain(session, statement) -> str:
    """EXPLAIN (no ANALYZE: nothing runs) one statement as the sweep sends it, with its
    parameters bound as the driver binds them."""
    compiled = statement.compile(dialect=session.get_bind().dialect,
                                 compile_kwargs={"render_postcompile": True})
    rows = session.connection().exec_driver_sql(f"EXPLAIN {compiled}",
                                                compiled.construct_params()).all()
    return "\n".join(row[0] for row in rows)


def put_back(engine, now) -> None:
    """Undo one sweep of the newly overdue: their marks, events and notifications."""
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM notifications WHERE created_at = :now "
                                "AND kind IN ('overdue', 'escalated')"), {"now": now})
        connection.execute(text("DELETE FROM report_events WHERE created_at = :now "
                                "AND kind = 'overdue'"), {"now": now})
        connection.execute(text("UPDATE reports SET overdue_at = NULL, escalated_at = NULL, "
                                "remind_at = NULL WHERE overdue_at = :now"), {"now": now})
    for table in ("reports", "report_events", "notifications"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"VACUUM {table}"))


def plan_checks(session, sweeps, now, calendar) -> dict:
    checks = {}
    statements = sweeps.claiming_statements(session, now=now, calendar=calendar)
    for part, statement in statements.items():
        plan = explain(session, statement)
        index = INDEX_OF_PART[part]
        reads_index = any(
            (f"Index Scan using {index}" in line or f"Index Only Scan using {index}" in line
             or f"Bitmap Index Scan on {index}" in line)
            for line in plan.splitlines())
        seq_scan = "Seq Scan on reports" in plan
        checks[part] = {"index": index, "uses_index": reads_index,
                        "seq_scan_on_reports": seq_scan, "plan": plan}
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--newly-overdue", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    args = parser.parse_args()
    if args.newly_overdue * 5 > args.reports:
        parser.error("--newly-overdue can be at most a fifth of --reports (the open ones)")

    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-sweep-"))
    from flask_migrate import upgrade

    from feedback import create_app
    from feedback.extensions import db
    from feedback.models import (
        Area, Category, Department, Notification, Report, ReportEvent, Role, User)
    from feedback.services import deadlines
    from feedback.services import sweep as sweeps
    from feedback.services.areas import import_areas, official_areas
    from feedback.services.demo import PROVINCE_CODE, load_demo

    url = fresh_database(args.database_url)
    say(f"database {make_url(url).database}: created fresh")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                      "SECRET_KEY": "bench-" + "x" * 40, "PUSH_WEBHOOK_URL": None})
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)

    with app.app_context():
        session = db.session
        upgrade()
        import_areas(session, official_areas())
        load_demo(session)
        session.commit()
        say("migrated; areas and the demo province loaded")
        categories = session.execute(select(Category.id).order_by(Category.id)).scalars().all()
        departments = session.execute(select(Department.id).order_by(Department.id)).scalars().all()
        communes = session.execute(
            select(Area.code).where(Area.province_code == PROVINCE_CODE).order_by(Area.code)
        ).scalars().all()
        supervisors = session.execute(select(func.count()).select_from(User).where(
            User.role == Role.SUPERVISOR, User.active.is_(True))).scalar()
        session.remove()

        started = time.perf_counter()
        raw = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(raw, autocommit=True) as connection:
            connection.execute(LOAD_SQL, {
                "reports": args.reports, "newly": args.newly_overdue, "now": now,
                "categories": categories, "departments": departments, "communes": communes})
            say(f"{args.reports:,} reports written in {time.perf_counter() - started:.1f} s")
            connection.execute("VACUUM ANALYZE reports")
            server_version = connection.execute("SHOW server_version").fetchone()[0]
        load_seconds = time.perf_counter() - started
        say(f"loaded and analysed in {load_seconds:.1f} s")

        session = db.session
        open_count, newly = session.execute(select(
            func.count().filter(Report.status.in_(["assigned", "in_progress",
                                                   "awaiting_citizen"])),
            func.count().filter(Report.due_at <= now, Report.overdue_at.is_(None)),
        )).one()
        say(f"{open_count:,} open, {newly:,} newly overdue at {now.isoformat()}")
        calendar = deadlines.calendar_for(session)
        calendar.add_working_time(now, 480)  # the holiday tables, loaded once per process

        plans_before = plan_checks(session, sweeps, now, calendar)
        session.rollback()
        for part, check in plans_before.items():
            say(f"plan ({newly:,} due) {part}: index {check['index']} "
                f"{'used' if check['uses_index'] else 'NOT used'}; "
                f"seq scan on reports: {check['seq_scan_on_reports']}")

        runs, cpu = [], []
        load_before = os.getloadavg()
        say(f"load average before the timed sweeps: {load_before[0]:.2f} (1 min) "
            f"on {os.cpu_count()} cores")
        for run in range(SWEEP_RUNS):
            if run:
                put_back(db.engine, now)
            started, started_cpu = time.perf_counter(), time.process_time()
            result = sweeps.sweep(session, now=now, calendar=calendar, batch_size=1000,
                                  commit_each_batch=True)
            session.commit()
            runs.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            say(f"sweep {run + 1}: {result.as_dict()} in {runs[-1]:.3f} s "
                f"(this process's CPU: {cpu[-1]:.3f} s)")

            events, department_notices, escalations = session.execute(select(
                select(func.count()).select_from(ReportEvent)
                .where(ReportEvent.kind == "overdue").scalar_subquery(),
                select(func.count()).select_from(Notification)
                .where(Notification.kind == "overdue").scalar_subquery(),
                select(func.count()).select_from(Notification)
                .where(Notification.kind == "escalated").scalar_subquery(),
            )).one()
            session.rollback()
            written_right = (result.overdue == newly == events == department_notices
                             and escalations == newly * supervisors and result.warned == 0)
            if not written_right:
                break
        sweep_seconds = statistics.median(runs)
        say(f"written: {events:,} overdue events, {department_notices:,} department notices, "
            f"{escalations:,} escalations to {supervisors} supervisor(s)")

        idle = []
        idle_results = []
        for _ in range(IDLE_RUNS):
            started = time.perf_counter()
            idle_result = sweeps.sweep(session, now=now, calendar=calendar, batch_size=1000,
                                       commit_each_batch=True)
            session.commit()
            idle.append((time.perf_counter() - started) * 1000)
            idle_results.append(idle_result.as_dict())
        say("idle sweeps (ms): " + ", ".join(f"{ms:.1f}" for ms in idle))

        # The same with every statement planned generically, as a long-lived worker's
        # prepared statements may be: the partial indexes must still carry the sweep.
        generic = []
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            connection.commit()
            with Session(bind=connection) as generic_session:
                for _ in range(IDLE_RUNS // 2):
                    started = time.perf_counter()
                    idle_result = sweeps.sweep(generic_session, now=now, calendar=calendar,
                                               batch_size=1000, commit_each_batch=True)
                    generic_session.commit()
                    generic.append((time.perf_counter() - started) * 1000)
                    idle_results.append(idle_result.as_dict())
        idle_did_nothing = all(not any(r.values()) for r in idle_results)
        say("idle sweeps with generic plans (ms): " + ", ".join(f"{ms:.1f}" for ms in generic))

        plans_after = plan_checks(session, sweeps, now, calendar)
        session.rollback()
        for part, check in plans_after.items():
            say(f"plan (nothing due) {part}: index {check['index']} "
                f"{'used' if check['uses_index'] else 'NOT used'}; "
                f"seq scan on reports: {check['seq_scan_on_reports']}")
        say("plan of the overdue claim with work to do:\n" + plans_before["overdue"]["plan"])
        session.remove()
        db.engine.dispose()

    idle_median = statistics.median(idle)
    plans_ok = all(check["uses_index"] and not check["seq_scan_on_reports"]
                   for plans in (plans_before, plans_after) for check in plans.values())
    figures = {
        "reports": args.reports,
        "open": open_count,
        "newly_overdue": newly,
        "sweep_newly_overdue_seconds": round(sweep_seconds, 3),
        "sweep_newly_overdue_seconds_runs": [round(seconds, 3) for seconds in runs],
        "sweep_newly_overdue_python_cpu_seconds": round(statistics.median(cpu), 3),
        "sweep_marked": result.overdue,
        "idle_sweep_ms_median": round(idle_median, 2),
        "idle_sweep_ms_first": round(idle[0], 2),
        "idle_sweep_ms_max": round(max(idle), 2),
        "idle_sweep_ms_median_generic_plans": round(statistics.median(generic), 2),
        "load_seconds": round(load_seconds, 1),
        "supervisors": supervisors,
    }
    met = {
        "sweep_newly_overdue": sweep_seconds < TARGETS["sweep_newly_overdue_seconds_max"]
        and written_right,
        "idle_sweep": idle_median < TARGETS["idle_sweep_ms_max"] and idle_did_nothing,
        "idle_sweep_generic_plans": statistics.median(generic) < TARGETS["idle_sweep_ms_max"],
        "plans_use_partial_indexes": plans_ok,
    }
    plans = {
        "with_work": {part: {k: v for k, v in check.items() if k != "plan"}
                      for part, check in plans_before.items()},
        "nothing_due": {part: {k: v for k, v in check.items() if k != "plan"}
                        for part, check in plans_after.items()},
    }
    print(json.dumps({
        "bench": "sweep",
        "figures": figures,
        "targets": TARGETS,
        "met": met,
        "all_met": all(met.values()),
        "plans": plans,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "postgresql": server_version,
                    "load_average_1m_before_sweeps": round(load_before[0], 2),
                    "load_average_1m_after": round(os.getloadavg()[0], 2)},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
