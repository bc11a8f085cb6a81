"""Every date rule of the criteria engine, in one place.

Durations
    ``{value: N, unit: d|wk|mo|a}``. Days and weeks are exact (a week is 7 days). Months and years are
    calendar arithmetic from the anchor day: 2024-01-31 + 1 month = 2024-02-29, 2023-01-31 + 1 month =
    2023-02-28, 2024-02-29 + 1 year = 2025-02-28. A day that does not exist in the target month is clamped
    to that month's last day. Multiples are always computed from the anchor (never step by step), so
    2024-01-31 + 2 months = 2024-03-31.

Waiting periods
    "At least N after an exposure ending on day D" is met from ``D + N``: that day itself is eligible
    (:func:`reached`). An exposure is "within N" of the evaluation date exactly when the period is not over.
    With several exposures the latest clearing day wins (:func:`combine_waits`).

Partial dates
    A :class:`~cds.facts.FuzzyDate` covers ``[earliest, latest]``. If the evaluation date is on or after
    ``latest + N`` the period is over for every possible day; if it is before ``earliest + N`` it is over for
    none (still waiting, clearing at the latest on ``latest + N``); otherwise the date straddles the edge and the
    answer is undecidable (``Tri.UNKNOWN``).

Ages
    Completed years/months/days as people count them; a birthday on 29 February falls on 28 February in
    common years (the clamp rule above). A minimum age ``min`` is reached on ``birth + min``. A maximum ``N``
    units is inclusive in completed units: it is met while fewer than ``N + 1`` units are completed, so an
    18-year-old meets "up to 18 years" until the day before the 19th birthday; the 19th birthday is the first
    day it is not met (:func:`age_limit_day`).

Lab windows
    A value dated ``D`` is inside a window of ``W`` days on day ``E`` when ``E - D <= W`` (a 14-day-old value
    still counts); it falls out of the window on ``D + W + 1`` (:func:`stale_on`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from cds.facts import FuzzyDate

UNITS = ("d", "wk", "mo", "a")
_UNIT_WORDS = {
    "d": ("day", "days"),
    "wk": ("week", "weeks"),
    "mo": ("month", "months"),
    "a": ("year", "years"),
}


class Tri(Enum):
    """A three-valued answer: true, false, or undecidable from the recorded dates."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Duration:
    value: int
    unit: str  # d | wk | mo | a

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown duration unit {self.unit!r}")
        if self.value < 0:
            raise ValueError("a duration cannot be negative")

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Duration:
        return cls(int(spec["value"]), str(spec["unit"]))

    def plus_one_unit(self) -> Duration:
        return Duration(self.value + 1, self.unit)

    @property
    def text(self) -> str:
        singular, plural = _UNIT_WORDS[self.unit]
        return f"{self.value} {singular if self.value == 1 else plural}"

    def __str__(self) -> str:
        return self.text


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if day.day <= 28:  # every month has this day: no clamping (and no month-length lookup) needed
        return dt.date(year, month, day.day)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def add(day: dt.date, duration: Duration) -> dt.date:
    """``day + duration`` with calendar months/years clamped to the month end (see module docs)."""
    if duration.unit == "d":
        return day + dt.timedelta(days=duration.value)
    if duration.unit == "wk":
        return day + dt.timedelta(days=7 * duration.value)
    if duration.unit == "mo":
        return _add_months(day, duration.value)
    return _add_months(day, 12 * duration.value)


def subtract(day: dt.date, duration: Duration) -> dt.date:
    """``day - duration`` (calendar months/years clamped to the month end)."""
    if duration.unit == "d":
        return day - dt.timedelta(days=duration.value)
    if duration.unit == "wk":
        return day - dt.timedelta(days=7 * duration.value)
    months = duration.value if duration.unit == "mo" else 12 * duration.value
    return _add_months(day, -months)


class Reach(NamedTuple):
    """Whether ``anchor + duration`` has been reached on a given day.

    ``first`` is the earliest day it may be reached (partial anchors), ``certain`` the day from which it is
    reached whatever the true anchor day was. For an exact anchor both are the same day.
    (A named tuple: immutable and cheap to build; rules build one per dated record.)
    """

    state: Tri
    first: dt.date
    certain: dt.date


def reached(anchor: FuzzyDate, duration: Duration, on: dt.date) -> Reach:
    """Has the period ``duration`` after ``anchor`` ended by day ``on``? (``anchor + duration`` counts as ended.)"""
    first = add(anchor.earliest, duration)
    # an exact date (the common case) has one day: its period ends on that one day
    certain = first if anchor.latest == anchor.earliest else add(anchor.latest, duration)
    if on >= certain:
        state = Tri.TRUE
    elif on < first:
        state = Tri.FALSE
    else:
        state = Tri.UNKNOWN
    return Reach(state, first, certain)


