"""``allergy``: an AllergyIntolerance record in one of ``groups`` (closed world)."""

from __future__ import annotations

from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import labels, ref, source_unknown, unmapped
from cds.engine.rules._history import Judged, conclude
from cds.results import Outcome, make_evidence


@register("allergy")
def evaluate_allergy(rule: dict[str, Any], ctx: Context) -> Outcome:
    groups = set(rule["groups"])
    if (review := unmapped(ctx, "allergy", sorted(groups))) is not None:
        return review
    name = labels(sorted(groups))
    if not ctx.facts.source_ok("AllergyIntolerance"):
        return source_unknown(["AllergyIntolerance"], f"{name} allergy")
    judged = [
        Judged(
            tr.Tri.TRUE,
            make_evidence(resource=ref("AllergyIntolerance", a.resource_id), value=a.display),
            a.display,
        )
        for a in ctx.facts.allergies
        if a.groups & groups
    ]
    return conclude(judged, f"allergy to {name} recorded", f"no allergy to {name} recorded", "")
