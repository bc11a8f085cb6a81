"""``age``: the patient's age is within ``min``/``max`` (max inclusive in completed units; see timerules)."""

from __future__ import annotations

from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import ref
from cds.results import Evidence, Outcome, Result


@register("age")
def evaluate_age(rule: dict[str, Any], ctx: Context) -> Outcome:
    demo = ctx.facts.demographics
    birth = demo.birth_date
    if birth is None:
        return Outcome(Result.UNKNOWN, "date of birth not recorded", needs=("date of birth",))
    today = ctx.today
    age = tr.age_text(birth, today)
    evidence = (
        Evidence(
            resource=ref("Patient", demo.resource_id),
            value=age,
            date=str(birth),
            note="birth date; age today",
        ),
    )
    minimum = tr.Duration.parse(rule["min"]) if rule.get("min") else None
    maximum = tr.Duration.parse(rule["max"]) if rule.get("max") else None
    expires = None
    if maximum is not None:
        out = tr.aged_out(birth, maximum, today)
        if out.state == tr.Tri.TRUE:
            return Outcome(Result.NOT_MET, f"age {age} is above the maximum of {maximum}", evidence)
        if out.state == tr.Tri.UNKNOWN:
            return Outcome(
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
            return Outcome(
                Result.NOT_MET,
                f"age {age} is below the minimum of {minimum} (reached on {reach.certain})",
                evidence,
                clears_on=clears,
            )
        if reach.state == tr.Tri.UNKNOWN:
            return Outcome(
                Result.UNKNOWN,
                f"birth date {birth} is too imprecise to tell whether the age is at least {minimum}",
                evidence,
                needs=("exact date of birth",),
            )
    limits = (
        " to ".join(str(d) for d in (minimum, maximum) if d)
        if minimum and maximum
        else (f"at least {minimum}" if minimum else f"up to {maximum}")
    )
    return Outcome(Result.MET, f"age {age} is within {limits}", evidence, expires_on=expires)
