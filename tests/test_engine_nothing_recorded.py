"""Condition and exposure rules answer "nothing recorded" with an outcome built once, when the rule is prepared:
the same outcome as ``conclude`` builds, whichever way a rule gets there."""

from __future__ import annotations

import pytest

from cds.engine.rules._history import conclude, nothing_recorded
from cds.engine.rules.condition import prepare_condition
from cds.engine.rules.exposure import prepare_exposure
from cds.results import Result, make_outcome
from tests.engine_support import run_rule
from tests.facts_factory import condition, drug, make_facts

RULES = [
    {"kind": "condition", "groups": ["interstitial-lung-disease"]},
    {"kind": "condition", "groups": ["neuroblastoma"], "active": False, "within": {"value": 2, "unit": "a"}},
    {
        "kind": "exposure",
        "drugClasses": ["myelosuppressive-chemotherapy"],
        "within": {"value": 21, "unit": "d"},
    },
    {"kind": "exposure", "drugClasses": ["checkpoint-inhibitor"]},
    {"kind": "exposure", "drugClasses": ["corticosteroid-systemic"], "current": True},
]


def _prepare(rule: dict):  # noqa: ANN202
    return prepare_condition(rule) if rule["kind"] == "condition" else prepare_exposure(rule)


@pytest.mark.parametrize(
    "rule", RULES, ids=lambda r: f"{r['kind']}-{r.get('groups') or r.get('drugClasses')}"
)
def test_the_prepared_outcome_is_what_conclude_builds(rule: dict) -> None:
    spec = _prepare(rule)
    assert spec.nothing == conclude((), spec.found, spec.none, spec.outside)
    assert spec.nothing == make_outcome(Result.NOT_MET, spec.none)
    assert conclude((), spec.found, spec.none, spec.outside, spec.nothing) is spec.nothing
    assert nothing_recorded(spec.none) == spec.nothing


@pytest.mark.parametrize(
    "rule", RULES, ids=lambda r: f"{r['kind']}-{r.get('groups') or r.get('drugClasses')}"
)
def test_a_rule_with_no_matching_record_is_not_met_with_its_none_text(rule: dict) -> None:
    spec = _prepare(rule)
    other = make_facts(conditions=[condition("asthma")], drugs=[drug("antiemetic", end="2026-02-20")])
    outcome = run_rule(rule, other)
    assert outcome == make_outcome(Result.NOT_MET, spec.none)


def test_a_matching_record_is_not_the_nothing_outcome() -> None:  # the other side
    rule = RULES[0]
    outcome = run_rule(rule, make_facts(conditions=[condition("interstitial-lung-disease")]))
    assert outcome.result == Result.MET
    assert outcome != _prepare(rule).nothing
