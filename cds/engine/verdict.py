"""The trial verdict from its criterion results (docs/CONTRACTS.md "Trial verdict").

- ``ineligible``: the patient is deceased; or a criterion is not-met and will not clear with time; or a
  criterion that is met now expires (the patient ages out) on or before ``eligibleFrom``.
- ``not-yet-eligible``: every not-met criterion clears with time; ``eligibleFrom`` = the latest clearing day.
  Criteria whose deciding lab will be older than its window on that day get ``stale_on`` ("repeat before
  enrolment") and the trial a note. Unknown criteria are listed in a note (the verdict stays).
- ``possibly-eligible``: nothing fails, something is unknown.
- ``eligible``: every criterion is met / not-applicable / review.

Informational criteria never count. ``criteriaComplete: false`` turns ``eligible`` into
``possibly-eligible`` and adds a note (``not-yet-eligible`` keeps its date and gets the same note).
"""

from __future__ import annotations

import datetime as dt

from cds.facts import PatientFacts
from cds.results import CriterionResult, Result, TrialResult, Verdict, make_criterion_result
from cds.trials import Trial

NOT_MET, UNKNOWN = Result.NOT_MET, Result.UNKNOWN  # module constants: an enum attribute lookup costs ~70 ns

INCOMPLETE_NOTE = "the trial's exclusion criteria are not listed in our source: check them on the registry"


def _stale_kept(
    criteria: tuple[CriterionResult, ...], eligible_from: dt.date | None
) -> tuple[CriterionResult, ...]:
    if all(c.stale_on is None for c in criteria):
        return criteria  # nothing to keep or drop (the usual case)
    out = []
    for c in criteria:
        keep = (
            eligible_from is not None
            and c.type != "informational"
            and c.result == Result.MET
            and c.stale_on is not None
            and c.stale_on <= eligible_from
        )
        out.append(c if keep or c.stale_on is None else _without_stale(c))
    return tuple(out)


def _without_stale(c: CriterionResult) -> CriterionResult:
    """``dataclasses.replace(c, stale_on=None)``, built directly (``replace`` costs several times more)."""
    return make_criterion_result(
        c.id,
        c.type,
        c.text,
        c.result,
        c.reason,
        c.evidence,
        c.clears_on,
        c.expires_on,
        c.needs,
        c.curator_review,
        None,
    )


def decide(
    trial: Trial, facts: PatientFacts, criteria: tuple[CriterionResult, ...], definitions_version: str
) -> TrialResult:
    counted: list[CriterionResult] = []
    not_met: list[CriterionResult] = []
    unknown: list[CriterionResult] = []
    stale = False  # some criterion has a stale_on (kept or dropped below)
    for c in criteria:
        if c.stale_on is not None:
            stale = True
        if c.type != "informational":
            counted.append(c)
            if c.result == NOT_MET:
                not_met.append(c)
            elif c.result == UNKNOWN:
                unknown.append(c)
    notes: list[str] = []
    eligible_from: dt.date | None = None
    if facts.demographics.deceased:
        status = Verdict.INELIGIBLE
        notes.append("the patient is recorded as deceased")
    elif any(c.clears_on is None for c in not_met):
        status = Verdict.INELIGIBLE
    elif not_met:
        eligible_from = max(c.clears_on for c in not_met if c.clears_on is not None)
        ageing_out = [c for c in counted if c.expires_on is not None and c.expires_on <= eligible_from]
        if ageing_out:
            status = Verdict.INELIGIBLE
            first = min(c.expires_on for c in ageing_out if c.expires_on is not None)
            notes.append(
                f"the waiting period ends on {eligible_from}, but '{ageing_out[0].text}' stops being met on {first}"
            )
            eligible_from = None
        else:
            status = Verdict.NOT_YET_ELIGIBLE
            if unknown:
                notes.append(
                    f"{len(unknown)} criteria still need data: " + "; ".join(c.text for c in unknown[:5])
                )
    elif unknown:
        status = Verdict.POSSIBLY_ELIGIBLE
    else:
        status = Verdict.ELIGIBLE
    if stale:
        criteria = _stale_kept(criteria, eligible_from if status == Verdict.NOT_YET_ELIGIBLE else None)
        repeat = [c for c in criteria if c.stale_on is not None]
        if repeat:
            notes.append(
                "repeat before enrolment: "
                + "; ".join(f"{c.text} (older than its window from {c.stale_on})" for c in repeat)
            )
    if not trial.criteria_complete:
        notes.append(INCOMPLETE_NOTE)
        if status == Verdict.ELIGIBLE:
            status = Verdict.POSSIBLY_ELIGIBLE
    return TrialResult(
        trial=trial.id,
        status=status,
        evaluated_on=facts.evaluation_date,
        definitions_version=definitions_version,
        criteria=criteria,
        eligible_from=eligible_from if status == Verdict.NOT_YET_ELIGIBLE else None,
        criteria_complete=trial.criteria_complete,
        notes=tuple(notes),
    )
