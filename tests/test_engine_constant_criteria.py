"""Rules whose outcome depends on the rule alone (``review``) compile to a fixed outcome, and a criterion made
of one (no ``appliesWhen``) gets its result built once per trial: the same results as evaluating them."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.engine import plan
from cds.engine.combinators import apply_overrides
from cds.engine.criterion import evaluate_criterion
from cds.engine.criterion_result import criterion_result
from cds.engine.registry import CONSTANT_KINDS, REGISTRY, register
from cds.engine.rules.review import prepare_review
from cds.results import Result
from tests.engine_support import FEMALE_ONLY, criterion, make_trial, results_by_sex, run_trial
from tests.facts_factory import make_facts

TODAY = dt.date(2026, 3, 1)
REVIEW = {"kind": "review", "reason": "consent", "needs": "signed consent"}
ANC = {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0}


def test_review_is_a_constant_kind() -> None:
    assert "review" in CONSTANT_KINDS
    assert "lab" not in CONSTANT_KINDS


@pytest.mark.parametrize(
    "rule",
    [REVIEW, {"kind": "review"}, {**REVIEW, "ifTrue": "review"}, {**REVIEW, "ifFalse": "review"}],
)
def test_constant_rule_is_fixed_to_what_its_evaluator_answers(rule: dict) -> None:
    node = plan.compile_rule(rule)
    expected = apply_overrides(REGISTRY["review"](prepare_review(rule), None), rule)  # type: ignore[arg-type]
    assert node.fixed == expected and node.key is None and node.evaluator is None


def test_combinator_over_a_constant_is_still_shared() -> None:
    node = plan.compile_rule({"kind": "all", "of": [REVIEW, ANC]})
    assert node.key is not None


def test_constant_criterion_result_is_built_once() -> None:
    trial = make_trial(
        criteria=[
            criterion(REVIEW, "inc-01"),
            criterion(ANC, "inc-02"),
            criterion({"kind": "not", "rule": REVIEW}, "exc-01", "exclusion"),
        ]
    )
    compiled = plan.compiled_trial(trial)
    first, lab, negated = compiled
    assert first.result == criterion_result(trial.criteria[0], plan.compile_rule(REVIEW).fixed)
    assert first.result.result == Result.REVIEW and first.result.needs == ("signed consent",)
    assert lab.result is None  # reads the patient
    assert negated.result is None  # a combinator: evaluated (to the same review) per call
    facts = make_facts(TODAY, age_years=10, labs={"anc": 1.5})
    results = run_trial(trial, facts).criteria
    assert results[0] is first.result  # no new object per call
    assert results[2].result == Result.REVIEW and results[2].reason == results[0].reason


def test_gated_constant_criterion_is_evaluated() -> None:
    """With ``appliesWhen`` the result depends on the patient: not built ahead."""
    trial = make_trial(criteria=[criterion(REVIEW, "inc-01", appliesWhen=FEMALE_ONLY)])
    (compiled,) = plan.compiled_trial(trial)
    assert compiled.result is None
    assert results_by_sex(trial, TODAY) == (Result.NOT_APPLICABLE, Result.REVIEW)


def test_constant_kind_must_be_prepared() -> None:
    with pytest.raises(ValueError, match="needs prepare"):
        register("test-constant-without-prepare", constant=True)(lambda spec, ctx: spec)
    assert "test-constant-without-prepare" not in CONSTANT_KINDS
    assert "test-constant-without-prepare" not in REGISTRY


def test_evaluate_criterion_returns_the_prepared_result() -> None:
    trial = make_trial(criteria=[criterion(REVIEW, "inc-01")])
    (compiled,) = plan.compiled_trial(trial)
    assert evaluate_criterion(compiled, None) is compiled.result  # type: ignore[arg-type]
