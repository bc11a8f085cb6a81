"""``sex``: administrative gender is one of ``in``; unknown when not recorded."""

from __future__ import annotations

from typing import Any

from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import ref
from cds.results import Outcome, Result, make_evidence, make_outcome


@register("sex")
def evaluate_sex(rule: dict[str, Any], ctx: Context) -> Outcome:
    sex = ctx.facts.demographics.sex
    allowed = list(rule.get("in", ()))
    if sex in (None, "", "unknown"):
        return make_outcome(Result.UNKNOWN, "sex not recorded", needs=("administrative sex",))
    evidence = (make_evidence(resource=ref("Patient", ctx.facts.demographics.resource_id), value=sex),)
    if sex in allowed:
        return make_outcome(Result.MET, f"sex {sex}", evidence)
    return make_outcome(Result.NOT_MET, f"sex {sex} (not {' or '.join(allowed)})", evidence)
