"""Medication records -> drug exposures by class, with anchor dates, dose (mg), route and prednisone factor.

Drug identity: ``medicationCodeableConcept``, a contained Medication (``#id``), or a separate Medication from
``raw.resources["Medication"]`` (by ``Medication/<id>`` or a full URL ending in it); an unresolved reference
falls back to its ``display``. Matching uses RxNorm ingredient codes, ATC codes and ingredient/brand names in
the displays and texts (SCD/SBD codes cannot be resolved offline).

Status and anchor per resource type (docs/normalisation.md):

* MedicationAdministration: ``completed``, ``in-progress``, ``stopped``, ``on-hold``, ``unknown`` count (the
  drug was given at least in part); ``not-done``, ``entered-in-error`` never. Anchor = end of
  ``effectivePeriod`` (or ``effectiveDateTime``); in-progress with a period and no end is ``ongoing``.
* MedicationStatement: ``active``, ``completed``, ``stopped``, ``on-hold``, ``unknown`` count; ``intended``,
  ``not-taken``, ``entered-in-error`` never. Anchor = end of ``effective[x]``; ``active`` without a period end
  (also with a single effectiveDateTime) is ``ongoing``.
* MedicationRequest: only evidence of current use: ``active`` (and ``on-hold``) orders with an order-type
  intent, ``ongoing`` = True, ``start`` = authoredOn, no end. An order whose ``dispenseRequest.validityPeriod``
  or dosing ``boundsPeriod`` ended before the evaluation date is not current use (``ongoing`` = False). Completed/stopped/cancelled requests are not
  proof of administration and are dropped.

Validation (performance, docs/performance-changes.md): a full fhir.resources R4B validation costs about 0.2-0.3 ms
per record, and a heavy chart has hundreds of administrations. Every record is read from the raw JSON first; only
the records that can decide a criterion are then validated: ongoing or undated records, records whose dates reach
into the last ``VALIDATION_WINDOW_DAYS`` (the longest drug window of any trial plus a margin; a test checks the
catalogue), the newest ``NEWEST_PER_CLASS`` records of each drug class ("ever exposed" rules) and every record of
a type other than MedicationAdministration. A validated record that fails is skipped, counted and marks its type
incomplete, as before; an older record of a class that has newer records is used as read, unvalidated.
"""

from __future__ import annotations

import datetime as dt
import marshal
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from cds.facts import DrugExposure, FuzzyDate, make_drug_exposure
from cds.mappings import DrugMatcher
from cds.normalise.common import Build, as_dict, as_list, codings, pair_strings, text_of, texts
from cds.normalise.dates import effective
from cds.normalise.units import number, quantity_units, to_mg

COUNTED = {
    "MedicationAdministration": frozenset({"completed", "in-progress", "stopped", "on-hold", "unknown"}),
    "MedicationStatement": frozenset({"active", "completed", "stopped", "on-hold", "unknown"}),
    "MedicationRequest": frozenset({"active", "on-hold"}),
}
ONGOING_STATUS = {"MedicationAdministration": "in-progress", "MedicationStatement": "active"}
REQUEST_INTENTS = frozenset({"order", "original-order", "reflex-order", "filler-order", "instance-order"})
VALIDATION_WINDOW_DAYS = 120  # longest drug window in the catalogue: 90 days (investigational), plus a margin
NEWEST_PER_CLASS = 3
ANTICANCER_CLASSES = frozenset(
    {
        "myelosuppressive-chemotherapy",
        "nitrosourea",
        "anticancer-other",
        "gd2-antibody",
        "mibg-131i",
        "checkpoint-inhibitor",
        "immunotherapy",
        "il2",
        "investigational",
    }
)


