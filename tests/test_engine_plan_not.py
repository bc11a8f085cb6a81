"""A compiled ``not`` negates its one part directly (``Node.negated``): the same outcome as the ``not``
combinator over a list of that part, review overrides and the memo included."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.engine import combinators, plan
from cds.engine.context import Context
from cds.facts import PatientFacts
from cds.results import Result
from tests.engine_support import CONFIG, StubMappings, make_trial
from tests.facts_factory import make_facts

TODAY = dt.date(2026, 3, 1)
ANC = {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0}


def _facts(anc: float | None) -> PatientFacts:
    return make_facts(TODAY, age_years=10, labs={"anc": anc} if anc is not None else {})


def _ctx(anc: float | None, facts: PatientFacts | None = None) -> Context:
    facts = facts or _facts(anc)
    return Context(facts=facts, config=CONFIG, trial=make_trial(rule=ANC), mappings=StubMappings())


def test_not_names_its_part() -> None:
    node = plan.compile_rule({"kind": "not", "rule": ANC})
    assert node.negated is node.parts[0] and node.combine is not None
    assert plan.compile_rule({"kind": "all", "of": [ANC]}).negated is None
    assert plan.compile_rule(ANC).negated is None


@pytest.mark.parametrize("anc", [0.5, 1.5, None])
@pytest.mark.parametrize("override", [{}, {"ifTrue": "review"}, {"ifFalse": "review", "reviewReason": "x"}])
def test_not_equals_the_combinator_over_its_part(anc: float | None, override: dict) -> None:
    rule = {"kind": "not", "rule": ANC, **override}
    node = plan.compile_rule(rule)
    facts = _facts(anc)
    ctx = _ctx(anc, facts)
    got = plan.evaluate_node(node, ctx)
    part = plan.evaluate_node(node.parts[0], _ctx(anc, facts))  # a fresh memo
    expected = combinators.apply_overrides(combinators.COMBINATORS["not"][0]([part]), rule)
    assert got == expected
    assert ctx.scratch.memo[node.key] is got  # kept for the rest of the call


def test_not_swaps_results() -> None:
    node = plan.compile_rule({"kind": "not", "rule": ANC})
    assert plan.evaluate_node(node, _ctx(0.5)).result == Result.MET
    assert plan.evaluate_node(node, _ctx(1.5)).result == Result.NOT_MET
    assert plan.evaluate_node(node, _ctx(None)).result == Result.UNKNOWN


def test_malformed_not_stays_fixed() -> None:
    node = plan.compile_rule({"kind": "not"})  # no part: compilation fails, a constant unknown
    assert node.fixed is not None and node.negated is None
    assert plan.evaluate_node(node, _ctx(1.5)) is node.fixed
