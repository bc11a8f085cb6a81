"""SPEC-NOTES 1.14 items 7, 10-15, 17, 20-21, 25 through the HTTP layer with the real pipeline (in-process)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import responses

from tests.cds_service import SERVICE_ID, assert_valid, hook_request
from tests.gather_support import fhir_authorization

URL = f"/cds-services/{SERVICE_ID}"
AUD = f"http://localhost{URL}"
FHIR = "https://fhir.example.org/r4"
ACCESS = "fhir-access-token-abc"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def catalogue():
    from cds.config import Config
    from cds.pipeline import load_catalogue

    return load_catalogue(Config())


@pytest.fixture
def app(catalogue, tmp_path, jwks_file):
    from cds.http.app import create_app
    from tests.cds_service import base_config

    application = create_app(base_config(tmp_path, jwks_file, fhir_allowlist=(FHIR,)), catalogue=catalogue)
    return application


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": "2016-03-01", "gender": "female"}


def neuroblastoma(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "432328008", "display": "Neuroblastoma"}]
        },
        "onsetDateTime": "2025-01-10",
    }


def full_prefetch(pid: str) -> dict[str, Any]:
    from cds.gather.templates import PREFETCH

    data: dict[str, Any] = {key: bundle() for key in PREFETCH}
    data["patient"] = patient(pid)
    data["conditions"] = bundle(neuroblastoma(pid))
    return data


def post(app, body, mint_token):
    return app.test_client().post(URL, json=body, headers={"Authorization": f"Bearer {mint_token(AUD)}"})


@responses.activate
def test_full_prefetch_makes_no_fhir_calls_and_cards_conform(app, mint_token):
    pid = "pv-" + uuid.uuid4().hex[:8]
    body = hook_request(
        pid,
        prefetch=full_prefetch(pid),
        fhirServer=FHIR,
        fhirAuthorization=fhir_authorization(ACCESS, scope="user/*.read", subject="nk"),
    )
    first = post(app, body, mint_token)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert len(responses.calls) == 0  # item 7
    cards = first.get_json()["cards"]
    assert_valid("ServiceResponse", first.get_json())  # item 20
    assert len(cards) <= app.extensions["nk_cds"].config.max_cards  # item 25
    for card in cards:
        assert UUID.match(card["uuid"])  # item 21
        assert "<" not in card.get("detail", "").replace("<=", "").replace("< ", "")  # no raw HTML
    second = post(app, {**body, "hookInstance": str(uuid.uuid4())}, mint_token)
    assert {c["uuid"] for c in cards}.isdisjoint(
        {c["uuid"] for c in second.get_json()["cards"]}
    )  # fresh uuids
    assert [c["summary"] for c in cards] == [
        c["summary"] for c in second.get_json()["cards"]
    ]  # deterministic


@responses.activate
@pytest.mark.parametrize("with_token", [True, False])
def test_missing_prefetch_is_fetched_from_fhir_server(app, mint_token, with_token):
    pid = "pf-" + uuid.uuid4().hex[:8]
    responses.get(re.compile(re.escape(f"{FHIR}/Patient/{pid}")), json=patient(pid))
    responses.get(re.compile(re.escape(f"{FHIR}/Condition") + r"\?.*"), json=bundle(neuroblastoma(pid)))
    responses.get(re.compile(re.escape(FHIR) + r"/[A-Za-z]+\?.*"), json=bundle())
    body = hook_request(pid, fhirServer=FHIR)
    body.pop("prefetch")
    if with_token:  # item 10
        body["fhirAuthorization"] = fhir_authorization(ACCESS, scope="user/*.read", subject="nk")
    resp = post(app, body, mint_token)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert_valid("ServiceResponse", resp.get_json())
    urls = [c.request.url for c in responses.calls]
    assert any(f"/Patient/{pid}" in u for u in urls) and any("/Condition?" in u for u in urls)
    auth = {c.request.headers.get("Authorization") for c in responses.calls}
    assert auth == ({f"Bearer {ACCESS}"} if with_token else {None})  # item 11: open mode sends no token


@responses.activate
def test_no_prefetch_and_no_fhir_server_is_412(app, mint_token):
    body = hook_request()
    body.pop("prefetch")
    resp = post(app, body, mint_token)
    assert resp.status_code == 412  # item 12
    assert_valid("OperationOutcome", resp.get_json())


@responses.activate
@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_fhir_server_failure_for_required_data_is_412(app, mint_token, status):
    responses.get(
        re.compile(re.escape(FHIR) + r"/.*"),
        status=status,
        json={"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]},
    )
    body = hook_request(fhirServer=FHIR)
    body.pop("prefetch")
    resp = post(app, body, mint_token)
    assert resp.status_code == 412  # item 13
    assert_valid("OperationOutcome", resp.get_json())


@responses.activate
def test_null_and_operation_outcome_prefetch_values_do_not_crash(app, mint_token):
    pid = "pn-" + uuid.uuid4().hex[:8]
    prefetch = full_prefetch(pid)
    prefetch["observations"] = None  # item 14
    prefetch["procedures"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception"}],
    }  # item 15
    prefetch["immunizations"] = {"resourceType": "Basic", "id": "garbage"}
    resp = post(app, hook_request(pid, prefetch=prefetch), mint_token)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert_valid("ServiceResponse", resp.get_json())


@responses.activate
@pytest.mark.parametrize("server", ["https://evil.example/fhir", FHIR.replace("https://", "http://")])
def test_fhir_server_outside_allowlist_is_never_contacted(app, mint_token, server):
    """SSRF (and item 18: an http:// base is not allowed by an https:// allowlist entry)."""
    responses.get(re.compile(r"https?://.*"), json=bundle())
    body = hook_request(fhirServer=server)
    body.pop("prefetch")
    resp = post(app, body, mint_token)
    assert resp.status_code == 412
    assert len(responses.calls) == 0
