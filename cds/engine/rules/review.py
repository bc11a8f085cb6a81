"""``review``: always ``review`` (consent, life expectancy, investigator judgement).

The outcome depends on the rule's text alone, so it is built once, when the trial is compiled (``prepare``),
and returned as is for every patient (an ``Outcome`` is immutable). Registered ``constant``: the compiled rule is
that outcome (``cds.engine.plan``), so this evaluator only runs when called directly.
"""

from __future__ import annotations

from typing import Any

from cds.engine.context import Context
from cds.engine.registry import register
from cds.results import Outcome, Result, make_outcome


def prepare_review(rule: dict[str, Any]) -> Outcome:
    needs = (rule["needs"],) if rule.get("needs") else ()
    return make_outcome(Result.REVIEW, rule.get("reason") or "needs clinical review", needs=needs)


@register("review", prepare=prepare_review, constant=True)
def evaluate_review(outcome: Outcome, ctx: Context) -> Outcome:
    return outcome
