"""``research``: on-study in another study (a ResearchSubject not for this trial; our own ``candidate``
flags never count). ``within``: also a participation that ended within the period."""

from __future__ import annotations

from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import ref, source_unknown, when
from cds.engine.rules._history import Judged, conclude, judge_within
from cds.results import Outcome, make_evidence


@register("research", reads_trial=True)
def evaluate_research(rule: dict[str, Any], ctx: Context) -> Outcome:
    if not ctx.facts.source_ok("ResearchSubject"):
        return source_unknown(["ResearchSubject"], "study participation")
    within = tr.Duration.parse(rule["within"]) if rule.get("within") else None
    judged: list[Judged] = []
    for r in ctx.facts.research:
        if r.study == ctx.trial.id or r.status == "candidate":
            continue
        evidence = make_evidence(
            resource=ref("ResearchSubject", r.resource_id),
            value=r.study,
            date=when(r.end or r.start),
            note=r.status,
        )
        if r.on_study and r.end is None:
            judged.append(Judged(tr.Tri.TRUE, evidence, f"{r.study} ({r.status})"))
        elif within is not None and r.end is not None:
            judged.append(
                judge_within(
                    r.end, within, ctx.today, evidence, f"{r.study} ended {r.end}", f"end of {r.study}"
                )
            )
        elif r.on_study:
            judged.append(Judged(tr.Tri.TRUE, evidence, f"{r.study} ({r.status})"))
    period = f" within {within}" if within else ""
    return conclude(
        judged,
        f"participation in another study{period}",
        "no other study participation recorded",
        f"no other study participation{period}",
    )
