"""``age``: the patient's age is within ``min``/``max`` (max inclusive in completed units; see timerules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import ref
from cds.facts import FuzzyDate
from cds.results import Evidence, Outcome, Result, make_evidence, make_outcome


@dataclass(frozen=True, slots=True)
class AgeSpec:
    """An age rule read once (``prepare``): its limits and their text."""

    minimum: tr.Duration | None
    maximum: tr.Duration | None
    past_maximum: tr.Duration | None  # maximum + one unit: reaching it is ageing out (tr.aged_out)
    limits: str  # "12 years to 17 years", "at least 12 years", "up to 17 years"


def prepare_age(rule: dict[str, Any]) -> AgeSpec:
    minimum = tr.Duration.parse(rule["min"]) if rule.get("min") else None
    maximum = tr.Duration.parse(rule["max"]) if rule.get("max") else None
    limits = (
        " to ".join(str(d) for d in (minimum, maximum) if d)
        if minimum and maximum
        else (f"at least {minimum}" if minimum else f"up to {maximum}")
    )
    past_maximum = maximum.plus_one_unit() if maximum is not None else None
    return AgeSpec(minimum, maximum, past_maximum, limits)


def _age_today(ctx: Context, birth: FuzzyDate) -> tuple[str, tuple[Evidence, ...]]:
    """The age text and its evidence, built once per call (``Scratch.age``)."""
    if ctx.scratch.age is None:
        age = tr.age_text(birth, ctx.today)
        evidence = (
            make_evidence(
                resource=ref("Patient", ctx.facts.demographics.resource_id),
                value=age,
                date=str(birth),
                note="birth date; age today",
            ),
        )
        ctx.scratch.age = (age, evidence)
    return ctx.scratch.age


@register("age", prepare=prepare_age)
def evaluate_age(spec: AgeSpec, ctx: Context) -> Outcome:
    birth = ctx.facts.demographics.birth_date
    if birth is None:
        return make_outcome(Result.UNKNOWN, "date of birth not recorded", needs=("date of birth",))
    today = ctx.today
    age, evidence = _age_today(ctx, birth)
    minimum, maximum = spec.minimum, spec.maximum
    expires = None
    if maximum is not None:
        out = tr.reached(birth, spec.past_maximum, today)  # tr.aged_out(birth, maximum, today)
        if out.state == tr.Tri.TRUE:
            return make_outcome(Result.NOT_MET, f"age {age} is above the maximum of {maximum}", evidence)
        if out.state == tr.Tri.UNKNOWN:
            return make_outcome(
                Result.UNKNOWN,
                f"birth date {birth} is too imprecise to tell whether the age is within {maximum}",
                evidence,
                needs=("exact date of birth",),
            )
        expires = out.first
    if minimum is not None:
        reach = tr.age_reached(birth, minimum, today)
        if reach.state == tr.Tri.FALSE:
            clears = reach.certain if expires is None or reach.certain < expires else None
            return make_outcome(
                Result.NOT_MET,
                f"age {age} is below the minimum of {minimum} (reached on {reach.certain})",
                evidence,
                clears_on=clears,
            )
        if reach.state == tr.Tri.UNKNOWN:
            return make_outcome(
                Result.UNKNOWN,
                f"birth date {birth} is too imprecise to tell whether the age is at least {minimum}",
                evidence,
                needs=("exact date of birth",),
            )
    return make_outcome(Result.MET, f"age {age} is within {spec.limits}", evidence, expires_on=expires)