def certainly_over(anchor: FuzzyDate, duration: Duration, on: dt.date) -> bool:
    """``reached(anchor, duration, on).state == Tri.TRUE``, without building the :class:`Reach`."""
    return on >= add(anchor.latest, duration)


def last_day_over(duration: Duration, on: dt.date) -> dt.date | None:
    """The last anchor day whose period ``duration`` is over on ``on``: the latest ``d`` with ``add(d, duration) <= on``
    (None when there is none: the period reaches back past the first day a date can hold).

    ``add`` never decreases as the anchor moves later, so ``certainly_over(anchor, duration, on)`` holds exactly
    when ``anchor.latest <= last_day_over(duration, on)``: a rule that checks many records computes this once.
    ``subtract`` gives a day whose period is over; with months and years several anchor days can end on the same
    (clamped) day, so the later ones are stepped through (at most three days).
    """
    try:
        day = subtract(on, duration)
    except (OverflowError, ValueError):  # before 0001-01-01: even that day's period ends after ``on``
        return None
    while add(day + _ONE_DAY, duration) <= on:
        day += _ONE_DAY
    return day


_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Wait:
    """The combined waiting period of several exposures.

    ``state`` TRUE = every period is over; FALSE = at least one is certainly still running; UNKNOWN = none
    certainly running but one straddles the edge. ``clears_on`` = the day every period is certainly over
    (the latest clearing day wins); None when the state is TRUE.
    """

    state: Tri
    clears_on: dt.date | None


def combine_waits(reaches: Iterable[Reach]) -> Wait:
    """Several exposures: the latest clearing day wins."""
    items = list(reaches)
    open_items = [r for r in items if r.state != Tri.TRUE]
    if not open_items:
        return Wait(Tri.TRUE, None)
    clears = max(r.certain for r in open_items)
    state = Tri.FALSE if any(r.state == Tri.FALSE for r in open_items) else Tri.UNKNOWN
    return Wait(state, clears)


def age_reached(birth: FuzzyDate, minimum: Duration, on: dt.date) -> Reach:
    """Has the patient reached the minimum age on ``on``? ``certain`` is the birthday that reaches it."""
    return reached(birth, minimum, on)


def age_limit_day(birth: dt.date, maximum: Duration) -> dt.date:
    """The first day a patient is older than "up to ``maximum``" (inclusive in completed units)."""
    return add(birth, maximum.plus_one_unit())


def aged_out(birth: FuzzyDate, maximum: Duration, on: dt.date) -> Reach:
    """Is the patient past "up to ``maximum``" on ``on``? ``first`` = the earliest possible ageing-out day."""
    return reached(birth, maximum.plus_one_unit(), on)


def completed_years(birth: dt.date, on: dt.date) -> int:
    """Completed years of age on ``on`` (a 29 February birthday counts on 28 February in common years)."""
    years = on.year - birth.year
    if add(birth, Duration(years, "a")) > on:
        years -= 1
    return years


def completed(birth: dt.date, on: dt.date, unit: str) -> int:
    """Completed whole ``unit`` (d, wk, mo, a) between ``birth`` and ``on``."""
    if unit == "d":
        return (on - birth).days
    if unit == "wk":
        return (on - birth).days // 7
    if unit == "a":
        return completed_years(birth, on)
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if _add_months(birth, months) > on:
        months -= 1
    return months


def age_text(birth: FuzzyDate, on: dt.date) -> str:
    """A short human age: "10 years", "7 months", "12 days" (from the earliest possible birth day)."""
    years = completed_years(birth.latest, on)
    if years >= 2:
        return f"{years} years"
    months = completed(birth.latest, on, "mo")
    if months >= 1:
        return f"{months} month{'s' if months != 1 else ''}"
    days = max((on - birth.latest).days, 0)
    return f"{days} day{'s' if days != 1 else ''}"


def in_window(day: FuzzyDate, window_days: int, on: dt.date) -> bool:
    """Is a value dated ``day`` certainly no older than ``window_days`` on ``on`` (and not in the future)?"""
    return (on - day.earliest).days <= window_days and day.latest <= on


def stale_on(day: FuzzyDate, window_days: int) -> dt.date:
    """The first day a value dated ``day`` is older than its window."""
    return day.earliest + dt.timedelta(days=window_days + 1)
