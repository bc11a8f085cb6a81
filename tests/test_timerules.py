"""Edge tests of every date rule in cds.engine.timerules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds.engine import timerules as tr
from cds.facts import FuzzyDate
from tests.facts_factory import fuzzy

D = dt.date


def dur(value: int, unit: str) -> tr.Duration:
    return tr.Duration(value, unit)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (D(2026, 1, 10), dur(21, "d"), D(2026, 1, 31)),
        (D(2026, 1, 10), dur(0, "d"), D(2026, 1, 10)),
        (D(2026, 1, 10), dur(2, "wk"), D(2026, 1, 24)),  # weeks are 7 days
        (D(2026, 12, 31), dur(1, "d"), D(2027, 1, 1)),
        (D(2024, 1, 31), dur(1, "mo"), D(2024, 2, 29)),  # clamp to month end, leap year
        (D(2023, 1, 31), dur(1, "mo"), D(2023, 2, 28)),  # clamp, common year
        (D(2024, 1, 31), dur(2, "mo"), D(2024, 3, 31)),  # computed from the anchor, no drift
        (D(2024, 3, 31), dur(1, "mo"), D(2024, 4, 30)),
        (D(2024, 11, 15), dur(3, "mo"), D(2025, 2, 15)),  # across a year end
        (D(2024, 2, 29), dur(1, "a"), D(2025, 2, 28)),  # leap day + 1 year
        (D(2024, 2, 29), dur(4, "a"), D(2028, 2, 29)),
        (D(2010, 6, 15), dur(18, "a"), D(2028, 6, 15)),
    ],
)
def test_add(start: dt.date, duration: tr.Duration, expected: dt.date) -> None:
    assert tr.add(start, duration) == expected


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (D(2026, 1, 31), dur(21, "d"), D(2026, 1, 10)),
        (D(2026, 1, 31), dur(1, "wk"), D(2026, 1, 24)),
        (D(2024, 3, 31), dur(1, "mo"), D(2024, 2, 29)),
        (D(2025, 2, 28), dur(1, "a"), D(2024, 2, 28)),
        (D(2024, 2, 29), dur(1, "a"), D(2023, 2, 28)),
    ],
)
def test_subtract(start: dt.date, duration: tr.Duration, expected: dt.date) -> None:
    assert tr.subtract(start, duration) == expected


def test_duration_rejects_bad_units_and_negative_values() -> None:
    with pytest.raises(ValueError):
        tr.Duration(1, "y")
    with pytest.raises(ValueError):
        tr.Duration(-1, "d")
    assert tr.Duration.parse({"value": 3, "unit": "mo"}) == dur(3, "mo")
    assert str(dur(1, "d")) == "1 day" and str(dur(21, "d")) == "21 days" and str(dur(5, "a")) == "5 years"


class TestWaitingPeriod:
    """21 days after an exposure ending on 2026-02-10: eligible from 2026-03-03 (that day included)."""

    end = FuzzyDate.of(D(2026, 2, 10))

    def test_day_before_clearing_is_still_waiting(self) -> None:
        reach = tr.reached(self.end, dur(21, "d"), D(2026, 3, 2))
        assert reach.state == tr.Tri.FALSE
        assert reach.certain == D(2026, 3, 3)

    def test_clearing_day_itself_is_eligible(self) -> None:
        assert tr.reached(self.end, dur(21, "d"), D(2026, 3, 3)).state == tr.Tri.TRUE

    def test_day_after_is_eligible(self) -> None:
        assert tr.reached(self.end, dur(21, "d"), D(2026, 3, 4)).state == tr.Tri.TRUE

    def test_same_day_as_exposure(self) -> None:
        assert tr.reached(self.end, dur(21, "d"), D(2026, 2, 10)).state == tr.Tri.FALSE

    def test_zero_period_is_over_on_the_same_day(self) -> None:
        assert tr.reached(self.end, dur(0, "d"), D(2026, 2, 10)).state == tr.Tri.TRUE


class TestPartialDates:
    """An exposure in "2026-01" with a 21-day period: 2026-01-22 .. 2026-02-21 is the straddle zone."""

    month = fuzzy("2026-01")

    def test_before_earliest_clearing_is_false(self) -> None:
        reach = tr.reached(self.month, dur(21, "d"), D(2026, 1, 21))
        assert reach.state == tr.Tri.FALSE
        assert (reach.first, reach.certain) == (D(2026, 1, 22), D(2026, 2, 21))

    def test_first_possible_clearing_day_is_unknown(self) -> None:
        assert tr.reached(self.month, dur(21, "d"), D(2026, 1, 22)).state == tr.Tri.UNKNOWN

    def test_last_straddle_day_is_unknown(self) -> None:
        assert tr.reached(self.month, dur(21, "d"), D(2026, 2, 20)).state == tr.Tri.UNKNOWN

    def test_certain_clearing_day_is_true(self) -> None:
        assert tr.reached(self.month, dur(21, "d"), D(2026, 2, 21)).state == tr.Tri.TRUE

    def test_year_only(self) -> None:
        year = fuzzy("2020")
        assert tr.reached(year, dur(5, "a"), D(2024, 12, 31)).state == tr.Tri.FALSE
        assert tr.reached(year, dur(5, "a"), D(2025, 1, 1)).state == tr.Tri.UNKNOWN
        assert tr.reached(year, dur(5, "a"), D(2025, 12, 30)).state == tr.Tri.UNKNOWN
        assert tr.reached(year, dur(5, "a"), D(2025, 12, 31)).state == tr.Tri.TRUE


class TestSeveralExposures:
    def test_latest_clearing_date_wins(self) -> None:
        today = D(2026, 3, 1)
        chemo = tr.reached(FuzzyDate.of(D(2026, 2, 20)), dur(21, "d"), today)  # clears 2026-03-13
        nitro = tr.reached(FuzzyDate.of(D(2026, 2, 1)), dur(42, "d"), today)  # clears 2026-03-15
        wait = tr.combine_waits([chemo, nitro])
        assert wait == tr.Wait(tr.Tri.FALSE, D(2026, 3, 15))
        assert tr.combine_waits([nitro, chemo]) == wait

    def test_all_over(self) -> None:
        today = D(2026, 3, 1)
        old = tr.reached(FuzzyDate.of(D(2025, 1, 1)), dur(21, "d"), today)
        assert tr.combine_waits([old, old]) == tr.Wait(tr.Tri.TRUE, None)
        assert tr.combine_waits([]) == tr.Wait(tr.Tri.TRUE, None)

    def test_straddling_only_is_unknown_and_certain_one_decides(self) -> None:
        today = D(2026, 2, 1)
        straddle = tr.reached(fuzzy("2026-01"), dur(21, "d"), today)
        running = tr.reached(FuzzyDate.of(D(2026, 1, 30)), dur(21, "d"), today)
        assert tr.combine_waits([straddle]).state == tr.Tri.UNKNOWN
        both = tr.combine_waits([straddle, running])
        assert both.state == tr.Tri.FALSE
        assert both.clears_on == D(2026, 2, 21)  # the later of 2026-02-20 and 2026-02-21


class TestAges:
    birth = FuzzyDate.of(D(2008, 6, 15))

    def test_eighteen_year_old_meets_up_to_18(self) -> None:
        assert tr.aged_out(self.birth, dur(18, "a"), D(2026, 6, 15)).state == tr.Tri.FALSE
        assert tr.aged_out(self.birth, dur(18, "a"), D(2027, 6, 14)).state == tr.Tri.FALSE

    def test_nineteenth_birthday_does_not(self) -> None:
        out = tr.aged_out(self.birth, dur(18, "a"), D(2027, 6, 15))
        assert out.state == tr.Tri.TRUE
        assert tr.age_limit_day(D(2008, 6, 15), dur(18, "a")) == D(2027, 6, 15)

    def test_minimum_age_is_reached_on_the_birthday(self) -> None:
        assert tr.age_reached(self.birth, dur(2, "a"), D(2010, 6, 14)).state == tr.Tri.FALSE
        reach = tr.age_reached(self.birth, dur(2, "a"), D(2010, 6, 15))
        assert reach.state == tr.Tri.TRUE and reach.certain == D(2010, 6, 15)

    def test_leap_day_birthday(self) -> None:
        leap = FuzzyDate.of(D(2008, 2, 29))
        # 18th birthday in a common year falls on 28 February
        assert tr.age_reached(leap, dur(18, "a"), D(2026, 2, 27)).state == tr.Tri.FALSE
        assert tr.age_reached(leap, dur(18, "a"), D(2026, 2, 28)).state == tr.Tri.TRUE
        assert tr.completed_years(D(2008, 2, 29), D(2026, 2, 27)) == 17
        assert tr.completed_years(D(2008, 2, 29), D(2026, 2, 28)) == 18
        # in a leap year the birthday is 29 February itself
        assert tr.completed_years(D(2008, 2, 29), D(2028, 2, 28)) == 19
        assert tr.completed_years(D(2008, 2, 29), D(2028, 2, 29)) == 20
        assert tr.age_limit_day(D(2008, 2, 29), dur(17, "a")) == D(2026, 2, 28)

    def test_minimum_in_days(self) -> None:
        newborn = FuzzyDate.of(D(2026, 3, 1))
        assert tr.age_reached(newborn, dur(1, "d"), D(2026, 3, 1)).state == tr.Tri.FALSE
        assert tr.age_reached(newborn, dur(1, "d"), D(2026, 3, 2)).state == tr.Tri.TRUE

    def test_completed_units(self) -> None:
        assert tr.completed(D(2025, 1, 31), D(2025, 2, 28), "mo") == 1
        assert tr.completed(D(2025, 1, 31), D(2025, 2, 27), "mo") == 0
        assert tr.completed(D(2025, 1, 1), D(2025, 1, 15), "wk") == 2
        assert tr.completed(D(2025, 1, 1), D(2025, 1, 15), "d") == 14


class TestLabWindow:
    def test_edges_of_a_14_day_window(self) -> None:
        today = D(2026, 3, 1)
        assert tr.in_window(FuzzyDate.of(D(2026, 2, 15)), 14, today)  # exactly 14 days old
        assert not tr.in_window(FuzzyDate.of(D(2026, 2, 14)), 14, today)  # 15 days old
        assert tr.in_window(FuzzyDate.of(today), 14, today)
        assert not tr.in_window(FuzzyDate.of(D(2026, 3, 2)), 14, today)  # future

    def test_stale_on(self) -> None:
        assert tr.stale_on(FuzzyDate.of(D(2026, 2, 15)), 14) == D(2026, 3, 2)
        assert not tr.in_window(FuzzyDate.of(D(2026, 2, 15)), 14, D(2026, 3, 2))


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    anchor=st.dates(min_value=D(1990, 1, 1), max_value=D(2030, 12, 31)),
    value=st.integers(min_value=0, max_value=400),
    unit=st.sampled_from(tr.UNITS),
)
def test_reached_is_monotonic_around_the_clearing_day(anchor: dt.date, value: int, unit: str) -> None:
    duration = dur(value, unit)
    clears = tr.add(anchor, duration)
    exact = FuzzyDate.of(anchor)
    assert tr.reached(exact, duration, clears).state == tr.Tri.TRUE
    assert tr.reached(exact, duration, clears - dt.timedelta(days=1)).state == tr.Tri.FALSE
    assert clears >= anchor


def _reference_add_months(day: dt.date, months: int) -> dt.date:
    """The clamp rule spelled out with the calendar module for every day (no fast path)."""
    import calendar

    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


@pytest.mark.parametrize("months", [-25, -13, -12, -1, 0, 1, 2, 11, 12, 13, 24, 48])
def test_month_arithmetic_matches_the_clamp_rule_on_both_sides_of_day_28(months: int) -> None:
    day = dt.date(2023, 1, 1)
    while day <= dt.date(2024, 12, 31):  # a common and a leap year: days 28, 29, 30, 31 of every month
        assert tr._add_months(day, months) == _reference_add_months(day, months)
        if months >= 0:
            assert tr.add(day, tr.Duration(months, "mo")) == _reference_add_months(day, months)
            assert tr.subtract(day, tr.Duration(months, "mo")) == _reference_add_months(day, -months)
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("anchor", [FuzzyDate.of(dt.date(2024, 1, 31)), fuzzy("2024-02"), fuzzy("2023")])
@pytest.mark.parametrize("duration", [tr.Duration(21, "d"), tr.Duration(1, "mo"), tr.Duration(1, "a")])
def test_certainly_over_is_reached_true_on_both_sides_of_the_edge(
    anchor: FuzzyDate, duration: tr.Duration
) -> None:
    edge = tr.add(anchor.latest, duration)
    for on in (anchor.earliest, edge - dt.timedelta(days=1), edge, edge + dt.timedelta(days=1)):
        assert tr.certainly_over(anchor, duration, on) == (
            tr.reached(anchor, duration, on).state == tr.Tri.TRUE
        )
    assert not tr.certainly_over(anchor, duration, edge - dt.timedelta(days=1))
    assert tr.certainly_over(anchor, duration, edge)
