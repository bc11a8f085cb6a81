"""Small builders of ``PatientFacts`` for engine and trial tests (no FHIR involved).

Typical use::

    facts = make_facts(dt.date(2026, 3, 1), age_years=10, sex="female",
                       labs={"anc": 1.2, "alt": lab("alt", 40, on="2026-02-25", ref_high=40)},
                       conditions=[condition("neuroblastoma")],
                       drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-10")])

Dates may be ``datetime.date``, ISO strings (partial ones allowed: ``"2024-05"``, ``"2024"``) or
``FuzzyDate``. A lab given as a bare number is dated on the evaluation date. Every resource type is
``RETRIEVED`` unless listed in ``unavailable``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cds.facts import (
    AllergyFact,
    ConditionFact,
    Demographics,
    DrugExposure,
    FuzzyDate,
    ImmunizationFact,
    LabValue,
    PatientFacts,
    ProcedureFact,
    ResearchFact,
    SourceState,
)

RESOURCE_TYPES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationAdministration",
    "MedicationStatement",
    "MedicationRequest",
    "Procedure",
    "Immunization",
    "AllergyIntolerance",
    "ResearchSubject",
)

CANONICAL_UNITS = {
    "anc": "10*9/L",
    "wbc": "10*9/L",
    "platelets": "10*9/L",
    "neutrophils-pct": "%",
    "bands-pct": "%",
    "hemoglobin": "g/L",
    "bilirubin-total": "mg/dL",
    "creatinine": "mg/dL",
    "crcl": "mL/min",
    "alt": "U/L",
    "ast": "U/L",
    "inr": "{INR}",
    "pt": "s",
    "aptt": "s",
    "qtc": "ms",
    "lvef": "%",
    "shortening-fraction": "%",
    "spo2": "%",
    "body-weight": "kg",
    "body-height": "cm",
    "urine-protein-24h": "g/(24.h)",
    "hcg": "[IU]/L",
    "hbv-dna": "[IU]/mL",
    "tumor-size": "mm",
    "karnofsky": "{score}",
    "lansky": "{score}",
    "ecog": "{score}",
}

_counter = iter(range(1, 10**9))


def _rid(prefix: str) -> str:
    return f"{prefix}/t{next(_counter)}"


def fuzzy(value: dt.date | str | FuzzyDate | None) -> FuzzyDate | None:
    """``date``, ``"2024-05-14"``, ``"2024-05"``, ``"2024"`` or a FuzzyDate -> FuzzyDate."""
    if value is None or isinstance(value, FuzzyDate):
        return value
    if isinstance(value, dt.date):
        return FuzzyDate.of(value)
    parts = [int(p) for p in str(value).split("-")]
    if len(parts) == 3:
        day = dt.date(*parts)
        return FuzzyDate(day, day, str(value))
    if len(parts) == 2:
        year, month = parts
        last = calendar.monthrange(year, month)[1]
        return FuzzyDate(dt.date(year, month, 1), dt.date(year, month, last), str(value))
    return FuzzyDate(dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31), str(value))


def birth_date_for(evaluation_date: dt.date, age_years: int, extra_days: int = 0) -> dt.date:
    """The birth date of someone who turned ``age_years`` exactly ``extra_days`` days before ``evaluation_date``."""
    day = evaluation_date - dt.timedelta(days=extra_days)
    year = day.year - age_years
    last = calendar.monthrange(year, day.month)[1]
    return dt.date(year, day.month, min(day.day, last))


def lab(
    concept: str,
    value: float | None = None,
    on: dt.date | str | FuzzyDate | None = None,
    *,
    coded: str | None = None,
    ref_high: float | None = None,
    ref_low: float | None = None,
    ref_source: str | None = None,
    unit: str | None = None,
    status: str = "final",
    problem: str | None = None,
    context: dict[str, str] | None = None,
) -> LabValue:
    """One lab value; ``on=None`` means "on the evaluation date" (filled in by ``make_facts``)."""
    if ref_high is not None and ref_source is None:
        ref_source = "observation"
    return LabValue(
        concept=concept,
        date=fuzzy(on) or FuzzyDate(dt.date.min, dt.date.min, "@eval"),
        resource_id=_rid("Observation"),
        status=status,
        value=value,
        unit=unit or (CANONICAL_UNITS.get(concept) if coded is None else None),
        coded=coded,
        ref_low=ref_low,
        ref_high=ref_high,
        ref_source=ref_source,
        original_value=None if value is None else str(value),
        problem=problem,
        context=context or {},
    )


def condition(
    *groups: str,
    status: str | None = "active",
    verification: str | None = "confirmed",
    onset: Any = None,
    abatement: Any = None,
    body_sites: Iterable[str] = (),
    display: str | None = None,
) -> ConditionFact:
    return ConditionFact(
        groups=frozenset(groups),
        resource_id=_rid("Condition"),
        display=display or ", ".join(groups),
        codes=(),
        clinical_status=status,
        verification_status=verification,
        onset=fuzzy(onset),
        abatement=fuzzy(abatement),
        body_sites=frozenset(body_sites),
    )


def drug(
    *classes: str,
    end: Any = None,
    start: Any = None,
    ongoing: bool = False,
    source: str = "MedicationAdministration",
    name: str | None = None,
    route: str | None = None,
    status: str | None = "completed",
    dose_mg: float | None = None,
    dose_per_day_mg: float | None = None,
    prednisone_factor: float | None = None,
    looks_anticancer_unclassified: bool = False,
) -> DrugExposure:
    """A drug exposure; ``end`` defaults to ``start`` (a single administration)."""
    start_f = fuzzy(start) if start is not None else fuzzy(end)
    end_f = fuzzy(end) if end is not None else (None if ongoing else start_f)
    return DrugExposure(
        classes=frozenset(classes),
        resource_id=_rid(source),
        source=source,
        name=name or (", ".join(classes) or "unclassified drug"),
        status="in-progress" if ongoing and status == "completed" else status,
        start=start_f,
        end=end_f,
        ongoing=ongoing,
        dose_mg=dose_mg,
        dose_per_day_mg=dose_per_day_mg,
        route=route,
        prednisone_factor=prednisone_factor,
        looks_anticancer_unclassified=looks_anticancer_unclassified,
    )


def procedure(
    *groups: str,
    end: Any = None,
    start: Any = None,
    intent: str | None = None,
    body_sites: Iterable[str] = (),
    status: str = "completed",
    display: str | None = None,
) -> ProcedureFact:
    start_f = fuzzy(start) if start is not None else fuzzy(end)
    end_f = fuzzy(end) if end is not None else start_f
    return ProcedureFact(
        groups=frozenset(groups),
        resource_id=_rid("Procedure"),
        display=display or ", ".join(groups),
        status=status,
        start=start_f,
        end=end_f,
        intent=intent,
        body_sites=frozenset(body_sites),
    )


def immunization(*groups: str, on: Any = None, display: str | None = None) -> ImmunizationFact:
    return ImmunizationFact(
        groups=frozenset(groups),
        resource_id=_rid("Immunization"),
        display=display or ", ".join(groups),
        date=fuzzy(on),
    )


def allergy(*groups: str, display: str | None = None) -> AllergyFact:
    return AllergyFact(
        groups=frozenset(groups), resource_id=_rid("AllergyIntolerance"), display=display or ", ".join(groups)
    )


def research(
    study: str = "NCT00000001", status: str = "on-study", start: Any = None, end: Any = None
) -> ResearchFact:
    return ResearchFact(
        resource_id=_rid("ResearchSubject"), study=study, status=status, start=fuzzy(start), end=fuzzy(end)
    )


def make_facts(
    evaluation_date: dt.date = dt.date(2026, 3, 1),
    *,
    age_years: int | None = None,
    birth_date: Any = None,
    sex: str | None = None,
    deceased: bool = False,
    labs: dict[str, Any] | None = None,
    conditions: Iterable[ConditionFact] = (),
    drugs: Iterable[DrugExposure] = (),
    procedures: Iterable[ProcedureFact] = (),
    immunizations: Iterable[ImmunizationFact] = (),
    allergies: Iterable[AllergyFact] = (),
    research_subjects: Iterable[ResearchFact] = (),
    unavailable: Iterable[str] = (),
    patient_id: str = "test-patient",
) -> PatientFacts:
    """Build ``PatientFacts``. ``labs`` values: a number, a ``lab(...)``, or a list of them (any order)."""
    if birth_date is None and age_years is not None:
        birth_date = birth_date_for(evaluation_date, age_years)
    missing = set(unavailable)
    sources = {
        t: (SourceState.UNAVAILABLE if t in missing else SourceState.RETRIEVED) for t in RESOURCE_TYPES
    }
    lab_map: dict[str, tuple[LabValue, ...]] = {}
    for concept, spec in (labs or {}).items():
        items = spec if isinstance(spec, list | tuple) else [spec]
        values = []
        for item in items:
            value = item if isinstance(item, LabValue) else lab(concept, float(item))
            if value.date.text == "@eval":
                value = replace(value, date=FuzzyDate.of(evaluation_date))
            values.append(value)
        lab_map[concept] = tuple(sorted(values, key=lambda v: v.date.latest, reverse=True))
    return PatientFacts(
        patient_id=patient_id,
        evaluation_date=evaluation_date,
        demographics=Demographics(
            birth_date=fuzzy(birth_date), sex=sex, deceased=deceased, resource_id="Patient/t"
        ),
        sources=sources,
        labs=lab_map,
        conditions=tuple(conditions),
        drugs=tuple(drugs),
        procedures=tuple(procedures),
        immunizations=tuple(immunizations),
        allergies=tuple(allergies),
        research=tuple(research_subjects),
    )
