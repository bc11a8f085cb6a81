"""``steroid-dose``: systemic prednisone-equivalent dose >= ``mgPerKgPerDay`` on >= ``minDays`` days within
the period.

Systemic = drug class ``corticosteroid-systemic`` with a route other than topical/inhaled. The daily dose is
``dose_per_day_mg`` (or ``dose_mg`` for a single-day record) x ``prednisone_factor``; the weight is the body
weight recorded nearest to the dosing days (any age). Met expires when the ``minDays``-th most recent
qualifying day leaves the period. Doses, dates or weight missing for a steroid record in the period: unknown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import DRUG_SOURCES, num, ref, source_unknown, unavailable, unmapped, when
from cds.facts import DrugExposure, FuzzyDate, LabValue
from cds.results import Evidence, Outcome, Result, make_evidence, make_outcome

STEROID_CLASS = "corticosteroid-systemic"
NOT_SYSTEMIC = ("topical", "inhaled")


def _daily_mg(d: DrugExposure) -> float | None:
    if d.prednisone_factor is None:
        return None
    if d.dose_per_day_mg is not None:
        return d.dose_per_day_mg * d.prednisone_factor
    if (
        d.dose_mg is not None
        and d.start is not None
        and d.end is not None
        and d.start.latest == d.end.earliest
    ):
        return d.dose_mg * d.prednisone_factor
    return None


def _nearest_weight(weights: tuple[LabValue, ...], days: list[dt.date]) -> LabValue | None:
    usable = [w for w in weights if w.value and w.problem is None]
    if not usable or not days:
        return None
    middle = days[len(days) // 2]
    return min(usable, key=lambda w: abs((w.date.earliest - middle).days))


@register("steroid-dose")
def evaluate_steroid_dose(rule: dict[str, Any], ctx: Context) -> Outcome:
    if (review := unmapped(ctx, "drug", [STEROID_CLASS])) is not None:
        return review
    missing = unavailable(ctx, DRUG_SOURCES)
    within = tr.Duration.parse(rule["within"])
    threshold = float(rule["mgPerKgPerDay"])
    min_days = int(rule["minDays"])
    today = ctx.today
    start = tr.subtract(today, within)  # the first day still inside the period (start + within == today)
    start = start + dt.timedelta(days=1)
    per_day: dict[dt.date, float] = {}
    evidence: list[Evidence] = []
    needs: list[str] = []
    for d in ctx.facts.drugs:
        if STEROID_CLASS not in d.classes or d.route in NOT_SYSTEMIC or d.source == "MedicationRequest":
            continue
        first = d.start or d.end
        last = d.end or (FuzzyDate.of(today) if d.ongoing else d.start)
        if first is None or last is None:
            needs.append(f"dates of {d.name}")
            continue
        if last.latest < start or first.earliest > today:
            continue
        evidence.append(
            make_evidence(
                resource=ref(d.source, d.resource_id),
                value=d.name,
                date=when(first),
                note=f"until {last}" + (f", {num(d.dose_per_day_mg)} mg/day" if d.dose_per_day_mg else ""),
            )
        )
        daily = _daily_mg(d)
        if daily is None or not (first.exact and last.exact):
            needs.append(f"daily dose and exact dates of {d.name}")
            continue
        day = max(first.earliest, start)
        while day <= min(last.latest, today):
            per_day[day] = per_day.get(day, 0.0) + daily
            day += dt.timedelta(days=1)
    if not per_day and not needs:
        if missing:
            return source_unknown(missing, "corticosteroid")
        return make_outcome(
            Result.NOT_MET, f"no systemic corticosteroid recorded within {within}", tuple(evidence)
        )
    days = sorted(per_day)
    weight = _nearest_weight(ctx.facts.lab_values("body-weight"), days)
    if per_day and weight is None:
        return make_outcome(
            Result.UNKNOWN,
            "systemic corticosteroid recorded but no body weight to compute mg/kg",
            tuple(evidence),
            needs=("body weight",),
        )
    qualifying: list[dt.date] = []
    if weight is not None and weight.value:
        evidence.append(
            make_evidence(
                resource=ref("Observation", weight.resource_id),
                value=weight.value,
                unit="kg",
                date=str(weight.date),
                note="weight nearest the doses",
            )
        )
        qualifying = [day for day in days if per_day[day] / weight.value >= threshold - 1e-9]
    if len(qualifying) >= min_days:
        anchor = qualifying[-min_days]
        expires = tr.add(anchor, within)
        return make_outcome(
            Result.MET,
            f"prednisone-equivalent >= {num(threshold)} mg/kg/day on {len(qualifying)} days within {within}",
            tuple(evidence),
            expires_on=expires,
        )
    if needs:
        return make_outcome(
            Result.UNKNOWN,
            f"corticosteroid dose within {within} cannot be computed",
            tuple(evidence),
            needs=tuple(dict.fromkeys(needs)),
        )
    return make_outcome(
        Result.NOT_MET,
        f"prednisone-equivalent >= {num(threshold)} mg/kg/day on {len(qualifying)} "
        f"of the required {min_days} days within {within}",
        tuple(evidence),
    )
