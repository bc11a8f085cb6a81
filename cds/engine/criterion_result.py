"""A criterion's result from its outcome: which of the outcome's fields the criterion keeps.

``clears_on`` only for not-met, ``expires_on`` only otherwise, ``needs`` only for unknown and review;
``stale_on`` is kept here and trimmed by the verdict (``cds.engine.verdict.decide``). Used for every
evaluated criterion (``cds.engine.criterion``) and, once per trial, for criteria whose outcome does not depend on
the patient (``cds.engine.plan.compiled_trial``).
"""

from __future__ import annotations

from cds.results import NOT_MET, REVIEW, UNKNOWN, CriterionResult, Outcome, make_criterion_result
from cds.trials import CriterionDef


def criterion_result(criterion: CriterionDef, outcome: Outcome) -> CriterionResult:
    result = outcome.result
    not_met = result == NOT_MET
    return make_criterion_result(
        id=criterion.id,
        type=criterion.type,
        text=criterion.text,
        result=result,
        reason=outcome.reason,
        evidence=outcome.evidence,
        clears_on=outcome.clears_on if not_met else None,
        expires_on=None if not_met else outcome.expires_on,
        needs=outcome.needs if result in (UNKNOWN, REVIEW) else (),
        curator_review=criterion.curator_review,
        stale_on=outcome.stale_on,  # kept only where it matters: see verdict.decide
    )
