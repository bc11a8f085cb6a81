"""A rule that finds no record answers with its prepared "nothing recorded" outcome; a ``not`` over it and a
criterion made of it use answers built at compile time (``Node.nothing``, ``CompiledCriterion.nothing_result``):
the same outcomes and results as negating and building them per call, with and without review overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.engine import combinators, plan
from cds.engine.context import Context
from cds.engine.criterion import evaluate_criterion
from cds.engine.criterion_result import criterion_result
from cds.facts import PatientFacts
from cds.results import Result
from tests.engine_support import (
    CONFIG,
    FEMALE_ONLY,
    StubMappings,
    criterion,
    make_trial,
    results_by_sex,
    run_trial,
)
from tests.facts_factory import condition, drug, make_facts

TODAY = dt.date(2026, 3, 1)
ILD = {"kind": "condition", "groups": ["interstitial-lung-disease"]}
CHEMO = {
    "kind": "exposure",
    "drugClasses": ["myelosuppressive-chemotherapy"],
    "within": {"value": 21, "unit": "d"},
}
ANC = {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0}
OVERRIDES = [{}, {"ifTrue": "review"}, {"ifFalse": "review", "reviewReason": "x"}]


def _facts(with_records: bool) -> PatientFacts:
    if not with_records:
        return make_facts(TODAY, age_years=10)
    return make_facts(
        TODAY,
        age_years=10,
        conditions=[condition("interstitial-lung-disease")],
        drugs=[drug("myelosuppressive-chemotherapy", name="carboplatin", start=TODAY - dt.timedelta(days=3))],
    )


def _ctx(facts: PatientFacts) -> Context:
    return Context(facts=facts, config=CONFIG, trial=make_trial(rule=ANC), mappings=StubMappings())


def _slow(rule: dict, facts: PatientFacts) -> object:
    """The outcome as built without compile-time answers: the part's outcome negated, overrides applied."""
    part = plan.evaluate_node(plan.compile_rule(rule["rule"]), _ctx(facts))
    return combinators.apply_overrides(combinators.negate(part), rule)


@pytest.mark.parametrize("leaf", [ILD, CHEMO])
def test_a_leaf_keeps_its_nothing_outcome(leaf: dict) -> None:
    node = plan.compile_rule(leaf)
    assert node.nothing is node.spec.nothing
    assert plan.evaluate_node(node, _ctx(_facts(False))) is node.nothing
    assert plan.evaluate_node(node, _ctx(_facts(True))) is not node.nothing


def test_nodes_without_a_nothing_outcome() -> None:
    assert plan.compile_rule(ANC).nothing is None  # lab specs have none
    assert plan.compile_rule({"kind": "not", "rule": ANC}).nothing is None
    assert plan.compile_rule({"kind": "all", "of": [ILD]}).nothing is None
    # ifFalse review turns "none recorded" (not met) into review: a new outcome per call, as before
    assert plan.compile_rule({**ILD, "ifFalse": "review"}).nothing is None
    assert plan.compile_rule({"kind": "not", "rule": {**ILD, "ifFalse": "review"}}).nothing is None
    # ifTrue review leaves a not-met outcome as it is
    assert plan.compile_rule({**ILD, "ifTrue": "review"}).nothing is not None


@pytest.mark.parametrize("leaf", [ILD, CHEMO, {**ILD, "ifTrue": "review"}])
@pytest.mark.parametrize("override", OVERRIDES)
@pytest.mark.parametrize("with_records", [False, True])
def test_not_over_nothing_equals_negating_it(leaf: dict, override: dict, with_records: bool) -> None:
    rule = {"kind": "not", "rule": leaf, **override}
    node = plan.compile_rule(rule)
    facts = _facts(with_records)
    ctx = _ctx(facts)
    got = plan.evaluate_node(node, ctx)
    assert got == _slow(rule, facts)
    assert (got is node.nothing) is not with_records  # the prepared answer only when nothing was found
    assert ctx.scratch.memo[node.key] is got
    assert plan.evaluate_node(node, ctx) is got  # from the memo


def test_double_negation_over_nothing() -> None:
    rule = {"kind": "not", "rule": {"kind": "not", "rule": ILD}}
    node = plan.compile_rule(rule)
    got = plan.evaluate_node(node, _ctx(_facts(False)))
    assert got is node.nothing and got is not node.negated.nothing  # type: ignore[union-attr]
    assert got == plan.compile_rule(ILD).nothing and got.result == Result.NOT_MET


@pytest.mark.parametrize("override", OVERRIDES)
def test_nothing_result_is_built_once_and_equal(override: dict) -> None:
    exclusion = {"kind": "not", "rule": ILD, **override}
    trial = make_trial(
        criteria=[criterion(exclusion, "exc-01", "exclusion"), criterion(CHEMO, "exc-02", "exclusion")]
    )
    negated, chemo = plan.compiled_trial(trial)
    assert negated.nothing_result == criterion_result(trial.criteria[0], negated.rule.nothing)  # type: ignore[arg-type]
    assert chemo.nothing_result == criterion_result(trial.criteria[1], chemo.rule.nothing)  # type: ignore[arg-type]
    first = run_trial(trial, _facts(False)).criteria
    second = run_trial(trial, _facts(False)).criteria
    assert first[0] is negated.nothing_result and second[0] is negated.nothing_result
    assert first[1] is chemo.nothing_result
    found = run_trial(trial, _facts(True)).criteria
    assert found[0] is not negated.nothing_result and found[0].result != first[0].result
    assert found[1].result == Result.MET


def test_gated_criterion_has_no_nothing_result() -> None:
    trial = make_trial(
        criteria=[criterion({"kind": "not", "rule": ILD}, "exc-01", "exclusion", appliesWhen=FEMALE_ONLY)]
    )
    (compiled,) = plan.compiled_trial(trial)
    assert compiled.nothing_result is None
    assert results_by_sex(trial, TODAY) == (Result.NOT_APPLICABLE, Result.MET)


def test_evaluate_criterion_returns_the_nothing_result() -> None:
    trial = make_trial(criteria=[criterion({"kind": "not", "rule": ILD}, "exc-01", "exclusion")])
    (compiled,) = plan.compiled_trial(trial)
    assert evaluate_criterion(compiled, _ctx(_facts(False))) is compiled.nothing_result
    found = _facts(True)
    expected = criterion_result(trial.criteria[0], plan.evaluate_node(compiled.rule, _ctx(found)))
    assert evaluate_criterion(compiled, _ctx(found)) == expected
    assert expected.result == Result.NOT_MET
