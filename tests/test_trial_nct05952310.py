"""NCT05952310 (haploidentical NK cells for refractory sarcoma, 0-30 years): every computable criterion.

Each test starts from one eligible patient and changes one thing: the criterion it targets fails (or sits
exactly on its threshold) and nothing else moves. Facts are built directly (tests/facts_factory.py); mappings
are a stub so that results depend only on the trial file and the engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cds.results import Result, Verdict
from cds.trials import Trial
from tests.facts_factory import birth_date_for, condition, drug, lab, research
from tests.trial_support import (
    EVAL,
    crit,
    eligible_patient,
    not_met_ids,
    res,
    run,
    run_packaged,
    trial_fixture,
)

ORGAN = ("inc-03-organ-function", "exc-03-severe-organ-impairment")

trial = trial_fixture("NCT05952310")


def baseline_labs() -> dict[str, Any]:
    return {
        "lansky": 80,
        "karnofsky": 80,
        "lvef": 60,
        "bilirubin-total": lab("bilirubin-total", 0.5, ref_high=1.0),
        "alt": lab("alt", 30, ref_high=40),
        "ast": lab("ast", 30, ref_high=40),
        "creatinine": lab("creatinine", 0.5, ref_high=0.7),
    }


def patient(**changes: Any):
    """The eligible 10-year-old boy with sarcoma, with ``labs`` merged in and ``drop`` concepts removed."""
    defaults = {
        "age_years": 10,
        "sex": "male",
        "conditions": [condition("soft-tissue-sarcoma", "sarcoma", "malignancy")],
    }
    return eligible_patient(defaults, baseline_labs(), **changes)


# ------------------------------------------------------------------------------------------- eligible


def test_eligible_child(trial: Trial) -> None:
    result = run(trial, patient())
    r = res(result)
    assert result.status == Verdict.ELIGIBLE, [(c.id, c.result, c.reason) for c in result.criteria]
    assert (
        r["inc-01a-age"] == r["inc-01b-sarcoma"] == r["inc-02-performance"] == r["inc-04-lvef"] == Result.MET
    )
    assert r["exc-05-investigational-drugs"] == r["exc-02b-psychological"] == Result.MET
    # organ grades: labs computed, respiratory part reviewed
    assert r["inc-03-organ-function"] == r["exc-03-severe-organ-impairment"] == Result.REVIEW
    # applicability: a 10-year-old boy
    assert r["inc-05-consent-adult"] == Result.NOT_APPLICABLE
    assert r["inc-06-consent-guardian"] == Result.REVIEW
    assert r["inc-07-assent-mature-minor"] == Result.NOT_APPLICABLE
    assert r["inc-08a-pregnancy-test"] == r["inc-08b-contraception"] == Result.NOT_APPLICABLE
    assert r["inc-09-donor"] == Result.REVIEW


def test_every_criterion_has_a_result_and_no_curator_flags(trial: Trial) -> None:
    result = run(trial, patient())
    assert [c.id for c in result.criteria] == [c.id for c in trial.criteria]
    assert not any(c.curator_review for c in trial.criteria)


# ------------------------------------------------------------------------------------------- age 0 to 30


@pytest.mark.parametrize(
    "birth,expected",
    [
        (EVAL, Result.MET),  # born today: 0 years
        (birth_date_for(EVAL, 31, extra_days=-1), Result.MET),  # 30 years, last day before the 31st birthday
        (birth_date_for(EVAL, 31), Result.NOT_MET),  # the 31st birthday
    ],
)
def test_age_edges(trial: Trial, birth: dt.date, expected: Result) -> None:
    result = run(trial, patient(birth_date=birth))
    assert res(result)["inc-01a-age"] == expected
    if expected == Result.NOT_MET:
        assert result.status == Verdict.INELIGIBLE
        assert not_met_ids(result) == {"inc-01a-age"}
    else:
        assert result.status == Verdict.ELIGIBLE


def test_age_met_expires_on_the_31st_birthday(trial: Trial) -> None:
    birth = dt.date(1996, 6, 15)
    assert crit(run(trial, patient(birth_date=birth)), "inc-01a-age").expires_on == dt.date(2027, 6, 15)


def test_partial_birth_date_straddling_the_31st_birthday_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(birth_date="1995-03"))  # 31st birthday somewhere in March 2026
    assert res(result)["inc-01a-age"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


def test_missing_birth_date_is_unknown_not_ineligible(trial: Trial) -> None:
    result = run(trial, patient(age_years=None))
    assert res(result)["inc-01a-age"] == Result.UNKNOWN
    assert result.status != Verdict.INELIGIBLE


# ------------------------------------------------------------------------------------------- diagnosis


def test_no_sarcoma_is_ineligible(trial: Trial) -> None:
    result = run(trial, patient(conditions=[condition("neuroblastoma", "malignancy")]))
    assert not_met_ids(result) == {"inc-01b-sarcoma"}
    assert result.status == Verdict.INELIGIBLE


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_or_erroneous_sarcoma_does_not_count(trial: Trial, verification: str) -> None:
    result = run(trial, patient(conditions=[condition("sarcoma", verification=verification)]))
    assert res(result)["inc-01b-sarcoma"] == Result.NOT_MET


def test_condition_source_unavailable_is_unknown(trial: Trial) -> None:
    # an unavailable source delivers no records (a record that is present may still decide: engine rule)
    result = run(trial, patient(unavailable=["Condition"], conditions=[]))
    r = res(result)
    assert r["inc-01b-sarcoma"] == Result.UNKNOWN
    assert not not_met_ids(result)
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


# ------------------------------------------------------------------------------------------- performance


@pytest.mark.parametrize("score,expected", [(60, Result.NOT_MET), (61, Result.MET)])
def test_lansky_threshold_under_16(trial: Trial, score: int, expected: Result) -> None:
    result = run(trial, patient(labs={"lansky": score, "karnofsky": 20}))  # Karnofsky ignored at 10 years
    assert res(result)["inc-02-performance"] == expected
    assert not_met_ids(result) == ({"inc-02-performance"} if expected == Result.NOT_MET else set())


@pytest.mark.parametrize("score,expected", [(60, Result.NOT_MET), (61, Result.MET)])
def test_karnofsky_threshold_from_16(trial: Trial, score: int, expected: Result) -> None:
    result = run(trial, patient(age_years=16, labs={"karnofsky": score, "lansky": 20}))
    assert res(result)["inc-02-performance"] == expected
    assert not_met_ids(result) == ({"inc-02-performance"} if expected == Result.NOT_MET else set())


def test_performance_missing_or_stale_is_unknown(trial: Trial) -> None:
    assert res(run(trial, patient(drop=("lansky",))))["inc-02-performance"] == Result.UNKNOWN
    stale = lab("lansky", 90, on=EVAL - dt.timedelta(days=31))
    result = run(trial, patient(labs={"lansky": stale}))
    assert res(result)["inc-02-performance"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


# ------------------------------------------------------------------------------------------- LVEF > 39 %


@pytest.mark.parametrize("value,expected", [(39, Result.NOT_MET), (39.5, Result.MET), (40, Result.MET)])
def test_lvef_threshold(trial: Trial, value: float, expected: Result) -> None:
    result = run(trial, patient(labs={"lvef": value}))
    assert res(result)["inc-04-lvef"] == expected
    assert result.status == (Verdict.INELIGIBLE if expected == Result.NOT_MET else Verdict.ELIGIBLE)
    assert not_met_ids(result) <= {"inc-04-lvef"}


@pytest.mark.parametrize("age_days,expected", [(28, Result.MET), (29, Result.UNKNOWN)])
def test_lvef_window_is_28_days(trial: Trial, age_days: int, expected: Result) -> None:
    echo = lab("lvef", 60, on=EVAL - dt.timedelta(days=age_days))
    assert res(run(trial, patient(labs={"lvef": echo})))["inc-04-lvef"] == expected


def test_stale_low_lvef_is_unknown_not_not_met(trial: Trial) -> None:
    old = lab("lvef", 30, on=EVAL - dt.timedelta(days=60))
    result = run(trial, patient(labs={"lvef": old}))
    assert res(result)["inc-04-lvef"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


def test_unusable_lvef_is_unknown(trial: Trial) -> None:
    bad = lab("lvef", None, problem="unknown unit 'bananas'")
    assert res(run(trial, patient(labs={"lvef": bad})))["inc-04-lvef"] == Result.UNKNOWN


def test_latest_lvef_decides_over_an_older_low_one(trial: Trial) -> None:
    values = [
        lab("lvef", 30, on=EVAL - dt.timedelta(days=10)),
        lab("lvef", 55, on=EVAL - dt.timedelta(days=2)),
    ]
    assert res(run(trial, patient(labs={"lvef": values})))["inc-04-lvef"] == Result.MET


# ------------------------------------------------------------------------------------------- organ grade 4


@pytest.mark.parametrize(
    "concept,ref_high,on_limit,above",
    [
        ("bilirubin-total", 1.0, 10.0, 10.1),  # grade 4 > 10 x ULN
        ("alt", 40, 800, 801),  # grade 4 > 20 x ULN
        ("ast", 40, 800, 801),
        ("creatinine", 0.7, 4.2, 4.3),  # grade 4 > 6 x ULN
    ],
)
def test_organ_grade_4_labs(
    trial: Trial, concept: str, ref_high: float, on_limit: float, above: float
) -> None:
    at = run(trial, patient(labs={concept: lab(concept, on_limit, ref_high=ref_high)}))
    assert all(res(at)[cid] == Result.REVIEW for cid in ORGAN)
    assert at.status == Verdict.ELIGIBLE
    over = run(trial, patient(labs={concept: lab(concept, above, ref_high=ref_high)}))
    assert not_met_ids(over) == set(ORGAN)
    assert over.status == Verdict.INELIGIBLE


def test_organ_lab_without_uln_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(labs={"alt": lab("alt", 30)}))
    assert all(res(result)[cid] == Result.UNKNOWN for cid in ORGAN)
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


def test_organ_lab_missing_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(drop=("creatinine",)))
    assert all(res(result)[cid] == Result.UNKNOWN for cid in ORGAN)
    assert any("creatinine" in n for n in crit(result, ORGAN[0]).needs)


# ------------------------------------------------------------------------------------------- consent applicability


@pytest.mark.parametrize(
    "age,adult,guardian,assent",
    [
        (11, Result.NOT_APPLICABLE, Result.REVIEW, Result.NOT_APPLICABLE),
        (12, Result.NOT_APPLICABLE, Result.REVIEW, Result.REVIEW),
        (17, Result.NOT_APPLICABLE, Result.REVIEW, Result.REVIEW),
        (18, Result.REVIEW, Result.NOT_APPLICABLE, Result.NOT_APPLICABLE),
    ],
)
def test_consent_lines_by_age(
    trial: Trial, age: int, adult: Result, guardian: Result, assent: Result
) -> None:
    perf = "karnofsky" if age >= 16 else "lansky"
    r = res(run(trial, patient(age_years=age, labs={perf: 80})))
    assert (r["inc-05-consent-adult"], r["inc-06-consent-guardian"], r["inc-07-assent-mature-minor"]) == (
        adult,
        guardian,
        assent,
    )


# ------------------------------------------------------------------------------------------- pregnancy test


def test_pregnancy_test_applies_to_girls_from_12(trial: Trial) -> None:
    neg = lab("pregnancy-test", coded="negative")
    r = res(run(trial, patient(age_years=12, sex="female", labs={"pregnancy-test": neg})))
    assert r["inc-08a-pregnancy-test"] == Result.MET
    assert r["inc-08b-contraception"] == Result.REVIEW
    r11 = res(run(trial, patient(age_years=11, sex="female")))
    assert r11["inc-08a-pregnancy-test"] == r11["inc-08b-contraception"] == Result.NOT_APPLICABLE
    r_boy = res(run(trial, patient(age_years=14, sex="male")))
    assert r_boy["inc-08a-pregnancy-test"] == Result.NOT_APPLICABLE


def test_positive_pregnancy_test_fails_only_that_line(trial: Trial) -> None:
    pos = lab("pregnancy-test", coded="positive")
    result = run(trial, patient(age_years=20, sex="female", labs={"pregnancy-test": pos}))
    assert not_met_ids(result) == {"inc-08a-pregnancy-test"}
    assert result.status == Verdict.INELIGIBLE


@pytest.mark.parametrize("age_days,expected", [(7, Result.MET), (8, Result.UNKNOWN)])
def test_pregnancy_test_window_is_7_days(trial: Trial, age_days: int, expected: Result) -> None:
    neg = lab("pregnancy-test", coded="negative", on=EVAL - dt.timedelta(days=age_days))
    r = res(run(trial, patient(age_years=20, sex="female", labs={"pregnancy-test": neg})))
    assert r["inc-08a-pregnancy-test"] == expected


def test_pregnancy_test_missing_for_a_woman_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(age_years=20, sex="female"))
    assert res(result)["inc-08a-pregnancy-test"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


def test_pregnancy_test_with_sex_not_recorded(trial: Trial) -> None:
    neg = lab("pregnancy-test", coded="negative")
    assert (
        res(run(trial, patient(age_years=14, sex=None, labs={"pregnancy-test": neg})))[
            "inc-08a-pregnancy-test"
        ]
        == Result.MET
    )
    assert res(run(trial, patient(age_years=14, sex=None)))["inc-08a-pregnancy-test"] == Result.UNKNOWN


# ------------------------------------------------------------------------------------------- investigational drugs 90 days


def test_investigational_drug_on_day_89_waits_until_day_90(trial: Trial) -> None:
    last = EVAL - dt.timedelta(days=89)
    result = run(trial, patient(drugs=[drug("investigational", end=last)]))
    c = crit(result, "exc-05-investigational-drugs")
    assert c.result == Result.NOT_MET
    assert c.clears_on == last + dt.timedelta(days=90) == EVAL + dt.timedelta(days=1)
    assert result.status == Verdict.NOT_YET_ELIGIBLE
    assert result.eligible_from == EVAL + dt.timedelta(days=1)


def test_investigational_drug_90_days_ago_is_over(trial: Trial) -> None:
    result = run(trial, patient(drugs=[drug("investigational", end=EVAL - dt.timedelta(days=90))]))
    assert res(result)["exc-05-investigational-drugs"] == Result.MET
    assert result.status == Verdict.ELIGIBLE


def test_investigational_drug_partial_date_straddling_the_edge_is_unknown(trial: Trial) -> None:
    # December 2025: day 90 after it falls between 2026-03-01 and 2026-03-31
    result = run(trial, patient(drugs=[drug("investigational", end="2025-12")]))
    assert res(result)["exc-05-investigational-drugs"] == Result.UNKNOWN


def test_investigational_drug_ongoing_never_clears(trial: Trial) -> None:
    result = run(
        trial, patient(drugs=[drug("investigational", start=EVAL - dt.timedelta(days=5), ongoing=True)])
    )
    c = crit(result, "exc-05-investigational-drugs")
    assert c.result == Result.NOT_MET and c.clears_on is None
    assert result.status == Verdict.INELIGIBLE


def test_other_study_enrolment_without_drug_record_goes_to_review(trial: Trial) -> None:
    on_study = research(status="on-study", start=EVAL - dt.timedelta(days=30))
    result = run(trial, patient(research_subjects=[on_study]))
    assert res(result)["exc-05-investigational-drugs"] == Result.REVIEW
    assert result.status == Verdict.ELIGIBLE


def test_medication_sources_unavailable_is_unknown(trial: Trial) -> None:
    result = run(
        trial, patient(unavailable=["MedicationAdministration", "MedicationStatement", "MedicationRequest"])
    )
    assert res(result)["exc-05-investigational-drugs"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


# ------------------------------------------------------------------------------------------- psycho-social


def test_recorded_mental_disorder_goes_to_review_not_exclusion(trial: Trial) -> None:
    conditions = [condition("sarcoma", "malignancy"), condition("mental-disorder")]
    result = run(trial, patient(conditions=conditions))
    assert res(result)["exc-02b-psychological"] == Result.REVIEW
    assert result.status == Verdict.ELIGIBLE


def test_deceased_patient_is_ineligible(trial: Trial) -> None:
    assert run(trial, patient(deceased=True)).status == Verdict.INELIGIBLE


def test_packaged_mappings_keep_the_eligible_patient_eligible(trial: Trial) -> None:
    assert run_packaged(trial, patient()).status == Verdict.ELIGIBLE
