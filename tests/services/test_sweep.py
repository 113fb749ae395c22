"""The deadline sweep with a controlled clock: warned, overdue, escalated, reminded, closed."""
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from feedback.extensions import db
from feedback.models import (
    Department,
    Notification,
    OutboxMessage,
    Outcome,
    Report,
    ReportEvent,
    ReportStatus,
    Role,
    User,
)
from feedback.services import deadlines, notifications, sweep as sweeps, workflow
from tests import factories
from workers import jobs, queues
from workers.schedule import PERIODIC_JOBS

ICT = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ICT)


MONDAY_9 = local(2026, 10, 5, 9)  # a plain working Monday
MONDAY_10 = local(2026, 10, 5, 10)


def run(db_session, now, **kwargs) -> sweeps.SweepResult:
    return sweeps.sweep(db_session, now=now, calendar=deadlines.calendar_for(db_session),
                        **kwargs)


def notified(db_session, report, kind) -> list[Notification]:
    return db_session.execute(
        select(Notification).where(Notification.report_id == report.id,
                                   Notification.kind == kind).order_by(Notification.id)
    ).scalars().all()


def events(db_session, report, kind) -> list[ReportEvent]:
    return db_session.execute(
        select(ReportEvent).where(ReportEvent.report_id == report.id, ReportEvent.kind == kind)
    ).scalars().all()


def supervisor_ids(db_session) -> list[int]:
    return db_session.execute(select(User.id).where(
        User.role == Role.SUPERVISOR, User.active.is_(True)).order_by(User.id)).scalars().all()


@pytest.mark.embedded
def test_a_report_goes_warned_then_overdue_then_escalated_one_notification_each_swept_twice(
        db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=MONDAY_10)
    # 5 working days from Monday 10:00; the warning at 30 of its 40 working hours.
    assert report.due_at == local(2026, 10, 12, 10)
    assert report.warn_at == local(2026, 10, 9, 8)
    department = report.lead_department_id

    assert run(db_session, local(2026, 10, 9, 7, 59)).as_dict() == sweeps.SweepResult().as_dict()

    for _ in range(2):
        result = run(db_session, local(2026, 10, 9, 8))
    assert report.warned_at == local(2026, 10, 9, 8)
    assert result.warned == 0  # the second pass found nothing left to warn
    [warning] = notified(db_session, report, "deadline_warning")
    assert warning.department_id == department and "PA-T-" in warning.title
    assert len(events(db_session, report, "deadline_warning")) == 1

    first = run(db_session, local(2026, 10, 12, 10))
    second = run(db_session, local(2026, 10, 12, 10, 1))
    assert (first.overdue, first.escalated, second.overdue, second.escalated) == (1, 1, 0, 0)
    assert report.overdue_at == report.escalated_at == local(2026, 10, 12, 10)
    assert report.status == ReportStatus.IN_PROGRESS  # overdue is a mark, not a status
    [overdue] = notified(db_session, report, "overdue")
    assert overdue.department_id == department
    escalations = notified(db_session, report, "escalated")
    assert [n.user_id for n in escalations] == supervisor_ids(db_session) != []
    [event] = events(db_session, report, "overdue")
    assert event.actor_id is None
    assert event.data == {"step": "resolve", "due_at": "2026-10-12T03:00:00+00:00",
                          "escalated": True}
    # Still one warning, after everything.
    assert len(notified(db_session, report, "deadline_warning")) == 1


