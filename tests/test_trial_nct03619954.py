"""NCT03619954 (NK cell infusion for advanced malignancies, adults 18-75, registry status UNKNOWN).

One eligible adult; each test changes one thing. The trial's status is UNKNOWN in the registry: it is still
evaluated like any other (whether it is suggested is configuration, not the engine's business).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from cds.results import Result, Verdict
from cds.trials import Trial
from tests.facts_factory import allergy, birth_date_for, condition, drug, lab, procedure
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

trial = trial_fixture("NCT03619954")


def baseline_labs() -> dict[str, Any]:
    return {
        "ecog": 1,
        "wbc": 4.5,
        "anc": 2.0,
        "hemoglobin": 120,
        "platelets": 200,
        "bilirubin-total": lab("bilirubin-total", 0.8, ref_high=1.2),
        "alt": lab("alt", 30, ref_high=40),
        "ast": lab("ast", 30, ref_high=40),
        "crcl": 90,
        "tumor-size": 40,
        "spo2": 97,
        "hiv": lab("hiv", coded="negative", on=days_ago(30)),
        "hbsag": lab("hbsag", coded="negative", on=days_ago(30)),
    }


def target() -> Any:
    return condition("malignancy", display="ovarian cancer", onset="2024-02-10")


def patient(**changes: Any):
    """The eligible 50-year-old woman with advanced ovarian cancer (changes: ``eligible_patient``)."""
    return eligible_patient(
        {"age_years": 50, "sex": "female", "conditions": [target()]}, baseline_labs(), **changes
    )


def with_target(*extra) -> list:
    return [target(), *extra]


# ------------------------------------------------------------------------------------------- eligible


def test_unknown_status_trial_is_still_evaluated_and_eligible(trial: Trial) -> None:
    assert trial.status == "UNKNOWN"
    result = run(trial, patient())
    assert result.status == Verdict.ELIGIBLE, [(c.id, c.result, c.reason) for c in result.criteria]
    r = res(result)
    computable = [c.id for c in trial.criteria if c.id.startswith(("inc-02", "inc-03", "inc-06", "inc-07"))]
    assert all(r[cid] == Result.MET for cid in computable), computable
    assert r["exc-01-other-malignancy"] == Result.REVIEW  # the treated tumour itself: clinician decides
    assert r["info-04-priority"] == Result.REVIEW
    assert r["inc-08-consent"] == Result.REVIEW


def test_priority_line_is_informational_and_never_decides(trial: Trial) -> None:
    info = [c for c in trial.criteria if c.type == "informational"]
    assert [c.id for c in info] == ["info-04-priority"]


def test_no_malignancy_is_ineligible(trial: Trial) -> None:
    result = run(trial, patient(conditions=[]))
    assert not_met_ids(result) == {"inc-01a-malignancy"}
    assert result.status == Verdict.INELIGIBLE


# ------------------------------------------------------------------------------------------- age 18 to 75


def test_day_before_18th_birthday_waits_for_it(trial: Trial) -> None:
    result = run(trial, patient(birth_date=birth_date_for(EVAL, 18, extra_days=-1)))
    assert not_met_ids(result) == {"inc-02-age"}
    assert result.status == Verdict.NOT_YET_ELIGIBLE
    assert result.eligible_from == EVAL + dt.timedelta(days=1)


def test_18th_birthday_is_eligible(trial: Trial) -> None:
    assert run(trial, patient(birth_date=birth_date_for(EVAL, 18))).status == Verdict.ELIGIBLE


def test_75_on_the_day_before_the_76th_birthday_is_eligible(trial: Trial) -> None:
    result = run(trial, patient(birth_date=birth_date_for(EVAL, 76, extra_days=-1)))
    assert result.status == Verdict.ELIGIBLE
    assert crit(result, "inc-02-age").expires_on == EVAL + dt.timedelta(days=1)


def test_76th_birthday_is_ineligible(trial: Trial) -> None:
    result = run(trial, patient(birth_date=birth_date_for(EVAL, 76)))
    assert not_met_ids(result) == {"inc-02-age"}
    assert result.status == Verdict.INELIGIBLE


# ------------------------------------------------------------------------------------------- ECOG and labs


@pytest.mark.parametrize(
    "concept,on_limit,failing,cid",
    [
        ("ecog", 1, 2, "inc-03-ecog"),
        ("wbc", 3.0, 2.99, "inc-06-1a-wbc"),
        ("anc", 1.5, 1.49, "inc-06-1b-anc"),
        ("hemoglobin", 90, 89, "inc-06-1c-hemoglobin"),
        ("platelets", 100, 99, "inc-06-1d-platelets"),
        ("crcl", 60, 59.9, "inc-06-3-crcl"),
        ("tumor-size", 60, 61, "inc-07-tumor-size"),
        ("spo2", 91, 90, "exc-11-spo2"),
    ],
)
def test_absolute_thresholds(trial: Trial, concept: str, on_limit: float, failing: float, cid: str) -> None:
    at = run(trial, patient(labs={concept: on_limit}))
    assert res(at)[cid] == Result.MET and at.status == Verdict.ELIGIBLE
    bad = run(trial, patient(labs={concept: failing}))
    assert not_met_ids(bad) == {cid}
    assert bad.status == Verdict.INELIGIBLE


@pytest.mark.parametrize(
    "concept,cid", [("anc", "inc-06-1b-anc"), ("crcl", "inc-06-3-crcl"), ("ecog", "inc-03-ecog")]
)
def test_missing_value_is_unknown(trial: Trial, concept: str, cid: str) -> None:
    result = run(trial, patient(drop=(concept,)))
    assert res(result)[cid] == Result.UNKNOWN
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


@pytest.mark.parametrize("age_days,expected", [(14, Result.NOT_MET), (15, Result.UNKNOWN)])
def test_low_platelets_decide_only_within_14_days(trial: Trial, age_days: int, expected: Result) -> None:
    old = lab("platelets", 50, on=days_ago(age_days))
    assert res(run(trial, patient(labs={"platelets": old})))["inc-06-1d-platelets"] == expected


@pytest.mark.parametrize("age_days,expected", [(28, Result.MET), (29, Result.UNKNOWN)])
def test_tumour_size_window_is_28_days(trial: Trial, age_days: int, expected: Result) -> None:
    size = lab("tumor-size", 40, on=days_ago(age_days))
    assert res(run(trial, patient(labs={"tumor-size": size})))["inc-07-tumor-size"] == expected


def test_unusable_value_is_unknown_and_shown(trial: Trial) -> None:
    bad = lab("hemoglobin", None, problem="unknown unit 'bananas'")
    c = crit(run(trial, patient(labs={"hemoglobin": bad})), "inc-06-1c-hemoglobin")
    assert c.result == Result.UNKNOWN
    assert c.evidence  # the unusable value is shown


def test_bilirubin_1_5_uln(trial: Trial) -> None:
    at = run(trial, patient(labs={"bilirubin-total": lab("bilirubin-total", 1.8, ref_high=1.2)}))
    assert res(at)["inc-06-2a-bilirubin"] == Result.MET
    over = run(trial, patient(labs={"bilirubin-total": lab("bilirubin-total", 1.81, ref_high=1.2)}))
    assert not_met_ids(over) == {"inc-06-2a-bilirubin"}
    no_uln = run(trial, patient(labs={"bilirubin-total": lab("bilirubin-total", 0.5)}))
    assert res(no_uln)["inc-06-2a-bilirubin"] == Result.UNKNOWN


@pytest.mark.parametrize("concept,cid", [("alt", "inc-06-2b-alt"), ("ast", "inc-06-2c-ast")])
def test_transaminases_2_uln_or_5_uln_with_liver_metastasis(trial: Trial, concept: str, cid: str) -> None:
    def value(v: float) -> dict[str, Any]:
        return {concept: lab(concept, v, ref_high=40)}

    assert res(run(trial, patient(labs=value(80))))[cid] == Result.MET  # 2 x ULN
    assert not_met_ids(run(trial, patient(labs=value(80.4)))) == {cid}
    liver = with_target(condition("liver-metastasis"))
    assert res(run(trial, patient(labs=value(120), conditions=liver)))[cid] == Result.MET
    assert res(run(trial, patient(labs=value(200), conditions=liver)))[cid] == Result.MET  # 5 x ULN
    assert not_met_ids(run(trial, patient(labs=value(200.4), conditions=liver))) == {cid}


# ------------------------------------------------------------------------------------------- other malignancy


def test_other_malignancy_lists_recent_ones_for_review(trial: Trial) -> None:
    recent = condition("malignancy", display="breast cancer", status="resolved", abatement="2022-06-01")
    result = run(trial, patient(conditions=with_target(recent)))
    c = crit(result, "exc-01-other-malignancy")
    assert c.result == Result.REVIEW
    assert {e.value for e in c.evidence} == {"ovarian cancer", "breast cancer"}


def test_other_malignancy_disease_free_5_years_is_not_listed(trial: Trial) -> None:
    old = condition("malignancy", display="breast cancer", status="resolved", abatement=dt.date(2021, 3, 1))
    c = crit(run(trial, patient(conditions=with_target(old))), "exc-01-other-malignancy")
    assert [e.value for e in c.evidence] == ["ovarian cancer"]
    edge = condition("malignancy", display="breast cancer", status="resolved", abatement=dt.date(2021, 3, 2))
    c = crit(run(trial, patient(conditions=with_target(edge))), "exc-01-other-malignancy")
    assert "breast cancer" in {e.value for e in c.evidence}


def test_excepted_cured_skin_bcc_is_not_listed(trial: Trial) -> None:
    bcc = condition(
        "malignancy", "basal-cell-carcinoma-skin", display="BCC", status="resolved", abatement="2025-01-01"
    )
    c = crit(run(trial, patient(conditions=with_target(bcc))), "exc-01-other-malignancy")
    assert [e.value for e in c.evidence] == ["ovarian cancer"]


# ------------------------------------------------------------------------------------------- history exclusions


@pytest.mark.parametrize(
    "extra,cid",
    [
        (condition("t-cell-lymphoma", "malignancy"), "exc-04-t-cell-lymphoma"),
        (condition("syphilis"), "exc-06b-syphilis"),
        (condition("hepatitis-b"), "exc-07-hbv-carrier"),
        (condition("pneumonitis"), "exc-10-pneumonitis"),
        (condition("cachexia"), "exc-12-cachexia"),
        (condition("respiratory-failure"), "exc-15d-respiratory-failure"),
        (condition("active-infection"), "exc-16-active-infection"),
        (condition("abdominal-abscess"), "exc-16-active-infection"),
        (condition("solid-organ-transplant", status="inactive"), "exc-03-transplant"),
    ],
)
def test_recorded_condition_excludes(trial: Trial, extra, cid: str) -> None:
    result = run(trial, patient(conditions=with_target(extra)))
    assert cid in not_met_ids(result)
    assert not_met_ids(result) <= {cid}
    assert result.status == Verdict.INELIGIBLE


@pytest.mark.parametrize(
    "extra,cids",
    [
        (
            condition("brain-metastasis"),
            {"exc-02-brain-metastases", "exc-15c-brain-metastasis-consciousness"},
        ),
        (condition("autoimmune-disease"), {"exc-14-autoimmune"}),
        (condition("liver-failure"), {"exc-15b-child-pugh-c"}),
    ],
)
def test_recorded_condition_goes_to_review(trial: Trial, extra, cids: set[str]) -> None:
    result = run(trial, patient(conditions=with_target(extra)))
    assert all(res(result)[cid] == Result.REVIEW for cid in cids)
    assert result.status == Verdict.ELIGIBLE


def test_condition_source_unavailable_is_unknown_not_ineligible(trial: Trial) -> None:
    result = run(trial, patient(unavailable=["Condition"]))
    assert res(result)["exc-10-pneumonitis"] == Result.UNKNOWN
    assert not not_met_ids(result)
    assert result.status == Verdict.POSSIBLY_ELIGIBLE


def test_transplant_procedures(trial: Trial) -> None:
    allo = procedure("hsct-allogeneic", "hsct", end="2020-05-01")
    assert not_met_ids(run(trial, patient(procedures=[allo]))) == {"exc-03-transplant"}
    auto = procedure("hsct-autologous", "hsct", end="2020-05-01")
    assert res(run(trial, patient(procedures=[auto])))["exc-03-transplant"] == Result.REVIEW


def test_biologics_allergy(trial: Trial) -> None:
    assert not_met_ids(run(trial, patient(allergies=[allergy("biologics")]))) == {"exc-05-biologics-allergy"}
    unavailable = run(trial, patient(unavailable=["AllergyIntolerance"]))
    assert res(unavailable)["exc-05-biologics-allergy"] == Result.UNKNOWN


@pytest.mark.parametrize("concept,cid", [("hiv", "exc-06a-hiv"), ("hbsag", "exc-07-hbv-carrier")])
def test_serology(trial: Trial, concept: str, cid: str) -> None:
    assert not_met_ids(run(trial, patient(labs={concept: lab(concept, coded="positive")}))) == {cid}
    assert res(run(trial, patient(drop=(concept,))))[cid] == Result.UNKNOWN
    old = lab(concept, coded="negative", on=days_ago(91))
    assert res(run(trial, patient(labs={concept: old})))[cid] == Result.UNKNOWN


# ------------------------------------------------------------------------------------------- radiotherapy / immunotherapy 4 weeks


def recent_exposure(kind: str, end: dt.date):
    """Facts with one radiotherapy course or one immunotherapy dose ending on ``end``."""
    if kind == "radiotherapy":
        return patient(
            procedures=[procedure("radiotherapy", "radiotherapy-palliative", end=end, body_sites=["bone"])]
        )
    return patient(drugs=[drug("checkpoint-inhibitor", "immunotherapy", end=end)])


@pytest.mark.parametrize("kind", ["radiotherapy", "immunotherapy"])
def test_four_week_wait_edges(trial: Trial, kind: str) -> None:
    last = days_ago(27)  # day D + 27: not yet
    result = run(trial, recent_exposure(kind, last))
    c = crit(result, "exc-08-recent-rt-immunotherapy")
    assert c.result == Result.NOT_MET
    assert c.clears_on == last + dt.timedelta(days=28) == EVAL + dt.timedelta(days=1)
    assert not_met_ids(result) == {"exc-08-recent-rt-immunotherapy"}
    assert result.status == Verdict.NOT_YET_ELIGIBLE and result.eligible_from == EVAL + dt.timedelta(days=1)
    ok = run(trial, recent_exposure(kind, days_ago(28)))  # day D + 28: over
    assert res(ok)["exc-08-recent-rt-immunotherapy"] == Result.MET
    assert ok.status == Verdict.ELIGIBLE


def test_ongoing_radiotherapy_never_clears(trial: Trial) -> None:
    rt = replace(procedure("radiotherapy", start=days_ago(5), status="in-progress"), end=None)
    result = run(trial, patient(procedures=[rt]))
    c = crit(result, "exc-08-recent-rt-immunotherapy")
    assert c.result == Result.NOT_MET and c.clears_on is None
    assert result.status == Verdict.INELIGIBLE


def test_ongoing_immunotherapy_never_clears(trial: Trial) -> None:
    result = run(trial, patient(drugs=[drug("immunotherapy", start=days_ago(10), ongoing=True)]))
    assert crit(result, "exc-08-recent-rt-immunotherapy").clears_on is None
    assert result.status == Verdict.INELIGIBLE


# ------------------------------------------------------------------------------------------- lung / liver radiotherapy 4 months


def lung_rt(end: dt.date, intent: str | None = "curative", sites=("lung",)):
    group = {
        "curative": "radiotherapy-non-palliative",
        "palliative": "radiotherapy-palliative",
        None: "radiotherapy-intent-unknown",
    }[intent]
    return procedure("radiotherapy", group, end=end, intent=intent, body_sites=sites)


def test_lung_radiotherapy_waits_four_calendar_months(trial: Trial) -> None:
    last = dt.date(2025, 11, 2)  # + 4 months = 2026-03-02, the day after EVAL
    result = run(trial, patient(procedures=[lung_rt(last)]))
    c = crit(result, "exc-09-lung-liver-rt")
    assert c.result == Result.NOT_MET and c.clears_on == dt.date(2026, 3, 2)
    assert not_met_ids(result) == {"exc-09-lung-liver-rt"}
    assert result.status == Verdict.NOT_YET_ELIGIBLE
    ok = run(trial, patient(procedures=[lung_rt(dt.date(2025, 11, 1))]))
    assert res(ok)["exc-09-lung-liver-rt"] == Result.MET and ok.status == Verdict.ELIGIBLE


@pytest.mark.parametrize(
    "last,expected", [(dt.date(2026, 3, 2), Result.NOT_MET), (dt.date(2026, 3, 1), Result.MET)]
)
def test_four_months_are_calendar_months_not_120_days(trial: Trial, last: dt.date, expected: Result) -> None:
    # 2026-03-01 + 4 months = 2026-07-01, but + 120 days = 2026-06-29
    facts = patient(evaluation_date=dt.date(2026, 7, 1), procedures=[lung_rt(last)])
    c = crit(run(trial, facts), "exc-09-lung-liver-rt")
    assert c.result == expected
    assert c.clears_on == (dt.date(2026, 7, 2) if expected == Result.NOT_MET else None)


def test_liver_radiotherapy_with_intent_not_recorded_counts_as_high_dose(trial: Trial) -> None:
    result = run(trial, patient(procedures=[lung_rt(days_ago(60), intent=None, sites=("liver",))]))
    assert not_met_ids(result) == {"exc-09-lung-liver-rt"}


def test_palliative_lung_radiotherapy_goes_to_review(trial: Trial) -> None:
    result = run(trial, patient(procedures=[lung_rt(days_ago(60), intent="palliative")]))
    assert res(result)["exc-09-lung-liver-rt"] == Result.REVIEW


def test_radiotherapy_elsewhere_or_without_site(trial: Trial) -> None:
    elsewhere = run(trial, patient(procedures=[lung_rt(days_ago(60), sites=("brain",))]))
    assert res(elsewhere)["exc-09-lung-liver-rt"] == Result.MET
    no_site = run(trial, patient(procedures=[lung_rt(days_ago(60), sites=())]))
    assert res(no_site)["exc-09-lung-liver-rt"] == Result.UNKNOWN


# ------------------------------------------------------------------------------------------- immunosuppressants


def test_current_immunosuppressant_excludes_without_clearing(trial: Trial) -> None:
    result = run(trial, patient(drugs=[drug("immunosuppressant", start=days_ago(100), ongoing=True)]))
    c = crit(result, "exc-13-immunosuppressants")
    assert c.result == Result.NOT_MET and c.clears_on is None
    assert result.status == Verdict.INELIGIBLE


def test_past_immunosuppressant_or_current_steroid_goes_to_review(trial: Trial) -> None:
    past = run(trial, patient(drugs=[drug("immunosuppressant", end="2024-01-10")]))
    assert res(past)["exc-13-immunosuppressants"] == Result.REVIEW
    steroid = drug("corticosteroid-systemic", start=days_ago(20), ongoing=True, route="oral")
    assert res(run(trial, patient(drugs=[steroid])))["exc-13-immunosuppressants"] == Result.REVIEW


# ------------------------------------------------------------------------------------------- heart function grade 4


@pytest.mark.parametrize(
    "nyha,expected",
    [("III", Result.MET), ("IV", Result.NOT_MET), (None, Result.UNKNOWN)],
)
def test_heart_failure_uses_nyha_class(trial: Trial, nyha: str | None, expected: Result) -> None:
    labs = {"nyha-class": lab("nyha-class", coded=nyha, on=days_ago(10))} if nyha else {}
    result = run(trial, patient(labs=labs, conditions=with_target(condition("heart-failure"))))
    assert res(result)["exc-15a-heart-failure-grade-4"] == expected
    assert not_met_ids(result) == ({"exc-15a-heart-failure-grade-4"} if expected == Result.NOT_MET else set())


def test_no_heart_failure_needs_no_nyha_class(trial: Trial) -> None:
    assert res(run(trial, patient()))["exc-15a-heart-failure-grade-4"] == Result.MET


# ------------------------------------------------------------------------------------------- packaged mappings


def test_packaged_mappings_keep_the_eligible_patient_eligible(trial: Trial) -> None:
    assert run_packaged(trial, patient()).status == Verdict.ELIGIBLE


def test_packaged_mappings_unverified_classes_do_not_hide_computable_parts(trial: Trial) -> None:
    rt = run_packaged(trial, recent_exposure("radiotherapy", days_ago(27)))
    assert crit(rt, "exc-08-recent-rt-immunotherapy").result == Result.NOT_MET
    assert rt.status == Verdict.NOT_YET_ELIGIBLE
    allo = run_packaged(trial, patient(procedures=[procedure("hsct-allogeneic", "hsct", end="2020-05-01")]))
    assert crit(allo, "exc-03-transplant").result == Result.NOT_MET
