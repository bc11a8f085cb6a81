"""Rule trees compiled once per trial into :class:`Node` objects, and their evaluation with a per-call memo.

A trial's rules are plain dicts (``cds.trials``). Evaluating them straight from the dicts means a registry
lookup, ``ifTrue``/``ifFalse`` lookups and a fresh list of parts for every node on every call. A
:class:`Node` reads all of that once: its evaluator (or combinator), its parts, its review overrides and its
memo key.

Memo
    Within one call (one patient, one configuration, one mapping catalogue) a rule evaluates to the same
    outcome wherever it appears: in several criteria of a trial, and in several trials when they are
    evaluated together (``evaluate_trials``), where the five trials' 451 rule nodes need only their ~320
    distinct ones. ``Node.key`` is the rule's ``repr`` (key order, ``1`` vs ``1.0`` and
    ``True`` vs ``1`` all stay distinct). Rule kinds that read the trial (``research``: its id;
    ``other-malignancy``: its target conditions; see ``registry.TRIAL_KINDS``) and every combinator above
    them get no key and are evaluated afresh for each trial. The memo lives in the per-call ``Context``
    (``Context.scratch``) and is dropped with it: nothing about a patient outlives the call.

Compile cache
    :func:`compiled_trial` keeps one compiled form per ``Trial`` object (trials are immutable catalogue
    data; their rule dicts must not be changed after loading), in the trial's ``cds.engine.catalogue_memo``
    table: weakly held, so it goes when its trial does and a reused ``id()`` is never mistaken for it.

Prepared specs
    A kind may register ``prepare`` (``cds.engine.registry``): the rule dict is read once, here, into a typed
    spec that its evaluator receives instead of the dict (names, durations and reason texts are then not
    re-derived for every patient).

Constant rules
    A kind registered ``constant`` (``review``: its outcome is its text) compiles to a ``fixed`` node: its
    outcome, with the rule's review overrides applied, is built once. A criterion whose rule is fixed and
    that has no ``appliesWhen`` gets its :class:`~cds.results.CriterionResult` built once too
    (``CompiledCriterion.result``, 36 of the 156 criteria of the five trials): it is returned as is for
    every patient (results are immutable).

"Nothing recorded" outcomes
    A prepared spec may carry ``nothing`` (condition and exposure rules): the outcome its evaluator returns, as
    that very object, when no record matches (the most common answer). The node keeps it as ``Node.nothing``
    when its review overrides leave it as it is, and a ``not`` over such a node builds its own ``nothing``
    (the negation, with the ``not``'s overrides applied) once, at compile time: when its part answers with the
    part's ``nothing`` object, the ``not`` answers with its own, without building a new outcome. A criterion
    without ``appliesWhen`` likewise keeps its result for its rule's ``nothing``
    (``CompiledCriterion.nothing_result``). These are catalogue objects, the same for every patient; a part that
    answers with any other object is negated as usual. In the five trials most of the ``not``
    evaluations of a typical call (47 of 83), and 20 of its criteria, take this path.

Bad input never raises: an unknown kind is ``review``; a malformed combinator, a rule its kind cannot
prepare or an evaluator error is ``unknown`` (logged without patient data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cds.engine import combinators, rules  # noqa: F401  (import registers every kind)
from cds.engine.catalogue_memo import memo_for
from cds.engine.combinators import COMBINATORS, negate, review_override
from cds.engine.context import Context
from cds.engine.criterion_result import criterion_result
from cds.engine.registry import CONSTANT_KINDS, PREPARE, REGISTRY, TRIAL_KINDS, Evaluator
from cds.results import CriterionResult, Outcome, Result, make_outcome
from cds.trials import CriterionDef, Trial

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Node:
    """One compiled rule.

    Exactly one of ``evaluator`` (a leaf kind), ``combine`` (``all``/``any``/``not`` over ``parts``) or
    ``fixed`` (an unknown kind, a malformed combinator or a constant kind: a constant outcome) is set. A ``not`` also names
    its one part as ``negated``, which :func:`evaluate_node` negates directly (no list of one part).
    """

    kind: Any  # the rule's ``kind`` as written (may be missing or not a string in bad input)
    rule: dict[str, Any]
    key: str | None  # memo key; None when the outcome depends on the trial or is constant
    evaluator: Evaluator | None = None
    spec: Any = None  # what the evaluator receives: the kind's prepared spec, or the rule dict itself
    combine: Callable[[Sequence[Outcome]], Outcome] | None = None
    parts: tuple[Node, ...] = ()
    fixed: Outcome | None = None
    negated: Node | None = None  # a ``not``'s part (``combine`` is then ``not``'s combinator over it)
    nothing: Outcome | None = None  # the outcome when the rule finds no record (see module docs), built once
    if_true_review: bool = False
    if_false_review: bool = False
    review_reason: str | None = None


def internal_error(kind: Any) -> Outcome:
    return make_outcome(
        Result.UNKNOWN, f"could not evaluate this {kind} rule (internal error)", needs=("manual check",)
    )


def compile_rule(rule: Any) -> Node:
    """Compile one rule dict (and its parts) into a :class:`Node`."""
    kind = rule.get("kind") if isinstance(rule, dict) else None
    if not isinstance(kind, str) or (kind not in COMBINATORS and kind not in REGISTRY):
        unknown = make_outcome(
            Result.REVIEW, f"rule kind {kind!r} is not known to this engine; check by hand"
        )
        return Node(kind=kind, rule=rule, key=None, fixed=unknown)
    overrides = {
        "if_true_review": rule.get("ifTrue") == "review",
        "if_false_review": rule.get("ifFalse") == "review",
        "review_reason": rule.get("reviewReason"),
    }
    if kind in COMBINATORS:
        combine, part_rules = COMBINATORS[kind]
        try:
            parts = tuple(compile_rule(part) for part in part_rules(rule))
        except Exception:  # noqa: BLE001 - a malformed combinator becomes unknown, as any evaluator error
            log.exception("rule compilation failed for kind %s", kind)
            return Node(kind=kind, rule=rule, key=None, fixed=internal_error(kind))
        shared = all(p.key is not None or p.fixed is not None for p in parts)
        nothing = None
        if kind == "not" and parts[0].nothing is not None:
            nothing = _overridden(negate(parts[0].nothing), overrides)
        return Node(
            kind=kind,
            rule=rule,
            key=_key(rule) if shared else None,
            combine=combine,
            parts=parts,
            negated=parts[0] if kind == "not" else None,
            nothing=nothing,
            **overrides,
        )
    key = None if kind in TRIAL_KINDS else _key(rule)
    spec: Any = rule
    if kind in PREPARE:
        try:
            spec = PREPARE[kind](rule)
        except Exception:  # noqa: BLE001 - a malformed rule becomes unknown, as any evaluator error
            log.exception("rule preparation failed for kind %s", kind)
            return Node(kind=kind, rule=rule, key=None, fixed=internal_error(kind))
    if kind in CONSTANT_KINDS:  # the prepared spec is the outcome (see registry)
        return Node(
            kind=kind, rule=rule, key=None, spec=spec, fixed=_overridden(spec, overrides), **overrides
        )
    nothing = getattr(spec, "nothing", None)
    if not isinstance(nothing, Outcome) or _overridden(nothing, overrides) is not nothing:
        nothing = (
            None  # no such outcome, or the overrides turn it into another one (built per call, as before)
        )
    return Node(
        kind=kind, rule=rule, key=key, evaluator=REGISTRY[kind], spec=spec, nothing=nothing, **overrides
    )


def _overridden(outcome: Outcome, overrides: dict[str, Any]) -> Outcome:
    """``outcome`` with a node's review overrides applied (the same object when they do not apply)."""
    if overrides["if_true_review"] or overrides["if_false_review"]:
        return review_override(
            outcome, overrides["if_true_review"], overrides["if_false_review"], overrides["review_reason"]
        )
    return outcome