@pytest.mark.embedded
def test_the_sweeps_messages_and_events_read_as_the_moves_write_them(db_session):
    # The texts come from notifications.MESSAGES, made in SQL on PostgreSQL and in
    # Python elsewhere: both must read exactly as notify_department would write them.
    acknowledged = MONDAY_10.replace(microsecond=123456)
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=acknowledged)
    run(db_session, local(2026, 10, 9, 8, 1))
    run(db_session, local(2026, 10, 12, 10, 1))
    run(db_session, local(2026, 10, 13, 10, 1))
    for kind in ("deadline_warning", "overdue", "escalated", "reminder"):
        [notice] = notified(db_session, report, kind)
        assert (notice.title, notice.body) == notifications._text(kind, report, None)
        assert notice.created_at.tzinfo is not None and notice.read_at is None
    assert "Sở Xây dựng" in notified(db_session, report, "escalated")[0].body
    [warning] = events(db_session, report, "deadline_warning")
    assert warning.data == {"step": "resolve", "due_at": "2026-10-12T03:00:00+00:00"}
    assert (warning.is_public, warning.actor_id, warning.from_status) == (False, None, None)
    assert warning.created_at == local(2026, 10, 9, 8, 1)


@pytest.mark.embedded
def test_with_a_push_webhook_each_notification_of_the_sweep_is_pushed_through_the_outbox(
        app, db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=MONDAY_10)
    app.config["PUSH_WEBHOOK_URL"] = "http://127.0.0.1:9/push"
    try:
        run(db_session, local(2026, 10, 12, 10))
    finally:
        app.config["PUSH_WEBHOOK_URL"] = None
    written = [n.id for kind in ("overdue", "escalated")
               for n in notified(db_session, report, kind)]
    pushed = db_session.execute(select(OutboxMessage.args).where(
        OutboxMessage.function == notifications.PUSH)).scalars().all()
    assert sorted(args[0] for args in pushed) == sorted(written)
    assert len(written) == 1 + len(supervisor_ids(db_session))


@pytest.mark.embedded
def test_an_overdue_report_is_reminded_a_working_day_later_and_again_a_day_after(db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=MONDAY_10)
    run(db_session, local(2026, 10, 12, 10))  # overdue on Monday 12 October, 10:00
    assert report.remind_at == local(2026, 10, 13, 10)
    assert run(db_session, local(2026, 10, 13, 9, 59)).reminded == 0
    assert run(db_session, local(2026, 10, 13, 10)).reminded == 1
    assert run(db_session, local(2026, 10, 13, 10, 1)).reminded == 0
    assert report.remind_at == local(2026, 10, 14, 10)
    assert len(notified(db_session, report, "reminder")) == 1
    assert events(db_session, report, "reminder") == []  # a reminder is not a move


@pytest.mark.embedded
def test_a_reminder_due_on_friday_afternoon_waits_for_monday_not_the_weekend(db_session):
    friday_16 = local(2026, 10, 9, 16)
    report = factories.acknowledged_report(db_session, now=local(2026, 10, 2, 16))
    assert report.due_at == friday_16
    run(db_session, friday_16)
    assert report.remind_at == local(2026, 10, 12, 16)


@pytest.mark.embedded
def test_waiting_for_the_citizen_stops_the_clock_and_the_sweep_never_marks_it_overdue(
        db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=MONDAY_10)
    workflow.request_info(db_session, report, actor=factories.staff(db_session, "officer"),
                          now=local(2026, 10, 6, 10), question="Xin ảnh chụp gần hơn")
    assert report.due_at is None and report.paused_remaining_minutes == 32 * 60

    # Weeks past the original deadline: nothing happens while the citizen is awaited.
    for day in (9, 12, 20, 30):
        assert run(db_session, local(2026, 10, day, 12)).as_dict() == \
            sweeps.SweepResult().as_dict()
    assert report.overdue_at is None and report.warned_at is None
    assert report.status == ReportStatus.AWAITING_CITIZEN

    # The citizen answers on Monday 2 November at 10:00: the 32 hours left run again.
    workflow.provide_info(db_session, report, actor=report.citizen,
                          now=local(2026, 11, 2, 10), text="Đã gửi ảnh")
    assert report.due_at == local(2026, 11, 6, 10)
    assert run(db_session, local(2026, 11, 6, 9, 59)).overdue == 0
    assert run(db_session, local(2026, 11, 6, 10)).overdue == 1


