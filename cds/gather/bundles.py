"""Light structural checks of FHIR JSON: one Bundle page, OperationOutcomes, patient references.

No model validation here (the normaliser parses with fhir.resources R4B); only what the gatherer needs
to decide whether an answer is usable:

- entries of the expected type are kept; ``Medication`` entries (``_include``) are kept aside;
  anything else (an unrelated type, a non-object) is dropped and counted;
- an entry whose ``subject`` / ``patient`` / ``individual`` reference names a *different* Patient id is
  dropped and counted (a server that ignores the ``patient=`` parameter returns everyone's records);
  an entry without such a reference, or with one that cannot be read as ``Patient/<id>``, is kept;
- an OperationOutcome (entry or whole answer) with an ``error``/``fatal`` issue makes the page an error;
  ``warning``/``information`` outcomes (HAPI and sekmet add them, e.g. for an ignored parameter) do not;
- the ``next`` link is returned as given (the caller decides whether it may be followed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cds.raw import FHIR_ID

MEDICATION = "Medication"
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_REFERENCE_FIELDS = ("subject", "patient", "individual")
_BLOCKING_SEVERITIES = frozenset({"error", "fatal"})
_OK_BUNDLE_TYPES = frozenset({"searchset", "collection", None})


@dataclass
class Page:
    """One Bundle page, checked and split."""

    resources: list[dict[str, Any]] = field(default_factory=list)  # of the expected type
    included: list[dict[str, Any]] = field(default_factory=list)  # Medication entries
    next_url: str | None = None
    dropped_type: int = 0
    dropped_other_patient: int = 0
    error: str | None = None  # safe reason; set when the page is unusable


def is_blocking_outcome(resource: dict[str, Any]) -> bool:
    """True for an OperationOutcome that reports an error (or is malformed, which is treated the same)."""
    issues = resource.get("issue")
    if not isinstance(issues, list) or not issues:
        return True
    return any(not isinstance(i, dict) or i.get("severity") in _BLOCKING_SEVERITIES for i in issues)


def referenced_patient_id(resource: dict[str, Any]) -> str | None:
    """The Patient id a resource's subject/patient/individual reference names, when readable."""
    for name in _REFERENCE_FIELDS:
        ref = resource.get(name)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            match = _PATIENT_REF.search(ref["reference"])
            if match:
                return match.group(1)
    return None


def belongs_to(resource: dict[str, Any], patient_id: str | None) -> bool:
    """False only when the resource names a different patient."""
    if patient_id is None:
        return True
    named = referenced_patient_id(resource)
    return named is None or named == patient_id


def _own_reference(patient_id: str | None) -> str | None:
    """``"Patient/<id>"``, the reference that certainly names ``patient_id`` (None if it is no readable id)."""
    if patient_id is None or not FHIR_ID.fullmatch(patient_id):
        return None
    return f"Patient/{patient_id}"


def _belongs(resource: dict[str, Any], patient_id: str | None, own: str | None) -> bool:
    """:func:`belongs_to`, with the usual case decided without the regex: the first reference the resource
    gives is exactly ``own`` (``_own_reference(patient_id)``), which the regex would read as ``patient_id``."""
    if own is not None:
        for name in _REFERENCE_FIELDS:
            ref = resource.get(name)
            if isinstance(ref, dict):
                reference = ref.get("reference")
                if isinstance(reference, str):
                    if reference == own:
                        return True
                    break
    return belongs_to(resource, patient_id)


def next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def read_page(bundle: Any, expected_type: str, patient_id: str | None, strict_outcomes: bool = False) -> Page:
    """Check one Bundle page. ``strict_outcomes``: any OperationOutcome entry is an error (prefetch)."""
    page = Page()
    if not isinstance(bundle, dict):
        page.error = "not a JSON object"
        return page
    kind = bundle.get("resourceType")
    if kind == "OperationOutcome":
        page.error = "OperationOutcome instead of a Bundle"
        return page
    if kind != "Bundle":
        page.error = "not a Bundle"
        return page
    if bundle.get("type") not in _OK_BUNDLE_TYPES:
        page.error = "unexpected Bundle type"
        return page
    entries = bundle.get("entry", [])
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        page.error = "Bundle.entry is not a list"
        return page
    own = _own_reference(patient_id)
    resources, included = page.resources, page.included
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            page.dropped_type += 1
            continue
        rtype = resource.get("resourceType")
        if rtype == "OperationOutcome":
            if strict_outcomes or is_blocking_outcome(resource):
                page.error = "OperationOutcome in the Bundle"
                return page
            continue
        if rtype == expected_type:
            if _belongs(resource, patient_id, own):
                resources.append(resource)
            else:
                page.dropped_other_patient += 1
        elif rtype == MEDICATION:
            included.append(resource)
        else:
            page.dropped_type += 1
    page.next_url = next_link(bundle)
    return page
