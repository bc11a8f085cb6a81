"""Results of evaluating criteria and trials: the contract between the engine and card rendering.

A criterion result always answers "does this line allow enrolment?" (see docs/CONTRACTS.md).
``TrialResult.to_json()`` is the machine-readable result carried on every card as
``extension["org.nktrials.eligibility"]``; its schema is ``cds/schemas/result.schema.json``.

The classes are frozen dataclasses with ``slots=True``: the engine builds hundreds of them a call, and a slots
instance is built about twice as fast (its frozen ``__init__`` stores each field in a slot instead of the
instance dict) and is a quarter of the size. Fields, equality, hashing, repr, pickling and
``dataclasses.replace`` are those of the plain frozen dataclass; an instance has no ``__dict__``
(``tests/test_engine_results_init.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

RESULT_SCHEMA_VERSION = "1.0"


_INFINITIES = (float("inf"), float("-inf"))


def display_number(value: float) -> str:
    """A number rounded for people: two decimals from 1 up (449.96, 1.8, 210, 1000000), three significant
    digits below 1 (0.503, 0.0412). Results keep the exact values; this is for reasons and card text only."""
    if value != value or value in _INFINITIES:
        return str(value)
    if abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


class Result(StrEnum):
    MET = "met"
    NOT_MET = "not-met"
    UNKNOWN = "unknown"
    REVIEW = "review"
    NOT_APPLICABLE = "not-applicable"


# The members as module constants: ``Result.MET`` is a class attribute lookup (~65 ns) on every use, and the
# engine and the cards compare results a few thousand times per call (issue 7).
MET, NOT_MET, UNKNOWN, REVIEW, NOT_APPLICABLE = (
    Result.MET,
    Result.NOT_MET,
    Result.UNKNOWN,
    Result.REVIEW,
    Result.NOT_APPLICABLE,
)


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    NOT_YET_ELIGIBLE = "not-yet-eligible"
    POSSIBLY_ELIGIBLE = "possibly-eligible"
    INELIGIBLE = "ineligible"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of data a result rests on, small enough to show a clinician."""

    resource: str | None = None  # "Observation/abc" (a reference; never a patient identifier)
    value: Any = None  # number, code token or short text
    unit: str | None = None
    date: str | None = None  # as recorded (may be partial)
    limit: Any = None  # the threshold it was compared with, in ``unit``
    # "observation" | "trial" | "fallback:<table>" | "fallback-unverified:<table>"
    limitSource: str | None = None
    note: str | None = None  # e.g. "older than the 14-day screening window"

    def to_json(self) -> dict[str, Any]:
        """The fields that are set (not None), in field order."""
        out: dict[str, Any] = {}
        if self.resource is not None:
            out["resource"] = self.resource
        if self.value is not None:
            out["value"] = self.value
        if self.unit is not None:
            out["unit"] = self.unit
        if self.date is not None:
            out["date"] = self.date
        if self.limit is not None:
            out["limit"] = self.limit
        if self.limitSource is not None:
            out["limitSource"] = self.limitSource
        if self.note is not None:
            out["note"] = self.note
        return out