@pytest.mark.embedded
def test_an_urgent_report_at_night_goes_overdue_by_clock_hours(db_session):
    saturday_23 = local(2026, 10, 10, 23)
    report = factories.routed_report(db_session, now=saturday_23, category="thien-tai")
    assert report.lead_department.code == "ct-bch-pctt"
    # One clock hour to acknowledge, day or night, weekend or not; warned at 45 minutes.
    assert report.due_at == local(2026, 10, 11, 0)
    assert report.warn_at == local(2026, 10, 10, 23, 45)

    assert run(db_session, local(2026, 10, 10, 23, 45)).warned == 1
    result = run(db_session, local(2026, 10, 11, 0))
    assert (result.overdue, result.escalated) == (1, 1)
    assert report.overdue_at == local(2026, 10, 11, 0)
    assert report.status == ReportStatus.ASSIGNED
    assert events(db_session, report, "overdue")[0].data["step"] == "acknowledge"
    # Reminders count clock hours too: four hours later, in the night.
    assert report.remind_at == local(2026, 10, 11, 4)


@pytest.mark.embedded
def test_an_approved_extension_moves_the_due_time_the_sweep_follows(db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=MONDAY_10)
    officer = factories.staff(db_session, "officer")
    friday = local(2026, 10, 9, 9)
    extension = workflow.request_extension(
        db_session, report, actor=officer, now=friday, reason="Chờ vật tư",
        new_due_at=local(2026, 10, 14, 10))
    workflow.decide_extension(db_session, extension, now=friday, approve_extension=True,
                              actor=factories.staff(db_session, "supervisor"))
    assert report.due_at == report.resolve_due_at == local(2026, 10, 14, 10)

    assert run(db_session, local(2026, 10, 12, 10)).overdue == 0  # the old deadline
    assert run(db_session, local(2026, 10, 14, 10)).overdue == 1


@pytest.mark.embedded
def test_a_report_past_its_warning_and_its_due_time_gets_the_overdue_notice_only(db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=MONDAY_10)
    result = run(db_session, local(2026, 10, 13, 12))  # the sweep did not run for days
    assert (result.overdue, result.warned) == (1, 0)
    assert report.warned_at == local(2026, 10, 13, 12)  # out of the warning index
    assert notified(db_session, report, "deadline_warning") == []
    assert len(notified(db_session, report, "overdue")) == 1


@pytest.mark.embedded
def test_a_report_nobody_has_routed_yet_is_the_operations_centres_to_hear_about(db_session):
    report = factories.report(db_session, now=MONDAY_9)  # moderation: 8 working hours
    assert run(db_session, local(2026, 10, 6, 9)).overdue == 1
    [overdue] = notified(db_session, report, "overdue")
    ioc = db_session.execute(select(Department).where(Department.code == "ct-ioc")).scalar_one()
    assert overdue.department_id == ioc.id
    assert events(db_session, report, "overdue")[0].data["step"] == "moderate"


@pytest.mark.embedded
def test_a_resolved_report_closes_when_its_rating_window_passes_and_the_citizen_is_told(
        db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9)
    workflow.answer(db_session, report, actor=factories.staff(db_session, "officer"),
                    now=MONDAY_10, outcome=Outcome.PLANNED, text="Đưa vào kế hoạch 2027")
    assert report.rating_due_at == MONDAY_10 + timedelta(days=7)
    assert run(db_session, MONDAY_10 + timedelta(days=7, seconds=-1)).closed == 0
    assert run(db_session, MONDAY_10 + timedelta(days=7)).closed == 1
    assert run(db_session, MONDAY_10 + timedelta(days=8)).closed == 0
    assert report.status == ReportStatus.CLOSED and report.rating is None
    assert report.outcome == Outcome.PLANNED  # closed is not fixed
    assert len(events(db_session, report, "closed")) == 1
    [closed] = notified(db_session, report, "closed")
    assert closed.user_id == report.citizen_id


