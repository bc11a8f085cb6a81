"""``review``: always ``review`` (consent, life expectancy, investigator judgement)."""

from __future__ import annotations

from typing import Any

from cds.engine.context import Context
from cds.engine.registry import register
from cds.results import Outcome, Result


@register("review")
def evaluate_review(rule: dict[str, Any], ctx: Context) -> Outcome:
    needs = (rule["needs"],) if rule.get("needs") else ()
    return Outcome(Result.REVIEW, rule.get("reason") or "needs clinical review", needs=needs)
