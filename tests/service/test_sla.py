"""SLA maths in business time: weekends, holidays, daylight saving, time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.service.sla import (
    Clock,
    Schedule,
    ScheduleError,
    add_business_minutes,
    business_minutes_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def office(zone: str = "Europe/Berlin", holidays: frozenset[dt.date] = frozenset()) -> Schedule:
    return Schedule(
        time_zone=zone,
        working_days=frozenset({0, 1, 2, 3, 4}),
        day_start=dt.time(9),
        day_end=dt.time(17),
        holidays=holidays,
    )


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


def test_within_the_same_day() -> None:
    due = add_business_minutes(office(), local(BERLIN, 2025, 12, 1, 10, 0), 60)
    assert due == local(BERLIN, 2025, 12, 1, 11, 0)


def test_rolls_over_the_evening_into_the_next_morning() -> None:
    due = add_business_minutes(office(), local(BERLIN, 2025, 12, 1, 16, 30), 60)
    assert due == local(BERLIN, 2025, 12, 2, 9, 30)


def test_friday_afternoon_is_due_on_monday() -> None:
    due = add_business_minutes(office(), local(BERLIN, 2025, 12, 5, 16, 0), 120)
    assert due == local(BERLIN, 2025, 12, 8, 10, 0)


def test_a_ticket_opened_on_saturday_starts_on_monday_morning() -> None:
    due = add_business_minutes(office(), local(BERLIN, 2025, 12, 6, 11, 0), 30)
    assert due == local(BERLIN, 2025, 12, 8, 9, 30)


def test_opened_before_hours_starts_at_opening() -> None:
    due = add_business_minutes(office(), local(BERLIN, 2025, 12, 2, 6, 0), 15)
    assert due == local(BERLIN, 2025, 12, 2, 9, 15)


def test_holidays_are_skipped() -> None:
    christmas = office(holidays=frozenset({dt.date(2025, 12, 25), dt.date(2025, 12, 26)}))
    due = add_business_minutes(christmas, local(BERLIN, 2025, 12, 24, 16, 0), 120)
    # 24th 16-17 (60), 25th/26th holidays, weekend, Monday 29th 9-10.
    assert due == local(BERLIN, 2025, 12, 29, 10, 0)


def test_spring_forward_night_does_not_shift_office_hours() -> None:
    # Berlin moves to summer time on Sunday 30 March 2025.
    due = add_business_minutes(office(), local(BERLIN, 2025, 3, 28, 16, 0), 120)
    assert due == local(BERLIN, 2025, 3, 31, 10, 0)
    assert due.astimezone(BERLIN).utcoffset() == dt.timedelta(hours=2)
    assert due == dt.datetime(2025, 3, 31, 8, 0, tzinfo=dt.UTC)


def test_a_window_across_a_dst_change_counts_real_time() -> None:
    # A night desk 01:00-04:00 loses an hour on the night the clocks spring forward.
    night = Schedule(
        time_zone="Europe/Berlin",
        working_days=frozenset(range(7)),
        day_start=dt.time(1),
        day_end=dt.time(4),
    )
    start = local(BERLIN, 2025, 3, 30, 1, 0)
    assert business_minutes_between(night, start, local(BERLIN, 2025, 3, 30, 4, 0)) == 120


def test_the_calendar_time_zone_decides_not_the_callers() -> None:
    # 15:00 in New York on a Monday is 21:00 in Berlin: after hours there.
    start = local(NEW_YORK, 2025, 12, 1, 15, 0)
    assert add_business_minutes(office(), start, 60) == local(BERLIN, 2025, 12, 2, 10, 0)
    assert add_business_minutes(office("America/New_York"), start, 60) == local(
        NEW_YORK, 2025, 12, 1, 16, 0
    )


def test_minutes_between_skips_nights_and_weekends() -> None:
    start = local(BERLIN, 2025, 12, 5, 16, 0)  # Friday
    end = local(BERLIN, 2025, 12, 8, 10, 0)  # Monday
    assert business_minutes_between(office(), start, end) == 120
    assert business_minutes_between(office(), end, start) == -120


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(office(), dt.datetime(2025, 12, 1, 10), 10)  # noqa: DTZ001 - on purpose


@pytest.mark.parametrize(
    ("zone", "days", "start", "end", "message"),
    [
        ("Mars/Olympus", {0}, dt.time(9), dt.time(17), "Unknown time zone"),
        ("UTC", set(), dt.time(9), dt.time(17), "at least one working day"),
        ("UTC", {7}, dt.time(9), dt.time(17), "0 \\(Monday\\) to 6"),
        ("UTC", {0}, dt.time(17), dt.time(9), "end after it starts"),
    ],
)
def test_impossible_schedules_are_refused(
    zone: str, days: set[int], start: dt.time, end: dt.time, message: str
) -> None:
    with pytest.raises(ScheduleError, match=message):
        Schedule(time_zone=zone, working_days=frozenset(days), day_start=start, day_end=end)


def test_clock_states() -> None:
    due = dt.datetime(2025, 12, 1, 12, tzinfo=dt.UTC)
    warn = dt.timedelta(minutes=30)
    assert Clock(due).state(due - dt.timedelta(hours=1), warn) == "running"
    assert Clock(due).state(due - dt.timedelta(minutes=10), warn) == "soon"
    assert Clock(due).state(due, warn) == "breached"
    assert Clock(due, done_at=due - dt.timedelta(minutes=1)).state(due, warn) == "met"
    assert Clock(due, done_at=due + dt.timedelta(minutes=1)).state(due, warn) == "missed"
    assert Clock(None, paused=True).state(due, warn) == "paused"


# --- properties ----------------------------------------------------------------------

ZONES = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
)
MOMENTS = st.datetimes(
    min_value=dt.datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=dt.datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
HOLIDAYS = st.frozensets(
    st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 3, 1)), max_size=30
)
SCHEDULES = st.builds(
    Schedule,
    time_zone=ZONES,
    working_days=st.frozensets(st.integers(0, 6), min_size=1),
    day_start=st.sampled_from([dt.time(0), dt.time(7, 30), dt.time(9)]),
    day_end=st.sampled_from([dt.time(12), dt.time(17, 45), dt.time(23, 59)]),
    holidays=HOLIDAYS,
)


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, start=MOMENTS, minutes=st.integers(1, 5000))
def test_due_time_lies_inside_working_hours(
    schedule: Schedule, start: dt.datetime, minutes: int
) -> None:
    due = add_business_minutes(schedule, start, minutes)
    there = due.astimezone(ZoneInfo(schedule.time_zone))
    assert due > start
    assert schedule.is_working_day(there.date())
    window = schedule.window(there.date())
    assert window is not None
    assert window[0] < due <= window[1]


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, start=MOMENTS, minutes=st.integers(0, 5000))
def test_minutes_between_undoes_adding(
    schedule: Schedule, start: dt.datetime, minutes: int
) -> None:
    start = start.replace(second=0, microsecond=0)
    due = add_business_minutes(schedule, start, minutes)
    assert business_minutes_between(schedule, start, due) == minutes


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, start=MOMENTS, first=st.integers(0, 3000), second=st.integers(0, 3000))
def test_adding_in_two_steps_is_adding_once(
    schedule: Schedule, start: dt.datetime, first: int, second: int
) -> None:
    once = add_business_minutes(schedule, start, first + second)
    assert (
        add_business_minutes(schedule, add_business_minutes(schedule, start, first), second) == once
    )


@settings(max_examples=150, deadline=None)
@given(
    schedule=SCHEDULES,
    opened=MOMENTS,
    target=st.integers(1, 3000),
    paused_after=st.integers(0, 3000),
    waited=st.integers(0, 10_000),
)
def test_pausing_moves_the_due_time_by_the_business_time_waited(
    schedule: Schedule, opened: dt.datetime, target: int, paused_after: int, waited: int
) -> None:
    """How tickets pause: target + paused minutes from opening = what was left, from resuming."""
    opened = opened.replace(second=0, microsecond=0)
    used = min(paused_after, target - 1)  # paused while time was left
    paused_at = add_business_minutes(schedule, opened, used)
    resumed_at = paused_at + dt.timedelta(minutes=waited)
    paused = business_minutes_between(schedule, paused_at, resumed_at)
    due = add_business_minutes(schedule, opened, target + paused)
    assert due == add_business_minutes(schedule, resumed_at, target - used)
