from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from feedback.models import Category, Report, ReportEvent, ReportStatus


def _report(db_session, **fields):
    category = db_session.execute(select(Category).where(Category.code == "khac")).scalar_one()
    report = Report(tracking_code="PA-2026-999999", category=category, description="x", **fields)
    db_session.add(report)
    db_session.flush()
    return report


@pytest.mark.embedded
def test_datetimes_come_back_aware_in_utc(db_session):
    from zoneinfo import ZoneInfo
    sent = datetime(2026, 2, 16, 8, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    report = _report(db_session, submitted_at=sent)
    db_session.expire_all()
    stored = db_session.get(Report, report.id).submitted_at
    assert stored == sent
    assert stored.tzinfo == timezone.utc and stored.hour == 1


@pytest.mark.embedded
def test_a_naive_datetime_is_refused(db_session):
    with pytest.raises(StatementError, match="naive datetime"):
        _report(db_session, submitted_at=datetime(2026, 1, 1, 8, 0))


@pytest.mark.embedded
def test_report_events_cannot_be_changed_or_deleted(db_session):
    report = _report(db_session)
    event = ReportEvent(report=report, kind="submitted", to_status=ReportStatus.SUBMITTED)
    db_session.add(event)
    db_session.flush()
    event.note = "rewritten history"
    with pytest.raises(RuntimeError, match="kept forever"):
        db_session.flush()
    db_session.rollback()


def test_a_status_outside_the_list_is_refused(db_session):
    with pytest.raises(StatementError):
        _report(db_session, status="lost")


def test_two_people_saving_the_same_report_cannot_both_win(app, db_session):
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError
    report = _report(db_session)
    db_session.expire_all()
    mine = db_session.get(Report, report.id)  # both people open the report...
    assert mine.version == 1
    with Session(bind=db_session.connection()) as other:
        theirs = other.get(Report, report.id)
        theirs.status = ReportStatus.REJECTED
        other.commit()
    mine.status = ReportStatus.ASSIGNED  # ...and the second one to save loses
    with pytest.raises(StaleDataError):
        db_session.flush()
    db_session.rollback()