def medication_concept(res: dict[str, Any], medications: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The CodeableConcept naming the drug (resolving contained and separate Medication references)."""
    if isinstance(res.get("medicationCodeableConcept"), dict):
        return res["medicationCodeableConcept"]
    ref = as_dict(res.get("medicationReference"))
    target = ref.get("reference")
    med: dict[str, Any] | None = None
    if isinstance(target, str):
        if target.startswith("#"):
            for contained in as_list(res.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == target[1:]:
                    med = contained
                    break
        elif "Medication/" in target:
            med = medications.get(target.rsplit("Medication/", 1)[1].split("/_history")[0])
    if med is not None and (isinstance(med.get("code"), dict) or med.get("ingredient")):
        # Medication.code is optional: compounded / multi-ingredient products may name only their ingredients.
        code = dict(as_dict(med.get("code")))
        ingredients = [as_dict(i).get("itemCodeableConcept") for i in as_list(med.get("ingredient"))]
        extra_codings = [c for cc in ingredients for c in as_list(as_dict(cc).get("coding"))]
        extra_text = [t for cc in ingredients for t in texts(cc)]
        if extra_codings:
            code["coding"] = as_list(code.get("coding")) + extra_codings
        if extra_text:
            code["text"] = " / ".join([t for t in [text_of(code.get("text"))] if t] + extra_text)
        if code.get("coding") or text_of(code.get("text")):
            return code
    display = text_of(ref.get("display"))
    return {"text": display} if display else {}


def _dosages(res: dict[str, Any], source: str) -> list[dict[str, Any]]:
    if source == "MedicationAdministration":
        return [as_dict(res.get("dosage"))] if res.get("dosage") else []
    key = "dosage" if source == "MedicationStatement" else "dosageInstruction"
    return [as_dict(d) for d in as_list(res.get(key))]


def _dose_quantity(dosage: dict[str, Any], source: str) -> dict[str, Any]:
    if source == "MedicationAdministration":
        return as_dict(dosage.get("dose"))
    for dr in as_list(dosage.get("doseAndRate")):
        q = as_dict(as_dict(dr).get("doseQuantity"))
        if q:
            return q
    return {}


def _per_day(dosage: dict[str, Any]) -> float | None:
    """Administrations per day from timing.repeat (frequency / period periodUnit), when stated."""
    rep = as_dict(as_dict(dosage.get("timing")).get("repeat"))
    freq = number(rep.get("frequency"))
    period = number(rep.get("period"))
    unit = rep.get("periodUnit")
    per_unit = {"d": 1.0, "h": 24.0, "wk": 1 / 7.0, "min": 1440.0}.get(unit if isinstance(unit, str) else "")
    if freq is None or period is None or period <= 0 or per_unit is None:
        return None
    return freq / period * per_unit


def _route(dosages: list[dict[str, Any]], name_route: str | None, drugs: DrugMatcher) -> str | None:
    """The first dosage's route, else ``name_route``: the dose form in the drug's name ("... Oral Tablet")."""
    for dosage in dosages:
        cc = dosage.get("route")
        if cc:
            # drugs.route tries the codes first, then the texts: the texts are read only when no code decides
            route = drugs.route(codings(cc), ()) or drugs.route((), texts(cc))
            return route or "other"
    return name_route


def _drop_by_rules(
    ingredients: frozenset[str],
    strings: Sequence[str],
    dose_q: dict[str, Any],
    dose_mg: float | None,
    drugs: DrugMatcher,
) -> set[str]:
    """Ingredients to ignore: heparin flushes/locks, alteplase catheter clearance (drug_rules in drugs.yaml)."""
    lowered: str | None = None  # the texts, lower-cased once a rule's ingredient is present
    drop: set[str] = set()
    for rule in drugs.rules.values():
        ing = rule.get("ingredient")
        if ing not in ingredients:
            continue
        if lowered is None:
            lowered = " ".join(s.lower() for s in strings)
        if any(word in lowered for word in rule.get("drop_when_text", ())):
            drop.add(ing)
        limit = rule.get("drop_when_dose_units_below")
        value = number(dose_q.get("value"))
        if (
            limit is not None
            and value is not None
            and any(u.lower() in ("u", "[iu]", "iu", "units", "unit", "[u]") for u in quantity_units(dose_q))
            and value < limit
        ):
            drop.add(ing)
        mg_limit = rule.get("drop_when_dose_mg_at_most")
        if mg_limit is not None and dose_mg is not None and dose_mg <= mg_limit:
            drop.add(ing)
    return drop


# (ingredients, classes, looks anticancer, "system|code" strings, route named in the texts)
Identified = tuple[frozenset[str], frozenset[str], bool, tuple[str, ...], str | None]
# the texts of a drug's concept, and what its codings and texts identify (None when it has neither)
Named = tuple[tuple[str, ...], Identified | None]


def _identify(concept: dict[str, Any], drugs: DrugMatcher, memo: dict[bytes, Named] | None) -> Named:
    """The texts of a drug's concept and, when it has codings or texts, ``drugs.match``,
    ``drugs.looks_anticancer``, the code strings (:func:`code_strings`) and the route named in the texts.

    Remembered per call in ``memo`` by the concept's content (``marshal`` format 2, as the validation keys:
    :func:`cds.normalise.validation.key`): a chart names the same few drugs hundreds of times, and all of it is a
    pure function of the concept."""
    key: bytes | None = None
    if memo is not None:
        try:
            key = marshal.dumps(concept, 2)
        except ValueError:  # not JSON data: no memo
            key = None
        else:
            found = memo.get(key)
            if found is not None:
                return found
    pairs = codings(concept)
    strings = tuple(texts(concept))
    identified: Identified | None = None
    if pairs or strings:
        ingredients, classes = drugs.match(pairs, strings)
        looks = drugs.looks_anticancer(pairs, strings)
        identified = (ingredients, classes, looks, pair_strings(pairs), drugs.route([], strings))
    named = (strings, identified)
    if key is not None and memo is not None:
        memo[key] = named
    return named


def exposure_of(
    res: dict[str, Any],
    source: str,
    medications: dict[str, dict[str, Any]],
    build: Build,
    medication_unavailable: bool = False,
    validate: bool = True,
    memo: dict[bytes, Named] | None = None,
) -> DrugExposure | None:
    """One medication record -> DrugExposure, or None when it maps to no class and does not look anticancer.

    ``validate=False`` leaves the R4B validation of a classified record to the caller (``normalise_drugs``).

    A record whose drug cannot be identified because its Medication could not be fetched is kept as an
    unidentified drug flagged ``looks_anticancer_unclassified`` (it might be chemotherapy: unknown, not ignored).
    """
    drugs = build.mappings.drugs
    strings, identified = _identify(medication_concept(res, medications), drugs, memo)
    if identified is None:
        build.count(f"{source}: drug could not be identified")
        if not medication_unavailable or (validate and not build.valid(res, source)):
            return None
        start, end, ongoing = _anchor(res, source, build)
        return make_drug_exposure(
            classes=frozenset(),
            resource_id=f"{source}/{res.get('id')}",
            source=source,
            name="unidentified medication (Medication resource unavailable)",
            status=res.get("status"),
            start=start,
            end=end,
            ongoing=ongoing,
            looks_anticancer_unclassified=True,
        )
    ingredients, classes, looks_raw, codes, name_route = identified
    dosages = _dosages(res, source)
    dose_q = _dose_quantity(dosages[0], source) if dosages else {}
    dose_mg = to_mg(dose_q)
    dropped = _drop_by_rules(ingredients, strings, dose_q, dose_mg, drugs)
    if dropped:
        ingredients = ingredients - dropped
        classes = drugs.classes_of(ingredients)
    route = _route(dosages, name_route, drugs)
    if route is not None and route not in drugs.systemic_routes:
        classes = frozenset(c for c in classes if c not in drugs.systemic_only_classes)
    looks = looks_raw and not (classes & ANTICANCER_CLASSES)
    if not classes and not looks:
        return None
    if validate and not build.valid(res, source):
        return None
    start, end, ongoing = _anchor(res, source, build)
    per_day = _per_day(dosages[0]) if dosages and source != "MedicationAdministration" else None
    factor = drugs.prednisone_factor(ingredients) if "corticosteroid-systemic" in classes else None
    return make_drug_exposure(
        classes=classes,
        resource_id=f"{source}/{res.get('id')}",
        source=source,
        name=(strings[0] if strings else ", ".join(sorted(ingredients))) or "medication",
        codes=codes,
        status=res.get("status"),
        start=start,
        end=end,
        ongoing=ongoing,
        dose_mg=dose_mg,
        dose_per_day_mg=dose_mg * per_day if dose_mg is not None and per_day else None,
        route=route,
        prednisone_factor=factor,
        looks_anticancer_unclassified=looks,
    )


def _anchor(
    res: dict[str, Any], source: str, build: Build
) -> tuple[FuzzyDate | None, FuzzyDate | None, bool]:
    if source == "MedicationRequest":
        authored = build.dates(res.get("authoredOn"), build.tz)
        until = _request_end(res, build)
        if until is not None and until.latest < build.evaluation_date:
            return authored, until, False  # the order ran out before today: no evidence of current use
        return authored, None, True
    start, end = effective(res, "effective", build.tz, build.dates)
    has_period_end = isinstance(res.get("effectivePeriod"), dict) and "end" in res["effectivePeriod"]
    point = "effectiveDateTime" in res or "effectiveInstant" in res or "effectiveDate" in res
    # An administration at a single time point is one dose, never ongoing; an active statement with a single
    # effectiveDateTime says the patient is taking it (since that date).
    ongoing = (
        res.get("status") == ONGOING_STATUS.get(source)
        and not has_period_end
        and not (point and source == "MedicationAdministration")
    )
    if ongoing:
        return start, None, True
    return start, end, False


def _request_end(res: dict[str, Any], build: Build) -> FuzzyDate | None:
    """When an order stops being valid: ``dispenseRequest.validityPeriod.end``, else the dosing bounds' end."""
    ends = [
        build.dates(as_dict(as_dict(res.get("dispenseRequest")).get("validityPeriod")).get("end"), build.tz)
    ]
    for dosage in as_list(res.get("dosageInstruction")):
        bounds = as_dict(as_dict(as_dict(as_dict(dosage).get("timing")).get("repeat")).get("boundsPeriod"))
        ends.append(build.dates(bounds.get("end"), build.tz))
    known = [e for e in ends if e is not None]
    return max(known, key=lambda e: e.latest) if known else None