EVIDENCE_FIELDS = ("resource", "value", "unit", "date", "limit", "limitSource", "note")  # in field order


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one rule (leaf or combinator) evaluated to.

    ``clears_on``: for NOT_MET, the day the result becomes MET by the passage of time alone (a waiting
    period ends, a minimum age is reached); None if time will not fix it.
    ``expires_on``: for MET, the first day it stops being met by time alone (the patient ages out).
    ``needs``: what data would decide an UNKNOWN result ("ANC within 14 days").
    ``stale_on``: for MET, the first day a lab it relies on is older than its window (repeat the test before it).
    """

    result: Result
    reason: str
    evidence: tuple[Evidence, ...] = ()
    clears_on: dt.date | None = None
    expires_on: dt.date | None = None
    needs: tuple[str, ...] = ()
    stale_on: dt.date | None = None  # first day the deciding lab falls out of its screening window


@dataclass(frozen=True, slots=True)
class CriterionResult:
    id: str
    type: str  # inclusion | exclusion | informational
    text: str
    result: Result
    reason: str
    evidence: tuple[Evidence, ...] = ()
    clears_on: dt.date | None = None
    expires_on: dt.date | None = None
    needs: tuple[str, ...] = ()
    curator_review: bool = False
    stale_on: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "text": self.text,
            "result": str(self.result),  # a StrEnum: its value as a plain str (``.value`` costs ~4x more)
            "reason": self.reason,
            "evidence": [e.to_json() for e in self.evidence] if self.evidence else [],
        }
        if self.clears_on:
            out["clearsOn"] = self.clears_on.isoformat()
        if self.expires_on:
            out["expiresOn"] = self.expires_on.isoformat()
        if self.needs:
            out["needs"] = list(self.needs)
        if self.curator_review:
            out["curatorReview"] = True
        if self.stale_on:
            out["repeatBefore"] = self.stale_on.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class TrialResult:
    trial: str  # NCT id
    status: Verdict
    evaluated_on: dt.date
    definitions_version: str
    criteria: tuple[CriterionResult, ...]
    eligible_from: dt.date | None = None  # only for NOT_YET_ELIGIBLE
    criteria_complete: bool = True
    notes: tuple[str, ...] = field(default=())  # verdict-level remarks, e.g. "exclusions not listed"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": RESULT_SCHEMA_VERSION,
            "trial": self.trial,
            "status": str(self.status),
            "evaluatedOn": self.evaluated_on.isoformat(),
            "definitionsVersion": self.definitions_version,
            "criteriaComplete": self.criteria_complete,
            "criteria": [c.to_json() for c in self.criteria],
        }
        if self.eligible_from and self.status == Verdict.NOT_YET_ELIGIBLE:
            out["eligibleFrom"] = self.eligible_from.isoformat()
        if self.notes:
            out["notes"] = list(self.notes)
        return out


# Fast construction -------------------------------------------------------------------------------------------
# The engine builds a few hundred of these objects per call. A frozen dataclass's ``__init__`` stores each field
# through ``object.__setattr__`` (the frozen class refuses a plain assignment); the builders below create the
# instance with ``object.__new__`` and store each field with its slot's own descriptor, which gives the same
# object about twice as fast (keyword calls three times as fast). They take exactly the class's fields, in
# order, with the same defaults, and run no other code, as the dataclass ``__init__`` runs none
# (``tests/test_engine_results_init.py`` checks both against the class).


def _outcome_builder() -> Callable[..., Outcome]:
    new = object.__new__
    set_result, set_reason, set_evidence, set_clears, set_expires, set_needs, set_stale = (
        getattr(Outcome, name).__set__ for name in Outcome.__slots__
    )

    def make_outcome(
        result: Result,
        reason: str,
        evidence: tuple[Evidence, ...] = (),
        clears_on: dt.date | None = None,
        expires_on: dt.date | None = None,
        needs: tuple[str, ...] = (),
        stale_on: dt.date | None = None,
    ) -> Outcome:
        """``Outcome(...)``, built faster (see above)."""
        out = new(Outcome)
        set_result(out, result)
        set_reason(out, reason)
        set_evidence(out, evidence)
        set_clears(out, clears_on)
        set_expires(out, expires_on)
        set_needs(out, needs)
        set_stale(out, stale_on)
        return out

    return make_outcome


def _evidence_builder() -> Callable[..., Evidence]:
    new = object.__new__
    set_resource, set_value, set_unit, set_date, set_limit, set_limit_source, set_note = (
        getattr(Evidence, name).__set__ for name in Evidence.__slots__
    )

    def make_evidence(
        resource: str | None = None,
        value: Any = None,
        unit: str | None = None,
        date: str | None = None,
        limit: Any = None,
        limitSource: str | None = None,  # noqa: N803 - the field's name
        note: str | None = None,
    ) -> Evidence:
        """``Evidence(...)``, built faster (see above)."""
        out = new(Evidence)
        set_resource(out, resource)
        set_value(out, value)
        set_unit(out, unit)
        set_date(out, date)
        set_limit(out, limit)
        set_limit_source(out, limitSource)
        set_note(out, note)
        return out

    return make_evidence


def _criterion_result_builder() -> Callable[..., CriterionResult]:
    new = object.__new__
    (
        set_id,
        set_type,
        set_text,
        set_result,
        set_reason,
        set_evidence,
        set_clears,
        set_expires,
        set_needs,
        set_curator_review,
        set_stale,
    ) = (getattr(CriterionResult, name).__set__ for name in CriterionResult.__slots__)

    def make_criterion_result(
        id: str,  # noqa: A002 - the field's name
        type: str,  # noqa: A002 - the field's name
        text: str,
        result: Result,
        reason: str,
        evidence: tuple[Evidence, ...] = (),
        clears_on: dt.date | None = None,
        expires_on: dt.date | None = None,
        needs: tuple[str, ...] = (),
        curator_review: bool = False,
        stale_on: dt.date | None = None,
    ) -> CriterionResult:
        """``CriterionResult(...)``, built faster (see above)."""
        out = new(CriterionResult)
        set_id(out, id)
        set_type(out, type)
        set_text(out, text)
        set_result(out, result)
        set_reason(out, reason)
        set_evidence(out, evidence)
        set_clears(out, clears_on)
        set_expires(out, expires_on)
        set_needs(out, needs)
        set_curator_review(out, curator_review)
        set_stale(out, stale_on)
        return out

    return make_criterion_result


make_outcome = _outcome_builder()
make_evidence = _evidence_builder()
make_criterion_result = _criterion_result_builder()
