"""Gathering a patient's raw FHIR data for one hook call: prefetch first, then the client's FHIR server.

``gather(request, config) -> RawPatient``:

1. every prefetch key goes through the decision table (``prefetch.decide``);
2. what is missing or paginated is queried from ``fhirServer`` (only when it is inside
   ``NK_CDS_FHIR_ALLOWLIST``), all queries at once in a thread pool, under one time budget
   (``config.fhir_budget_s``);
3. ``medicationReference``s to separate Medication resources are resolved (contained ``#id`` ones are left
   to the normaliser, which reads ``contained``);
4. the 412 policy: no Patient or no Condition list -> ``PreconditionFailed``; any other type that could
   not be obtained -> ``raw.unavailable[type] = "source unavailable"``.

Nothing is parsed with fhir.resources here; see ``docs/data-gathering.md``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from cds.compute_gate import released
from cds.config import Config
from cds.errors import BadRequest, PreconditionFailed
from cds.gather.allowlist import is_allowed, redact, under_base
from cds.gather.bundles import MEDICATION
from cds.gather.fhir import FetchError, FhirSource, SearchResult
from cds.gather.prefetch import Action, PrefetchDecision, decide
from cds.gather.templates import MEDICATION_USERS, PREFETCH, RESOURCE_TYPE, own_query
from cds.raw import FHIR_ID, REQUIRED_TYPES, RawPatient

__all__ = ["gather", "UNAVAILABLE"]

log = logging.getLogger(__name__)

UNAVAILABLE = "source unavailable"
_MAX_WORKERS = 8


@dataclass
class _Outcome:
    """What one prefetch key ended as."""

    resources: list[dict[str, Any]] | None  # None: could not be obtained
    included: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0
    reason: str = ""


def gather(request: dict[str, Any], config: Config) -> RawPatient:
    """Prefetch + FHIR -> ``RawPatient``; raises ``PreconditionFailed`` (412) or ``BadRequest`` (400)."""
    started = time.monotonic()
    if not isinstance(request, dict):
        raise BadRequest("the hook request must be a JSON object")
    patient_id = _patient_id(request)
    prefetch = request.get("prefetch")
    decisions = {key: decide(key, prefetch, patient_id) for key in PREFETCH}
    source = _source(request, config, started + config.fhir_budget_s)
    try:
        outcomes = _complete(decisions, source, patient_id)
        raw = _assemble(patient_id, outcomes)
        _enforce_required(raw)
        _resolve_medications(raw, source)
    finally:
        if source is not None:
            source.close()
    log.info(
        "gathered %d types (%d unavailable) in %.0f ms",
        len(raw.resources),
        len(raw.unavailable),
        (time.monotonic() - started) * 1000,
    )
    return raw


def _patient_id(request: dict[str, Any]) -> str:
    context = request.get("context")
    patient_id = context.get("patientId") if isinstance(context, dict) else None
    if not isinstance(patient_id, str) or not FHIR_ID.fullmatch(patient_id):
        raise BadRequest("context.patientId must be a FHIR resource id")
    return patient_id


def _source(request: dict[str, Any], config: Config, deadline: float) -> FhirSource | None:
    """A FhirSource for ``fhirServer`` when one is given and allowlisted; else None (logged)."""
    base = request.get("fhirServer")
    if base is None:
        return None
    if not isinstance(base, str) or not is_allowed(base, config.fhir_allowlist):
        log.warning("fhirServer %s is not in NK_CDS_FHIR_ALLOWLIST; not contacted", redact(base))
        return None
    auth = request.get("fhirAuthorization")
    token = auth.get("access_token") if isinstance(auth, dict) else None
    return FhirSource(
        base,
        token if isinstance(token, str) and token else None,
        deadline=deadline,
        request_timeout_s=config.fhir_request_timeout_s,
        max_pages=config.fhir_max_pages,
    )


def _complete(
    decisions: dict[str, PrefetchDecision], source: FhirSource | None, patient_id: str
) -> dict[str, _Outcome]:
    """Turn every decision into an outcome, running the needed FHIR queries concurrently."""
    outcomes: dict[str, _Outcome] = {}
    jobs: dict[str, Any] = {}
    for key, decision in decisions.items():
        if decision.action in (Action.USE, Action.NO_DATA):
            outcomes[key] = _Outcome(decision.resources, decision.included, decision.dropped)
        elif source is None:
            outcomes[key] = _Outcome(None, reason="no usable fhirServer")
        else:
            jobs[key] = _job(decision, source, patient_id)
    if not jobs:
        return outcomes
    assert source is not None
    pool = ThreadPoolExecutor(max_workers=min(_MAX_WORKERS, len(jobs)), thread_name_prefix="fhir")
    try:
        futures: dict[str, Future[_Outcome]] = {key: pool.submit(job) for key, job in jobs.items()}
        with released():  # other calls of this worker compute while the searches run
            wait(futures.values(), timeout=max(0.0, source.remaining()) + 0.25)
        for key, future in futures.items():
            if future.done():
                outcomes[key] = future.result()
            else:
                future.cancel()
                outcomes[key] = _Outcome(None, reason="time budget exhausted")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for key, outcome in outcomes.items():
        if outcome.resources is None:
            log.warning("%s could not be obtained: %s", RESOURCE_TYPE[key], outcome.reason)
    return outcomes


def _job(decision: PrefetchDecision, source: FhirSource, patient_id: str) -> Callable[[], _Outcome]:
    """A callable that completes one key from the FHIR server and never raises."""

    def run() -> _Outcome:
        try:
            if decision.action is Action.CONTINUE and decision.next_url is not None:
                if under_base(decision.next_url, source.base_url):
                    start = SearchResult(
                        list(decision.resources), list(decision.included), decision.dropped, 1
                    )
                    result = source.search_all(decision.next_url, decision.resource_type, patient_id, start)
                    return _Outcome(result.resources, result.included, result.dropped)
                log.warning(
                    "prefetch next link for %s leaves fhirServer; querying afresh", decision.resource_type
                )
            if decision.resource_type == "Patient":
                return _Outcome([source.read("Patient", patient_id)])
            result = source.search_all(
                own_query(decision.key, patient_id), decision.resource_type, patient_id
            )
            return _Outcome(result.resources, result.included, result.dropped)
        except FetchError as exc:
            return _Outcome(None, reason=exc.reason)
        except Exception as exc:  # noqa: BLE001 - a bad answer must never raise out of the layer
            return _Outcome(None, reason=f"unexpected {type(exc).__name__}")

    return run


def _assemble(patient_id: str, outcomes: dict[str, _Outcome]) -> RawPatient:
    raw = RawPatient(patient_id=patient_id)
    medications: dict[str, dict[str, Any]] = {}
    dropped = 0
    for key, outcome in outcomes.items():
        resource_type = RESOURCE_TYPE[key]
        dropped += outcome.dropped
        if outcome.resources is None:
            raw.unavailable[resource_type] = UNAVAILABLE
            continue
        raw.resources[resource_type] = outcome.resources
        for medication in outcome.included:
            if isinstance(medication.get("id"), str):
                medications.setdefault(medication["id"], medication)
    if medications:
        raw.resources[MEDICATION] = list(medications.values())
    if dropped:
        raw.notes.append(f"{dropped} entries of another type or another patient skipped")
    return raw


def medication_reference_ids(resources: list[dict[str, Any]], base_url: str | None) -> set[str]:
    """Ids of separate Medication resources named by ``medicationReference`` (contained ``#id`` excluded).

    Accepted forms: ``Medication/<id>`` (optionally ``/_history/<v>``), or an absolute URL under the
    FHIR base. References elsewhere are not followed.
    """
    ids: set[str] = set()
    for resource in resources:
        ref = resource.get("medicationReference")
        reference = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(reference, str) or reference.startswith("#"):
            continue
        if "://" in reference and (base_url is None or not under_base(reference, base_url)):
            continue
        match = re.search(r"(?:^|/)Medication/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", reference)
        if match:
            ids.add(match.group(1))
    return ids


def _resolve_medications(raw: RawPatient, source: FhirSource | None) -> None:
    """Fetch the separate Medications referenced and not yet present (prefetch entries or ``_include``)."""
    users = [r for t in MEDICATION_USERS for r in raw.of_type(t)]
    wanted = medication_reference_ids(users, source.base_url if source else None)
    have = {m.get("id") for m in raw.of_type(MEDICATION)}
    missing = wanted - have
    if not missing:
        return
    if source is None:
        raw.unavailable[MEDICATION] = UNAVAILABLE
        return
    try:
        with released():
            found = source.medications(missing)
    except FetchError as exc:
        log.warning("Medication could not be obtained: %s", exc.reason)
        raw.unavailable[MEDICATION] = UNAVAILABLE
        return
    raw.resources.setdefault(MEDICATION, []).extend(found)
    if missing - {m.get("id") for m in found}:
        raw.notes.append("some referenced Medication resources were not found")


def _enforce_required(raw: RawPatient) -> None:
    for resource_type in REQUIRED_TYPES:
        if resource_type in raw.unavailable:
            raise PreconditionFailed(
                f"{resource_type} data could be obtained neither from prefetch nor fhirServer"
            )
    if not raw.of_type("Patient"):
        raise PreconditionFailed(
            "the Patient resource could be obtained neither from prefetch nor fhirServer"
        )
