"""The working-time calendar on real Vietnamese dates (holidays as the `holidays` package gives them)."""
from dataclasses import FrozenInstanceError
from datetime import date, datetime, time, timedelta, timezone

import pytest

from feedback.services.calendar import (
    VIETNAM_TZ,
    CountryHolidays,
    WorkCalendar,
    add_clock_time,
    clock_minutes_between,
    parse_limit,
)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant on the wall clock in Vietnam."""
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM_TZ)


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar()


class CountingHolidays:
    """A holiday source with one holiday, that counts how often it is asked."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def days_off(self, year: int) -> frozenset[date]:
        self.asked.append(year)
        return frozenset({date(year, 1, 1)})

    def weekend_working_days(self, year: int) -> frozenset[date]:
        return frozenset()


# Holidays: what the package knows, as this calendar applies it.


def test_tet_2026_is_off_from_monday_16_to_friday_20_february_as_the_government_decided(calendar):
    tet = [date(2026, 2, 16) + timedelta(days=n) for n in range(5)]
    assert [calendar.is_working_day(day) for day in tet] == [False] * 5
    assert calendar.is_working_day(date(2026, 2, 13))
    assert calendar.is_working_day(date(2026, 2, 23))


def test_tet_2027_is_off_from_thursday_4_to_wednesday_10_february_as_the_labour_code_gives_it(calendar):
    # Tết falls on Saturday 6/2/2027: the package moves the weekend days to Thursday 4/2
    # (29 Tết) and Wednesday 10/2 (mùng 5). No government decision yet for 2027.
    off = [date(2027, 2, 4), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)]
    assert not any(calendar.is_working_day(day) for day in off)
    assert calendar.is_working_day(date(2027, 2, 3))
    assert calendar.is_working_day(date(2027, 2, 11))


def test_30_april_and_1_may_2026_are_days_off_and_the_clock_resumes_on_monday_4_may(calendar):
    assert not calendar.is_working_day(date(2026, 4, 30))
    assert not calendar.is_working_day(date(2026, 5, 1))
    # Two working hours on Wednesday 29/4, six more on Monday 4/5.
    assert calendar.add_working_time(vn(2026, 4, 29, 15), 8 * 60) == vn(2026, 5, 4, 15)


def test_hung_kings_day_on_sunday_26_april_2026_is_taken_on_monday_27_april(calendar):
    assert not calendar.is_working_day(date(2026, 4, 27))


def test_labour_day_on_saturday_1_may_2027_is_taken_on_monday_3_may(calendar):
    assert not calendar.is_working_day(date(2027, 4, 30))
    assert not calendar.is_working_day(date(2027, 5, 3))
    assert calendar.is_working_day(date(2027, 5, 4))


def test_national_day_2026_takes_1_september_with_it_and_monday_31_august_swapped_for_saturday_22_august(
    calendar,
):
    assert not calendar.is_working_day(date(2026, 9, 2))
    assert not calendar.is_working_day(date(2026, 9, 1))
    assert not calendar.is_working_day(date(2026, 8, 31))
    assert calendar.is_working_day(date(2026, 9, 3))
    assert calendar.is_working_day(date(2026, 8, 22))


def test_national_day_2027_takes_3_september_with_it(calendar):
    assert not calendar.is_working_day(date(2027, 9, 2))
    assert not calendar.is_working_day(date(2027, 9, 3))
    assert calendar.is_working_day(date(2027, 9, 1))


def test_a_report_sent_before_the_2026_national_day_break_is_due_on_thursday_3_september(calendar):
    # One hour on Friday 28/8, then nothing from Saturday 29/8 to Wednesday 2/9.
    assert calendar.add_working_time(vn(2026, 8, 28, 16), 8 * 60) == vn(2026, 9, 3, 16)


def test_the_saturday_worked_for_the_2026_national_day_counts_as_working_time(calendar):
    assert calendar.add_working_time(vn(2026, 8, 21, 16, 30), 60) == vn(2026, 8, 22, 8)


def test_vietnam_cultural_day_on_24_november_is_a_day_off_from_2026(calendar):
    assert not calendar.is_working_day(date(2026, 11, 24))
    assert calendar.is_working_day(date(2025, 11, 24))


def test_the_weekend_is_not_working_time(calendar):
    assert not calendar.is_working_day(date(2026, 3, 7))
    assert not calendar.is_working_day(date(2026, 3, 8))
    assert calendar.next_working_instant(vn(2026, 3, 7, 10)) == vn(2026, 3, 9, 7, 30)


