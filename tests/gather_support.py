"""Helpers for the gather tests: FHIR JSON builders and a ``responses``-backed fake FHIR server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

BASE = "https://ehr.example.org/fhir"
EVIL = "https://evil.example.net"
PID = "pat-1"
TOKEN = "sentinel-token-7f3a"

# Every resource type the gatherer reads (alphabetical; the spec the code's cds.raw.RESOURCE_TYPES must match).
READ_TYPES = frozenset(
    {
        "AllergyIntolerance",
        "Condition",
        "Immunization",
        "MedicationAdministration",
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
        "Patient",
        "Procedure",
        "ResearchSubject",
    }
)


def patient(pid: str = PID) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "2015-03-01"}


def observation(oid: str, pid: str = PID, date: str = "2026-11-01") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": date,
        "valueQuantity": {
            "value": 1.2,
            "unit": "10*9/L",
            "system": "http://unitsofmeasure.org",
            "code": "10*9/L",
        },
    }


def condition(cid: str, pid: str = PID) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "432328008"}]},
    }


def outcome(severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": "exception"}]}


def searchset(
    resources: list[dict[str, Any]], next_url: str | None = None, mode: str = "match"
) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": mode}} for r in resources],
    }
    if next_url is not None:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


# A handler answers one request: a dict (200 JSON), (status, body) or (status, headers, body),
# an exception instance (raised), or a callable(request) returning any of those.
Handler = Any


class FakeFhir:
    """A FHIR server under ``BASE`` faked with ``responses``; per-type handlers, defaults are benign.

    Defaults: ``Patient/<PID>`` -> the patient; every search -> an empty searchset.
    ``calls`` records (path, query dict, Authorization header) of every request to ``BASE``.
    """

    def __init__(self, rsps: responses.RequestsMock, base: str = BASE) -> None:
        self.base = base.rstrip("/")
        self.handlers: dict[str, Handler] = {}
        self.calls: list[tuple[str, dict[str, list[str]], str | None]] = []
        rsps.add_callback(
            responses.GET, re.compile(re.escape(self.base) + r"([/?].*)?$"), callback=self._dispatch
        )

    def on(self, resource_type: str, handler: Handler) -> FakeFhir:
        self.handlers[resource_type] = handler
        return self

    def calls_for(self, resource_type: str) -> int:
        return sum(1 for path, _, _ in self.calls if path.split("/")[0].split("?")[0] == resource_type)

    def _dispatch(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        split = urlsplit(request.url)
        path = split.path[len(urlsplit(self.base).path) :].lstrip("/")
        self.calls.append((path, parse_qs(split.query), request.headers.get("Authorization")))
        resource_type = path.split("/")[0]
        handler = self.handlers.get(resource_type)
        if handler is None:
            handler = patient() if resource_type == "Patient" else searchset([])
        return _render(handler, request)


def _render(handler: Handler, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    if isinstance(handler, BaseException):
        raise handler
    if callable(handler):
        return _render(handler(request), request)
    if isinstance(handler, dict):
        return 200, {"Content-Type": "application/fhir+json"}, json.dumps(handler)
    if isinstance(handler, tuple) and len(handler) == 2:
        status, body = handler
        return status, {"Content-Type": "application/fhir+json"}, _text(body)
    status, headers, body = handler
    return status, headers, _text(body)


def _text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def sequence(*handlers: Handler) -> Callable[[requests.PreparedRequest], Any]:
    """A handler that answers with each given handler in turn, repeating the last one."""
    remaining = list(handlers)

    def answer(request: requests.PreparedRequest) -> Any:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return answer


def fhir_authorization(
    token: str, *, scope: str = "patient/*.read", subject: str = "nk-cds", expires_in: int = 300
) -> dict[str, Any]:
    """A CDS Hooks ``fhirAuthorization`` object for a bearer ``token``."""
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope,
        "subject": subject,
    }


def hook_request(
    prefetch: dict[str, Any] | None = None,
    fhir_server: str | None = BASE,
    token: str | None = TOKEN,
    pid: str = PID,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": pid},
    }
    if fhir_server is not None:
        request["fhirServer"] = fhir_server
    if token is not None:
        request["fhirAuthorization"] = fhir_authorization(token)
    if prefetch is not None:
        request["prefetch"] = prefetch
    return request
