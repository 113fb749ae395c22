"""The figures on a small hand-made data set, with numbers worked out by hand."""
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from feedback.models import Department, Outcome, Rating, Report, Role, User
from feedback.services import deadlines, stats, workflow
from feedback.services.calendar import WorkCalendar
from tests import factories

ICT = ZoneInfo("Asia/Ho_Chi_Minh")
OCTOBER = stats.Period.of_days(date(2026, 10, 1), date(2026, 11, 1), ICT)
NOW = datetime(2026, 10, 20, 10, tzinfo=ICT)  # a Tuesday


def local(month, day, hour, minute=0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ICT)


def officer(db_session, username="officer"):
    return factories.staff(db_session, username)


def answer(db_session, report, at, username="officer"):
    workflow.answer(db_session, report, actor=officer(db_session, username), now=at,
                    outcome=Outcome.PLANNED, text="Đưa vào kế hoạch")


def compute(db_session, group_by="department", now=NOW, period=OCTOBER):
    db_session.flush()
    return stats.figures(db_session, group_by=group_by, period=period, now=now)


def department_id(db_session, code):
    return db_session.execute(select(Department.id).where(Department.code == code)).scalar_one()


@pytest.fixture
def october(db_session):
    """Sở Xây dựng's October, a commune committee's, and a report no rule routes.

    All submitted and routed on Monday 5 October 09:00 unless said otherwise; the
    resolution limit is 5 working days.
    """
    monday = local(10, 5, 9)
    made = {}

    def handled(name, *, acknowledged, submitted=monday, **kwargs):
        made[name] = factories.acknowledged_report(db_session, now=submitted,
                                                   acknowledged_at=acknowledged, **kwargs)
        return made[name]

    # On time, rated satisfied. First response 1 h; resolution Mon 09:00 → Thu 10:00, 25 h.
    r1 = handled("r1", acknowledged=local(10, 5, 10))
    answer(db_session, r1, local(10, 8, 10))
    workflow.rate(db_session, r1, actor=r1.citizen, now=local(10, 9, 9), rating=Rating.SATISFIED)
    # Late (due Mon 12 Oct 11:00), rated unsatisfied. 2 h; 58 h.
    r2 = handled("r2", acknowledged=local(10, 5, 11))
    answer(db_session, r2, local(10, 14, 11))
    workflow.rate(db_session, r2, actor=r2.citizen, now=local(10, 15, 9),
                  rating=Rating.UNSATISFIED)
    # Past its first deadline (Mon 12 Oct 14:00) but within an approved extension. 3.5 h; 51.5 h.
    r3 = handled("r3", acknowledged=local(10, 5, 14))
    extension = workflow.request_extension(
        db_session, r3, actor=officer(db_session), now=local(10, 9, 9), reason="Chờ vật tư",
        new_due_at=local(10, 14, 17))
    workflow.decide_extension(db_session, extension, now=local(10, 9, 10),
                              actor=factories.staff(db_session, "supervisor"),
                              approve_extension=True)
    answer(db_session, r3, local(10, 13, 14))
    # Open and overdue since Mon 12 Oct 10:30. 1.5 h.
    handled("r4", acknowledged=local(10, 5, 10, 30))
    # Waiting for the citizen with time left: not overdue, whatever the date. 2.5 h.
    r5 = handled("r5", acknowledged=local(10, 5, 11, 30))
    workflow.request_info(db_session, r5, actor=officer(db_session), now=local(10, 6, 10),
                          question="Xin vị trí chính xác")
    # Received on Thursday 15 October, due on the 22nd: open, not overdue. 1 h.
    handled("r6", submitted=local(10, 15, 9), acknowledged=local(10, 15, 10))
    # Answered, reopened, answered again on time, rated acceptable. 1 h; 33 h.
    r7 = handled("r7", acknowledged=local(10, 5, 10))
    answer(db_session, r7, local(10, 7, 10))
    workflow.reopen(db_session, r7, actor=r7.citizen, now=local(10, 8, 10), reason="Chưa sửa")
    answer(db_session, r7, local(10, 9, 10))
    workflow.rate(db_session, r7, actor=r7.citizen, now=local(10, 10, 9),
                  rating=Rating.ACCEPTABLE)
    # Received in September, answered on time on 2 October. 33 h.
    r8 = handled("r8", submitted=local(9, 28, 9), acknowledged=local(9, 28, 10))
    answer(db_session, r8, local(10, 2, 10))
    # The commune committee: on time, first response 0.5 h, resolution 8 h.
    r11 = handled("r11", category="trat-tu-do-thi", acknowledged=local(10, 5, 9, 30),
                  officer="officer.ninhkieu")
    answer(db_session, r11, local(10, 6, 9), username="officer.ninhkieu")
    # No rule routes "khác": it waits for a moderator, past its 8 working hours.
    made["r10"] = factories.routed_report(db_session, now=monday, category="khac")
    # Rejected: not received, by anyone.
    made["r12"] = factories.report(db_session, now=monday)
    workflow.reject(db_session, made["r12"], actor=factories.staff(db_session, "moderator"),
                    now=local(10, 5, 10), reason_code="spam")
    db_session.flush()
    return made


