"""The scheduler under faults: Redis away when a job falls due, the scheduler started twice,
the active one killed. Real `flask scheduler` and `flask worker` processes, a database and
a Redis server of the test's own. Each ends with the same check: nothing was left undone,
nothing was done twice.
"""
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from rq.cron import CronScheduler
from rq.job import Job, JobStatus
from sqlalchemy import select

from feedback.extensions import db
from feedback.models import Notification, Report, ReportEvent, ReportStatus, Role, User
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.faults import FaultSystem, kill, wait_until
from workers import jobs
from workers.schedule import PERIODIC_JOBS
from workers.scheduler import LOCK_KEY

RELAY = "workers.jobs.relay_outbox"
SWEEP = "workers.jobs.run_sweep"
[RELAY_INTERVAL] = [job["interval"] for job in PERIODIC_JOBS if job["func"] is jobs.relay_outbox]


@pytest.fixture
def system(tmp_path, own_redis):
    system = FaultSystem(tmp_path, own_redis, POSTGRES_URL + "_faults_scheduler")
    yield system
    system.close()


def _enqueued(connection, name: str) -> list[float]:
    """When the periodic job `name` was enqueued (RQ's cron history), oldest first."""
    return sorted(score for _, score in connection.zrange(
        f"rq:cron_job:{name}:jobs", 0, -1, withscores=True))


def _sweeps_done(connection, at_least: int) -> bool:
    ids = [i.decode() for i in connection.zrange(f"rq:cron_job:{SWEEP}:jobs", 0, -1)]
    jobs_ = [job for job in Job.fetch_many(ids, connection=connection) if job is not None]
    failed = [job for job in jobs_ if job.get_status() == JobStatus.FAILED]
    assert not failed, failed[0].latest_result().exc_string
    return len(jobs_) >= at_least and all(
        job.get_status() == JobStatus.FINISHED for job in jobs_)


def _sweeping_schedulers(connection) -> dict[int, datetime | None]:
    """Each registered scheduler's pid → when it last enqueued the sweep (None: never)."""
    return {scheduler.pid: next(job.latest_enqueue_time for job in scheduler.get_jobs()
                                if job.func_name == SWEEP)
            for scheduler in CronScheduler.all(connection)}


def _due_reports(app, now: datetime, count: int = 5) -> dict[str, list[int]]:
    """Reports past their 75% point, past their due time (in moderation and with a
    department), and answered with the rating window over, committed."""
    with app.app_context():
        session = db.session
        # An urgent category counts clock time: 30 minutes to moderate, warned at 22.5.
        warned = [factories.report(session, category="thien-tai", now=now - timedelta(minutes=25))
                  for _ in range(count)]
        assert all(r.warn_at < now < r.due_at for r in warned)
        unmoderated = [factories.report(session, now=now - timedelta(days=30))
                       for _ in range(count)]
        unresolved = [factories.acknowledged_report(session, now=now - timedelta(days=30))
                      for _ in range(count)]
        assert all(r.due_at < now for r in unmoderated + unresolved)
        answered = [factories.resolved_report(session, now=now - timedelta(days=8))
                    for _ in range(count)]
        assert all(r.rating_due_at < now for r in answered)
        session.commit()
        groups = {"warned": [r.id for r in warned],
                  "overdue": [r.id for r in unmoderated + unresolved],
                  "closed": [r.id for r in answered]}
        session.remove()
    return groups


def _assert_each_done_once(app, groups: dict[str, list[int]]) -> None:
    """One warning, one overdue mark and its notices, one closing: each exactly once."""
    ids = [report_id for group in groups.values() for report_id in group]
    with app.app_context():
        session = db.session
        events = Counter(session.execute(
            select(ReportEvent.report_id, ReportEvent.kind)
            .where(ReportEvent.report_id.in_(ids),
                   ReportEvent.kind.in_(["deadline_warning", "overdue", "closed"]))).all())
        notices = Counter(session.execute(
            select(Notification.report_id, Notification.kind, Notification.user_id,
                   Notification.department_id)
            .where(Notification.report_id.in_(ids))).all())
        supervisors = session.execute(select(User.id).where(
            User.role == Role.SUPERVISOR, User.active.is_(True))).scalars().all()
        reports = {r.id: r for r in session.execute(
            select(Report).where(Report.id.in_(ids))).scalars()}
        session.remove()
    assert supervisors
    assert all(count == 1 for count in notices.values()), \
        [key for key, count in notices.items() if count > 1]
    kinds = Counter((report_id, kind) for report_id, kind, _, _ in notices)
    for report_id in groups["warned"]:
        assert events[report_id, "deadline_warning"] == kinds[report_id, "deadline_warning"] == 1
        assert reports[report_id].overdue_at is None
    for report_id in groups["overdue"]:
        report = reports[report_id]
        assert events[report_id, "overdue"] == kinds[report_id, "overdue"] == 1
        assert events[report_id, "deadline_warning"] == kinds[report_id, "deadline_warning"] == 0
        escalated = {user for (rid, kind, user, _) in notices if rid == report_id
                     and kind == "escalated"}
        assert escalated == set(supervisors) and kinds[report_id, "escalated"] == len(supervisors)
        assert report.overdue_at is not None and report.escalated_at is not None
    for report_id in groups["closed"]:
        assert reports[report_id].status == ReportStatus.CLOSED
        assert events[report_id, "closed"] == kinds[report_id, "closed"] == 1


