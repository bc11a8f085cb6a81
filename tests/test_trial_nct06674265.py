"""NCT06674265 (allogeneic NK cells for R/R high-risk neuroblastoma, 2-16 years from the registry).

One eligible child; each test changes one thing. The garbled exclusion lines (catecholamines / marrow-only,
the oxygen line, the organ-toxicity grades) are encoded by their evident intent and carry curatorReview.
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
    days_ago,
    eligible_patient,
    not_met_ids,
    res,
    run,
    run_packaged,
    trial_fixture,
)

CURATED = {
    "exc-04c-chronic-oxygen",
    "exc-04d-spo2",
    "exc-06-catecholamine-or-marrow-only",
    "exc-13-organ-toxicity",
}

trial = trial_fixture("NCT06674265")


def baseline_labs() -> dict[str, Any]:
    return {
        "shortening-fraction": 35,
        "lvef": 62,
        "spo2": 98,
        "vma-urine": lab("vma-urine", 5, ref_high=10),
        "hva-urine": lab("hva-urine", 8, ref_high=15),
        "bilirubin-total": lab("bilirubin-total", 0.4, ref_high=1.0),
        "alt": lab("alt", 25, ref_high=40),
        "ast": lab("ast", 30, ref_high=50),
        "creatinine": lab("creatinine", 0.4, ref_high=0.6),
        "hiv": lab("hiv", coded="negative", on=days_ago(20)),
        "body-weight": 25,
    }


def patient(**changes: Any):
    """The eligible 8-year-old boy with refractory neuroblastoma."""
    defaults = {"age_years": 8, "sex": "male", "conditions": [condition("neuroblastoma", "malignancy")]}
    return eligible_patient(defaults, baseline_labs(), **changes)


def with_nb(*extra) -> list:
    return [condition("neuroblastoma", "malignancy"), *extra]


# ------------------------------------------------------------------------------------------- eligible


def test_eligible_child(trial: Trial) -> None:
    result = run(trial, patient())
    r = res(result)
    assert result.status == Verdict.ELIGIBLE, [(c.id, c.result, c.reason) for c in result.criteria]
    for cid in (
        "reg-age",
        "inc-04-nb-diagnosis",
        "exc-03-cardiac",
        "exc-04d-spo2",
        "exc-04e-effusion",
        "exc-06-catecholamine-or-marrow-only",
        "exc-07-steroids",
        "exc-08-cyp3a4",
        "exc-09-other-malignancy",
        "exc-10-diarrhea",
        "exc-12-other-trial",
        "exc-16-hiv",
    ):
        assert r[cid] == Result.MET, cid
    for cid in (
        "inc-01-refractory-hr-nb",
        "inc-03-life-expectancy",
        "inc-05-measurable-disease",
        "exc-13-organ-toxicity",
        "exc-15-guardian-consent",
    ):
        assert r[cid] == Result.REVIEW, cid


def test_curator_flags_are_on_the_garbled_lines_and_reach_the_result(trial: Trial) -> None:
    flagged = {c.id for c in trial.criteria if c.curator_review}
    assert flagged == CURATED
    assert all(c.note for c in trial.criteria if c.curator_review)
    result = run(trial, patient())
    assert {c.id for c in result.criteria if c.curator_review} == CURATED


def test_age_comes_from_the_registry(trial: Trial) -> None:
    age = next(c for c in trial.criteria if c.id == "reg-age")
    assert age.source == "registry"


# ------------------------------------------------------------------------------------------- age 2 to 16


def test_day_before_2nd_birthday_waits_for_it(trial: Trial) -> None:
    birth = birth_date_for(EVAL, 2, extra_days=-1)  # 2nd birthday is tomorrow
    result = run(trial, patient(birth_date=birth))
    c = crit(result, "reg-age")
    assert c.result == Result.NOT_MET and c.clears_on == EVAL + dt.timedelta(days=1)
    assert not_met_ids(result) == {"reg-age"}
    assert result.status == Verdict.NOT_YET_ELIGIBLE
    assert result.eligible_from == EVAL + dt.timedelta(days=1)


def test_2nd_birthday_is_eligible(trial: Trial) -> None:
    assert run(trial, patient(birth_date=birth_date_for(EVAL, 2))).status == Verdict.ELIGIBLE


def test_16_year_old_on_the_day_before_the_17th_birthday_is_eligible(trial: Trial) -> None:
    result = run(trial, patient(birth_date=birth_date_for(EVAL, 17, extra_days=-1)))
    assert res(result)["reg-age"] == Result.MET
    assert crit(result, "reg-age").expires_on == EVAL + dt.timedelta(days=1)
    assert result.status == Verdict.ELIGIBLE


def test_17th_birthday_is_ineligible(trial: Trial) -> None:
    result = run(trial, patient(birth_date=birth_date_for(EVAL, 17)))
    assert not_met_ids(result) == {"reg-age"}
    assert result.status == Verdict.INELIGIBLE


def test_waiting_period_ending_after_the_17th_birthday_is_ineligible(trial: Trial) -> None:
    # CYP3A4 inhibitor stopped 2 days ago clears in 5 days, but the child turns 17 in 3 days
    facts = patient(
        birth_date=birth_date_for(EVAL, 17, extra_days=-3),
        drugs=[drug("cyp3a4-inhibitor", end=EVAL - dt.timedelta(days=2))],
    )
    assert run(trial, facts).status == Verdict.INELIGIBLE


# ------------------------------------------------------------------------------------------- diagnosis


def test_no_neuroblastoma_is_ineligible(trial: Trial) -> None:
    result = run(trial, patient(conditions=[condition("bone-sarcoma", "sarcoma", "malignancy")]))
    assert {"inc-01-refractory-hr-nb", "inc-04-nb-diagnosis"} <= not_met_ids(result)
    assert result.status == Verdict.INELIGIBLE


# ------------------------------------------------------------------------------------------- cardiac: SF >= 27, EF >= 50


@pytest.mark.parametrize(
    "concept,on_limit,below",
    [("shortening-fraction", 27, 26.9), ("lvef", 50, 49.9)],
)
def test_cardiac_thresholds(trial: Trial, concept: str, on_limit: float, below: float) -> None:
    at = run(trial, patient(labs={concept: on_limit}))
    assert res(at)["exc-03-cardiac"] == Result.MET and at.status == Verdict.ELIGIBLE
    under = run(trial, patient(labs={concept: below}))
    assert not_met_ids(under) == {"exc-03-cardiac"}
    assert under.status == Verdict.INELIGIBLE


def test_cardiac_missing_shortening_fraction_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(drop=("shortening-fraction",)))
    assert res(result)["exc-03-cardiac"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


@pytest.mark.parametrize("age_days,expected", [(28, Result.MET), (29, Result.UNKNOWN)])
def test_echo_window_is_28_days(trial: Trial, age_days: int, expected: Result) -> None:
    day = EVAL - dt.timedelta(days=age_days)
    labs = {"shortening-fraction": lab("shortening-fraction", 35, on=day), "lvef": lab("lvef", 62, on=day)}
    assert res(run(trial, patient(labs=labs)))["exc-03-cardiac"] == expected


# ------------------------------------------------------------------------------------------- pulmonary


@pytest.mark.parametrize("value,expected", [(94, Result.MET), (93, Result.NOT_MET)])
def test_spo2_threshold(trial: Trial, value: float, expected: Result) -> None:
    result = run(trial, patient(labs={"spo2": lab("spo2", value, context={"oxygen": "room-air"})}))
    assert res(result)["exc-04d-spo2"] == expected
    assert not_met_ids(result) == ({"exc-04d-spo2"} if expected == Result.NOT_MET else set())


def test_spo2_missing_or_stale_is_unknown(trial: Trial) -> None:
    assert res(run(trial, patient(drop=("spo2",))))["exc-04d-spo2"] == Result.UNKNOWN
    old = lab("spo2", 85, on=EVAL - dt.timedelta(days=15))
    result = run(trial, patient(labs={"spo2": old}))
    assert res(result)["exc-04d-spo2"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


def test_current_effusion_excludes_and_resolved_does_not(trial: Trial) -> None:
    current = run(trial, patient(conditions=with_nb(condition("pericardial-effusion"))))
    assert not_met_ids(current) == {"exc-04e-effusion"}
    assert current.status == Verdict.INELIGIBLE
    resolved = condition("pleural-effusion", status="resolved", abatement=EVAL - dt.timedelta(days=30))
    assert res(run(trial, patient(conditions=with_nb(resolved))))["exc-04e-effusion"] == Result.MET


# ------------------------------------------------------------------------------------------- catecholamines / marrow only


@pytest.mark.parametrize("concept", ["vma-urine", "hva-urine"])
def test_catecholamines_twice_uln_is_met_and_above_goes_to_review(trial: Trial, concept: str) -> None:
    at = run(trial, patient(labs={concept: lab(concept, 20, ref_high=10)}))
    assert res(at)["exc-06-catecholamine-or-marrow-only"] == Result.MET
    above = run(trial, patient(labs={concept: lab(concept, 21, ref_high=10)}))
    assert res(above)["exc-06-catecholamine-or-marrow-only"] == Result.REVIEW
    assert above.status == Verdict.ELIGIBLE  # never excludes by itself


def test_marrow_involvement_goes_to_review(trial: Trial) -> None:
    result = run(trial, patient(conditions=with_nb(condition("bone-marrow-involvement"))))
    assert res(result)["exc-06-catecholamine-or-marrow-only"] == Result.REVIEW
    assert not not_met_ids(result)


def test_catecholamines_not_measured_goes_to_review_not_unknown(trial: Trial) -> None:
    result = run(trial, patient(drop=("vma-urine", "hva-urine")))
    assert res(result)["exc-06-catecholamine-or-marrow-only"] == Result.REVIEW
    assert result.status == Verdict.ELIGIBLE


# ------------------------------------------------------------------------------------------- steroids >= 0.5 mg/kg/day >= 7 days


def steroid(days: int, mg_per_day: float, last: dt.date = EVAL):
    return drug(
        "corticosteroid-systemic",
        start=last - dt.timedelta(days=days - 1),
        end=last,
        dose_per_day_mg=mg_per_day,
        prednisone_factor=1.0,
        route="oral",
        name="prednisone",
    )


def test_steroid_7_days_at_half_mg_per_kg_excludes(trial: Trial) -> None:
    result = run(trial, patient(drugs=[steroid(7, 12.5)]))  # 12.5 mg / 25 kg = 0.5 mg/kg/day
    assert not_met_ids(result) == {"exc-07-steroids"}
    assert crit(result, "exc-07-steroids").clears_on is not None


@pytest.mark.parametrize("days,mg", [(6, 12.5), (7, 12.0)])
def test_steroid_below_duration_or_dose_is_met(trial: Trial, days: int, mg: float) -> None:
    assert res(run(trial, patient(drugs=[steroid(days, mg)])))["exc-07-steroids"] == Result.MET


def test_steroid_without_body_weight_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(drugs=[steroid(7, 12.5)], drop=("body-weight",)))
    assert res(result)["exc-07-steroids"] == Result.UNKNOWN
    assert "exc-07-steroids" not in not_met_ids(result)


# ------------------------------------------------------------------------------------------- CYP3A4 7 days


def test_cyp3a4_stopped_6_days_ago_waits_until_day_7(trial: Trial) -> None:
    last = EVAL - dt.timedelta(days=6)
    result = run(trial, patient(drugs=[drug("cyp3a4-inducer", end=last)]))
    c = crit(result, "exc-08-cyp3a4")
    assert c.result == Result.NOT_MET and c.clears_on == last + dt.timedelta(days=7)
    assert result.status == Verdict.NOT_YET_ELIGIBLE and result.eligible_from == EVAL + dt.timedelta(days=1)


def test_cyp3a4_stopped_7_days_ago_is_met(trial: Trial) -> None:
    result = run(trial, patient(drugs=[drug("cyp3a4-inhibitor", end=EVAL - dt.timedelta(days=7))]))
    assert res(result)["exc-08-cyp3a4"] == Result.MET
    assert result.status == Verdict.ELIGIBLE


def test_cyp3a4_current_never_clears(trial: Trial) -> None:
    ongoing = drug(
        "cyp3a4-inhibitor", start=EVAL - dt.timedelta(days=30), ongoing=True, source="MedicationStatement"
    )
    result = run(trial, patient(drugs=[ongoing]))
    c = crit(result, "exc-08-cyp3a4")
    assert c.result == Result.NOT_MET and c.clears_on is None
    assert result.status == Verdict.INELIGIBLE


# ------------------------------------------------------------------------------------------- other malignancy, trials, diarrhoea


def test_concurrent_other_malignancy_excludes(trial: Trial) -> None:
    result = run(trial, patient(conditions=with_nb(condition("bone-sarcoma", "sarcoma", "malignancy"))))
    assert not_met_ids(result) == {"exc-09-other-malignancy"}


def test_past_other_malignancy_does_not_count(trial: Trial) -> None:
    old = condition("malignancy", status="resolved", abatement=EVAL - dt.timedelta(days=100))
    assert res(run(trial, patient(conditions=with_nb(old))))["exc-09-other-malignancy"] == Result.MET


def test_other_trial_on_study_excludes_and_finished_does_not(trial: Trial) -> None:
    on = run(trial, patient(research_subjects=[research(status="on-study")]))
    assert not_met_ids(on) == {"exc-12-other-trial"}
    done = research(status="off-study", end=EVAL - dt.timedelta(days=10))
    assert res(run(trial, patient(research_subjects=[done])))["exc-12-other-trial"] == Result.MET


def test_research_source_unavailable_is_unknown(trial: Trial) -> None:
    assert res(run(trial, patient(unavailable=["ResearchSubject"])))["exc-12-other-trial"] == Result.UNKNOWN


def test_chronic_diarrhoea_goes_to_review(trial: Trial) -> None:
    result = run(trial, patient(conditions=with_nb(condition("chronic-diarrhea"))))
    assert res(result)["exc-10-diarrhea"] == Result.REVIEW
    assert result.status == Verdict.ELIGIBLE


# ------------------------------------------------------------------------------------------- organ toxicity > grade 2


@pytest.mark.parametrize(
    "concept,ref_high,on_limit,above",
    [
        ("bilirubin-total", 1.0, 3.0, 3.1),  # grade 3 > 3 x ULN
        ("alt", 40, 200, 201),  # grade 3 > 5 x ULN
        ("ast", 50, 250, 251),
        ("creatinine", 0.6, 1.8, 1.81),  # grade 3 > 3 x ULN (ULN for age)
    ],
)
def test_organ_toxicity_grade_3_labs(
    trial: Trial, concept: str, ref_high: float, on_limit: float, above: float
) -> None:
    at = run(trial, patient(labs={concept: lab(concept, on_limit, ref_high=ref_high)}))
    assert res(at)["exc-13-organ-toxicity"] == Result.REVIEW and at.status == Verdict.ELIGIBLE
    over = run(trial, patient(labs={concept: lab(concept, above, ref_high=ref_high)}))
    assert not_met_ids(over) == {"exc-13-organ-toxicity"}
    assert over.status == Verdict.INELIGIBLE


def test_creatinine_with_fallback_uln_shows_its_source(trial: Trial) -> None:
    fallback = lab("creatinine", 0.4, ref_high=0.6, ref_source="fallback-unverified:cog-creatinine-by-age")
    c = crit(run(trial, patient(labs={"creatinine": fallback})), "exc-13-organ-toxicity")
    assert c.result == Result.REVIEW
    result = run(
        trial,
        patient(
            labs={
                "creatinine": lab(
                    "creatinine", 2.0, ref_high=0.6, ref_source="fallback-unverified:cog-creatinine-by-age"
                )
            }
        ),
    )
    c = crit(result, "exc-13-organ-toxicity")
    assert c.result == Result.NOT_MET
    assert any((e.limitSource or "").startswith("fallback-unverified") for e in c.evidence)


def test_organ_toxicity_missing_lab_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(drop=("bilirubin-total",)))
    assert res(result)["exc-13-organ-toxicity"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


# ------------------------------------------------------------------------------------------- HIV


def test_positive_hiv_serology_excludes(trial: Trial) -> None:
    result = run(trial, patient(labs={"hiv": lab("hiv", coded="positive")}))
    assert not_met_ids(result) == {"exc-16-hiv"}


def test_recorded_hiv_excludes_even_with_an_old_negative_test(trial: Trial) -> None:
    result = run(trial, patient(conditions=with_nb(condition("hiv"))))
    assert not_met_ids(result) == {"exc-16-hiv"}


@pytest.mark.parametrize("age_days,expected", [(90, Result.MET), (91, Result.UNKNOWN)])
def test_hiv_serology_window_is_90_days(trial: Trial, age_days: int, expected: Result) -> None:
    neg = lab("hiv", coded="negative", on=EVAL - dt.timedelta(days=age_days))
    assert res(run(trial, patient(labs={"hiv": neg})))["exc-16-hiv"] == expected


def test_missing_hiv_serology_is_unknown(trial: Trial) -> None:
    result = run(trial, patient(drop=("hiv",)))
    assert res(result)["exc-16-hiv"] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


def test_packaged_mappings_keep_the_eligible_patient_eligible(trial: Trial) -> None:
    assert run_packaged(trial, patient()).status == Verdict.ELIGIBLE
