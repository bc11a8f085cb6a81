"""gather() against a real FHIR R4 server: the local sekmet-fhir process, or any base in ``FHIR_BASE_URL``.

Every test loads its own patient with unique ids (the store is shared by the session, or by the world
when ``FHIR_BASE_URL`` points at a public sandbox) and reads it back through prefetch and fhirServer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from cds.config import Config
from cds.gather import gather
from cds.gather.fhir import FetchError, FhirSource
from cds.gather.templates import PREFETCH, render
from tests.fhir_server import unique_id
from tests.gather_support import READ_TYPES, hook_request

pytestmark = pytest.mark.timeout(120)

N_OBSERVATIONS = 5
TOKEN = "integration-token-5d1e"


@dataclass
class LoadedPatient:
    pid: str
    ids: dict[str, list[str]]  # resourceType -> ids loaded for this patient
    contained_admin: str  # MedicationAdministration whose drug is a contained Medication
    separate_meds: list[str]  # Medication ids referenced from outside the patient's resources


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": resource,
        "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
    }


def _patient_bundle(pid: str, prefix: str) -> tuple[dict[str, Any], LoadedPatient]:
    subject = {"reference": f"Patient/{pid}"}
    med_a, med_b, study = f"{prefix}-med-a", f"{prefix}-med-b", f"{prefix}-study"
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": pid, "gender": "male", "birthDate": "2016-05-04"},
        {
            "resourceType": "Medication",
            "id": med_a,
            "code": {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "3639",
                        "display": "doxorubicin",
                    }
                ]
            },
        },
        {"resourceType": "Medication", "id": med_b, "code": {"text": "filgrastim"}},
        {"resourceType": "ResearchStudy", "id": study, "status": "active"},
    ]
    for i in range(N_OBSERVATIONS):
        resources.append(
            {
                "resourceType": "Observation",
                "id": f"{prefix}-obs-{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
                "subject": subject,
                "effectiveDateTime": f"2026-10-0{i + 1}T08:00:00Z",
                "valueQuantity": {
                    "value": 1.0 + i,
                    "unit": "10*9/L",
                    "system": "http://unitsofmeasure.org",
                    "code": "10*9/L",
                },
            }
        )
    resources += [
        {
            "resourceType": "Condition",
            "id": f"{prefix}-cond-0",
            "subject": subject,
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "432328008"}]},
        },
        {
            "resourceType": "Condition",
            "id": f"{prefix}-cond-1",
            "subject": subject,
            "code": {"text": "anaemia"},
        },
        {
            "resourceType": "MedicationAdministration",
            "id": f"{prefix}-ma-contained",
            "status": "completed",
            "contained": [{"resourceType": "Medication", "id": "m1", "code": {"text": "dinutuximab beta"}}],
            "medicationReference": {"reference": "#m1"},
            "subject": subject,
            "effectiveDateTime": "2026-10-01T10:00:00Z",
        },
        {
            "resourceType": "MedicationAdministration",
            "id": f"{prefix}-ma-separate",
            "status": "completed",
            "medicationReference": {"reference": f"Medication/{med_a}"},
            "subject": subject,
            "effectivePeriod": {"start": "2026-10-02T10:00:00Z", "end": "2026-10-02T12:00:00Z"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": f"{prefix}-mr",
            "status": "active",
            "intent": "order",
            "medicationReference": {"reference": f"Medication/{med_b}"},
            "subject": subject,
        },
        {
            "resourceType": "MedicationStatement",
            "id": f"{prefix}-ms",
            "status": "completed",
            "medicationCodeableConcept": {"text": "prednisolone"},
            "subject": subject,
        },
        {
            "resourceType": "Procedure",
            "id": f"{prefix}-proc",
            "status": "completed",
            "subject": subject,
            "code": {"text": "autologous stem cell transplant"},
            "performedDateTime": "2026-01-05",
        },
        {
            "resourceType": "Immunization",
            "id": f"{prefix}-imm",
            "status": "completed",
            "patient": subject,
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]},
            "occurrenceDateTime": "2025-06-01",
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": f"{prefix}-allergy",
            "patient": subject,
            "code": {"text": "rituximab"},
        },
        {
            "resourceType": "ResearchSubject",
            "id": f"{prefix}-rs",
            "status": "on-study",
            "study": {"reference": f"ResearchStudy/{study}"},
            "individual": subject,
        },
    ]
    ids: dict[str, list[str]] = {}
    for resource in resources:
        ids.setdefault(resource["resourceType"], []).append(resource["id"])
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(r) for r in resources]}
    return bundle, LoadedPatient(pid, ids, f"{prefix}-ma-contained", [med_a, med_b])


@pytest.fixture
def loaded(fhir_load) -> LoadedPatient:
    """Our patient, plus a second patient with the same kinds of records (must never leak in)."""
    prefix = unique_id("it")
    bundle, patient = _patient_bundle(f"{prefix}-p", prefix)
    other_bundle, _ = _patient_bundle(f"{prefix}-q", f"{prefix}-x")
    fhir_load(bundle)
    fhir_load(other_bundle)
    return patient


@pytest.fixture
def config(fhir_base_url) -> Config:
    # a generous budget: these tests are about correctness against a real server, not latency
    return Config(fhir_allowlist=(fhir_base_url,), fhir_budget_s=20.0, fhir_request_timeout_s=10.0)


def request_for(
    pid: str, base: str, prefetch: dict[str, Any] | None = None, token: str | None = None
) -> dict:
    return hook_request(prefetch, fhir_server=base, token=token, pid=pid)


def client_prefetch(base: str, key: str, pid: str) -> Any:
    """What a CDS client would put in prefetch[key]: the template run against the server (first page)."""
    response = requests.get(
        f"{base}/{render(PREFETCH[key], pid)}", headers={"Accept": "application/fhir+json"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def ids_of(raw, resource_type: str) -> list[str]:
    return sorted(r["id"] for r in raw.of_type(resource_type))


def test_no_prefetch_reads_everything_from_the_server(loaded, fhir_base_url, config):
    raw = gather(request_for(loaded.pid, fhir_base_url), config)
    assert raw.unavailable == {}
    for resource_type in sorted(READ_TYPES):
        assert ids_of(raw, resource_type) == sorted(loaded.ids[resource_type]), resource_type
    assert ids_of(raw, "Medication") == sorted(loaded.separate_meds)


def test_medication_references_contained_and_separate(loaded, fhir_base_url, config):
    raw = gather(request_for(loaded.pid, fhir_base_url), config)
    by_id = {r["id"]: r for r in raw.of_type("MedicationAdministration")}
    contained = by_id[loaded.contained_admin]
    assert contained["medicationReference"]["reference"] == "#m1"
    assert contained["contained"][0]["code"]["text"] == "dinutuximab beta"
    medications = {m["id"]: m for m in raw.of_type("Medication")}
    assert medications[loaded.separate_meds[0]]["code"]["coding"][0]["code"] == "3639"
    assert medications[loaded.separate_meds[1]]["code"]["text"] == "filgrastim"


def test_prefetched_administrations_without_their_medication_get_it_fetched(loaded, fhir_base_url, config):
    prefetch = {
        "patient": client_prefetch(fhir_base_url, "patient", loaded.pid),
        "conditions": client_prefetch(fhir_base_url, "conditions", loaded.pid),
        "medicationAdministrations": client_prefetch(fhir_base_url, "medicationAdministrations", loaded.pid),
        "medicationRequests": None,
    }
    assert not any(
        e["resource"]["resourceType"] == "Medication" for e in prefetch["medicationAdministrations"]["entry"]
    )
    raw = gather(request_for(loaded.pid, fhir_base_url, prefetch), config)
    # medicationRequests was null (none recorded), so only the administration's Medication is needed
    assert ids_of(raw, "Medication") == [loaded.separate_meds[0]]
    assert raw.of_type("MedicationRequest") == []


def test_partial_prefetch(loaded, fhir_base_url, config):
    prefetch = {
        "patient": client_prefetch(fhir_base_url, "patient", loaded.pid),
        "observations": client_prefetch(fhir_base_url, "observations", loaded.pid),
        "conditions": None,  # the client says: none recorded (the server has two; prefetch wins)
        "procedures": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "timeout"}],
        },
    }
    raw = gather(request_for(loaded.pid, fhir_base_url, prefetch, token=TOKEN), config)
    assert raw.unavailable == {}
    assert raw.of_type("Condition") == []
    assert ids_of(raw, "Observation") == sorted(loaded.ids["Observation"])
    assert ids_of(raw, "Procedure") == loaded.ids["Procedure"]  # re-queried after the OperationOutcome
    assert ids_of(raw, "Immunization") == loaded.ids["Immunization"]  # absent: fetched


def test_paginated_prefetch_is_followed(loaded, fhir_base_url, config):
    first = requests.get(
        f"{fhir_base_url}/Observation",
        params={"patient": loaded.pid, "_count": "2"},
        headers={"Accept": "application/fhir+json"},
        timeout=30,
    ).json()
    assert any(link["relation"] == "next" for link in first.get("link", []))
    assert len(first["entry"]) == 2
    raw = gather(request_for(loaded.pid, fhir_base_url, {"observations": first}), config)
    assert "Observation" not in raw.unavailable
    assert ids_of(raw, "Observation") == sorted(loaded.ids["Observation"])


def test_paging_with_a_small_count(loaded, fhir_base_url):
    source = FhirSource(fhir_base_url, None, time.monotonic() + 30, 10.0, max_pages=10)
    try:
        result = source.search_all(f"Observation?patient={loaded.pid}&_count=2", "Observation", loaded.pid)
    finally:
        source.close()
    assert sorted(r["id"] for r in result.resources) == sorted(loaded.ids["Observation"])
    assert result.pages == 3


def test_page_cap_with_a_small_count(loaded, fhir_base_url):
    source = FhirSource(fhir_base_url, None, time.monotonic() + 30, 10.0, max_pages=2)
    try:
        with pytest.raises(FetchError, match="page limit"):
            source.search_all(f"Observation?patient={loaded.pid}&_count=2", "Observation", loaded.pid)
    finally:
        source.close()


def test_unknown_patient_is_412(fhir_base_url, config):
    from cds.errors import PreconditionFailed

    with pytest.raises(PreconditionFailed):
        gather(request_for(unique_id("nobody"), fhir_base_url), config)


def test_real_http_logs_carry_no_patient_id_or_token(loaded, fhir_base_url, config, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "fhirpy", "cds"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    gather(request_for(loaded.pid, fhir_base_url, token=TOKEN), config)
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # the check below saw real lines
    assert loaded.pid not in caplog.text
    assert TOKEN not in caplog.text


# ---- with the synthetic patient builder (cds/synthetic.py) ------------------------------------------


def _builder_patient(pid: str):
    import datetime as dt

    from cds.synthetic import PatientBuilder

    return (
        PatientBuilder(pid, dt.date(2026, 11, 27), age=(6, 30), sex="female")
        .condition("neuroblastoma", onset_days_ago=400)
        .lab("anc", 1.2, "10*9/L", low=1.5, high=8.0, days_ago=3)
        .lansky(70, days_ago=5)
        .med_admin("carboplatin", days_ago=30, via="reference")
        .med_admin("carboplatin", days_ago=60, via="contained")
        .med_admin("carboplatin", days_ago=90, via="text")
    )


def _comparable(raw) -> dict[str, list[str]]:
    return {t: sorted(r["id"] for r in resources) for t, resources in raw.resources.items() if resources}


def test_builder_patient_full_prefetch_equals_no_prefetch(fhir_base_url, fhir_load, config):
    builder = _builder_patient(unique_id("syn"))
    fhir_load(builder.transaction_bundle())
    from_server = gather(builder.hook_request(fhir_server=fhir_base_url, prefetch=False), config)
    from_prefetch = gather(builder.hook_request(fhir_server=fhir_base_url, prefetch=True), config)
    assert from_server.unavailable == {} and from_prefetch.unavailable == {}
    assert _comparable(from_server) == _comparable(from_prefetch)
    assert len(from_server.of_type("MedicationAdministration")) == 3
    assert len(from_server.of_type("Medication")) == 1  # the separate one; contained stays inside


def test_builder_patient_prefetch_only_contacts_no_server(config):
    builder = _builder_patient(unique_id("syn"))
    raw = gather(builder.hook_request(fhir_server=None, prefetch=True), config)
    assert raw.unavailable == {}
    assert len(raw.of_type("Medication")) == 1
