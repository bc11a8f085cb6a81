"""``exposure``: drugs (``drugClasses``), procedures (``procedureGroups``), vaccines (``vaccineGroups``).

Modes:

- ``within: duration``: some exposure's end (or start / date when no end is recorded) plus ``within`` is after
  the evaluation date; met expires on the latest such day (the waiting period ends). An ongoing drug record
  without an end never expires. A partial date straddling the edge: unknown.
- ``current: true``: an ongoing drug record without an end (or an in-progress / on-hold procedure) exists and never
  expires; a record whose end is today or later counts until the day after that end.
- neither: ever exposed.

Drugs: MedicationRequest records count only as current use (ongoing). ``routes`` restricts drugs to those
routes; a drug with no recorded route might match (unknown). When the rule names an anticancer class and a
drug looks anticancer but matches no class, the result cannot be met-free: unknown.
Procedures: ``bodySites`` restricts procedures to those sites; a procedure without a recorded site is unknown.
Closed world: with every source type retrieved and nothing matching, "none recorded"; otherwise unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import DRUG_SOURCES, labels, ref, source_unknown, unavailable, unmapped, when
from cds.engine.rules._history import SHOWN, Judged, conclude, judge_within, nothing_recorded
from cds.facts import DrugExposure, FuzzyDate, ImmunizationFact, ProcedureFact
from cds.results import Evidence, Outcome, make_evidence

ANTICANCER_CLASSES = frozenset(
    {
        "myelosuppressive-chemotherapy",
        "nitrosourea",
        "anticancer-other",
        "mibg-131i",
        "gd2-antibody",
        "il2",
        "checkpoint-inhibitor",
        "immunotherapy",
        "investigational",
    }
)

# Drug record statuses that never count. ``on-hold`` administrations and statements do count (the drug was
# given, docs/normalisation.md); only an on-hold MedicationRequest is skipped (a paused order is no current use).
NEVER_COUNTS = frozenset({"entered-in-error", "not-taken", "cancelled", "draft", "not-done", "intended"})


_FIELDS = (
    ("drug", "drugClasses"),
    ("procedure", "procedureGroups"),
    ("vaccine", "vaccineGroups"),
    ("bodysite", "bodySites"),
)


@dataclass(frozen=True, slots=True)
class ExposureSpec:
    """An exposure rule read once (``prepare``): what it matches, its mode and its reason texts."""

    mapped: tuple[
        tuple[str, tuple[str, ...]], ...
    ]  # (mapping kind, names) that must not be unmapped, in order
    drug_classes: frozenset[str]
    unclassified_anticancer: bool  # drugs that look anticancer but have no class might match
    routes: frozenset[str]
    procedure_groups: frozenset[str]
    body_sites: frozenset[str]
    vaccine_groups: frozenset[str]
    current: bool
    within: tr.Duration | None
    sources: tuple[str, ...]  # resource types the rule reads (closed-world check)
    names: tuple[str, ...]
    name: str | None  # labels(names); None when there are no names (labels() then fails, as it always did)
    found: str
    none: str
    outside: str
    nothing: Outcome  # nothing_recorded(none), built once


def prepare_exposure(rule: dict[str, Any]) -> ExposureSpec:
    mapped = tuple((kind, tuple(rule[field])) for kind, field in _FIELDS if rule.get(field))
    names = tuple(n for kind, listed in mapped if kind != "bodysite" for n in listed)
    current = bool(rule.get("current"))
    within = tr.Duration.parse(rule["within"]) if not current and rule.get("within") else None
    classes = frozenset(rule.get("drugClasses", ()))
    sources = (
        (DRUG_SOURCES if rule.get("drugClasses") else ())
        + (("Procedure",) if rule.get("procedureGroups") else ())
        + (("Immunization",) if rule.get("vaccineGroups") else ())
    )
    name = labels(names) if names else None
    if current:
        texts = (f"currently receiving {name}", f"no current {name} recorded", f"no current {name}")
    elif within is not None:
        texts = (f"{name} within {within}", f"no {name} recorded", f"last {name} more than {within} ago")
    else:
        texts = (f"{name} recorded", f"no {name} recorded", f"no {name}")
    return ExposureSpec(
        mapped=mapped,
        drug_classes=classes,
        unclassified_anticancer=bool(classes & ANTICANCER_CLASSES),
        routes=frozenset(rule.get("routes", ())),
        procedure_groups=frozenset(rule.get("procedureGroups", ())),
        body_sites=frozenset(rule.get("bodySites", ())),
        vaccine_groups=frozenset(rule.get("vaccineGroups", ())),
        current=current,
        within=within,
        sources=sources,
        names=names,
        name=name,
        found=texts[0],
        none=texts[1],
        outside=texts[2],
        nothing=nothing_recorded(texts[1]),
    )


_UNSET = object()


class _Records:
    """The judged records of one rule, in facts order.

    A record outside the period is built only while fewer than ``SHOWN`` are kept: ``conclude`` names the
    first ``SHOWN`` records, and only when none counts, so later ones would never be shown (a patient with
    hundreds of old chemotherapy doses costs no more than one with three).
    """

    __slots__ = ("items", "_outside", "_within", "_today", "_last_over")

    def __init__(self, within: tr.Duration | None, today: dt.date) -> None:
        self.items: list[Judged] = []
        self._outside = 0
        self._within = within
        self._today = today
        self._last_over: dt.date | None | object = (
            _UNSET  # tr.last_day_over(within, today), found on first use
        )

    @property
    def want_outside(self) -> bool:
        return self._outside < SHOWN

    def certainly_over(self, anchor: FuzzyDate) -> bool:
        """``tr.certainly_over(anchor, within, today)`` for the rule's ``within`` period (which must be set)."""
        if self._last_over is _UNSET:
            assert self._within is not None
            self._last_over = tr.last_day_over(self._within, self._today)
        last = self._last_over
        return last is not None and anchor.latest <= last  # type: ignore[operator]

    def add(self, judged: Judged | None) -> None:
        if judged is None:
            return
        if judged.state == tr.Tri.FALSE:
            self._outside += 1
        self.items.append(judged)


