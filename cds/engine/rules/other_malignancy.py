"""``other-malignancy``: a malignancy outside the trial's target ``conditions`` and the ``except`` groups is
active, or abated less than ``diseaseFree`` ago (unknown if abated without a date). Without ``diseaseFree``
only active malignancies count. A record in the ``malignancy`` group that also belongs to a target or
excepted group is the trial's own disease (or an allowed one) and never counts; nor does secondary spread
(metastases, bone-marrow involvement), which belongs to the patient's primary tumour.
"""

from __future__ import annotations

from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import source_unknown, unmapped
from cds.engine.rules._history import Judged, conclude, judge_within
from cds.engine.rules.condition import NEVER_COUNTS, condition_evidence
from cds.results import Outcome

MALIGNANCY = "malignancy"
# Secondary spread of a cancer is not "another" malignancy: metastases and marrow involvement belong to the
# patient's primary, so they never count here (a second primary is recorded as its own condition).
SECONDARY_SPREAD = frozenset(
    {"metastasis", "brain-metastasis", "liver-metastasis", "bone-marrow-involvement"}
)


@register("other-malignancy", reads_trial=True)
def evaluate_other_malignancy(rule: dict[str, Any], ctx: Context) -> Outcome:
    allowed = set(ctx.trial.conditions) | set(rule.get("except", ()))
    review = unmapped(ctx, "condition", [MALIGNANCY])
    if review is not None:
        return review
    # An excepted group with no verified codes only matters when some malignancy would otherwise count:
    # that malignancy might be the excepted kind, so a person has to look.
    unmapped_except = unmapped(ctx, "condition", sorted(rule.get("except", ())))
    if not ctx.facts.source_ok("Condition"):
        return source_unknown(["Condition"], "malignancy")
    disease_free = tr.Duration.parse(rule["diseaseFree"]) if rule.get("diseaseFree") else None
    judged: list[Judged] = []
    for c in ctx.facts.conditions:
        if (
            MALIGNANCY not in c.groups
            or c.groups & allowed
            or c.groups & SECONDARY_SPREAD
            or c.verification_status in NEVER_COUNTS
        ):
            continue
        evidence = condition_evidence(c)
        if c.active:
            judged.append(Judged(tr.Tri.TRUE, evidence, f"{c.display} (active)"))
        elif disease_free is not None:
            if c.abatement is None:
                judged.append(
                    Judged(
                        tr.Tri.UNKNOWN,
                        evidence,
                        f"{c.display} ({c.clinical_status}, no abatement date)",
                        need=f"date {c.display} ended (disease-free {disease_free})",
                    )
                )
            else:
                judged.append(
                    judge_within(
                        c.abatement,
                        disease_free,
                        ctx.today,
                        evidence,
                        f"{c.display}, abated {c.abatement}",
                        f"end of {c.display}",
                    )
                )
    if unmapped_except is not None and any(j.state != tr.Tri.FALSE for j in judged):
        return unmapped_except
    period = f" or disease-free less than {disease_free}" if disease_free else ""
    return conclude(
        judged,
        f"another malignancy active{period}",
        "no other malignancy recorded",
        f"other malignancy disease-free for at least {disease_free}",
    )
