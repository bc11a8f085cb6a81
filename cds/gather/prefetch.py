"""The CDS Hooks prefetch decision table, one prefetch key at a time.

| what arrives for key K                           | ``Action``  | then                                        |
|--------------------------------------------------|-------------|---------------------------------------------|
| K absent                                         | FETCH       | query ``fhirServer``                        |
| K = ``null``                                     | NO_DATA     | type retrieved, nothing recorded            |
| K = Bundle with 0 usable entries, no next link   | NO_DATA     | type retrieved, nothing recorded            |
| K = searchset Bundle with entries                | USE         | entries of the expected type only           |
| K = Bundle with ``link[next]``                   | CONTINUE    | keep the entries, follow the next link      |
| K = OperationOutcome, or a Bundle containing one | FETCH       | treat as missing                            |
| K = another resource type, not JSON, garbage     | FETCH       | treat as missing (e.g. an HTML error page)  |

Choices where the specification is silent (also in ``docs/data-gathering.md``):

- ``patient`` is an instance read. ``null`` there would mean "the context patient does not exist", which
  cannot be true for a patient-view hook, so it is treated as missing (FETCH), like a Patient whose id
  differs from ``context.patientId``. Without a Patient the call ends in 412.
- Any OperationOutcome entry in a prefetch Bundle (even a warning, which may say "results truncated")
  makes the key missing: the service re-queries rather than trust a partial answer.
- Entries naming another patient are dropped (and counted), never used.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from cds.gather.bundles import belongs_to, read_page
from cds.gather.templates import READ_KEYS, RESOURCE_TYPE


class Action(enum.Enum):
    USE = "use"  # complete answer (may be empty only through NO_DATA)
    NO_DATA = "no-data"  # the client ran the query; nothing recorded
    CONTINUE = "continue"  # first page(s) given; follow next_url
    FETCH = "fetch"  # treat as missing: query the FHIR server


@dataclass
class PrefetchDecision:
    key: str
    resource_type: str
    action: Action
    resources: list[dict[str, Any]] = field(default_factory=list)
    included: list[dict[str, Any]] = field(default_factory=list)  # Medication entries
    next_url: str | None = None
    reason: str = ""  # why FETCH (safe: no data), for logs
    dropped: int = 0  # entries skipped: wrong type or another patient


_ABSENT = object()


def decide(key: str, prefetch: Any, patient_id: str) -> PrefetchDecision:
    """Apply the decision table to ``prefetch[key]`` (``prefetch`` may be anything the client sent)."""
    resource_type = RESOURCE_TYPE[key]
    value = prefetch.get(key, _ABSENT) if isinstance(prefetch, dict) else _ABSENT
    if value is _ABSENT:
        return PrefetchDecision(key, resource_type, Action.FETCH, reason="not prefetched")
    if key in READ_KEYS:
        return _decide_read(key, resource_type, value, patient_id)
    return _decide_search(key, resource_type, value, patient_id)


def _fetch(key: str, resource_type: str, reason: str, dropped: int = 0) -> PrefetchDecision:
    return PrefetchDecision(key, resource_type, Action.FETCH, reason=reason, dropped=dropped)


def _decide_read(key: str, resource_type: str, value: Any, patient_id: str) -> PrefetchDecision:
    if value is None:
        return _fetch(key, resource_type, "null for an instance read")
    if not isinstance(value, dict):
        return _fetch(key, resource_type, "not a FHIR resource")
    if value.get("resourceType") == "Bundle":  # tolerated: a client that wrapped the read in a Bundle
        page = read_page(value, resource_type, None, strict_outcomes=True)
        matching = [r for r in page.resources if r.get("id") == patient_id]
        if page.error or len(matching) != 1:
            return _fetch(key, resource_type, page.error or "Bundle without the context patient")
        return PrefetchDecision(key, resource_type, Action.USE, resources=matching)
    if value.get("resourceType") != resource_type:
        return _fetch(key, resource_type, f"{_kind(value)} instead of {resource_type}")
    if value.get("id") != patient_id:
        return _fetch(key, resource_type, "Patient id differs from context.patientId")
    return PrefetchDecision(key, resource_type, Action.USE, resources=[value])


def _decide_search(key: str, resource_type: str, value: Any, patient_id: str) -> PrefetchDecision:
    if value is None:
        return PrefetchDecision(key, resource_type, Action.NO_DATA)
    if not isinstance(value, dict):
        return _fetch(key, resource_type, "not a FHIR resource")
    if value.get("resourceType") != "Bundle":
        if value.get("resourceType") == resource_type and belongs_to(value, patient_id):
            # a bare resource is not a search result: the rest of the list may be missing
            return _fetch(key, resource_type, "a single resource instead of a Bundle")
        return _fetch(key, resource_type, f"{_kind(value)} instead of a Bundle")
    page = read_page(value, resource_type, patient_id, strict_outcomes=True)
    dropped = page.dropped_type + page.dropped_other_patient
    if page.error:
        return _fetch(key, resource_type, page.error, dropped)
    decision = PrefetchDecision(
        key, resource_type, Action.USE, resources=page.resources, included=page.included, dropped=dropped
    )
    if page.next_url is not None:
        decision.action = Action.CONTINUE
        decision.next_url = page.next_url
    elif not page.resources:
        decision.action = Action.NO_DATA
    return decision


def _kind(value: dict[str, Any]) -> str:
    kind = value.get("resourceType")
    return kind if isinstance(kind, str) and kind.isalpha() and len(kind) < 64 else "unknown JSON"