def test_the_scheduler_rides_out_redis_being_away_when_a_job_falls_due(system):
    scheduler = system.scheduler()
    [first] = wait_until(lambda: _enqueued(system.redis, RELAY), message="the first relay")
    # Away from just before the relay falls due again until just after, and back empty.
    time.sleep(max(0, first + RELAY_INTERVAL - 2 - time.time()))
    system.redis_server.stop()
    time.sleep(4)
    back = time.time()
    system.redis_server.start(lose_data=True)
    assert scheduler.poll() is None, system.logs()
    # The relay that fell due while Redis was away is enqueued once it is back.
    wait_until(lambda: [t for t in _enqueued(system.redis, RELAY) if t >= back], timeout=10,
               message="the relay enqueued again")
    assert scheduler.poll() is None
    assert [s.pid for s in CronScheduler.all(system.redis)] == [scheduler.pid]


def test_two_schedulers_without_the_lock_both_sweep_and_nothing_is_done_twice(system):
    groups = _due_reports(system.app, datetime.now(timezone.utc))
    schedulers = [system.scheduler(SCHEDULER_LOCK_SECONDS="0") for _ in range(2)]
    system.worker(), system.worker()  # the two sweeps may well run at the same time
    wait_until(lambda: _sweeps_done(system.redis, 2), timeout=60, message="both sweeps")
    assert set(_sweeping_schedulers(system.redis)) == {s.pid for s in schedulers}
    assert None not in _sweeping_schedulers(system.redis).values()
    _assert_each_done_once(system.app, groups)


def test_a_second_scheduler_stands_by_and_takes_over_when_the_active_one_is_killed(system):
    groups = _due_reports(system.app, datetime.now(timezone.utc))
    lock = {"SCHEDULER_LOCK_SECONDS": "3"}
    schedulers = {process.pid: process for process in
                  (system.scheduler(**lock), system.scheduler(**lock))}
    system.worker(), system.worker()
    wait_until(lambda: len(CronScheduler.all(system.redis)) == 2, timeout=30,
               message="both schedulers to start")
    wait_until(lambda: _sweeps_done(system.redis, 1), timeout=60, message="the first sweep")
    active = schedulers.pop(_holder(system.redis))
    [spare] = schedulers.values()
    time.sleep(2)  # the spare has looked at the key a few times meanwhile
    assert _sweeping_schedulers(system.redis)[spare.pid] is None  # it enqueued nothing
    assert len(_enqueued(system.redis, SWEEP)) == 1
    _assert_each_done_once(system.app, groups)

    # More falls due; the active one's next sweep would be a minute after its first.
    later = _due_reports(system.app, datetime.now(timezone.utc), count=2)
    kill(active)  # SIGKILL: it gives nothing back, its key expires
    killed_at = time.time()
    wait_until(lambda: _sweeps_done(system.redis, 2), timeout=30,
               message="the spare to take over and sweep")
    took_over = _sweeping_schedulers(system.redis)[spare.pid].timestamp() - killed_at
    assert 0 < took_over < 10  # the key's 3 s, a look every second, a busy machine
    assert _holder(system.redis) == spare.pid
    _assert_each_done_once(system.app, {kind: groups[kind] + later[kind] for kind in groups})


def _holder(connection) -> int:
    """The pid of the scheduler holding the key (its name is host:pid:random)."""
    return int(connection.get(LOCK_KEY).decode().rsplit(":", 2)[1])
