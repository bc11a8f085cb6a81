"""``condition``: a matching condition record exists (refuted / entered-in-error never count).

``active`` (default true): only active records count. ``within``: the record's onset or abatement (the later
of the two that is recorded) lies within the period; a record with neither date is unknown. ``bodySites``:
the record's site must be one of them; a record without a site is unknown. Closed world: a retrieved,
empty list is "none recorded"; an unavailable (or incomplete) Condition source is unknown unless a record
that is present decides the predicate true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import labels, ref, source_unknown, unmapped, when
from cds.engine.rules._history import Judged, conclude, judge_within, nothing_recorded
from cds.facts import ConditionFact
from cds.results import Evidence, Outcome, make_evidence

NEVER_COUNTS = ("refuted", "entered-in-error")


def condition_evidence(c: ConditionFact) -> Evidence:
    status = c.clinical_status or ("active" if c.active else "inactive")
    return make_evidence(
        resource=ref("Condition", c.resource_id),
        value=c.display,
        date=when(c.abatement or c.onset),
        note=status
        + (f", since {c.onset}" if c.onset and c.abatement is None else "")
        + (f", abated {c.abatement}" if c.abatement else ""),
    )


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    """A condition rule read once (``prepare``): the groups and sites it matches, its period and texts."""

    groups: frozenset[str]
    ordered_groups: tuple[str, ...]
    sites: frozenset[str]
    ordered_sites: tuple[str, ...]
    active_only: bool
    within: tr.Duration | None
    name: str
    found: str
    none: str
    outside: str
    nothing: Outcome  # nothing_recorded(none), built once


def prepare_condition(rule: dict[str, Any]) -> ConditionSpec:
    groups = frozenset(rule["groups"])
    sites = frozenset(rule.get("bodySites", ()))
    ordered = tuple(sorted(groups))
    name = labels(ordered)
    active_only = bool(rule.get("active", True))
    within = tr.Duration.parse(rule["within"]) if rule.get("within") else None
    qualifier = "active " if active_only and not name.startswith("active") else ""
    period = f" within {within}" if within else ""
    none = f"no {qualifier}{name} recorded{period}"
    return ConditionSpec(
        groups=groups,
        ordered_groups=ordered,
        sites=sites,
        ordered_sites=tuple(sorted(sites)),
        active_only=active_only,
        within=within,
        name=name,
        found=f"{qualifier}{name} recorded{period}",
        none=none,
        outside=f"{name} recorded, not within {within}",
        nothing=nothing_recorded(none),
    )


@register("condition", prepare=prepare_condition)
def evaluate_condition(spec: ConditionSpec, ctx: Context) -> Outcome:
    review = unmapped(ctx, "condition", spec.ordered_groups)
    if review is None and spec.ordered_sites:
        review = unmapped(ctx, "bodysite", spec.ordered_sites)
    if review is not None:
        return review
    # not ctx.facts.source_ok("Condition"): not retrieved, or a relevant record was unreadable
    incomplete = "Condition" not in ctx.scratch.retrieved
    groups, sites, active_only, within = spec.groups, spec.sites, spec.active_only, spec.within
    judged: list[Judged] = []
    for c in ctx.facts.conditions:
        if c.groups.isdisjoint(groups) or c.verification_status in NEVER_COUNTS:
            continue
        if active_only and not c.active:
            continue
        evidence = condition_evidence(c)
        text = c.display + (" (active)" if c.active else f" ({c.clinical_status or 'inactive'})")
        if sites and c.body_sites.isdisjoint(sites):
            if not c.body_sites:
                judged.append(
                    Judged(
                        tr.Tri.UNKNOWN,
                        evidence,
                        f"{text}, body site not recorded",
                        need=f"body site of {c.display}",
                    )
                )
            continue
        if within is None:
            judged.append(Judged(tr.Tri.TRUE, evidence, text))
            continue
        anchor = c.abatement or c.onset
        judged.append(
            judge_within(
                anchor,
                within,
                ctx.today,
                evidence,
                f"{text}, {anchor}" if anchor else text,
                f"onset/abatement of {c.display}",
            )
        )
    if incomplete and not any(j.state == tr.Tri.TRUE for j in judged):
        return source_unknown(["Condition"], spec.name)
    return conclude(judged, spec.found, spec.none, spec.outside, spec.nothing)
