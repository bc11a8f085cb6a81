"""FHIR dates -> FuzzyDate: partial dates, time zones, garbage."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.normalise.dates import add_months, effective, parse_fuzzy, period_bounds


def test_full_date() -> None:
    d = parse_fuzzy("2024-05-14")
    assert d is not None and d.exact and d.earliest == dt.date(2024, 5, 14)


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2023-02", dt.date(2023, 2, 1), dt.date(2023, 2, 28)),
    ],
)
def test_partial_dates_are_intervals(text: str, earliest: dt.date, latest: dt.date) -> None:
    d = parse_fuzzy(text)
    assert d is not None and (d.earliest, d.latest) == (earliest, latest)
    assert not d.exact and str(d) == text


@pytest.mark.parametrize(
    ("text", "tz", "day"),
    [
        ("2024-05-14T23:30:00-05:00", "UTC", dt.date(2024, 5, 15)),
        ("2024-05-14T23:30:00-05:00", "America/Chicago", dt.date(2024, 5, 14)),
        ("2024-05-15T02:00:00Z", "America/New_York", dt.date(2024, 5, 14)),
        ("2024-05-15T02:00:00Z", "Europe/Berlin", dt.date(2024, 5, 15)),
        ("2024-05-14T22:30:00.123+00:00", "Asia/Tokyo", dt.date(2024, 5, 15)),
        ("2024-05-14T10:00:00", "UTC", dt.date(2024, 5, 14)),  # no offset: read as local time
        ("2024-05-14T24:00:00Z", "UTC", dt.date(2024, 5, 15)),
    ],
)
def test_date_times_are_converted_to_the_configured_zone(text: str, tz: str, day: dt.date) -> None:
    d = parse_fuzzy(text, tz)
    assert d is not None and d.exact and d.earliest == day


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "2024-13-01",
        "2024-02-30",
        "0000-01-01",
        "24-05-14",
        "2024-05-14T25:00:00Z",
        "2024-05-14T10:00:00+99:00",
        None,
        20240514,
        ["2024"],
        {"date": "2024"},
        "2024-05-14 " * 10,
    ],
)
def test_garbage_is_none(text: object) -> None:
    assert parse_fuzzy(text) is None


def test_unknown_zone_falls_back_to_utc() -> None:
    d = parse_fuzzy("2024-05-14T23:30:00-05:00", "Not/AZone")
    assert d is not None and d.earliest == dt.date(2024, 5, 15)


def test_effective_choice_types_and_periods() -> None:
    assert effective({"effectiveDateTime": "2024-05-14"}, "effective")[0] == parse_fuzzy("2024-05-14")
    start, end = effective({"effectivePeriod": {"start": "2024-05-01", "end": "2024-05"}}, "effective")
    assert start is not None and end is not None and end.latest == dt.date(2024, 5, 31)
    assert effective({"effectivePeriod": "x"}, "effective") == (None, None)
    assert effective({}, "effective") == (None, None)
    assert period_bounds({"start": "bad"}) == (None, None)


def test_add_months_clamps() -> None:
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2020, 2, 29), 12) == dt.date(2021, 2, 28)