@pytest.mark.embedded
def test_the_figures_per_department_on_a_hand_made_october(db_session, october):
    groups, total = compute(db_session)
    assert set(groups) == {department_id(db_session, "ct-so-xay-dung"),
                           department_id(db_session, "ct-ubnd-31135"), None}

    works = groups[department_id(db_session, "ct-so-xay-dung")].as_dict()
    assert works == {
        "received": 7, "resolved": 5, "on_time": 4, "late": 1, "open_overdue": 1,
        "on_time_rate": pytest.approx(4 / 6),
        "median_first_response_hours": 1.5,  # of 1, 2, 3.5, 1.5, 2.5, 1, 1
        "median_resolution_hours": 33.0,  # of 25, 58, 51.5, 33, 33
        "rated": 3,
        "satisfaction": {"satisfied": pytest.approx(1 / 3), "acceptable": pytest.approx(1 / 3),
                         "unsatisfied": pytest.approx(1 / 3)},
        "reopened": 1, "reopen_rate": 0.2,
    }
    commune = groups[department_id(db_session, "ct-ubnd-31135")].as_dict()
    assert commune == {
        "received": 1, "resolved": 1, "on_time": 1, "late": 0, "open_overdue": 0,
        "on_time_rate": 1.0, "median_first_response_hours": 0.5,
        "median_resolution_hours": 8.0, "rated": 0,
        "satisfaction": {"satisfied": None, "acceptable": None, "unsatisfied": None},
        "reopened": 0, "reopen_rate": 0.0,
    }
    unrouted = groups[None].as_dict()
    assert (unrouted["received"], unrouted["open_overdue"], unrouted["on_time_rate"]) == (1, 1, 0.0)

    assert (total.received, total.resolved, total.on_time, total.late, total.open_overdue) == \
        (9, 6, 5, 1, 2)
    assert total.on_time_rate == 5 / 8
    assert total.median_resolution_hours == 33.0  # of 25, 58, 51.5, 33, 33, 8


@pytest.mark.embedded
def test_the_on_time_rate_counts_open_overdue_reports_in_the_denominator(db_session):
    done = factories.acknowledged_report(db_session, now=local(10, 5, 9))
    answer(db_session, done, local(10, 6, 9))
    factories.acknowledged_report(db_session, now=local(10, 5, 9))  # left open past 12 Oct
    [figures] = compute(db_session)[0].values()
    assert (figures.resolved, figures.on_time, figures.open_overdue) == (1, 1, 1)
    assert figures.on_time_rate == 0.5  # not 1.0: late work left open counts
    assert stats.on_time_rate(0, 0, 0) is None