# Administrator overrides.


def test_a_day_an_administrator_declares_off_stops_the_clock():
    calendar = WorkCalendar(extra_days_off={date(2026, 3, 10)})
    assert not calendar.is_working_day(date(2026, 3, 10))
    # One hour on Monday 9/3, Tuesday skipped, seven hours on Wednesday 11/3.
    assert calendar.add_working_time(vn(2026, 3, 9, 16), 8 * 60) == vn(2026, 3, 11, 16)


def test_a_saturday_an_administrator_declares_worked_counts_as_working_time():
    calendar = WorkCalendar(extra_working_days={"2026-03-14"})
    assert calendar.is_working_day(date(2026, 3, 14))
    assert calendar.add_working_time(vn(2026, 3, 13, 16), 2 * 60) == vn(2026, 3, 14, 8, 30)


def test_overrides_win_over_public_holidays_and_government_swaps():
    calendar = WorkCalendar(extra_working_days={date(2026, 2, 20)}, extra_days_off={date(2026, 8, 22)})
    assert calendar.is_working_day(date(2026, 2, 20))
    assert not calendar.is_working_day(date(2026, 8, 22))


def test_a_date_cannot_be_declared_both_a_day_off_and_a_working_day():
    with pytest.raises(ValueError, match="2026-03-14"):
        WorkCalendar(extra_days_off={date(2026, 3, 14)}, extra_working_days={date(2026, 3, 14)})


# Counting working time.


def test_a_report_sent_at_16_59_gets_its_first_working_minute_before_close(calendar):
    assert calendar.add_working_time(vn(2026, 3, 9, 16, 59), 1) == vn(2026, 3, 9, 17)
    assert calendar.add_working_time(vn(2026, 3, 9, 16, 59), 2) == vn(2026, 3, 10, 7, 31)


def test_a_report_sent_at_11_45_starts_its_clock_after_the_lunch_break(calendar):
    assert not calendar.is_working_time(vn(2026, 3, 9, 11, 45))
    assert calendar.next_working_instant(vn(2026, 3, 9, 11, 45)) == vn(2026, 3, 9, 13)
    assert calendar.add_working_time(vn(2026, 3, 9, 11, 45), 30) == vn(2026, 3, 9, 13, 30)


def test_a_count_ending_at_the_close_of_a_period_ends_then_and_not_the_next_morning(calendar):
    assert calendar.add_working_time(vn(2026, 3, 9, 9), 150) == vn(2026, 3, 9, 11, 30)
    assert calendar.add_working_time(vn(2026, 3, 9, 7, 30), 8 * 60) == vn(2026, 3, 9, 17)


def test_a_report_sent_on_a_saturday_during_tet_starts_its_clock_on_the_first_working_hour_after(calendar):
    sent = vn(2026, 2, 14, 10)
    assert calendar.next_working_instant(sent) == vn(2026, 2, 23, 7, 30)
    assert calendar.due_at(sent, "8h", urgent=False) == vn(2026, 2, 23, 17)


def test_a_report_sent_the_afternoon_before_tet_2027_is_due_the_day_the_offices_reopen(calendar):
    assert calendar.add_working_time(vn(2027, 2, 3, 16), 8 * 60) == vn(2027, 2, 11, 16)


def test_an_instant_inside_working_time_is_its_own_next_working_instant(calendar):
    assert calendar.next_working_instant(vn(2026, 3, 9, 10, 15)) == vn(2026, 3, 9, 10, 15)
    assert calendar.next_working_instant(vn(2026, 3, 9, 17)) == vn(2026, 3, 10, 7, 30)


def test_five_working_days_across_tet_2026_skip_the_whole_holiday(calendar):
    # Friday 13/2, then Monday 23/2 to Thursday 26/2.
    assert calendar.add_working_days(vn(2026, 2, 12, 10), 5) == vn(2026, 2, 26, 10)


def test_five_working_days_across_30_april_and_1_may_skip_both(calendar):
    assert calendar.add_working_days(vn(2026, 4, 28, 10), 5) == vn(2026, 5, 7, 10)


def test_fifteen_working_days_across_tet_2026_end_on_monday_9_march(calendar):
    assert calendar.add_working_days(vn(2026, 2, 9, 9), 15) == vn(2026, 3, 9, 9)


