"""The working-time calendar: when a time limit counted in working time (or clock time) runs out.

Pure functions over timezone-aware instants; no Flask, no database. Callers pass `now`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

import holidays as holidays_package

__all__ = [
    "DEFAULT_PERIODS",
    "DEFAULT_WEEKEND",
    "VIETNAM_TZ",
    "WARN_FRACTION",
    "CountryHolidays",
    "HolidayProvider",
    "TimeLimit",
    "WorkCalendar",
    "add_clock_time",
    "clock_minutes_between",
    "parse_limit",
]

VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 0), time(17, 0)),
)
# Weekdays as date.weekday() numbers: Monday is 0, Sunday is 6.
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})
# DESIGN.md: "Warn the department at 75% of the time".
WARN_FRACTION = 0.75
# The days any period, deadline or calendar override may name (the calendar's years,
# 2000 to 2100). Past them a local midnight may not exist in UTC at all (0001-01-01 at
# +07:00), and the date arithmetic of periods overflows.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def within_days(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY

_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)
# A calendar with no working day for a whole year is misconfigured (or its holiday
# source is broken); failing loudly beats a sweep that loops forever.
_MAX_DAYS_WITHOUT_WORK = 366
_LIMIT_PATTERN = re.compile(r"(\d+)([mhd])", re.ASCII)
_CLOCK_MINUTES_PER_UNIT = {"m": 1, "h": 60, "d": 24 * 60}


class HolidayProvider(Protocol):
    """Where public holidays come from. Must be hashable so a WorkCalendar stays hashable."""

    def days_off(self, year: int) -> frozenset[date]:
        """Public holidays of `year`, including days off given in place of a weekend."""
        ...

    def weekend_working_days(self, year: int) -> frozenset[date]:
        """Weekend days of `year` that the government made working days (a swap)."""
        ...


@dataclass(frozen=True)
class CountryHolidays:
    """Public holidays from the `holidays` package; Vietnam unless told otherwise.

    For VN (holidays 0.108) the package applies the Labour Code: Tết Dương lịch (1/1),
    five days of Tết by the lunar calendar, Giỗ Tổ Hùng Vương, 30/4, 1/5, 2/9 with an
    adjacent day (1/9 or 3/9), Ngày Văn hóa Việt Nam (24/11) from 2026, and a holiday
    falling on a weekend taken on a nearby working day. For years the government had
    already decided when the package was released it also knows the swaps: a weekday
    off (in `days_off`) paid back by a Saturday worked (in `weekend_working_days`),
    e.g. Monday 31/8/2026 off, Saturday 22/8/2026 worked. Decisions it does not know
    are administrator overrides on the WorkCalendar.
    """

    country: str = "VN"
    subdiv: str | None = None
    categories: tuple[str, ...] = ("public",)

    def days_off(self, year: int) -> frozenset[date]:
        return _package_year(self, year)[0]

    def weekend_working_days(self, year: int) -> frozenset[date]:
        return _package_year(self, year)[1]


@lru_cache(maxsize=256)
def _package_year(source: CountryHolidays, year: int) -> tuple[frozenset[date], frozenset[date]]:
    # Neighbouring years are loaded because a swap can cross New Year: 31/12/2018 off
    # was paid back on Saturday 5/1/2019.
    table = holidays_package.country_holidays(
        source.country,
        subdiv=source.subdiv,
        years=(year - 1, year, year + 1),
        categories=source.categories,
    )
    days_off = frozenset(day for day in table if day.year == year)
    worked = frozenset(day for day in getattr(table, "weekend_workdays", ()) if day.year == year)
    return days_off, worked


class TimeLimit(NamedTuple):
    """A parsed limit such as "8h": m = minutes, h = hours, d = days."""

    amount: int
    unit: str


def parse_limit(spec: str) -> TimeLimit:
    """Parse a time limit such as "30m", "8h" or "5d" into (amount, unit).

    The amount is a whole number above zero ("90m" rather than "1.5h"). Whether the
    limit is working or clock time is the category's business, not the spec's.
    """
    if not isinstance(spec, str):
        raise ValueError(f"time limit must be a string such as '8h', got {spec!r}")
    match = _LIMIT_PATTERN.fullmatch(spec.strip())
    if match is None:
        raise ValueError(
            f"invalid time limit {spec!r}: expected a whole number followed by "
            "m (minutes), h (hours) or d (days), such as '30m', '8h' or '5d'"
        )
    amount = int(match.group(1))
    if amount == 0:
        raise ValueError(f"invalid time limit {spec!r}: it must be more than zero")
    return TimeLimit(amount, match.group(2))


def add_clock_time(start: datetime, minutes: float) -> datetime:
    """The instant `minutes` of plain elapsed time after `start`: day, night and holidays alike."""
    start_utc = _to_utc(start, "start")
    return start_utc + timedelta(minutes=_non_negative(minutes, "minutes"))


def clock_minutes_between(a: datetime, b: datetime) -> float:
    """Plain elapsed minutes from `a` to `b`; 0 when `b` is not after `a`."""
    a_utc, b_utc = _to_utc(a, "a"), _to_utc(b, "b")
    return max(b_utc - a_utc, timedelta()) / _ONE_MINUTE


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and hours in one time zone, with public holidays and administrator overrides.

    A day is a working day when, first match wins:
    1. it is in `extra_days_off` (an administrator's day off): no;
    2. it is in `extra_working_days` (e.g. a Saturday worked instead): yes;
    3. it is a public holiday of `public_holidays`: no;
    4. it is a weekend day the government swapped into a working day: yes;
    5. otherwise it is a working day unless its weekday is in `weekend`.

    Working time is the union of `periods` on working days, each period half-open:
    07:30 is working time, 11:30 and 17:00 are not. Instants in must be
    timezone-aware; instants out are in UTC. The configuration is immutable and
    hashable; the only state is a per-year cache of holiday lookups.

    Lists and strings are accepted where that helps building from settings:
    periods as ("07:30", "11:30") pairs, dates as "2026-03-14".
    """

    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    weekend: frozenset[int] = DEFAULT_WEEKEND
    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    public_holidays: HolidayProvider = CountryHolidays()
    tz: ZoneInfo = VIETNAM_TZ
    _years: dict[int, tuple[frozenset[date], frozenset[date]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        periods = _normalise_periods(self.periods)
        weekend = frozenset(_weekday_number(day) for day in self.weekend)
        days_off = frozenset(_as_date(day) for day in self.extra_days_off)
        working_days = frozenset(_as_date(day) for day in self.extra_working_days)
        both = days_off & working_days
        if both:
            listed = ", ".join(day.isoformat() for day in sorted(both))
            raise ValueError(f"dates declared both a day off and a working day: {listed}")
        if len(weekend) == 7 and not working_days:
            raise ValueError("every weekday is a weekend day: nothing would ever fall due")
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "weekend", weekend)
        object.__setattr__(self, "extra_days_off", days_off)
        object.__setattr__(self, "extra_working_days", working_days)

    @property
    def minutes_per_working_day(self) -> float:
        """Working minutes in a full working day (480 by default)."""
        return sum(_wall_minutes(start, end) for start, end in self.periods)

    def is_working_day(self, day: date) -> bool:
        """Whether `day`, a calendar date in the calendar's time zone, is a working day."""
        if isinstance(day, datetime):
            # A datetime is a date too; silently taking its date would use the wrong zone.
            raise TypeError("is_working_day takes a date; for an instant use is_working_time")
        if day in self.extra_days_off:
            return False
        if day in self.extra_working_days:
            return True
        days_off, swapped_working_days = self._public_year(day.year)
        if day in days_off:
            return False
        if day in swapped_working_days:
            return True
        return day.weekday() not in self.weekend

    def is_working_time(self, instant: datetime) -> bool:
        """Whether `instant` falls inside a working period of a working day."""
        instant_utc = _to_utc(instant, "instant")
        day = instant_utc.astimezone(self.tz).date()
        if not self.is_working_day(day):
            return False
        return any(start <= instant_utc < end for start, end in self._periods_on(day))

    def next_working_instant(self, instant: datetime) -> datetime:
        """`instant` itself if it is working time, else the start of the next working period."""
        instant_utc = _to_utc(instant, "instant")
        start, _ = next(self._working_periods_from(instant_utc))
        return start

    def add_working_time(self, start: datetime, minutes: float) -> datetime:
        """The instant when `minutes` of working time have elapsed after `start`.

        Counting begins at next_working_instant(start), so 0 minutes gives that instant.
        A count ending exactly at the end of a period returns that end (17:00), not
        the start of the next one.
        """
        start_utc = _to_utc(start, "start")
        return self._add(start_utc, timedelta(minutes=_non_negative(minutes, "minutes")))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """`days` full working days after `start`, at the same position on the working clock.

        Defined as add_working_time(start, days * minutes_per_working_day):
        Monday 09:00 + 1 day is Tuesday 09:00; a report received at 17:30, at night or
        on a holiday starts counting at the next opening, so + 5 days ends at 17:00 on
        the fifth working day; a start in the lunch break counts from 13:00, so + 1 day
        ends at 11:30 the next working day, the same point of working time.
        """
        if isinstance(days, bool) or not isinstance(days, int):
            raise ValueError(f"days must be a whole number, got {days!r}")
        start_utc = _to_utc(start, "start")
        minutes = _non_negative(days, "days") * self.minutes_per_working_day
        return self._add(start_utc, timedelta(minutes=minutes))

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes from `a` to `b`; 0 when `b` is not after `a`."""
        a_utc, b_utc = _to_utc(a, "a"), _to_utc(b, "b")
        return self._between(a_utc, b_utc) / _ONE_MINUTE

    def due_at(self, start: datetime, limit: str, *, urgent: bool) -> datetime:
        """When a step started at `start` with the limit `limit` ("30m", "8h", "5d") falls due.

        Normal and complex categories count working time: m and h are working
        minutes and hours, d is working days (see add_working_days). Urgent
        categories count clock time, day and night: d is 24 hours.
        """
        amount, unit = parse_limit(limit)
        if urgent:
            return add_clock_time(start, amount * _CLOCK_MINUTES_PER_UNIT[unit])
        if unit == "d":
            return self.add_working_days(start, amount)
        return self.add_working_time(start, amount * (60 if unit == "h" else 1))

    def warn_at(
        self, start: datetime, due: datetime, *, urgent: bool, fraction: float = WARN_FRACTION
    ) -> datetime:
        """The instant when `fraction` (75%) of the time from `start` to `due` has elapsed.

        Measured in working time, or in clock time when `urgent`, so a warning never
        lands in a night or a weekend for a working-time limit. Returns `due` when
        there is no time between the two.
        """
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
        start_utc, due_utc = _to_utc(start, "start"), _to_utc(due, "due")
        if urgent:
            span = due_utc - start_utc
            return start_utc + span * fraction if span > timedelta() else due_utc
        span = self._between(start_utc, due_utc)
        if span <= timedelta():
            return due_utc
        return self._add(start_utc, span * fraction)

    def _public_year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        cached = self._years.get(year)
        if cached is None:
            cached = (
                frozenset(self.public_holidays.days_off(year)),
                frozenset(self.public_holidays.weekend_working_days(year)),
            )
            self._years[year] = cached
        return cached

    def _periods_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        for start, end in self.periods:
            yield (
                datetime.combine(day, start, self.tz).astimezone(timezone.utc),
                datetime.combine(day, end, self.tz).astimezone(timezone.utc),
            )

    def _working_periods_from(self, instant_utc: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods ending after `instant_utc`, in order, the first clipped to start there.

        Walks day by day; callers stop consuming when they have what they need.
        """
        day = instant_utc.astimezone(self.tz).date()
        days_without_work = 0
        while True:
            if self.is_working_day(day):
                days_without_work = 0
                for start, end in self._periods_on(day):
                    if end > instant_utc:
                        yield max(start, instant_utc), end
            else:
                days_without_work += 1
                if days_without_work > _MAX_DAYS_WITHOUT_WORK:
                    raise ValueError(
                        f"no working day in the {_MAX_DAYS_WITHOUT_WORK} days before "
                        f"{day.isoformat()}: check the calendar's weekend and days off"
                    )
            day += _ONE_DAY

    def _add(self, start_utc: datetime, amount: timedelta) -> datetime:
        remaining = amount
        for start, end in self._working_periods_from(start_utc):
            span = end - start
            if remaining <= span:
                return start + remaining
            remaining -= span
        raise AssertionError("unreachable: working periods never run out")

    def _between(self, a_utc: datetime, b_utc: datetime) -> timedelta:
        total = timedelta()
        if b_utc <= a_utc:
            return total
        for start, end in self._working_periods_from(a_utc):
            if start >= b_utc:
                break
            total += min(end, b_utc) - start
        return total


def _to_utc(instant: datetime, name: str) -> datetime:
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware, got the naive datetime {instant.isoformat()}"
        )
    return instant.astimezone(timezone.utc)