@pytest.mark.embedded
def test_an_approved_extension_counts_a_report_resolved_before_it_as_on_time(db_session):
    extended = factories.acknowledged_report(db_session, now=local(10, 5, 9))
    plain = factories.acknowledged_report(db_session, now=local(10, 5, 9))
    assert extended.resolve_due_at == local(10, 12, 9)
    extension = workflow.request_extension(
        db_session, extended, actor=officer(db_session), now=local(10, 8, 9),
        reason="Chờ vật tư", new_due_at=local(10, 15, 9))
    workflow.decide_extension(db_session, extension, now=local(10, 8, 10),
                              actor=factories.staff(db_session, "supervisor"),
                              approve_extension=True)
    assert extended.resolve_due_at == local(10, 15, 9)
    for report in (extended, plain):  # both answered a day after the first deadline
        answer(db_session, report, local(10, 13, 9))
    [figures] = compute(db_session)[0].values()
    assert (figures.resolved, figures.on_time, figures.late) == (2, 1, 1)
    assert stats.is_on_time(extended.resolved_at, extended.resolve_due_at, extended.overdue_at)
    assert not stats.is_on_time(plain.resolved_at, plain.resolve_due_at, plain.overdue_at)


@pytest.mark.embedded
def test_waiting_for_the_citizen_is_not_overdue_unless_the_time_was_up_before(db_session):
    in_time = factories.acknowledged_report(db_session, now=local(10, 5, 9))
    workflow.request_info(db_session, in_time, actor=officer(db_session), now=local(10, 6, 9),
                          question="Ảnh rõ hơn?")
    too_late = factories.acknowledged_report(db_session, now=local(10, 5, 9))
    workflow.request_info(db_session, too_late, actor=officer(db_session),
                          now=local(10, 13, 9), question="Ảnh rõ hơn?")
    assert too_late.paused_remaining_minutes == 0
    [figures] = compute(db_session)[0].values()
    assert figures.open_overdue == 1
    assert stats.missed_deadline(too_late.status, due_at=None,
                                 resolve_due_at=too_late.resolve_due_at,
                                 paused_remaining_minutes=0, now=NOW) == local(10, 12, 9)


@pytest.mark.embedded
def test_an_urgent_category_counts_its_times_in_clock_hours(db_session):
    pctt = db_session.execute(select(Department).where(Department.code == "ct-bch-pctt")
                              ).scalar_one()
    rescuer = User(role=Role.OFFICER, username="pctt.truc", department=pctt)
    db_session.add(rescuer)
    db_session.flush()
    saturday_23 = local(10, 10, 23)
    report = factories.routed_report(db_session, now=saturday_23, category="thien-tai")
    workflow.acknowledge(db_session, report, actor=rescuer, now=local(10, 11, 0, 30))
    workflow.answer(db_session, report, actor=rescuer, now=local(10, 11, 2),
                    outcome=Outcome.NO_ACTION, text="Nước đã rút")
    figures = compute(db_session)[0][pctt.id]
    assert figures.median_first_response_hours == 1.5  # at night, on a weekend
    assert figures.median_resolution_hours == 3.0
    assert (figures.on_time, figures.late) == (1, 0)  # within 4 clock hours


@pytest.mark.embedded
def test_figures_by_category_and_by_commune(db_session, october):
    by_category, _ = compute(db_session, "category")
    codes = {figures_key: code for figures_key, (code, _) in
             stats.group_labels(db_session, "category", by_category).items()}
    counts = {codes[key]: (f.received, f.resolved, f.open_overdue)
              for key, f in by_category.items()}
    assert counts == {"giao-thong": (7, 5, 1), "trat-tu-do-thi": (1, 1, 0), "khac": (1, 0, 1)}

    by_area, total = compute(db_session, "area")
    assert list(by_area) == ["31135"]
    assert stats.group_labels(db_session, "area", by_area)["31135"][1] == "Phường Ninh Kiều"
    assert by_area["31135"].as_dict() == total.as_dict()


