"""Trial verdicts, appliesWhen, repeat-before-enrolment and the result JSON Schema."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from jsonschema import Draft202012Validator

from cds.paths import SCHEMA_DIR
from cds.results import Result, TrialResult, Verdict
from tests.engine_support import criterion, make_trial, run_trial
from tests.facts_factory import condition, drug, lab, make_facts

TODAY = dt.date(2026, 3, 1)
ANC = {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0}
NB = {"kind": "condition", "groups": ["neuroblastoma"]}
AGE = {"kind": "age", "max": {"value": 18, "unit": "a"}}
NO_CHEMO = {
    "kind": "not",
    "rule": {
        "kind": "exposure",
        "drugClasses": ["myelosuppressive-chemotherapy"],
        "within": {"value": 21, "unit": "d"},
    },
}
REVIEW = {"kind": "review", "reason": "informed consent"}

RESULT_VALIDATOR = Draft202012Validator(json.loads((SCHEMA_DIR / "result.schema.json").read_text()))


def trial(*rules: dict, complete: bool = True, informational: dict | None = None):  # noqa: ANN201
    items = [criterion(r, cid=f"inc-{i:02d}", text=f"criterion {i}") for i, r in enumerate(rules, 1)]
    if informational:
        items.append(criterion(informational, cid="info-01", ctype="informational", text="priority"))
    return make_trial(criteria=items, complete=complete)


def valid(result: TrialResult) -> dict:
    doc = result.to_json()
    errors = [e.message for e in RESULT_VALIDATOR.iter_errors(doc)]
    assert not errors, errors
    return doc


def facts(**kw):  # noqa: ANN003, ANN201
    kw.setdefault("age_years", 10)
    kw.setdefault("conditions", [condition("neuroblastoma", "malignancy")])
    kw.setdefault("labs", {"anc": 1.5})
    return make_facts(TODAY, **kw)


def test_eligible_with_review_items() -> None:
    result = run_trial(trial(NB, ANC, AGE, REVIEW), facts())
    assert result.status == Verdict.ELIGIBLE
    doc = valid(result)
    assert [c["result"] for c in doc["criteria"]] == ["met", "met", "met", "review"]
    assert "eligibleFrom" not in doc


def test_possibly_eligible_when_something_is_unknown() -> None:
    result = run_trial(trial(NB, ANC), facts(labs={}))
    assert result.status == Verdict.POSSIBLY_ELIGIBLE
    doc = valid(result)
    assert doc["criteria"][1]["needs"] == ["ANC within 14 days"]


def test_ineligible_when_not_met_forever() -> None:
    result = run_trial(trial(NB, ANC), facts(conditions=[]))
    assert result.status == Verdict.INELIGIBLE
    valid(result)


def test_deceased_is_ineligible() -> None:
    result = run_trial(trial(NB, ANC), facts(deceased=True))
    assert result.status == Verdict.INELIGIBLE
    assert "deceased" in result.notes[0]


def test_not_yet_eligible_with_eligible_from() -> None:
    f = facts(drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-20")])
    result = run_trial(trial(NB, NO_CHEMO, ANC), f)
    assert result.status == Verdict.NOT_YET_ELIGIBLE
    assert result.eligible_from == dt.date(2026, 3, 13)
    doc = valid(result)
    assert doc["eligibleFrom"] == "2026-03-13"
    assert doc["criteria"][1]["clearsOn"] == "2026-03-13"


def test_not_yet_eligible_latest_clearing_day_wins() -> None:
    surgery = {
        "kind": "not",
        "rule": {
            "kind": "exposure",
            "procedureGroups": ["major-surgery"],
            "within": {"value": 4, "unit": "wk"},
        },
    }
    from tests.facts_factory import procedure

    f = facts(
        drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-20")],
        procedures=[procedure("major-surgery", end="2026-02-25")],
    )
    result = run_trial(trial(NB, NO_CHEMO, surgery), f)
    assert result.eligible_from == dt.date(2026, 3, 25)


def test_ages_out_before_eligible_from_is_ineligible() -> None:
    from tests.facts_factory import birth_date_for

    # turns 19 on 2026-03-13 = the day the waiting period ends: ineligible
    born = birth_date_for(dt.date(2026, 3, 13), 19)
    f = facts(
        age_years=None, birth_date=born, drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-20")]
    )
    result = run_trial(trial(NB, NO_CHEMO, AGE), f)
    assert result.status == Verdict.INELIGIBLE
    assert result.eligible_from is None
    valid(result)
    # one day later birthday: still eligible on 2026-03-13
    born = birth_date_for(dt.date(2026, 3, 14), 19)
    f = facts(
        age_years=None, birth_date=born, drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-20")]
    )
    result = run_trial(trial(NB, NO_CHEMO, AGE), f)
    assert result.status == Verdict.NOT_YET_ELIGIBLE
    assert valid(result)["criteria"][2]["expiresOn"] == "2026-03-14"


def test_below_minimum_age_is_not_yet_eligible_from_birthday() -> None:
    rule = {"kind": "age", "min": {"value": 2, "unit": "a"}, "max": {"value": 16, "unit": "a"}}
    f = facts(age_years=None, birth_date=dt.date(2024, 3, 10))
    result = run_trial(trial(NB, rule), f)
    assert result.status == Verdict.NOT_YET_ELIGIBLE and result.eligible_from == dt.date(2026, 3, 10)


def test_repeat_before_enrolment() -> None:
    f = facts(
        labs={"anc": lab("anc", 1.5, on="2026-02-20")},  # leaves the 14-day window on 2026-03-07
        drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-20")],
    )
    result = run_trial(trial(NB, NO_CHEMO, ANC), f)
    assert result.status == Verdict.NOT_YET_ELIGIBLE
    anc = result.criteria[2]
    assert anc.stale_on == dt.date(2026, 3, 7)
    assert any(n.startswith("repeat before enrolment") for n in result.notes)
    assert valid(result)["criteria"][2]["repeatBefore"] == "2026-03-07"


def test_fresh_lab_needs_no_repeat_and_eligible_never_repeats() -> None:
    f = facts(
        labs={"anc": lab("anc", 1.5, on="2026-03-01")},  # stale from 2026-03-16, after eligibleFrom 03-13
        drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-20")],
    )
    result = run_trial(trial(NB, NO_CHEMO, ANC), f)
    assert result.criteria[2].stale_on is None
    assert not any("repeat" in n for n in result.notes)
    eligible = run_trial(trial(NB, ANC), facts())
    assert all(c.stale_on is None for c in eligible.criteria)


def test_criteria_incomplete_caps_at_possibly_eligible() -> None:
    result = run_trial(trial(NB, ANC, complete=False), facts())
    assert result.status == Verdict.POSSIBLY_ELIGIBLE
    assert any("registry" in n for n in result.notes)
    doc = valid(result)
    assert doc["criteriaComplete"] is False
    assert run_trial(trial(NB, ANC, complete=False), facts(conditions=[])).status == Verdict.INELIGIBLE


def test_informational_criteria_never_affect_the_verdict() -> None:
    result = run_trial(trial(NB, informational={"kind": "condition", "groups": ["hiv"]}), facts())
    assert result.criteria[-1].result == Result.NOT_MET
    assert result.status == Verdict.ELIGIBLE


PREGNANCY = {"kind": "coded", "concept": "pregnancy-test", "in": ["negative"]}
FEMALE = {"kind": "sex", "in": ["female"]}


@pytest.mark.parametrize(
    ("sex", "labs", "expected"),
    [
        ("male", {}, Result.NOT_APPLICABLE),
        ("female", {}, Result.UNKNOWN),
        (None, {"pregnancy-test": lab("pregnancy-test", coded="negative", on=TODAY)}, Result.MET),
        (None, {"pregnancy-test": lab("pregnancy-test", coded="positive", on=TODAY)}, Result.UNKNOWN),
        ("female", {"pregnancy-test": lab("pregnancy-test", coded="positive", on=TODAY)}, Result.NOT_MET),
    ],
)
def test_applies_when(sex: str | None, labs: dict, expected: Result) -> None:
    t = make_trial(criteria=[criterion(PREGNANCY, appliesWhen=FEMALE)])
    result = run_trial(t, make_facts(TODAY, sex=sex, labs=labs))
    assert result.criteria[0].result == expected
    valid(result)


def test_not_applicable_counts_as_met() -> None:
    t = make_trial(
        criteria=[criterion(NB, cid="inc-01"), criterion(PREGNANCY, cid="inc-02", appliesWhen=FEMALE)]
    )
    assert run_trial(t, facts(sex="male")).status == Verdict.ELIGIBLE


def test_curator_review_flag_is_carried() -> None:
    t = make_trial(criteria=[criterion(NB, curatorReview=True, note="garbled in the source")])
    doc = valid(run_trial(t, facts()))
    assert doc["criteria"][0]["curatorReview"] is True


def test_result_schema_rejects_bad_documents() -> None:
    doc = run_trial(trial(NB), facts()).to_json()
    bad = json.loads(json.dumps(doc))
    bad["criteria"][0]["result"] = "maybe"
    assert list(RESULT_VALIDATOR.iter_errors(bad))
    bad = json.loads(json.dumps(doc))
    bad["eligibleFrom"] = "2026-03-01"  # only for not-yet-eligible
    assert list(RESULT_VALIDATOR.iter_errors(bad))
    bad = json.loads(json.dumps(doc))
    bad["criteria"][0]["evidence"] = [{"resource": "Observation/x", "colour": "red"}]
    assert list(RESULT_VALIDATOR.iter_errors(bad))


def test_clearing_stale_on_keeps_every_other_field() -> None:
    import dataclasses

    from cds.engine.verdict import _without_stale
    from cds.results import CriterionResult, Evidence

    c = CriterionResult(
        "I1",
        "inclusion",
        "ANC >= 1.0",
        Result.MET,
        "why",
        (Evidence("Observation/1", 1.5),),
        dt.date(2026, 1, 1),
        dt.date(2027, 1, 1),
        ("x",),
        True,
        dt.date(2026, 12, 1),
    )
    assert all(getattr(c, f.name) != f.default for f in dataclasses.fields(c))  # every field set
    assert _without_stale(c) == dataclasses.replace(c, stale_on=None)
