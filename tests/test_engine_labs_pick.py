"""``_labs.pick_latest`` stops at the first value that ended before the window once three older values are kept:
the same pick as looking at every value (partial dates, future dates, unusable values, both sides of the edge)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from cds.engine import timerules as tr
from cds.engine.rules._labs import _BY_DATE, MAX_OLD_EVIDENCE, Pick, pick_latest
from cds.facts import FuzzyDate, LabValue
from tests.facts_factory import lab

TODAY = dt.date(2026, 3, 1)


def _every_value(values: list[LabValue], window_days: int, today: dt.date, usable) -> Pick:  # noqa: ANN001
    """The loop without the early stop (as it was before it)."""
    chosen = None
    older: list[LabValue] = []
    unusable: list[LabValue] = []
    same_day: list[LabValue] = []
    for item in sorted(values, key=_BY_DATE, reverse=True):
        if item.date.latest > today:
            continue
        if not usable(item):
            if tr.in_window(item.date, window_days, today):
                unusable.append(item)
            continue
        if tr.in_window(item.date, window_days, today):
            if chosen is None:
                chosen = item
            elif item.date == chosen.date and item.date.exact:
                same_day.append(item)
        elif len(older) < MAX_OLD_EVIDENCE:
            older.append(item)
    return Pick(chosen, tuple(older), tuple(unusable), tuple(same_day))


def _random_date(rng: random.Random) -> FuzzyDate:
    day = TODAY + dt.timedelta(days=rng.randint(-80, 3))
    shape = rng.random()
    if shape < 0.15:  # a month
        first = day.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return FuzzyDate(first, last, first.strftime("%Y-%m"))
    if shape < 0.2:  # a year
        return FuzzyDate(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31), str(day.year))
    return FuzzyDate.of(day)


def _usable(item: LabValue) -> bool:
    return item.value is not None and item.problem is None


@pytest.mark.parametrize("seed", range(300))
def test_the_early_stop_picks_what_every_value_would(seed: int) -> None:
    rng = random.Random(seed)
    values = [
        lab(
            "anc", rng.choice([None, 0.4, 1.5]), on=_random_date(rng), problem=rng.choice([None, None, "bad"])
        )
        for _ in range(rng.randint(0, 25))
    ]
    window = rng.choice([0, 7, 14, 28])
    assert pick_latest(values, window, TODAY, _usable) == _every_value(values, window, TODAY, _usable)


def test_the_edge_of_the_window() -> None:
    """Three older values kept; a value on the window's last day still counts, the day before it does not."""
    window = 14
    edge = TODAY - dt.timedelta(days=window)
    old = [lab("anc", 1.0 + i, on=edge - dt.timedelta(days=10 + i)) for i in range(3)]
    on_edge = lab("anc", 0.4, on=edge)
    assert pick_latest([*old, on_edge], window, TODAY, _usable).value is on_edge
    outside = lab("anc", 0.4, on=edge - dt.timedelta(days=1))
    pick = pick_latest([*old, outside], window, TODAY, _usable)
    assert pick.value is None
    assert pick.older == (outside, old[0], old[1])


def test_a_partial_date_reaching_into_the_window_does_not_stop_the_search() -> None:
    """Months that started before the window but end inside it sort before an exact day in the window: the
    search goes on past them (their start alone does not put the later values out of the window)."""
    today = dt.date(2026, 6, 1)
    may = FuzzyDate(dt.date(2026, 5, 1), dt.date(2026, 5, 31), "2026-05")
    months = [lab("anc", 1.0 + i, on=may) for i in range(4)]
    exact = lab("anc", 0.4, on=dt.date(2026, 5, 20))
    pick = pick_latest([*months, exact], 14, today, _usable)
    assert pick.value is exact
    assert pick.older == tuple(months[:3])


@pytest.mark.parametrize(
    ("today", "window"),
    [
        (dt.date(1, 1, 20), 30),  # the window would start before 0001-01-01: every past day is in it
        (dt.date(1, 1, 20), 19),  # starts on 0001-01-01 exactly
        (dt.date(1, 1, 20), 18),  # starts the day after: 0001-01-01 is out
        (dt.date(2026, 3, 1), 10**6),  # far beyond the calendar
        (dt.date(2026, 3, 1), -1),  # a negative window holds no day
        (dt.date(9999, 12, 30), -5),  # a negative window whose start is past 9999-12-31
    ],
)
def test_windows_at_the_ends_of_the_calendar(today: dt.date, window: int) -> None:
    """The precomputed first day of the window gives what ``tr.in_window`` gives, on both sides of its edge."""
    days = [today - dt.timedelta(days=n) for n in range(0, (today - dt.date.min).days + 1, 1)][:40]
    values = [lab("anc", 1.0 + i, on=FuzzyDate.of(day)) for i, day in enumerate(days)]
    assert pick_latest(values, window, today, _usable) == _every_value(values, window, today, _usable)
    if window > 0 and (today - dt.date.min).days >= 0:
        assert pick_latest(values, window, today, _usable).value is values[0]
