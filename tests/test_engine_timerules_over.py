"""``timerules.last_day_over``: the cut-off day that replaces ``certainly_over`` per record in exposure rules."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.engine import timerules as tr
from cds.facts import FuzzyDate

DURATIONS = [tr.Duration(v, u) for u in tr.UNITS for v in (0, 1, 2, 3, 6, 13)]
DAYS = [dt.date(2023, 1, 27) + dt.timedelta(days=i) for i in range(0, 800, 1)]


@pytest.mark.parametrize("duration", DURATIONS, ids=str)
def test_last_day_over_is_the_edge_of_certainly_over(duration: tr.Duration) -> None:
    """Both sides of the edge on every day of two years (month ends, 29 February, year ends)."""
    for on in DAYS + [
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 31),
        dt.date(2025, 2, 28),
        dt.date(2024, 12, 31),
    ]:
        edge = tr.last_day_over(duration, on)
        assert tr.certainly_over(FuzzyDate.of(edge), duration, on)
        assert not tr.certainly_over(FuzzyDate.of(edge + dt.timedelta(days=1)), duration, on)


def test_month_end_anchors_that_clamp_to_the_same_day_are_all_over() -> None:
    # 2025-01-29, -30 and -31 + 1 month all end on 2025-02-28
    assert tr.last_day_over(tr.Duration(1, "mo"), dt.date(2025, 2, 28)) == dt.date(2025, 1, 31)
    assert tr.last_day_over(tr.Duration(1, "mo"), dt.date(2025, 2, 27)) == dt.date(2025, 1, 27)
    assert tr.last_day_over(tr.Duration(1, "a"), dt.date(2025, 2, 28)) == dt.date(2024, 2, 29)
    assert tr.last_day_over(tr.Duration(21, "d"), dt.date(2026, 11, 27)) == dt.date(2026, 11, 6)


def test_a_period_reaching_back_past_the_first_date_has_no_day_over() -> None:
    on = dt.date(2026, 11, 27)
    assert tr.last_day_over(tr.Duration(3000, "a"), on) is None
    assert tr.last_day_over(tr.Duration(800_000, "d"), on) is None
    assert tr.last_day_over(tr.Duration(2025, "a"), on) == dt.date(1, 11, 27)  # the first year still works
    assert not tr.certainly_over(FuzzyDate.of(dt.date(1, 1, 1)), tr.Duration(3000, "a"), on)


@pytest.mark.parametrize("duration", DURATIONS, ids=str)
def test_reached_on_an_exact_anchor_is_anchor_plus_duration(duration: tr.Duration) -> None:
    """``reached`` adds once for an exact anchor: the same answer as adding to both ends, on both sides of
    the edge (the day before, the day itself and the day after ``anchor + duration``)."""
    for anchor_day in DAYS[::7] + [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2023, 12, 31)]:
        end = tr.add(anchor_day, duration)
        for on, state in (
            (end - dt.timedelta(days=1), tr.Tri.FALSE),
            (end, tr.Tri.TRUE),
            (end + dt.timedelta(days=1), tr.Tri.TRUE),
        ):
            assert tr.reached(FuzzyDate.of(anchor_day), duration, on) == tr.Reach(state, end, end)


def test_reached_on_a_partial_anchor_still_spans_both_ends() -> None:
    may = FuzzyDate(dt.date(2024, 5, 1), dt.date(2024, 5, 31), "2024-05")
    month = tr.Duration(1, "mo")
    first, certain = dt.date(2024, 6, 1), dt.date(2024, 6, 30)
    assert tr.reached(may, month, dt.date(2024, 5, 31)) == tr.Reach(tr.Tri.FALSE, first, certain)
    assert tr.reached(may, month, first) == tr.Reach(tr.Tri.UNKNOWN, first, certain)
    assert tr.reached(may, month, dt.date(2024, 6, 29)) == tr.Reach(tr.Tri.UNKNOWN, first, certain)
    assert tr.reached(may, month, certain) == tr.Reach(tr.Tri.TRUE, first, certain)