def test_working_days_counted_from_after_hours_end_at_close_on_the_last_day(calendar):
    # Received Monday 9/3 at 17:30: Tuesday to the next Monday are the five days.
    assert calendar.add_working_days(vn(2026, 3, 9, 17, 30), 5) == vn(2026, 3, 16, 17)


def test_working_minutes_between_two_instants_spanning_a_weekend_leave_the_weekend_out(calendar):
    # Friday 16:00-17:00 and Monday 07:30-09:00.
    assert calendar.working_minutes_between(vn(2026, 3, 6, 16), vn(2026, 3, 9, 9)) == 150


def test_working_minutes_between_are_zero_when_the_end_is_not_after_the_start(calendar):
    assert calendar.working_minutes_between(vn(2026, 3, 9, 9), vn(2026, 3, 9, 9)) == 0
    assert calendar.working_minutes_between(vn(2026, 3, 9, 10), vn(2026, 3, 9, 9)) == 0


def test_2026_has_249_working_days_of_eight_hours(calendar):
    # 261 weekdays, 13 of them public holidays, plus Saturday 22/8 worked.
    minutes = calendar.working_minutes_between(vn(2026, 1, 1), vn(2027, 1, 1))
    assert minutes == 249 * 480


def test_working_time_added_then_measured_gives_the_same_minutes_back(calendar):
    start = vn(2026, 2, 11, 14, 20)
    due = calendar.add_working_time(start, 1234)
    assert calendar.working_minutes_between(start, due) == 1234


# Clock time, for urgent categories.


def test_an_urgent_report_at_night_counts_clock_minutes_through_the_night(calendar):
    sent = vn(2026, 2, 14, 23, 30)  # a Saturday night during Tết
    assert calendar.due_at(sent, "30m", urgent=True) == vn(2026, 2, 15, 0, 0)
    assert calendar.due_at(sent, "4h", urgent=True) == vn(2026, 2, 15, 3, 30)
    assert calendar.due_at(sent, "1d", urgent=True) == vn(2026, 2, 15, 23, 30)
    assert add_clock_time(sent, 90) == vn(2026, 2, 15, 1, 0)
    assert clock_minutes_between(sent, vn(2026, 2, 15, 2)) == 150
    assert clock_minutes_between(vn(2026, 2, 15, 2), sent) == 0


def test_due_at_counts_working_minutes_hours_and_days_for_normal_categories(calendar):
    sent = vn(2026, 3, 9, 16)
    assert calendar.due_at(sent, "30m", urgent=False) == vn(2026, 3, 9, 16, 30)
    assert calendar.due_at(sent, "8h", urgent=False) == vn(2026, 3, 10, 16)
    assert calendar.due_at(sent, "5d", urgent=False) == vn(2026, 3, 16, 16)


def test_results_are_in_utc(calendar):
    due = calendar.due_at(vn(2026, 3, 9, 16), "8h", urgent=False)
    assert due.utcoffset() == timedelta(0)
    assert due == datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    assert add_clock_time(vn(2026, 3, 9, 16), 1).tzinfo == timezone.utc


# Warning at 75%.


def test_the_warning_comes_at_75_percent_of_the_working_time(calendar):
    start = vn(2026, 3, 9, 7, 30)
    due = calendar.due_at(start, "8h", urgent=False)
    # Six of the eight working hours: the morning, then 13:00-15:00.
    assert calendar.warn_at(start, due, urgent=False) == vn(2026, 3, 9, 15)


def test_the_warning_for_a_limit_spanning_tet_lands_in_working_time(calendar):
    start = vn(2026, 2, 13, 16)
    due = calendar.due_at(start, "8h", urgent=False)
    warning = calendar.warn_at(start, due, urgent=False)
    assert warning == vn(2026, 2, 23, 14)
    assert calendar.is_working_time(warning)


def test_the_warning_for_an_urgent_report_comes_at_75_percent_of_the_clock_time(calendar):
    start = vn(2026, 3, 7, 22)
    due = calendar.due_at(start, "4h", urgent=True)
    assert calendar.warn_at(start, due, urgent=True) == vn(2026, 3, 8, 1)


def test_the_warning_is_the_due_time_when_there_is_no_time_left(calendar):
    due = vn(2026, 3, 9, 9)
    assert calendar.warn_at(vn(2026, 3, 9, 10), due, urgent=False) == due
    assert calendar.warn_at(vn(2026, 3, 9, 10), due, urgent=True) == due