@pytest.mark.embedded
@pytest.mark.parametrize("group_by", stats.GROUPINGS)
def test_sql_figures_agree_with_the_definitions_applied_row_by_row(db_session, october,
                                                                   group_by):
    groups, _ = compute(db_session, group_by)
    reports = db_session.execute(
        select(Report).options(selectinload(Report.category))).scalars().all()
    by_hand = stats.tally(reports, group_by=group_by, period=OCTOBER, now=NOW,
                          calendar=deadlines.calendar_for(db_session))
    assert {key: f.as_dict() for key, f in groups.items()} == \
        {key: f.as_dict() for key, f in by_hand.items()}


@pytest.mark.embedded
def test_a_series_counts_each_period_as_the_figures_of_that_period_alone(db_session, october):
    weeks = [stats.Period.of_days(first, first + timedelta(days=7), ICT)
             for first in (date(2026, 9, 28) + timedelta(days=7 * n) for n in range(6))]
    series = stats.series(db_session, weeks, now=NOW)
    one_by_one = [compute(db_session, period=week)[1] for week in weeks]
    counted = [(f.received, f.resolved, f.on_time, f.late, f.open_overdue, f.on_time_rate)
               for f in series]
    assert counted == [(f.received, f.resolved, f.on_time, f.late, f.open_overdue,
                        f.on_time_rate) for f in one_by_one]
    assert sum(f.received for f in series) > 0 and sum(f.open_overdue for f in series) > 0


def test_a_new_report_named_by_its_category_id_gets_its_hours_when_flushed(db_session):
    from feedback.models import Category

    category = db_session.execute(select(Category).where(Category.code == "giao-thong")
                                  ).scalar_one()
    report = factories.report(db_session)
    copy = Report(tracking_code="PA-2026-999999", category_id=category.id,
                  description="Ổ gà", submitted_at=local(10, 6, 8), status="resolved",
                  assigned_at=local(10, 6, 9), first_response_at=local(10, 6, 10, 30),
                  resolved_at=local(10, 7, 9), area_code=report.area_code)
    db_session.add(copy)
    db_session.flush()
    # Tuesday 09:00-10:30; then to 11:30, 13:00-17:00, and Wednesday 07:30-09:00.
    assert (copy.first_response_hours, copy.resolution_hours) == (1.5, 8.0)


@pytest.mark.embedded
def test_the_period_is_half_open_and_needs_aware_instants():
    period = stats.Period(datetime(2026, 10, 1, tzinfo=ICT), datetime(2026, 11, 1, tzinfo=ICT))
    assert datetime(2026, 10, 1, tzinfo=ICT) in period
    assert datetime(2026, 11, 1, tzinfo=ICT) not in period
    assert None not in period
    with pytest.raises(ValueError):
        stats.Period(datetime(2026, 10, 1), datetime(2026, 11, 1, tzinfo=ICT))
    with pytest.raises(ValueError):
        stats.Period(datetime(2026, 11, 1, tzinfo=ICT), datetime(2026, 10, 1, tzinfo=ICT))


@pytest.mark.embedded
def test_counting_working_minutes_in_bulk_agrees_with_the_calendar():
    calendar = WorkCalendar(extra_days_off=frozenset({date(2026, 3, 3)}),
                            extra_working_days=frozenset({date(2026, 3, 7)}))
    rng = random.Random(5)
    start = datetime(2026, 1, 20, tzinfo=timezone.utc)  # Tết 2026 falls in the range
    instants = [start + timedelta(minutes=rng.randrange(0, 80 * 24 * 60)) for _ in range(600)]
    bulk = stats.WorkingMinutes.covering(calendar, instants)
    for a, b in zip(instants[::2], instants[1::2]):
        assert bulk.working_minutes_between(a, b) == pytest.approx(
            calendar.working_minutes_between(a, b), abs=1e-9)
    outside = datetime(2027, 1, 4, 2, tzinfo=timezone.utc)
    assert bulk.working_minutes_between(instants[0], outside) == pytest.approx(
        calendar.working_minutes_between(instants[0], outside))


@pytest.mark.embedded
def test_medians_and_shares_of_nothing_are_none():
    assert stats.median([]) is None and stats.share(3, 0) is None
    assert stats.median([5, 1, 3]) == 3 and stats.median([1, 2, 3, 4]) == 2.5
