"""End to end: time rules on raw FHIR dates (waiting periods, lab windows, ages) through the whole chain.

Evaluation date 2026-11-27 (``EVAL``). Dates are written the way EHRs send them: dateTimes with offsets near
midnight (compared in the configured time zone, UTC by default), Periods with start and end, partial dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cds.results import Verdict
from cds.synthetic import PatientBuilder
from tests.pipeline_support import (
    ADULT,
    CONFIG,
    EVAL,
    MET,
    NB_265,
    NB_UCB,
    NOT_MET,
    REVIEW,
    UNKNOWN,
    adult,
    child,
    criterion,
    evaluate,
    explain,
)

CHEMO = "inc-07-chemo-washout"


def day(offset: int) -> dt.date:
    return EVAL + dt.timedelta(days=offset)


# -- chemotherapy washout (21 days; 42 after a nitrosourea) ------------------------------------------------


@pytest.mark.parametrize(
    ("end", "expected", "clears"),
    [
        (21, MET, None),  # eligibleFrom day itself is eligible
        (20, NOT_MET, day(1)),
        ("2026-11-06", MET, None),
        ("2026-11-07", NOT_MET, day(1)),
        ("2026-11-05T23:30:00-05:00", MET, None),  # 2026-11-06 04:30 UTC
        ("2026-11-06T23:30:00-05:00", NOT_MET, day(1)),  # 2026-11-07 04:30 UTC: a naive date read says 11-06
        ("2026-11-07T00:30:00+02:00", MET, None),  # 2026-11-06 22:30 UTC: a naive date read says 11-07
        ("2026-11-06T23:59:59Z", MET, None),
        ("2026-11-07T00:00:00Z", NOT_MET, day(1)),
    ],
)
def test_chemo_washout_edges_with_time_zones(end, expected, clears) -> None:
    p = child("chemo-tz").med_admin("carboplatin", days_ago=end, route="intravenous")
    result = criterion(p, NB_UCB, CHEMO)
    assert result.result == expected, explain(result)
    assert result.clears_on == clears


def test_chemo_washout_in_a_local_time_zone() -> None:
    """With NK_CDS_TIMEZONE=America/New_York the same instant is 2026-11-06 locally: met."""
    config = replace(CONFIG, timezone="America/New_York")
    p = child("chemo-ny").med_admin("carboplatin", days_ago="2026-11-06T23:30:00-05:00")
    assert criterion(p, NB_UCB, CHEMO, config=config).result == MET
    # 11-06 20:30 in New York
    p = child("chemo-ny2").med_admin("carboplatin", days_ago="2026-11-07T01:30:00+00:00")
    assert criterion(p, NB_UCB, CHEMO, config=config).result == MET
    assert criterion(p, NB_UCB, CHEMO).result == NOT_MET  # UTC: 11-07


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (30, 20, NOT_MET),  # the END of the administration period is the anchor
        (30, 21, MET),
        (22, None, MET),  # a completed administration with a start only: the start is the anchor
        (20, None, NOT_MET),
    ],
)
def test_chemo_period_end_vs_start(start, end, expected) -> None:
    p = child("chemo-period").med_admin("cyclophosphamide", days_ago=start)
    period = {"start": p.date(start)}
    if end is not None:
        period["end"] = p.date(end)
    p.last()["effectivePeriod"] = period
    result = criterion(p, NB_UCB, CHEMO)
    assert result.result == expected, explain(result)


def test_chemo_effective_datetime_instead_of_period() -> None:
    p = child("chemo-edt").med_admin("etoposide", days_ago=0)
    del p.last()["effectivePeriod"]
    p.last()["effectiveDateTime"] = "2026-11-06T10:00:00Z"
    assert criterion(p, NB_UCB, CHEMO).result == MET
    p.last()["effectiveDateTime"] = "2026-11-07T10:00:00Z"
    assert criterion(p, NB_UCB, CHEMO).result == NOT_MET


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("2026-11", UNKNOWN),  # 11-01..11-30 straddles 11-06
        ("2026-10", MET),  # latest 10-31 + 21 = 11-21 <= 11-27
        ("2026", UNKNOWN),
        ("2025", MET),
    ],
)
def test_chemo_partial_dates(end, expected) -> None:
    p = child("chemo-partial").med_admin("doxorubicin", days_ago=end)
    result = criterion(p, NB_UCB, CHEMO)
    assert result.result == expected, explain(result)


def test_partial_date_entirely_inside_the_window_is_not_met() -> None:
    """Every day of the month clears after the evaluation date: not met (clears on the latest possible day)."""
    p = PatientBuilder("chemo-p2", dt.date(2026, 12, 10), age=(8, 40), sex="male").condition(
        "neuroblastoma", onset_days_ago=400
    )
    p.med_admin("doxorubicin", days_ago="2026-12")
    result = criterion(p, NB_UCB, CHEMO, today=dt.date(2026, 12, 10))
    assert result.result == NOT_MET, explain(result)
    assert result.clears_on == dt.date(2027, 1, 21)  # the latest possible day (12-31) + 21


@pytest.mark.parametrize(("days", "expected"), [(42, MET), (41, NOT_MET)])
def test_nitrosourea_washout_edges(days, expected) -> None:
    p = child("nitro").med_admin("lomustine", days_ago=days, route="oral")
    result = criterion(p, NB_UCB, CHEMO)
    assert result.result == expected, explain(result)


def test_nitrosourea_and_chemo_latest_clearing_date_wins() -> None:
    """carboplatin 10 days ago (clears +11), lomustine 30 days ago (clears +12): eligibleFrom = +12."""
    p = child("nitro-both").med_admin("carboplatin", days_ago=10).med_admin("lomustine", days_ago=30)
    result = criterion(p, NB_UCB, CHEMO)
    assert result.result == NOT_MET
    assert result.clears_on == day(12)


@pytest.mark.parametrize(
    ("drug", "days", "expected"),
    [
        ("pegfilgrastim", 14, MET),
        ("pegfilgrastim", 13, NOT_MET),
        ("filgrastim", 3, MET),
        ("filgrastim", 2, NOT_MET),
    ],
)
def test_growth_factor_washout_edges(drug, days, expected) -> None:
    p = child("gcsf").med_admin(drug, days_ago=days, route="subcutaneous")
    result = criterion(p, NB_UCB, "inc-09-growth-factor-washout")
    assert result.result == expected, explain(result)


@pytest.mark.parametrize(
    ("intent", "days", "expected"),
    [
        ("palliative", 13, NOT_MET),
        ("palliative", 14, REVIEW),  # over; TBI is unmapped, so the line stays review
        ("curative", 41, NOT_MET),
        ("curative", 42, REVIEW),
        (None, 20, NOT_MET),  # intent not recorded: the longer 42-day period
        (None, 42, REVIEW),
    ],
)
def test_radiotherapy_washout_edges(intent, days, expected) -> None:
    p = child("rt").procedure("ebrt-photons", days_ago=days, intent=intent)
    result = criterion(p, NB_UCB, "inc-10-radiotherapy-washout")
    assert result.result == expected, explain(result)


@pytest.mark.parametrize(("days", "expected"), [(56, MET), (55, NOT_MET)])
def test_stem_cell_infusion_edges(days, expected) -> None:
    p = child("hsct").procedure("hsct-autologous", days_ago=days)
    assert criterion(p, NB_UCB, "inc-11-stem-cell-infusion").result == expected


@pytest.mark.parametrize(
    ("when", "expected", "clears"),
    [("2026-10-27", MET, None), ("2026-10-28", NOT_MET, day(1)), ("2026-10-28T03:00:00+05:00", MET, None)],
)
def test_live_vaccine_one_calendar_month(when, expected, clears) -> None:
    p = child("mmr").immunization("mmr", days_ago=when)
    result = criterion(p, NB_UCB, "exc-20-live-vaccine")
    assert result.result == expected, explain(result)
    assert result.clears_on == clears


@pytest.mark.parametrize(("days", "expected"), [(14, MET), (13, NOT_MET)])
def test_steroid_two_week_edges(days, expected) -> None:
    p = child("steroid").med_admin("dexamethasone", days_ago=days, route="oral", dose=(4, "mg"))
    assert criterion(p, NB_UCB, "exc-16-steroids-immunosuppression").result == expected


# review: immunotherapy unmapped
@pytest.mark.parametrize(("days", "expected"), [(28, REVIEW), (27, NOT_MET)])
def test_adult_radiotherapy_four_weeks(days, expected) -> None:
    p = adult("rt-adult").procedure("radiotherapy", days_ago=days, intent="palliative")
    assert criterion(p, ADULT, "exc-08-recent-rt-immunotherapy").result == expected


def test_not_yet_eligible_verdict_carries_the_clearing_day() -> None:
    p = child("nye").med_admin("carboplatin", days_ago=15)
    result = evaluate(p, NB_UCB)
    chemo = next(c for c in result.criteria if c.id == CHEMO)
    assert chemo.clears_on == day(6)
    assert result.status in (Verdict.NOT_YET_ELIGIBLE,), result.status
    assert result.eligible_from == day(6)


# -- lab screening window and the latest value ----------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (14, MET),
        (15, UNKNOWN),
        ("2026-11-12T23:30:00-05:00", MET),  # 11-13 UTC: 14 days old
        ("2026-11-13T04:00:00+05:00", UNKNOWN),  # 11-12 UTC: 15 days old
    ],
)
def test_lab_window_edges(when, expected) -> None:
    p = child("win").lab("anc", 1.2, "10*9/L", days_ago=when)
    result = criterion(p, NB_UCB, "inc-12a-anc")
    assert result.result == expected, explain(result)
    if expected == UNKNOWN:
        assert result.evidence, "the stale value is still shown"
        assert any("older" in (e.note or "") for e in result.evidence), explain(result)


def test_lab_window_from_trial_rule() -> None:
    """LVEF has a 28-day window in the trial file."""
    ok = child("lvef-28").lab("lvef", 60, "%", days_ago=28)
    stale = child("lvef-29").lab("lvef", 60, "%", days_ago=29)
    assert criterion(ok, NB_UCB, "exc-02d-lvef").result == MET
    assert criterion(stale, NB_UCB, "exc-02d-lvef").result == UNKNOWN


@pytest.mark.parametrize(
    ("older", "newer", "expected"),
    [((0.4, 9), (1.4, 2), MET), ((1.4, 9), (0.4, 2), NOT_MET)],
)
def test_latest_valid_value_decides(older, newer, expected) -> None:
    p = (
        child("latest")
        .lab("anc", older[0], "10*9/L", days_ago=older[1])
        .lab("anc", newer[0], "10*9/L", days_ago=newer[1])
    )
    assert criterion(p, NB_UCB, "inc-12a-anc").result == expected


def test_same_day_later_time_decides_over_earlier() -> None:
    p = child("sameday")
    p.lab("anc", 0.4, "10*9/L", days_ago="2026-11-25T08:00:00Z")
    p.lab("anc", 1.4, "10*9/L", days_ago="2026-11-25T16:00:00Z")
    result = criterion(p, NB_UCB, "inc-12a-anc")
    # Documented engine rule (CONTRACTS.md): results on the deciding day that disagree contradict each other.
    assert result.result == UNKNOWN, explain(result)
    assert "conflicting" in result.reason


def test_future_dated_lab_is_ignored() -> None:
    p = child("future").lab("anc", 1.4, "10*9/L", days_ago=3).lab("anc", 0.2, "10*9/L", days_ago=-2)
    assert criterion(p, NB_UCB, "inc-12a-anc").result == MET


def test_stale_only_value_shown_and_newer_unusable_reported() -> None:
    p = (
        child("stale-unit")
        .lab("anc", 1.4, "10*9/L", days_ago=20)
        .lab("anc", 2, None, unit_text="bananas", days_ago=1)
    )
    result = criterion(p, NB_UCB, "inc-12a-anc")
    assert result.result == UNKNOWN
    assert len(result.evidence) >= 2, explain(result)


# -- ages on birthday edges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "expected", "expires"),
    [
        ("2007-11-28", MET, day(1)),  # 19th birthday tomorrow: still 18 today
        ("2007-11-27", NOT_MET, None),  # 19th birthday today
        ("2008-11-27", MET, dt.date(2027, 11, 27)),  # 18th birthday today
        ("2026-11-26", MET, None),  # one day old (minimum 1 day)
        ("2026-11-27", NOT_MET, None),  # born today: clears tomorrow
    ],
)
def test_up_to_18_years(born, expected, expires) -> None:
    p = PatientBuilder("age18", EVAL, birth_date=born, sex="male").condition("neuroblastoma")
    result = criterion(p, NB_UCB, "inc-02-age")
    assert result.result == expected, explain(result)
    if expires is not None:
        assert result.expires_on == expires
    if born == "2026-11-27":
        assert result.clears_on == day(1)


@pytest.mark.parametrize(("age", "expected", "clears"), [((2, 0), MET, None), ((1, 364), NOT_MET, day(1))])
def test_minimum_two_years(age, expected, clears) -> None:
    result = criterion(child("age2", age=age), NB_265, "reg-age")
    assert result.result == expected, explain(result)
    assert result.clears_on == clears


@pytest.mark.parametrize(
    ("today", "expected"),
    [(dt.date(2027, 2, 27), MET), (dt.date(2027, 2, 28), NOT_MET), (dt.date(2027, 3, 1), NOT_MET)],
)
def test_leap_day_birthday_19th_birthday_in_a_common_year(today, expected) -> None:
    """Born 2008-02-29: the 19th birthday falls on 2027-02-28 (a common year)."""
    p = PatientBuilder("leap19", today, birth_date="2008-02-29", sex="female").condition("neuroblastoma")
    result = criterion(p, NB_UCB, "inc-02-age", today=today)
    assert result.result == expected, explain(result)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(dt.date(2026, 2, 27), NOT_MET), (dt.date(2026, 2, 28), MET)],
)
def test_leap_day_birthday_minimum_age(today, expected) -> None:
    p = PatientBuilder("leap2", today, birth_date="2024-02-29", sex="male").condition("neuroblastoma")
    result = criterion(p, NB_265, "reg-age", today=today)
    assert result.result == expected, explain(result)
    if expected == NOT_MET:
        assert result.clears_on == dt.date(2026, 2, 28)


@pytest.mark.parametrize(("age", "expected"), [((75, 364), MET), ((76, 0), NOT_MET), ((17, 364), NOT_MET)])
def test_adult_age_range(age, expected) -> None:
    assert criterion(adult("age-adult", age=age), ADULT, "inc-02-age").result == expected


def test_partial_birth_date_straddling_the_edge_is_unknown() -> None:
    """Born sometime in 2007-11: 19 on a day between 2026-11-01 and 11-30 -> unknown on 2026-11-27."""
    p = PatientBuilder("age-partial", EVAL, birth_date="2007-11", sex="male").condition("neuroblastoma")
    result = criterion(p, NB_UCB, "inc-02-age")
    assert result.result == UNKNOWN, explain(result)


# -- procedures, conditions and study participation -------------------------------------------------------


@pytest.mark.parametrize(
    ("performed", "expected"),
    [
        ("2026-10-02T23:30:00-05:00", NOT_MET),  # 2026-10-03 UTC: 55 days
        ("2026-10-02T23:30:00+00:00", MET),  # 56 days
        ("2026-10-03T01:00:00+02:00", MET),  # 2026-10-02 23:00 UTC
    ],
)
def test_hsct_performed_datetime_near_midnight(performed, expected) -> None:
    p = child("hsct-tz").procedure("hsct-autologous", days_ago=performed)
    result = criterion(p, NB_UCB, "inc-11-stem-cell-infusion")
    assert result.result == expected, explain(result)


@pytest.mark.parametrize(("start", "end", "expected"), [(70, 55, NOT_MET), (70, 56, MET)])
def test_hsct_performed_period_uses_end(start, end, expected) -> None:
    p = child("hsct-period").procedure("hsct-autologous", start_days_ago=start, days_ago=end)
    assert criterion(p, NB_UCB, "inc-11-stem-cell-infusion").result == expected


@pytest.mark.parametrize(
    ("onset", "expected"),
    [("2025-11-28", NOT_MET), ("2025-11-27", MET), ("2025-11-28T02:00:00+05:00", MET)],
)
def test_active_thromboembolism_onset_12_month_edges(onset, expected) -> None:
    """Active PE with onset exactly 12 calendar months ago is outside the window (onset + 12 mo = today)."""
    p = child("pe-onset").condition("pulmonary-embolism-icd10", onset_days_ago=onset)
    result = criterion(p, NB_UCB, "exc-05-thromboembolism")
    assert result.result == expected, explain(result)


def test_condition_without_any_date_is_unknown_for_a_within_rule() -> None:
    p = child("pe-nodate").condition("pulmonary-embolism-icd10")
    assert criterion(p, NB_UCB, "exc-05-thromboembolism").result == UNKNOWN


@pytest.mark.parametrize(("ended", "expected"), [(27, NOT_MET), (28, MET)])
def test_other_study_ended_four_weeks_ago(ended, expected) -> None:
    p = child("rs-edge").research_subject(
        "NCT01234567", status="off-study", start_days_ago=100, end_days_ago=ended
    )
    assert criterion(p, NB_UCB, "exc-15-other-trial").result == expected


def test_our_own_candidate_flag_is_not_participation() -> None:
    p = child("rs-cand").research_subject("NCT06631391", status="candidate", start_days_ago=10)
    assert criterion(p, NB_UCB, "exc-15-other-trial").result == MET
    p = child("rs-on").research_subject("NCT01234567", status="on-study", start_days_ago=400)
    assert criterion(p, NB_UCB, "exc-15-other-trial").result == NOT_MET  # ongoing: still participating


@pytest.mark.parametrize(
    ("age", "scale", "expected"), [((15, 300), "lansky", MET), ((16, 0), "karnofsky", NOT_MET)]
)
def test_performance_scale_switches_on_the_16th_birthday(age, scale, expected) -> None:
    """Lansky 60 and Karnofsky 40 on the same day: Lansky decides below 16, Karnofsky from the 16th birthday."""
    p = child("perf", age=age).lansky(60, days_ago=3).karnofsky(40, days_ago=3)
    result = criterion(p, NB_UCB, "inc-03-performance")
    assert result.result == expected, explain(result)
    assert scale in result.reason.lower()


@pytest.mark.parametrize(("days", "expected"), [(30, MET), (31, UNKNOWN)])
def test_performance_window_30_days(days, expected) -> None:
    p = child("perf-win").lansky(80, days_ago=days)
    assert criterion(p, NB_UCB, "inc-03-performance").result == expected


def test_one_month_after_the_31st_clamps_to_the_month_end() -> None:
    """Live vaccine on 2026-10-31: one calendar month later is 2026-11-30 (November has 30 days)."""
    p = child("mmr-31").immunization("varicella", days_ago="2026-10-31T12:00:00Z")
    result = criterion(p, NB_UCB, "exc-20-live-vaccine")
    assert result.result == NOT_MET
    assert result.clears_on == dt.date(2026, 11, 30)


@pytest.mark.parametrize(
    ("status", "end", "expected"),
    [
        # a course running since 60 days ago: current, never "over since day 1"
        ("in-progress", None, NOT_MET),
        ("on-hold", None, NOT_MET),
        ("in-progress", 29, REVIEW),  # period end recorded 29 days ago: over (review: immunotherapy unmapped)
        ("stopped", 10, NOT_MET),  # cut short 10 days ago: still irradiated
        ("not-done", 10, REVIEW),
    ],
)
def test_radiotherapy_course_status_and_period(status, end, expected) -> None:
    p = adult("rt-course").procedure("radiotherapy", start_days_ago=60, days_ago=end, status=status)
    if end is None:
        p.last()["performedPeriod"] = {"start": p.date(60)}
    result = criterion(p, ADULT, "exc-08-recent-rt-immunotherapy")
    assert result.result == expected, explain(result)
    if expected == NOT_MET and end is None:
        assert result.clears_on is None  # current: does not clear by time


def test_stopped_palliative_course_washout_in_child() -> None:
    p = child("rt-stopped").procedure(
        "ebrt-photons", start_days_ago=20, days_ago=10, status="stopped", intent="palliative"
    )
    result = criterion(p, NB_UCB, "inc-10-radiotherapy-washout")
    assert result.result == NOT_MET, explain(result)
    assert result.clears_on == day(4)


def test_lab_window_in_a_local_time_zone() -> None:
    """2026-11-13T03:00Z is 11-13 in UTC (14 days old: counts) but 11-12 in New York (15 days: stale)."""
    p = child("win-ny").lab("anc", 1.2, "10*9/L", days_ago="2026-11-13T03:00:00Z")
    assert criterion(p, NB_UCB, "inc-12a-anc").result == MET
    ny = replace(CONFIG, timezone="America/New_York")
    assert criterion(p, NB_UCB, "inc-12a-anc", config=ny).result == UNKNOWN