def _non_negative(amount: float, name: str) -> float:
    if amount < 0:
        raise ValueError(f"{name} must not be negative, got {amount!r}")
    return amount


def _as_time(value: time | str) -> time:
    parsed = time.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, time) or parsed.tzinfo is not None:
        raise ValueError(
            f"a working period bound must be a local time such as 07:30, got {value!r}"
        )
    return parsed


def _as_date(value: date | str) -> date:
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(parsed, datetime) or not isinstance(parsed, date):
        raise ValueError(f"expected a date such as 2026-03-14, got {value!r}")
    return parsed


def _weekday_number(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        raise ValueError(f"weekend days are numbers 0 (Monday) to 6 (Sunday), got {value!r}")
    return value


def _wall_minutes(start: time, end: time) -> float:
    return (datetime.combine(date.min, end) - datetime.combine(date.min, start)) / _ONE_MINUTE


def _normalise_periods(
    periods: Iterable[tuple[time | str, time | str]],
) -> tuple[tuple[time, time], ...]:
    normalised = sorted((_as_time(start), _as_time(end)) for start, end in periods)
    if not normalised:
        raise ValueError("a working day needs at least one working period")
    for start, end in normalised:
        if start >= end:
            raise ValueError(
                f"working period {start:%H:%M}-{end:%H:%M} must end after it starts, the same day"
            )
    for (_, previous_end), (start, end) in zip(normalised, normalised[1:]):
        if start < previous_end:
            raise ValueError(
                f"working period {start:%H:%M}-{end:%H:%M} overlaps the one before it"
            )
    return tuple(normalised)
