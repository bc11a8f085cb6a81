"""Raw patient data as gathered from prefetch and the FHIR server: the gatherer's output.

The gatherer knows FHIR, not trials; the normaliser turns a ``RawPatient`` into ``PatientFacts``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# A FHIR resource id (R4 ``id`` datatype). Always ``fullmatch``: with ``match`` and ``$`` a trailing newline passes.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")

# Resource types the service reads. Medication is only fetched when referenced.
RESOURCE_TYPES: tuple[str, ...] = (
    "Patient",
    "Observation",
    "Condition",
    "MedicationAdministration",
    "MedicationRequest",
    "MedicationStatement",
    "Procedure",
    "Immunization",
    "AllergyIntolerance",
    "ResearchSubject",
)

# Without these the service cannot say anything useful: 412 Precondition Failed.
REQUIRED_TYPES: tuple[str, ...] = ("Patient", "Condition")


@dataclass
class RawPatient:
    patient_id: str
    # by resourceType (+ "Medication")
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # resourceType -> reason (no patient data in it)
    unavailable: dict[str, str] = field(default_factory=dict)
    # safe data-quality notes, e.g. "3 invalid resources skipped"
    notes: list[str] = field(default_factory=list)

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return self.resources.get(resource_type, [])