def _key(rule: dict[str, Any]) -> str:
    return repr(rule)


def evaluate_node(node: Node, ctx: Context) -> Outcome:
    """The node's outcome for ``ctx`` (from ``ctx.scratch.memo`` when this rule was already evaluated in this call)."""
    key = node.key
    if key is not None:
        memo = ctx.scratch.memo
        known = memo.get(key)
        if known is not None:
            return known
    evaluator = node.evaluator
    if evaluator is not None:
        try:
            outcome = evaluator(node.spec, ctx)
        except Exception:  # noqa: BLE001 - a defect in one rule must not break the whole evaluation
            log.exception("rule evaluation failed for kind %s in trial %s", node.kind, ctx.trial.id)
            return internal_error(node.kind)
    elif node.negated is not None:
        part = evaluate_node(node.negated, ctx)
        if part is node.negated.nothing:  # the part found no record: this answer was built at compile time
            if key is not None:
                memo[key] = node.nothing  # type: ignore[assignment]  (set whenever the part's is)
            return node.nothing  # type: ignore[return-value]
        outcome = negate(part)
    elif node.combine is not None:
        outcome = node.combine([evaluate_node(part, ctx) for part in node.parts])
    else:
        return node.fixed  # type: ignore[return-value]  (a constant: no key, no overrides applied)
    if node.if_true_review or node.if_false_review:
        outcome = review_override(outcome, node.if_true_review, node.if_false_review, node.review_reason)
    if key is not None:
        memo[key] = outcome
    return outcome


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    criterion: CriterionDef
    rule: Node
    applies_when: Node | None
    result: CriterionResult | None = None  # the same for every patient: a fixed rule, no appliesWhen
    nothing_result: CriterionResult | None = None  # the result for ``rule.nothing`` (no appliesWhen)


def compile_criterion(criterion: CriterionDef) -> CompiledCriterion:
    rule = compile_rule(criterion.rule)
    applies_when = compile_rule(criterion.applies_when) if criterion.applies_when else None
    result = nothing_result = None
    if rule.fixed is not None and applies_when is None:
        result = criterion_result(criterion, rule.fixed)
    if rule.nothing is not None and applies_when is None:
        nothing_result = criterion_result(criterion, rule.nothing)
    return CompiledCriterion(
        criterion=criterion,
        rule=rule,
        applies_when=applies_when,
        result=result,
        nothing_result=nothing_result,
    )


def compiled_trial(trial: Trial) -> tuple[CompiledCriterion, ...]:
    """The trial's criteria with compiled rules, compiled on first use and kept while the trial lives
    (``cds.engine.catalogue_memo``: by the trial object, weakly)."""
    memo = memo_for(trial)
    compiled = memo.get(_COMPILED)
    if compiled is None:
        compiled = memo[_COMPILED] = tuple(compile_criterion(c) for c in trial.criteria)
    return compiled


_COMPILED = "compiled criteria"
