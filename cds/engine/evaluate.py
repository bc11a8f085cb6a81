"""Evaluate one rule: look up its kind's evaluator, apply ``ifTrue``/``ifFalse`` review overrides.

Bad input never raises out of the engine: an unknown kind or an evaluator error becomes ``review`` /
``unknown`` with a plain reason (and a log line without patient data).
"""

from __future__ import annotations

import logging
from typing import Any

from cds.engine import combinators, rules  # noqa: F401  (import registers every kind)
from cds.engine.combinators import apply_overrides
from cds.engine.context import Context
from cds.engine.registry import REGISTRY
from cds.results import Outcome, Result

log = logging.getLogger(__name__)


def evaluate_rule(rule: dict[str, Any], ctx: Context) -> Outcome:
    kind = rule.get("kind") if isinstance(rule, dict) else None
    evaluator = REGISTRY.get(kind) if isinstance(kind, str) else None
    if evaluator is None:
        return Outcome(Result.REVIEW, f"rule kind {kind!r} is not known to this engine; check by hand")
    try:
        outcome = evaluator(rule, ctx)
    except Exception:  # noqa: BLE001 - a defect in one rule must not break the whole evaluation
        log.exception("rule evaluation failed for kind %s in trial %s", kind, ctx.trial.id)
        return Outcome(
            Result.UNKNOWN, f"could not evaluate this {kind} rule (internal error)", needs=("manual check",)
        )
    return apply_overrides(outcome, rule)