def _judge(
    anchor: FuzzyDate | None,
    ongoing: bool,
    spec: ExposureSpec,
    today: dt.date,
    evidence: Callable[[], Evidence],
    text: str,
    records: _Records,
) -> Judged | None:
    """The record judged against the rule's mode; None for a record outside it once ``records`` has enough
    of those (``_Records.want_outside``)."""
    if spec.current:
        if ongoing:
            return Judged(tr.Tri.TRUE, evidence(), f"{text} (ongoing)")
        if anchor is not None and anchor.earliest >= today:  # planned to end today or later
            return Judged(
                tr.Tri.TRUE,
                evidence(),
                f"{text} (until {anchor})",
                expires_on=anchor.latest + dt.timedelta(days=1),
            )
        if anchor is not None and anchor.latest >= today:
            return Judged(tr.Tri.UNKNOWN, evidence(), f"{text} (ends {anchor})", need=f"end date of {text}")
        return Judged(tr.Tri.FALSE, evidence(), text) if records.want_outside else None
    if ongoing:
        return Judged(tr.Tri.TRUE, evidence(), f"{text} (ongoing, no end date)")
    if spec.within is None:
        return Judged(tr.Tri.TRUE, evidence(), text)
    if anchor is not None and not records.want_outside and records.certainly_over(anchor):
        return (
            None  # the period is over: judge_within would judge it FALSE (_drugs skips the same case early)
        )
    return judge_within(
        anchor, spec.within, today, evidence(), f"{text} on {anchor}" if anchor else text, text
    )


