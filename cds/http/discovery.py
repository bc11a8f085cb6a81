"""``GET /cds-services``: one aggregating patient-view service. Open (no token): it carries no patient data."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify

from cds.config import Config
from cds.http.state import state

log = logging.getLogger("cds.http")
bp = Blueprint("discovery", __name__)

HOOK = "patient-view"
TITLE = "NK-cell therapy trial matching"
DESCRIPTION = (
    "Checks the open patient's record against the eligibility criteria of NK-cell therapy clinical trials and "
    "suggests the trials the patient may join, with the criteria still to be confirmed and the date any "
    "waiting period ends."
)
USAGE_REQUIREMENTS = (
    "Send the prefetch below (or fhirServer with read access to the patient's Patient, Condition, Observation, "
    "medication, Procedure, Immunization, AllergyIntolerance and ResearchSubject resources). The service answers "
    "412 when neither the Patient nor the Condition list can be obtained. Calls need a JWT from a trusted issuer."
)

# Used when cds.gather.templates is not importable; same keys and queries (R4 restricted subset).
FALLBACK_PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&_sort=-date",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    "immunizations": "Immunization?patient={{context.patientId}}",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
    "researchSubjects": "ResearchSubject?individual={{context.patientId}}",
}


def prefetch_templates() -> dict[str, str]:
    """The data layer's templates (``cds.gather.templates.PREFETCH``), or the inline copy."""
    try:
        from cds.gather.templates import PREFETCH  # noqa: PLC0415 - owned by the data layer, imported lazily
    except ImportError:
        return dict(FALLBACK_PREFETCH)
    return dict(PREFETCH)


def service_description(config: Config) -> dict[str, Any]:
    return {
        "hook": HOOK,
        "id": config.service_id,
        "title": TITLE,
        "description": DESCRIPTION,
        "usageRequirements": USAGE_REQUIREMENTS,
        "prefetch": prefetch_templates(),
    }


@bp.get("/cds-services")
def discovery() -> Any:
    return jsonify({"services": [service_description(state().config)]})
