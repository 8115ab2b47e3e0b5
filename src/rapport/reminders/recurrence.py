"""RFC 5545 recurrence rules of tasks: validation and the next occurrence (python-dateutil).

Rules are expanded on the wall clock of the task's time zone, so "every day
at 09:00" stays at 09:00 local time across daylight-saving changes, and
"monthly on the 31st" / "BYMONTHDAY=-1" follow RFC 5545 (months without a
31st are skipped; -1 is each month's last day).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulebase, rrulestr
from django.core.exceptions import ValidationError

# Sub-hourly rules make no sense for a to-do list and would flood it.
REFUSED_FREQUENCIES = ("SECONDLY", "MINUTELY")
# A rule is expanded at most this far to find the end of a COUNT series.
MAX_EXPANSION = 10_000


def clean_rule(text: str) -> str:
    """The RRULE value to store ("" for none), or a ValidationError saying what is wrong."""
    rule = " ".join((text or "").split()).upper().removeprefix("RRULE:").strip()
    if not rule:
        return ""
    if any(marker in rule for marker in ("DTSTART", "EXDATE", "RDATE", "RRULE:")):
        raise _invalid(text, "give only one RRULE value, such as FREQ=WEEKLY;BYDAY=MO")
    if "FREQ=" not in rule:
        raise _invalid(text, "it needs a FREQ, such as FREQ=DAILY")
    if any(f"FREQ={frequency}" in rule for frequency in REFUSED_FREQUENCIES):
        raise _invalid(text, "tasks repeat at most hourly")
    try:
        _parse(rule, wall_clock(date(2000, 1, 1), time(9, 0)), ZoneInfo("UTC"))
    except (ValueError, TypeError) as error:
        raise _invalid(text, str(error)) from None
    return rule


def next_occurrence(
    rule: str, *, series_start: datetime, after: datetime, zone: ZoneInfo
) -> datetime | None:
    """The first occurrence strictly after ``after``, as a naive wall-clock time in ``zone``.

    ``series_start`` and ``after`` are naive wall-clock times in ``zone`` too.
    None when the series is over (COUNT or UNTIL reached).
    """
    parsed, aware = _parse(rule, series_start, zone)
    pivot = after.replace(tzinfo=zone) if aware else after
    found: datetime | None = parsed.after(pivot, inc=False)
    if found is None:
        return None
    return found.replace(tzinfo=None) if aware else found


def last_occurrence(rule: str, *, series_start: datetime, zone: ZoneInfo) -> datetime | None:
    """The last occurrence of a COUNT-limited series (naive, in ``zone``), else None."""
    parsed, aware = _parse(rule, series_start, zone)
    if getattr(parsed, "_count", None) is None:
        return None
    last: datetime | None = None
    for index, occurrence in enumerate(parsed):
        if index >= MAX_EXPANSION:
            break
        last = occurrence
    if last is None:
        return None
    return last.replace(tzinfo=None) if aware else last


def wall_clock(day: date, at: time | None) -> datetime:
    """A naive local datetime: the time of day, or midnight for an all-day task."""
    return datetime.combine(day, at or time.min)


def _parse(rule: str, start: datetime, zone: ZoneInfo) -> tuple[rrulebase, bool]:
    """The parsed rule and whether it runs on aware datetimes.

    dateutil wants a naive start for a local UNTIL and an aware one for a UTC
    UNTIL (…Z), as RFC 5545 says; the first that parses wins.
    """
    try:
        return rrulestr(rule, dtstart=start), False
    except ValueError as error:
        if "UTC" not in str(error):
            raise
        return rrulestr(rule, dtstart=start.replace(tzinfo=zone)), True


def _invalid(text: str, why: str) -> ValidationError:
    return ValidationError({"recurrence": [f"{text!r} is not a valid RRULE: {why}."]})
