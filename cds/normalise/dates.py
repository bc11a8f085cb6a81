"""FHIR date / dateTime / instant / Period -> :class:`cds.facts.FuzzyDate` in the configured time zone.

* ``2024`` and ``2024-05`` are partial dates: the closed interval of days they could denote.
* A dateTime with a time and an offset (``2024-05-14T23:30:00-05:00``) is converted to the configured time
  zone before taking its day; a dateTime without an offset is read as local time in that zone (FHIR says
  a time must carry an offset, so this only rescues sloppy data).
* Anything else (wrong type, impossible day, year 0) is ``None``: an unknown date, never an exception.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cds.facts import FuzzyDate

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"
)


@lru_cache(maxsize=16)
def zone(name: str) -> dt.tzinfo:
    """The IANA zone, or UTC when the name is unknown (configuration is validated elsewhere)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def parse_fuzzy(value: Any, tz: str = "UTC") -> FuzzyDate | None:
    """A FHIR date, dateTime or instant string -> FuzzyDate, or None when it is not a valid date."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 40:
        return None
    try:
        m = _DATE_RE.match(text)
        if m:
            year_text, month_text, day_text = m.groups()  # (one call instead of one per group)
            year = int(year_text)
            if year < 1:
                return None
            if month_text is None:
                return FuzzyDate(dt.date(year, 1, 1), dt.date(year, 12, 31), text)
            month = int(month_text)
            if day_text is None:
                last = calendar.monthrange(year, month)[1]
                return FuzzyDate(dt.date(year, month, 1), dt.date(year, month, last), text)
            day = dt.date(year, month, int(day_text))
            return FuzzyDate(day, day, text)
        m = _DATETIME_RE.match(text)
        if m:
            groups = m.groups()
            year, month, day, hour, minute = (int(g) for g in groups[:5])
            second = int(groups[5] or 0)
            offset = groups[6]
            if year < 1:
                return None
            if hour == 24 and minute == 0 and second == 0:  # 24:00 is midnight at the end of the day
                hour = 0
                base = dt.datetime(year, month, day) + dt.timedelta(days=1)
                year, month, day = base.year, base.month, base.day
            if offset is None:
                local = dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone(tz))
            else:
                tzinfo = dt.UTC if offset == "Z" else _offset(offset)
                local = dt.datetime(
                    year, month, day, hour, minute, min(second, 59), tzinfo=tzinfo
                ).astimezone(zone(tz))
            d = local.date()
            return FuzzyDate(d, d, d.isoformat())
    except (ValueError, OverflowError):
        return None
    return None


def _offset(text: str) -> dt.tzinfo:
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def period_bounds(period: Any, tz: str = "UTC") -> tuple[FuzzyDate | None, FuzzyDate | None]:
    """(start, end) of a FHIR Period dict; either may be None."""
    if not isinstance(period, dict):
        return None, None
    return parse_fuzzy(period.get("start"), tz), parse_fuzzy(period.get("end"), tz)


def effective(
    resource: dict[str, Any],
    prefix: str,
    tz: str = "UTC",
    parse: Callable[[Any, str], FuzzyDate | None] = parse_fuzzy,
) -> tuple[FuzzyDate | None, FuzzyDate | None]:
    """(start, end) of a choice element ``<prefix>[x]``: DateTime, Instant, Date, Period or String.

    A single point gives start == end. Unparseable values give (None, None). ``parse`` may be a memoised
    :func:`parse_fuzzy` (:class:`DateMemo`).
    """
    points, period_key = _CHOICE_KEYS.get(prefix) or _choice_keys(prefix)
    for key in points:
        value = resource.get(key)
        if value is not None:
            point = parse(value, tz)
            return point, point
    period = resource.get(period_key)
    if not isinstance(period, dict):
        return None, None
    return parse(period.get("start"), tz), parse(period.get("end"), tz)


_CHOICE_KEYS: dict[str, tuple[tuple[str, ...], str]] = {}


def _choice_keys(prefix: str) -> tuple[tuple[str, ...], str]:
    """(``<prefix>DateTime``, ``<prefix>Instant``, ``<prefix>Date``, ``<prefix>String``) and ``<prefix>Period``,
    built once per prefix (a handful of element names from the code, not from records)."""
    keys = _CHOICE_KEYS.get(prefix)
    if keys is None:
        points = tuple(prefix + suffix for suffix in ("DateTime", "Instant", "Date", "String"))
        keys = _CHOICE_KEYS[prefix] = (points, prefix + "Period")
    return keys


class DateMemo:
    """:func:`parse_fuzzy` remembered per (text, zone) for one call: a chart repeats the same timestamps
    (panels, cycles), and the pre-filters parse thousands of them. Pure function of its inputs; never shared
    between calls."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], FuzzyDate | None] = {}

    def __call__(self, value: Any, tz: str = "UTC") -> FuzzyDate | None:
        if not isinstance(value, str):
            return None
        key = (value, tz)
        try:
            return self._seen[key]
        except KeyError:
            parsed = self._seen[key] = parse_fuzzy(value, tz)
            return parsed


def raw_sort_key(resource: dict[str, Any], prefix: str) -> str:
    """A cheap sort key (the raw date text) used to keep the newest candidates before validation."""
    points, period_key = _choice_keys(prefix)
    for key in points[:3]:  # not <prefix>String
        value = resource.get(key)
        if isinstance(value, str):
            return value
    period = resource.get(period_key)
    if isinstance(period, dict):
        for key in ("end", "start"):
            if isinstance(period.get(key), str):
                return period[key]
    issued = resource.get("issued")
    return issued if isinstance(issued, str) else ""


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months later (earlier for negative), clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
