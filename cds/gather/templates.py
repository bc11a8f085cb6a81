"""Prefetch templates advertised in discovery, and the queries the service runs itself.

Every template stays inside the CDS Hooks 2.0 recommended query subset: an instance read, or a type-level
search with a reference parameter (``patient={{context.patientId}}``), ``_count`` and ``_sort`` (R4 syntax
``_sort=-date``; the specification's own ``sort:desc=date`` example is DSTU2). No ``_include``, chains,
modifiers or ``_has``.

Nothing is narrowed by code, status or date, on purpose: every criterion reads its data from these lists
(LOINC labs, the Lansky score which is an NCIt code, urine dipstick grades, free-text results, refuted or
abated conditions that still need to be seen as such), and a narrowed template silently loses whatever a
code list forgot. Filtering is the normaliser's job, on the raw JSON, before model validation.

``_sort=-date`` is used only where the R4 resource defines a ``date`` search parameter (Observation,
Procedure, Immunization, AllergyIntolerance); elsewhere an unknown sort parameter makes strict servers
(HAPI) reject the query. Order does not matter to the service: it follows every page.
``_count=1000`` asks for large pages; servers may cap it (HAPI does) and the service follows next links.
"""

from __future__ import annotations

from types import MappingProxyType

PAGE_SIZE = 1000

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&_sort=-date&_count={PAGE_SIZE}",
    "conditions": f"Condition?patient={{{{context.patientId}}}}&_count={PAGE_SIZE}",
    "medicationAdministrations": f"MedicationAdministration?patient={{{{context.patientId}}}}&_count={PAGE_SIZE}",
    "medicationRequests": f"MedicationRequest?patient={{{{context.patientId}}}}&_count={PAGE_SIZE}",
    "medicationStatements": f"MedicationStatement?patient={{{{context.patientId}}}}&_count={PAGE_SIZE}",
    "procedures": f"Procedure?patient={{{{context.patientId}}}}&_sort=-date&_count={PAGE_SIZE}",
    "immunizations": f"Immunization?patient={{{{context.patientId}}}}&_sort=-date&_count={PAGE_SIZE}",
    "allergies": f"AllergyIntolerance?patient={{{{context.patientId}}}}&_count={PAGE_SIZE}",
    "researchSubjects": f"ResearchSubject?patient={{{{context.patientId}}}}&_count={PAGE_SIZE}",
}

# prefetch key -> the resource type its answer must hold
RESOURCE_TYPE: MappingProxyType[str, str] = MappingProxyType(
    {key: template.split("?", 1)[0].split("/", 1)[0] for key, template in PREFETCH.items()}
)

# key whose template is an instance read (the answer is one resource or null, not a Bundle)
READ_KEYS: frozenset[str] = frozenset(key for key, template in PREFETCH.items() if "?" not in template)

# Types that may name their drug by medicationReference; the service's own searches include the Medication.
MEDICATION_USERS: tuple[str, ...] = ("MedicationAdministration", "MedicationRequest", "MedicationStatement")

PATIENT_TOKEN = "{{context.patientId}}"


def render(template: str, patient_id: str) -> str:
    """The relative URL a template stands for, for one (already validated) patient id."""
    return template.replace(PATIENT_TOKEN, patient_id)


def own_query(key: str, patient_id: str) -> str:
    """The query the service runs itself when key K was not (usably) prefetched.

    Same as the template, plus ``_include`` of the Medication for the three medication types
    (outside the prefetch subset, but the service's own queries may use it; servers that ignore it
    are covered by a separate Medication fetch).
    """
    query = render(PREFETCH[key], patient_id)
    resource_type = RESOURCE_TYPE[key]
    if resource_type in MEDICATION_USERS:
        query += f"&_include={resource_type}:medication"
    return query
