"""Observations -> lab values per concept (canonical unit, reference range, ULN fallback), newest first.

Status rules (documented in docs/normalisation.md):
* ``final``, ``amended``, ``corrected`` count;
* ``preliminary`` is kept as evidence only: ``problem = "preliminary result"`` so no criterion is decided by it;
* ``registered``, ``cancelled``, ``entered-in-error``, ``unknown`` and anything else are dropped.

Performance: Observations are pre-filtered on the raw JSON (code known to a concept, status, date within
``LOOKBACK_DAYS`` and not after the evaluation date); only the newest ``MAX_PER_CONCEPT`` candidates per concept
are validated with fhir.resources R4B and read. An invalid resource is skipped and counted in the notes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from cds.facts import FuzzyDate, LabValue, make_lab_value
from cds.mappings import LabConcept, Mappings, UlnTable, norm_code
from cds.normalise.answers import read_coded, read_score
from cds.normalise.common import Build, as_dict, as_list, codings, texts
from cds.normalise.dates import effective, raw_sort_key
from cds.normalise.patient import age_in_duration
from cds.normalise.units import Converted, convert_quantity, number, quantity_units, quantity_value

COUNTED = frozenset({"final", "amended", "corrected"})
EVIDENCE_ONLY = frozenset({"preliminary"})
LOOKBACK_DAYS = 400
MAX_PER_CONCEPT = 12
_STR_OR_NONE = (str, type(None))  # as ``str | None``, without building the union on every call


def observation_concepts(
    obs: dict[str, Any], mappings: Mappings, memo: dict[tuple[Any, Any], tuple[str, ...]] | None = None
) -> set[str]:
    """Concepts the Observation's code or any component code maps to (raw JSON, no validation).

    ``memo`` (one call's) remembers ``lab_concepts_for`` per (system, code): a chart repeats a few dozen codes.
    """
    found: set[str] = set()
    _add_concepts(found, obs.get("code"), mappings, memo)
    components = obs.get("component")
    if components is not None:
        for comp in as_list(components):
            if isinstance(comp, dict):
                _add_concepts(found, comp.get("code"), mappings, memo)
    return found


def _add_concepts(
    found: set[str], cc: Any, mappings: Mappings, memo: dict[tuple[Any, Any], tuple[str, ...]] | None
) -> None:
    """Add the concepts of every (system, code) pair :func:`codings` would give for ``cc`` (without building the
    list: the pre-filter runs over every Observation)."""
    if not isinstance(cc, dict):
        return
    for coding in as_list(cc.get("coding")):
        if isinstance(coding, dict):
            code = coding.get("code")
            if code is not None:
                found.update(_concepts_for(coding.get("system"), code, mappings, memo))


def _concepts_for(
    system: Any, code: Any, mappings: Mappings, memo: dict[tuple[Any, Any], tuple[str, ...]] | None
) -> tuple[str, ...]:
    if memo is None or not isinstance(system, _STR_OR_NONE) or not isinstance(code, str):
        return mappings.lab_concepts_for(system, code)
    key = (system, code)
    found = memo.get(key)
    if found is None:
        found = memo[key] = mappings.lab_concepts_for(system, code)
    return found


def normalise_labs(observations: list[Any], build: Build) -> dict[str, tuple[LabValue, ...]]:
    """All lab values by concept, newest first."""
    m = build.mappings
    horizon = build.evaluation_date - dt.timedelta(days=LOOKBACK_DAYS)
    candidates: dict[str, list[tuple[str, int]]] = defaultdict(list)
    concept_memo = build.lab_concepts
    # candidates: raw sort key, date and the concepts of the record's own code (in the reader's order)
    keys: dict[int, tuple[str, FuzzyDate, list[str]]] = {}
    parse, tz = build.dates, build.tz
    for index, obs in enumerate(observations):
        if not isinstance(obs, dict):
            build.count("Observation: malformed resource skipped")
            continue
        status = obs.get("status")
        if status not in COUNTED and status not in EVIDENCE_ONLY:
            continue
        # Undated and too old first: both are skipped silently, with or without a concept (and neither step
        # can raise), so the cheaper date test goes before the concept lookup. Most records carry
        # effectiveDateTime: read directly, it gives what ``effective`` and ``raw_sort_key`` give (the first
        # choice key present wins in both).
        point = obs.get("effectiveDateTime")
        if point is not None:
            when = parse(point, tz) or parse(obs.get("issued"), tz)
        else:
            start, end = effective(obs, "effective", tz, parse)
            when = end or start or parse(obs.get("issued"), tz)
        if when is None or when.latest < horizon:
            continue
        code_concepts = _concepts_for_cc(obs.get("code"), m, concept_memo)
        # (a record with components, rare, also counts for the components' concepts)
        concepts = (
            code_concepts if obs.get("component") is None else observation_concepts(obs, m, concept_memo)
        )
        if not concepts:
            continue
        if when.earliest > build.evaluation_date:
            build.count("Observation dated after the evaluation date ignored")
            continue
        key = point if isinstance(point, str) else raw_sort_key(obs, "effective")
        keys[index] = key, when, code_concepts
        for concept in concepts:
            candidates[concept].append((key, index))
    selected: set[int] = set()
    for items in candidates.values():
        items.sort(reverse=True)
        selected.update(index for _key, index in items[:MAX_PER_CONCEPT])
    values: dict[str, list[tuple[str, LabValue]]] = defaultdict(list)
    for index in sorted(selected):
        obs = observations[index]
        if not build.valid(obs, "Observation"):
            continue
        key, when, code_concepts = keys[index]
        for value in read_observation(obs, build, when, code_concepts):
            values[value.concept].append((key, value))
    return {concept: _newest_first(items) for concept, items in values.items()}


def _newest_first(items: list[tuple[str, LabValue]]) -> tuple[LabValue, ...]:
    items.sort(
        key=lambda kv: (kv[1].date.latest, kv[1].date.earliest, kv[0], kv[1].resource_id), reverse=True
    )
    return tuple(v for _k, v in items)


def read_observation(
    obs: dict[str, Any], build: Build, when: FuzzyDate | None = None, code_concepts: list[str] | None = None
) -> list[LabValue]:
    """Every concept value in one (validated) Observation: its own value and its components.

    ``when`` and ``code_concepts`` (the concepts of the record's ``code``, as :func:`_concepts_for_cc` gives
    them): when the caller has them already (the pre-filter of :func:`normalise_labs`)."""
    m = build.mappings
    if when is None:
        start, end = effective(obs, "effective", build.tz, build.dates)
        when = end or start or build.dates(obs.get("issued"), build.tz)
    if when is None:
        build.count("Observation without a usable date skipped")
        return []
    rid = f"Observation/{obs.get('id')}"
    status = str(obs.get("status"))
    out: list[LabValue] = []
    if code_concepts is None:
        code_concepts = _concepts_for_cc(obs.get("code"), m, build.lab_concepts)
    for concept_name in code_concepts:
        concept = _redirect(m.lab(concept_name), obs, m)
        out.append(_value(obs, obs, concept, when, rid, status, obs.get("code"), build))
    for comp in as_list(obs.get("component")):
        if not isinstance(comp, dict):
            continue
        for concept_name in _concepts_for_cc(comp.get("code"), m, build.lab_concepts):
            concept = m.lab(concept_name)
            out.append(_value(comp, obs, concept, when, rid, status, comp.get("code"), build))
    return out


def _strings(holder: dict[str, Any]) -> list[str]:
    value = holder.get("valueString")
    return [value] if isinstance(value, str) else []


def _concepts_for_cc(
    cc: Any, m: Mappings, memo: dict[tuple[Any, Any], tuple[str, ...]] | None = None
) -> list[str]:
    """The concepts of every (system, code) pair :func:`codings` gives for ``cc``, first seen first.

    Reads the codings as :func:`codings` does, without building the list of pairs (this runs for every
    Observation in the pre-filter's window); a coding whose (system, code) is in ``memo`` is answered from it
    (what :func:`_concepts_for` would do)."""
    found: list[str] = []
    if not isinstance(cc, dict):
        return found
    for coding in as_list(cc.get("coding")):
        if not isinstance(coding, dict):
            continue
        code = coding.get("code")
        if code is None:
            continue
        system = coding.get("system")
        concepts = (
            memo.get((system, code))
            if memo is not None and type(code) is str and (system is None or type(system) is str)
            else None
        )
        if concepts is None:
            concepts = _concepts_for(system, code, m, memo)
        for concept in concepts:
            if concept not in found:
                found.append(concept)
    return found


def _redirect(concept: LabConcept, obs: dict[str, Any], m: Mappings) -> LabConcept:
    """Karnofsky LOINC used for a Lansky score (the code's texts or valueString say 'Lansky') -> the Lansky
    concept."""
    if concept.text_redirect is not None:
        pattern, target = concept.text_redirect
        strings = texts(obs.get("code")) + _strings(obs)
        if any(pattern.search(s) for s in strings if isinstance(s, str)):
            return m.lab(target)
    return concept


def _value(
    holder: dict[str, Any],
    obs: dict[str, Any],
    concept: LabConcept,
    when: FuzzyDate,
    rid: str,
    status: str,
    code_cc: Any,
    build: Build,
) -> LabValue:
    m = build.mappings
    context = _context(holder, obs, concept, code_cc, m)
    name = concept.name
    preliminary = "preliminary result (not counted until final)" if status in EVIDENCE_ONLY else None
    absent = as_dict(holder.get("dataAbsentReason"))
    if concept.type == "coded":
        token, problem, original = read_coded(holder, obs, concept, m)
        if absent and token is None:
            problem = f"no value ({', '.join(texts(absent)) or 'data absent'})"
        return make_lab_value(
            name,
            when,
            rid,
            status,
            coded=token,
            original_value=original or None,
            problem=preliminary or problem,
            context=context,
        )
    if concept.type == "score":
        score, problem, original = read_score(holder, concept, m)
        return make_lab_value(
            name,
            when,
            rid,
            status,
            value=score,
            unit=concept.unit,
            original_value=original or None,
            problem=preliminary or problem,
            context=context,
        )
    if "valueQuantity" not in holder:
        problem = f"no value ({', '.join(texts(absent)) or 'data absent'})" if absent else "no numeric value"
        original = str(holder.get("valueString"))[:80] if "valueString" in holder else None
        return make_lab_value(
            name,
            when,
            rid,
            status,
            unit=concept.unit,
            original_value=original,
            problem=preliminary or problem,
            context=context,
        )
    assert concept.units is not None
    quantity = holder["valueQuantity"]
    value_units = quantity_units(quantity) if isinstance(quantity, dict) else []
    conv = convert_quantity(quantity, concept.units, value_units)
    low, high = _reference_range(holder, value_units, concept, build.range_bounds)
    unit = concept.unit
    if conv.value is None and concept.units.keep_recorded_unit_for_uln:
        kept = _keep_recorded(holder, concept)
        if kept is not None:
            conv, low, high, unit = kept
    source = "observation" if high is not None else None
    if high is None and conv.value is not None and concept.uln_fallback is not None:
        fallback = uln_fallback(concept.uln_fallback, build, when)
        if fallback is not None:
            high, source = fallback
    problem = conv.problem
    if conv.value is not None and conv.value < 0:
        problem = "negative value"
    return make_lab_value(
        name,
        when,
        rid,
        status,
        value=conv.value if problem is None else None,
        unit=unit if conv.value is not None else concept.unit,
        ref_low=low,
        ref_high=high,
        ref_source=source,
        original_value=conv.original or None,
        problem=preliminary or problem,
        context=context,
    )


def _reference_range(
    holder: dict[str, Any],
    value_units: list[str],
    concept: LabConcept,
    memo: dict[tuple[Any, ...], float | None] | None = None,
) -> tuple[float | None, float | None]:
    """Normal range (first range without a type, or typed 'normal') converted to the canonical unit.

    ``value_units``: the units of the value's Quantity (a bound without a unit is in the value's unit);
    ``memo``: one call's converted bounds (:func:`_memo_bound`)."""
    assert concept.units is not None
    for rng in as_list(holder.get("referenceRange")):
        rng = as_dict(rng)
        rtype_cc = rng.get("type")
        if rtype_cc is not None:  # (most ranges give no type: a normal range)
            rtype = [c for _s, c in codings(rtype_cc)]
            if rtype and "normal" not in rtype:
                continue
        low = _memo_bound(rng.get("low"), value_units, concept, memo)
        high = _memo_bound(rng.get("high"), value_units, concept, memo)
        if high is not None and high <= 0:
            high = None
        if low is not None or high is not None:
            return low, high
    return None, None


def _memo_bound(
    q: Any, value_units: list[str], concept: LabConcept, memo: dict[tuple[Any, ...], float | None] | None
) -> float | None:
    """:func:`_range_bound`, remembered in ``memo`` (one call's) by what it reads: the concept (its unit
    table), the value's first unit and the bound's value, comparator, system, code and unit, each with its type
    (so ``1``, ``1.0`` and ``True`` differ). A float zero is not remembered (``-0.0 == 0.0`` but they convert
    to different floats), nor a bound with an unhashable field."""
    if memo is None or not isinstance(q, dict):
        return _range_bound(q, value_units, concept)
    get = q.get
    value, comparator, system, code, unit = (
        get("value"),
        get("comparator"),
        get("system"),
        get("code"),
        get("unit"),
    )
    if value == 0 and isinstance(value, float):
        return _range_bound(q, value_units, concept)
    key = (
        concept.name,
        value_units[0] if value_units else None,
        bool(q),
        value,
        comparator,
        system,
        code,
        unit,
        type(value),
        type(comparator),
        type(system),
        type(code),
        type(unit),
    )
    try:
        return memo[key]
    except KeyError:
        found = memo[key] = _range_bound(q, value_units, concept)
        return found
    except TypeError:  # an unhashable field (validated records have none)
        return _range_bound(q, value_units, concept)


def _range_bound(q: Any, value_units: list[str], concept: LabConcept) -> float | None:
    q = as_dict(q)
    if not q:
        return None
    assert concept.units is not None
    units = quantity_units(q)
    if not units and value_units:
        q = {**q, "code": value_units[0]}
        units = None  # the units of the new q
    return quantity_value(q, concept.units, units)


def _keep_recorded(
    holder: dict[str, Any], concept: LabConcept
) -> tuple[Converted, float | None, float | None, str] | None:
    """Ratio-to-ULN concepts: keep a value in an unlisted unit when its range has the same unit."""
    q = as_dict(holder["valueQuantity"])
    units = quantity_units(q)
    value = number(q.get("value"))
    if value is None or not units or q.get("comparator"):
        return None
    for rng in as_list(holder.get("referenceRange")):
        high_q = as_dict(as_dict(rng).get("high"))
        high = number(high_q.get("value"))
        high_units = quantity_units(high_q)
        if high is not None and high > 0 and (not high_units or high_units[0] == units[0]):
            low = number(as_dict(as_dict(rng).get("low")).get("value"))
            return Converted(value, None, units[0], f"{value:g} {units[0]}"), low, high, units[0]
    return None


def uln_fallback(table: UlnTable, build: Build, when: FuzzyDate) -> tuple[float, str] | None:
    """(ULN, ref_source) from an age/sex table at the result date; None when age or sex decide nothing."""
    birth = build.birth_date
    if birth is None or build.sex not in ("male", "female"):
        return None
    day = when.latest
    for row in table.rows:
        lo_ok = row.min_age is None or all(
            age_in_duration(b, day, *row.min_age) for b in (birth.earliest, birth.latest)
        )
        hi_ok = row.max_age is None or not any(
            age_in_duration(b, day, *row.max_age) for b in (birth.earliest, birth.latest)
        )
        if lo_ok and hi_ok and birth.latest <= day:
            value = (row.male if build.sex == "male" else row.female) / table.values_are_uln_multiple
            return value, f"fallback:{table.name}" if row.verified else f"fallback-unverified:{table.name}"
    return None


def _context(
    holder: dict[str, Any], obs: dict[str, Any], concept: LabConcept, code_cc: Any, m: Mappings
) -> dict[str, str]:
    """Recording context: inhaled oxygen for SpO2 (room-air / supplemental) when the record says so."""
    out: dict[str, str] = {}
    if concept.code_context:  # (an empty table adds nothing: skip reading the codes)
        for system, code in codings(code_cc):
            alias = m.aliases.alias(system)
            if alias:
                out.update(concept.code_context.get((alias, norm_code(alias, code)), {}))
    if concept.oxygen_context and "oxygen" not in out:
        oxygen = _oxygen(obs, m)
        if oxygen:
            out["oxygen"] = oxygen
    return out


def _oxygen(obs: dict[str, Any], m: Mappings) -> str | None:
    ox = m.oxygen
    fio2 = {(row["system"], row["code"]) for row in ox.get("fio2_codes", ())}
    flow = {(row["system"], row["code"]) for row in ox.get("flow_codes", ())}
    for comp in as_list(obs.get("component")):
        comp = as_dict(comp)
        keys = {(m.aliases.alias(s), c) for s, c in codings(comp.get("code"))}
        value = number(as_dict(comp.get("valueQuantity")).get("value"))
        if value is None:
            continue
        if keys & fio2:
            return "supplemental" if value > 21.0 else "room-air"
        if keys & flow:
            return "supplemental" if value > 0 else "room-air"
    strings = texts(obs.get("code")) + [
        n.get("text", "") for n in as_list(obs.get("note")) if isinstance(n, dict)
    ]
    lowered = " ".join(s.lower() for s in strings if isinstance(s, str))
    if any(t.lower() in lowered for t in ox.get("room_air_text", ())):
        return "room-air"
    return None