def normalise_drugs(
    raw_resources: dict[str, list[Any]], build: Build, medication_unavailable: bool = False
) -> tuple[DrugExposure, ...]:
    medications = {
        m["id"]: m
        for m in raw_resources.get("Medication", [])
        if isinstance(m, dict) and isinstance(m.get("id"), str)
    }
    read: list[tuple[dict[str, Any], str, DrugExposure]] = []
    memo: dict[bytes, Named] = {}
    for source in ("MedicationAdministration", "MedicationStatement", "MedicationRequest"):
        for res in raw_resources.get(source, []):
            if not isinstance(res, dict):
                build.count(f"{source}: malformed resource skipped")
                continue
            if res.get("status") not in COUNTED[source]:
                continue
            if (
                source == "MedicationRequest"
                and res.get("intent") not in REQUEST_INTENTS
                and res.get("intent") is not None
            ):
                continue
            exposure = exposure_of(
                res, source, medications, build, medication_unavailable, validate=False, memo=memo
            )
            if exposure is not None:
                read.append((res, source, exposure))
    deciding = records_to_validate([exposure for _res, _source, exposure in read], build.evaluation_date)
    return tuple(
        exposure
        for index, (res, source, exposure) in enumerate(read)
        if index not in deciding or build.valid(res, source)
    )


def records_to_validate(exposures: list[DrugExposure], evaluation_date: dt.date) -> set[int]:
    """Indexes of the exposures that can decide a criterion and so must pass R4B validation (module docstring)."""
    horizon = evaluation_date - dt.timedelta(days=VALIDATION_WINDOW_DAYS)
    chosen: set[int] = set()
    by_class: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for index, e in enumerate(exposures):
        dates = [d.latest for d in (e.start, e.end) if d is not None]
        newest = max(dates) if dates else None
        if (
            e.ongoing
            or newest is None
            or newest >= horizon
            or e.looks_anticancer_unclassified
            or e.source != "MedicationAdministration"
        ):
            chosen.add(index)
        if newest is not None:  # recent records rank too: "newest per class" means among all of them
            for cls in e.classes:
                by_class[cls].append((newest, index))
    for items in by_class.values():
        items.sort(reverse=True)
        chosen.update(index for _date, index in items[:NEWEST_PER_CLASS])
    return chosen