@pytest.mark.embedded
def test_the_sweep_takes_what_is_due_a_batch_at_a_time_until_none_is_left(db_session):
    reports = [factories.report(db_session, now=MONDAY_9) for _ in range(5)]
    result = run(db_session, local(2026, 10, 6, 9), batch_size=2)
    assert result.overdue == 5
    assert all(r.overdue_at == local(2026, 10, 6, 9) for r in reports)


@pytest.mark.embedded
def test_a_move_after_the_sweep_marked_a_report_sees_the_new_version(db_session):
    report = factories.acknowledged_report(db_session, now=MONDAY_9, acknowledged_at=MONDAY_10)
    db_session.flush()
    version = report.version
    run(db_session, local(2026, 10, 12, 10))
    assert report.version == version + 1
    workflow.answer(db_session, report, actor=factories.staff(db_session, "officer"),
                    now=local(2026, 10, 12, 11), outcome=Outcome.PLANNED, text="Sẽ sửa")
    db_session.flush()
    assert report.status == ReportStatus.RESOLVED and report.remind_at is None


def test_flask_sweep_run_sweeps_once_and_prints_the_counts(runner, db_session, now):
    report = factories.report(db_session, now=now - timedelta(days=10))
    result = runner.invoke(args=["sweep", "run"])  # as an operator types it
    assert result.exit_code == 0, result.output
    assert "overdue 1" in result.output and "warned 0" in result.output
    assert db_session.get(Report, report.id).overdue_at is not None


def test_the_sweep_job_runs_every_minute_on_the_maintenance_queue(db_session, now):
    [entry] = [job for job in PERIODIC_JOBS if job["func"] is jobs.run_sweep]
    assert entry["queue_name"] == queues.MAINTENANCE and entry["interval"] == 60
    assert entry["job_timeout"] >= 60
    factories.report(db_session, now=now - timedelta(days=10))
    assert jobs.run_sweep()["overdue"] == 1
    assert jobs.run_sweep()["overdue"] == 0


# Two processes at once, on committed data (PostgreSQL: SKIP LOCKED) ----------------------

@pytest.fixture
def committed_due_reports(app, backend):
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    with app.app_context():
        reports = [factories.report(db.session, now=MONDAY_9) for _ in range(40)]
        db.session.commit()
        ids = [r.id for r in reports]
        citizens = [r.citizen_id for r in reports]
        db.session.remove()
    yield ids
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(delete(Notification).where(Notification.report_id.in_(ids)))
            connection.execute(delete(ReportEvent).where(ReportEvent.report_id.in_(ids)))
            connection.execute(delete(Report).where(Report.id.in_(ids)))
            connection.execute(delete(User).where(User.id.in_(citizens)))


def test_two_sweeps_from_two_sessions_at_once_make_no_double_warnings(app,
                                                                      committed_due_reports):
    ids = committed_due_reports
    results, errors = [], []
    barrier = threading.Barrier(2)
    # Past the warning point (16:30) of the 8-hour moderation clock, before its due time.
    now = local(2026, 10, 5, 16, 45)

    def one_sweep():
        with app.app_context():
            try:
                with Session(db.engine) as session:
                    calendar = deadlines.calendar_for(session)
                    barrier.wait()
                    results.append(sweeps.sweep(session, now=now, calendar=calendar,
                                                batch_size=3, commit_each_batch=True))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=one_sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.warned for r in results) == len(ids)
    with app.app_context():
        with Session(db.engine) as session:
            per_report = session.execute(
                select(Notification.report_id, func.count())
                .where(Notification.report_id.in_(ids), Notification.kind == "deadline_warning")
                .group_by(Notification.report_id)).all()
            warnings = session.execute(
                select(func.count()).select_from(ReportEvent)
                .where(ReportEvent.report_id.in_(ids), ReportEvent.kind == "deadline_warning")
            ).scalar()
    assert sorted(report_id for report_id, _ in per_report) == sorted(ids)
    assert {count for _, count in per_report} == {1}
    assert warnings == len(ids)
