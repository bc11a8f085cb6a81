"""``cds.http.schemas.envelope_is_plainly_valid`` never accepts what ``#/$defs/HookRequest`` rejects, and does
accept the usual envelopes (otherwise the fast path would be dead code)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from cds.http.schemas import envelope_is_plainly_valid, first_error
from tests.cds_service import hook_request

VALUES: tuple[Any, ...] = (
    "",
    "x",
    "x" * 64,
    "x" * 65,
    "x" * 200,
    "x" * 201,
    "abc\n",
    "a b",
    "pat-1.2",
    "https://ehr.example.org/fhir",
    "not a uri",
    "urn:x",
    None,
    0,
    1.5,
    True,
    [],
    {},
    {"access_token": "t"},
    {"access_token": ""},
    {"access_token": "t", "token_type": 1},
    {"access_token": "t", "token_type": "Bearer"},
)
FULL = hook_request(
    fhirServer="https://ehr.example.org/fhir",
    fhirAuthorization={"access_token": "t", "token_type": "Bearer", "scope": "x"},
    context={"userId": "Practitioner/1", "patientId": "pat-1", "encounterId": "e1"},
)


def _mutations() -> Iterator[dict[str, Any]]:
    for base in (FULL, hook_request()):
        for key in (*base, "fhirServer", "fhirAuthorization", "prefetch", "extra"):
            missing = copy.deepcopy(base)
            missing.pop(key, None)
            yield missing
            for value in VALUES:
                changed = copy.deepcopy(base)
                changed[key] = value
                yield changed
        for key in ("patientId", "userId", "encounterId", "other"):
            for value in VALUES:
                changed = copy.deepcopy(base)
                changed["context"][key] = value
                yield changed
            missing = copy.deepcopy(base)
            missing["context"].pop(key, None)
            yield missing
    yield from ([], "x", None, {})


def test_never_accepts_what_the_schema_rejects() -> None:
    checked = accepted = 0
    for body in _mutations():
        checked += 1
        if envelope_is_plainly_valid(body):
            accepted += 1
            assert first_error("HookRequest", body) is None, body
    assert checked > 500 and accepted > 50  # both outcomes were exercised


@pytest.mark.parametrize(
    "body",
    [
        hook_request(),
        FULL,
        hook_request(prefetch=None),
        hook_request(fhirServer="http://localhost:8080/fhir"),
        hook_request(patient_id="A" * 64),
    ],
)
def test_accepts_the_usual_envelopes(body: dict[str, Any]) -> None:
    assert first_error("HookRequest", body) is None
    assert envelope_is_plainly_valid(body)


@pytest.mark.parametrize(
    "body",
    [
        hook_request(patient_id="A" * 65),
        hook_request(patient_id="pat-1\n"),  # the schema's $ allows a final newline: the schema decides
        hook_request(fhirAuthorization={"access_token": "t"}),  # no fhirServer
        hook_request(hookInstance="x" * 201),
        hook_request(hook=""),
    ],
)
def test_leaves_the_edge_cases_to_the_schema(body: dict[str, Any]) -> None:
    assert not envelope_is_plainly_valid(body)
