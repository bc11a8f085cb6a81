"""One criterion: its rule, gated by ``appliesWhen``.

``appliesWhen`` not-met -> not-applicable. Unknown (or review) -> the rule's result if met, otherwise the
gate's result (unknown / review) with both reasons. Met -> the rule's result; if that is not-met and the gate
expires (a minor turns 18), the criterion clears that day at the latest.
"""

from __future__ import annotations

from cds.engine.context import Context
from cds.engine.criterion_result import criterion_result
from cds.engine.plan import CompiledCriterion, Node, evaluate_node
from cds.results import (
    MET,
    NOT_APPLICABLE,
    NOT_MET,
    REVIEW,
    UNKNOWN,
    CriterionResult,
    Outcome,
    make_outcome,
)


def _gated(compiled: CompiledCriterion, applies_when: Node, ctx: Context) -> Outcome:
    gate = evaluate_node(applies_when, ctx)
    if gate.result == NOT_MET:
        return make_outcome(NOT_APPLICABLE, f"does not apply: {gate.reason}", gate.evidence)
    outcome = evaluate_node(compiled.rule, ctx)
    if gate.result in (UNKNOWN, REVIEW):
        if outcome.result in (MET, NOT_APPLICABLE):
            return outcome
        return make_outcome(
            gate.result,
            f"{gate.reason}; if it applies: {outcome.reason}",
            gate.evidence + outcome.evidence,
            needs=tuple(dict.fromkeys(gate.needs + outcome.needs)),
        )
    if outcome.result == NOT_MET and gate.expires_on is not None:
        clears = gate.expires_on if outcome.clears_on is None else min(outcome.clears_on, gate.expires_on)
        return make_outcome(
            outcome.result,
            outcome.reason,
            outcome.evidence,
            clears_on=clears,
            expires_on=outcome.expires_on,
            needs=outcome.needs,
            stale_on=outcome.stale_on,
        )
    return outcome


def evaluate_criterion(compiled: CompiledCriterion, ctx: Context) -> CriterionResult:
    if compiled.result is not None:
        return compiled.result  # the same for every patient (see plan.compiled_trial)
    applies_when = compiled.applies_when
    if applies_when is not None:
        return criterion_result(compiled.criterion, _gated(compiled, applies_when, ctx))
    outcome = evaluate_node(compiled.rule, ctx)
    if outcome is compiled.rule.nothing:  # no record found: the result was built once (plan.compiled_trial)
        return compiled.nothing_result  # type: ignore[return-value]
    return criterion_result(compiled.criterion, outcome)
