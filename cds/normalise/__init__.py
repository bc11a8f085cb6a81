"""Raw FHIR JSON (:class:`cds.raw.RawPatient`) -> typed patient facts (:class:`cds.facts.PatientFacts`).

One module per job: ``dates`` (FHIR dates -> FuzzyDate), ``units`` (verified conversion tables), ``patient``
(demographics, age), ``labs`` + ``answers`` (Observations), ``derived`` (ANC, Cockcroft-Gault), ``conditions``,
``drugs``, ``procedures``, ``immunizations``, ``allergies``, ``research``. Decisions: docs/normalisation.md.

``build_facts`` never raises for bad patient data: a malformed or invalid resource is skipped and counted in
``PatientFacts.notes``; a failure inside one section leaves that section empty and marks its source
unavailable (so history criteria on it become unknown, not "none recorded").
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from cds.config import Config
from cds.facts import Demographics, PatientFacts, SourceState
from cds.mappings import Mappings
from cds.normalise.allergies import normalise_allergies
from cds.normalise.common import Build
from cds.normalise.conditions import normalise_conditions
from cds.normalise.derived import add_derived
from cds.normalise.drugs import normalise_drugs
from cds.normalise.immunizations import normalise_immunizations
from cds.normalise.labs import normalise_labs
from cds.normalise.patient import demographics
from cds.normalise.procedures import normalise_procedures
from cds.normalise.research import normalise_research
from cds.raw import RESOURCE_TYPES, RawPatient

log = logging.getLogger(__name__)

__all__ = ["build_facts", "warm_up"]


def _resources(raw: Any, resource_type: str) -> list[Any]:
    resources = getattr(raw, "resources", None)
    if not isinstance(resources, dict):
        return []
    value = resources.get(resource_type)
    if not isinstance(value, list):
        return []
    return _dedupe(value)


def _dedupe(items: list[Any]) -> list[Any]:
    """Drop repeated resources (same id; prefetch and a FHIR query may both return one), keeping the first."""
    seen: set[str] = set()
    out: list[Any] = []
    for item in items:
        rid = item.get("id") if isinstance(item, dict) else None
        if isinstance(rid, str):
            if rid in seen:
                continue
            seen.add(rid)
        out.append(item)
    return out


def _unavailable(raw: Any) -> dict[str, Any]:
    unavailable = getattr(raw, "unavailable", None)
    return unavailable if isinstance(unavailable, dict) else {}


def sources_of(raw: Any) -> dict[str, SourceState]:
    """Every read type is RETRIEVED unless the gatherer listed it as unavailable."""
    unavailable = _unavailable(raw)
    return {t: SourceState.UNAVAILABLE if t in unavailable else SourceState.RETRIEVED for t in RESOURCE_TYPES}


def build_facts(
    raw: RawPatient, evaluation_date: dt.date, mappings: Mappings, config: Config
) -> PatientFacts:
    """Normalise one patient at one evaluation date."""
    patient_id = raw.patient_id if isinstance(getattr(raw, "patient_id", None), str) else ""
    sources = sources_of(raw)
    build = Build(evaluation_date=evaluation_date, mappings=mappings, config=config)

    def section(name: str, source_types: tuple[str, ...], fn: Callable[[], Any], empty: Any) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one bad section must not sink the whole call
            # No traceback/message: it could carry patient values. The type is enough to find the bug.
            log.error("normalising %s failed (%s); treating it as unavailable", name, type(exc).__name__)
            build.count(f"{name}: could not be read; treated as unavailable")
            for t in source_types:
                sources[t] = SourceState.UNAVAILABLE
            return empty

    demo: Demographics = section(
        "Patient",
        ("Patient",),
        lambda: demographics(_resources(raw, "Patient"), patient_id, build),
        Demographics(birth_date=None, sex=None),
    )
    build.birth_date, build.sex = demo.birth_date, demo.sex
    labs = section(
        "Observation",
        ("Observation",),
        lambda: add_derived(normalise_labs(_resources(raw, "Observation"), build), build),
        {},
    )
    conditions = section(
        "Condition", ("Condition",), lambda: normalise_conditions(_resources(raw, "Condition"), build), ()
    )
    drug_types = ("MedicationAdministration", "MedicationRequest", "MedicationStatement")
    drugs = section(
        "Medication",
        drug_types,
        lambda: normalise_drugs(
            {t: _resources(raw, t) for t in (*drug_types, "Medication")},
            build,
            medication_unavailable="Medication" in _unavailable(raw),
        ),
        (),
    )
    procedures = section(
        "Procedure", ("Procedure",), lambda: normalise_procedures(_resources(raw, "Procedure"), build), ()
    )
    immunizations = section(
        "Immunization",
        ("Immunization",),
        lambda: normalise_immunizations(_resources(raw, "Immunization"), build),
        (),
    )
    allergies = section(
        "AllergyIntolerance",
        ("AllergyIntolerance",),
        lambda: normalise_allergies(_resources(raw, "AllergyIntolerance"), build),
        (),
    )
    research = section(
        "ResearchSubject",
        ("ResearchSubject",),
        lambda: normalise_research(_resources(raw, "ResearchSubject"), build),
        (),
    )
    _distrust_incomplete_history(sources, build)
    raw_notes = getattr(raw, "notes", None)
    notes = (
        tuple(n for n in (raw_notes if isinstance(raw_notes, list) else []) if isinstance(n, str))
        + build.notes()
    )
    return PatientFacts(
        patient_id=patient_id,
        evaluation_date=evaluation_date,
        demographics=demo,
        sources=sources,
        labs=labs,
        conditions=conditions,
        drugs=drugs,
        procedures=procedures,
        immunizations=immunizations,
        allergies=allergies,
        research=research,
        notes=notes,
    )


# Types whose criteria are closed-world ("none recorded" when no record matches). Observations are open-world
# (a skipped lab is simply missing) and the Patient is required anyway.
HISTORY_TYPES = frozenset(RESOURCE_TYPES) - {"Patient", "Observation"}


def _distrust_incomplete_history(sources: dict[str, SourceState], build: Build) -> None:
    """A record that matched a group or class but fails validation is skipped, so the list is incomplete.

    Records are validated only after they matched something a criterion reads, so the skipped record was
    relevant: "none recorded" would then be a guess. The type is marked unavailable (history criteria on it become
    unknown unless a valid record decides them) and a note says why.
    """
    for resource_type in sorted(build.invalid_types & HISTORY_TYPES):
        if sources.get(resource_type) == SourceState.RETRIEVED:
            sources[resource_type] = SourceState.UNAVAILABLE
            build.count(
                f"{resource_type}: a relevant record failed validation; its history is treated as incomplete"
            )


def warm_up() -> None:
    """Import the fhir.resources R4B models once (about a second), e.g. at service start-up."""
    from cds.normalise.common import _MODELS, _model

    for resource_type in _MODELS:
        _model(resource_type)