# Refusals.


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add_working_time(datetime(2026, 3, 9, 9), 30),
        lambda c: c.add_working_days(datetime(2026, 3, 9, 9), 5),
        lambda c: c.working_minutes_between(datetime(2026, 3, 9, 9), vn(2026, 3, 9, 10)),
        lambda c: c.next_working_instant(datetime(2026, 3, 9, 9)),
        lambda c: c.due_at(datetime(2026, 3, 9, 9), "8h", urgent=False),
        lambda c: c.due_at(datetime(2026, 3, 9, 9), "1h", urgent=True),
        lambda c: c.warn_at(vn(2026, 3, 9, 9), datetime(2026, 3, 9, 17), urgent=False),
        lambda c: add_clock_time(datetime(2026, 3, 9, 9), 30),
        lambda c: clock_minutes_between(vn(2026, 3, 9, 9), datetime(2026, 3, 9, 10)),
    ],
)
def test_naive_datetimes_are_refused(calendar, call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(calendar)


def test_is_working_day_refuses_an_instant_because_its_date_depends_on_the_zone(calendar):
    with pytest.raises(TypeError):
        calendar.is_working_day(vn(2026, 3, 9, 9))


def test_negative_amounts_of_time_are_refused(calendar):
    with pytest.raises(ValueError):
        calendar.add_working_time(vn(2026, 3, 9, 9), -1)
    with pytest.raises(ValueError):
        calendar.add_working_days(vn(2026, 3, 9, 9), -1)
    with pytest.raises(ValueError):
        add_clock_time(vn(2026, 3, 9, 9), -1)


def test_parse_limit_reads_minutes_hours_and_days():
    assert parse_limit("30m") == (30, "m")
    assert parse_limit("8h") == (8, "h")
    assert parse_limit(" 15d ") == (15, "d")
    assert parse_limit("5d").amount == 5


@pytest.mark.parametrize("spec", ["", "8", "h", "8x", "-5d", "1.5h", "8 hours", "8H", "d5"])
def test_parse_limit_refuses_a_spec_it_cannot_read_and_says_what_it_expects(spec):
    with pytest.raises(ValueError, match=r"m \(minutes\), h \(hours\) or d \(days\)"):
        parse_limit(spec)


def test_parse_limit_refuses_a_zero_limit():
    with pytest.raises(ValueError, match="more than zero"):
        parse_limit("0m")


def test_parse_limit_refuses_what_is_not_a_string():
    with pytest.raises(ValueError, match="string"):
        parse_limit(8)


# Configuration.


def test_working_periods_are_configurable():
    calendar = WorkCalendar(periods=[("08:00", "12:00"), (time(13, 30), time(17, 30))])
    assert calendar.minutes_per_working_day == 480
    assert calendar.next_working_instant(vn(2026, 3, 9, 7, 45)) == vn(2026, 3, 9, 8)
    assert calendar.add_working_time(vn(2026, 3, 9, 11, 30), 60) == vn(2026, 3, 9, 14)


@pytest.mark.parametrize(
    "periods",
    [
        [],
        [("11:30", "07:30")],
        [("07:30", "12:00"), ("11:30", "17:00")],
        [("7h30", "11:30")],
    ],
)
def test_working_periods_that_make_no_sense_are_refused(periods):
    with pytest.raises(ValueError):
        WorkCalendar(periods=periods)


def test_a_calendar_is_frozen_and_equal_configurations_hash_alike():
    first = WorkCalendar(extra_days_off=[date(2026, 3, 10)])
    second = WorkCalendar(extra_days_off={"2026-03-10"})
    assert first == second
    assert hash(first) == hash(second)
    with pytest.raises(FrozenInstanceError):
        first.weekend = frozenset()  # type: ignore[misc]


def test_holiday_lookups_are_made_once_per_year():
    source = CountingHolidays()
    calendar = WorkCalendar(public_holidays=source)
    calendar.working_minutes_between(vn(2026, 1, 1), vn(2027, 6, 1))
    calendar.add_working_days(vn(2026, 12, 1, 9), 30)
    assert sorted(source.asked) == [2026, 2027]


def test_the_default_holiday_source_is_vietnam_from_the_holidays_package():
    assert WorkCalendar().public_holidays == CountryHolidays(country="VN")
    assert date(2026, 2, 17) in CountryHolidays().days_off(2026)
    assert CountryHolidays().weekend_working_days(2026) == {date(2026, 8, 22)}