def _drugs(spec: ExposureSpec, ctx: Context, records: _Records) -> None:
    classes, routes, today = spec.drug_classes, spec.routes, ctx.today
    within = spec.within is not None  # the "within" mode (never together with "current")
    cache = ctx.scratch.drug_evidence
    for position, d in ctx.scratch.drugs_in(classes, spec.unclassified_anticancer):
        matches = not d.classes.isdisjoint(classes)
        unclassified = d.looks_anticancer_unclassified and not d.classes and spec.unclassified_anticancer
        if not (matches or unclassified):
            continue
        if d.source == "MedicationRequest" and not d.ongoing:
            continue  # a request is evidence of current use only
        if d.status in NEVER_COUNTS or (d.status == "on-hold" and d.source == "MedicationRequest"):
            continue  # an on-hold (paused) order is not current use; an on-hold administration was still given
        ongoing = d.ongoing and d.end is None
        anchor = d.end or d.start
        if (
            within
            and not records.want_outside
            and not ongoing
            and anchor is not None
            and records.certainly_over(anchor)
        ):
            continue  # what _judge would do (keep the two tests alike): over, and enough outside records kept
        evidence = partial(_cached_drug_evidence, cache, position, d)
        judged = _judge(anchor, ongoing, spec, today, evidence, d.name, records)
        if judged is None:
            continue
        if unclassified and judged.state != tr.Tri.FALSE:
            judged = Judged(
                tr.Tri.UNKNOWN,
                judged.evidence,
                f"{d.name}: looks like an anticancer drug but is not classified",
                need=f"drug class of {d.name}",
            )
        elif routes and judged.state == tr.Tri.TRUE and d.route not in routes:
            if d.route is not None:
                continue
            judged = Judged(
                tr.Tri.UNKNOWN,
                judged.evidence,
                f"{judged.text}, route not recorded",
                need=f"route of {d.name}",
            )
        records.add(judged)


def _cached_drug_evidence(cache: dict[int, Evidence], position: int, d: DrugExposure) -> Evidence:
    """The drug's evidence, built once per call (``Scratch.drug_evidence``, by position in ``facts.drugs``)."""
    found = cache.get(position)
    if found is None:
        found = cache[position] = _drug_evidence(d)
    return found


def _drug_evidence(d: DrugExposure) -> Evidence:
    note = ", ".join(x for x in (d.source, d.route, "ongoing" if d.ongoing else None) if x)
    return make_evidence(
        resource=ref(d.source, d.resource_id), value=d.name, date=when(d.end or d.start), note=note
    )


def _procedures(spec: ExposureSpec, ctx: Context, records: _Records) -> None:
    groups, sites = spec.procedure_groups, spec.body_sites
    for p in ctx.facts.procedures:
        if p.groups.isdisjoint(groups):
            continue
        if sites and not (p.body_sites & sites):
            if not p.body_sites:
                records.add(
                    Judged(
                        tr.Tri.UNKNOWN,
                        _procedure_evidence(p),
                        f"{p.display}, body site not recorded",
                        need=f"body site of {p.display}",
                    )
                )
            continue
        ongoing = p.status in ("in-progress", "on-hold") and p.end is None
        evidence = partial(_procedure_evidence, p)
        records.add(_judge(p.end or p.start, ongoing, spec, ctx.today, evidence, p.display, records))


def _procedure_evidence(p: ProcedureFact) -> Evidence:
    note = ", ".join(
        x
        for x in (
            p.status,
            f"intent {p.intent}" if p.intent else None,
            "site " + "/".join(sorted(p.body_sites)) if p.body_sites else None,
        )
        if x
    )
    return make_evidence(
        resource=ref("Procedure", p.resource_id),
        value=p.display,
        date=when(p.end or p.start),
        note=note or None,
    )


def _vaccines(spec: ExposureSpec, ctx: Context, records: _Records) -> None:
    groups = spec.vaccine_groups
    for v in ctx.facts.immunizations:
        if not v.groups.isdisjoint(groups):
            evidence = partial(_vaccine_evidence, v)
            records.add(_judge(v.date, False, spec, ctx.today, evidence, v.display, records))


def _vaccine_evidence(v: ImmunizationFact) -> Evidence:
    return make_evidence(resource=ref("Immunization", v.resource_id), value=v.display, date=when(v.date))


@register("exposure", prepare=prepare_exposure)
def evaluate_exposure(spec: ExposureSpec, ctx: Context) -> Outcome:
    for kind, listed in spec.mapped:
        if (review := unmapped(ctx, kind, listed)) is not None:
            return review
    records = _Records(spec.within, ctx.today)
    if spec.drug_classes:
        _drugs(spec, ctx, records)
    if spec.procedure_groups:
        _procedures(spec, ctx, records)
    if spec.vaccine_groups:
        _vaccines(spec, ctx, records)
    judged = records.items
    name = spec.name if spec.name is not None else labels(spec.names)
    missing = unavailable(ctx, spec.sources)
    if missing and not any(j.state == tr.Tri.TRUE for j in judged):
        return source_unknown(missing, name)
    return conclude(judged, spec.found, spec.none, spec.outside, spec.nothing)
