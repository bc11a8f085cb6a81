"""``performance``: Karnofsky from ``switchAge`` (default 16) years, Lansky below; or ECOG.

The latest value within the window (default 30 days, ``windowDays`` overrides) is compared with ``op value``.
An unknown age leaves the Karnofsky/Lansky choice open: unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import OP_WORDS, compare, label, num, unmapped
from cds.engine.rules._labs import (
    latest,
    resolve_same_day,
    value_evidence,
)
from cds.facts import LabValue
from cds.results import Outcome, Result, make_outcome

DEFAULT_WINDOW_DAYS = 30


def _usable(item: LabValue) -> bool:
    return item.value is not None and item.problem is None


@dataclass(frozen=True, slots=True)
class PerformanceSpec:
    """A performance rule read once (``prepare``)."""

    ecog: bool  # scale ECOG (otherwise Karnofsky / Lansky by age)
    switch_age: tr.Duration  # Karnofsky from this age, Lansky below
    window_days: int
    op: str
    limit: float


def prepare_performance(rule: dict[str, Any]) -> PerformanceSpec:
    return PerformanceSpec(
        ecog=rule["scale"] == "ecog",
        switch_age=tr.Duration(int(rule.get("switchAge", 16)), "a"),
        window_days=int(rule.get("windowDays", DEFAULT_WINDOW_DAYS)),
        op=rule["op"],
        limit=float(rule["value"]),
    )


def _concept(spec: PerformanceSpec, ctx: Context) -> str | None:
    if spec.ecog:
        return "ecog"
    birth = ctx.facts.demographics.birth_date
    if birth is None:
        return None
    reach = tr.age_reached(birth, spec.switch_age, ctx.today)
    if reach.state == tr.Tri.UNKNOWN:
        return None
    return "karnofsky" if reach.state == tr.Tri.TRUE else "lansky"


@register("performance", prepare=prepare_performance)
def evaluate_performance(spec: PerformanceSpec, ctx: Context) -> Outcome:
    concept = _concept(spec, ctx)
    if concept is None:
        return make_outcome(
            Result.UNKNOWN,
            "age unknown: cannot tell whether Karnofsky or Lansky applies",
            needs=("date of birth",),
        )
    if (review := unmapped(ctx, "lab", [concept])) is not None:
        return review
    window = spec.window_days
    found = latest(ctx, concept, window, _usable, "performance")
    pick, extra = found.pick, found.context
    item = pick.value
    name = label(concept)
    if item is None:
        return make_outcome(
            Result.UNKNOWN,
            found.missing,
            extra,
            needs=(f"{name} score within {window} days",),
        )
    outcomes = [_judge(v, spec, name, window) for v in (item, *pick.same_day)]
    return resolve_same_day(outcomes, name, item, window)


def _judge(item: LabValue, spec: PerformanceSpec, name: str, window: int) -> Outcome:
    assert item.value is not None
    op, limit = spec.op, spec.limit
    ok = compare(item.value, op, limit)
    reason = f"{name} {num(item.value)} on {item.date} is {'' if ok else 'not '}{OP_WORDS[op]} {num(limit)}"
    evidence = (value_evidence(item, limit=limit, limit_source="trial"),)
    return make_outcome(
        Result.MET if ok else Result.NOT_MET, reason, evidence, stale_on=tr.stale_on(item.date, window)
    )
