"""SLA arithmetic in business time. Pure: no Django import, tested on its own.

A ``Schedule`` is a desk's working week in its own time zone: working days,
one daily window (``day_start``..``day_end`` local wall-clock time) and
holidays. Business time is real elapsed time inside those windows, so a
window that spans a daylight-saving change is an hour shorter or longer,
like the staff's actual day. All datetimes in and out are timezone-aware.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Enough to cross any plausible run of holidays; a longer search means a
# schedule with no working time at all, which is refused up front.
MAX_DAYS = 3 * 366
ZERO = dt.timedelta(0)


class ScheduleError(ValueError):
    """The schedule cannot give any working time."""


@dataclass(frozen=True)
class Schedule:
    time_zone: str
    working_days: frozenset[int]  # Monday = 0 ... Sunday = 6
    day_start: dt.time
    day_end: dt.time
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        check_schedule(self.time_zone, self.working_days, self.day_start, self.day_end)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working window of a local ``day`` in UTC, or None on a day off."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        start = dt.datetime.combine(day, self.day_start, tzinfo=zone).astimezone(dt.UTC)
        end = dt.datetime.combine(day, self.day_end, tzinfo=zone).astimezone(dt.UTC)
        return start, end

    def windows_from(self, moment: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working windows from the local day of ``moment`` on (the first may be in the past)."""
        day = _aware(moment).astimezone(self.zone).date()
        for offset in range(MAX_DAYS):
            window = self.window(day + dt.timedelta(days=offset))
            if window is not None:
                yield window
        raise ScheduleError(f"No working day within {MAX_DAYS} days (holidays?)")


def check_schedule(
    time_zone: str, working_days: frozenset[int], day_start: dt.time, day_end: dt.time
) -> None:
    """Raise ``ScheduleError`` naming what is wrong with these settings."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"Unknown time zone {time_zone!r}.") from None
    if not working_days:
        raise ScheduleError("Choose at least one working day.")
    if not all(isinstance(d, int) and 0 <= d <= 6 for d in working_days):
        raise ScheduleError("Working days are 0 (Monday) to 6 (Sunday).")
    if day_end <= day_start:
        raise ScheduleError("The working day must end after it starts.")


def add_business_minutes(schedule: Schedule, start: dt.datetime, minutes: int) -> dt.datetime:
    """The moment when ``minutes`` of business time have passed since ``start`` (in UTC)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    start = _aware(start).astimezone(dt.UTC)
    remaining = dt.timedelta(minutes=minutes)
    if remaining == ZERO:
        return start
    for window_start, window_end in schedule.windows_from(start):
        cursor = max(start, window_start)
        if cursor >= window_end:
            continue
        available = window_end - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
    raise AssertionError("windows_from ends by raising")  # pragma: no cover


def business_time_between(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Business time from ``start`` to ``end``; negative when ``end`` is earlier."""
    start = _aware(start).astimezone(dt.UTC)
    end = _aware(end).astimezone(dt.UTC)
    if end < start:
        return -business_time_between(schedule, end, start)
    zone = schedule.zone
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    total = ZERO
    while day <= last:
        window = schedule.window(day)
        if window is not None:
            overlap = min(end, window[1]) - max(start, window[0])
            if overlap > ZERO:
                total += overlap
        day += dt.timedelta(days=1)
    return total


def business_minutes_between(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> int:
    """Whole business minutes from ``start`` to ``end`` (rounded toward zero)."""
    seconds = business_time_between(schedule, start, end).total_seconds()
    return int(seconds / 60)


@dataclass(frozen=True)
class Clock:
    """One SLA target of a ticket, as shown to staff."""

    due: dt.datetime | None
    done_at: dt.datetime | None = None
    paused: bool = False

    def state(self, now: dt.datetime, warning: dt.timedelta) -> str:
        """``met``, ``missed``, ``paused``, ``breached``, ``soon``, ``running`` or ``none``."""
        if self.done_at is not None:
            if self.due is None or self.done_at <= self.due:
                return "met"
            return "missed"
        if self.paused:
            return "paused"
        if self.due is None:
            return "none"
        if now >= self.due:
            return "breached"
        if now >= self.due - warning:
            return "soon"
        return "running"


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("SLA maths needs timezone-aware datetimes")
    return moment
