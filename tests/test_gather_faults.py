"""Fault tests of gather() against a FHIR server faked with ``responses``.

Each fault ends in a clear outcome (412 for Patient/Condition, "source unavailable" for any other type)
within the time budget, and the bearer token never leaves the fhirServer origin.
"""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
import requests
import responses

from cds.config import Config
from cds.errors import BadRequest, PreconditionFailed
from cds.gather import UNAVAILABLE, gather
from cds.gather.fhir import FetchError, FhirSource
from cds.gather.templates import PREFETCH
from tests.gather_support import (
    BASE,
    EVIL,
    PID,
    READ_TYPES,
    TOKEN,
    FakeFhir,
    condition,
    hook_request,
    observation,
    outcome,
    patient,
    searchset,
    sequence,
)

BUDGET_S = 1.5
CONFIG = Config(fhir_allowlist=(BASE,), fhir_budget_s=BUDGET_S, fhir_request_timeout_s=0.5, fhir_max_pages=5)
SLACK_S = 0.5


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake(rsps):
    return FakeFhir(rsps)


@pytest.fixture
def evil(rsps):
    """Any request to the other origin is recorded (and answered with a tempting Bundle)."""
    seen: list[requests.PreparedRequest] = []

    def answer(request):
        seen.append(request)
        return (
            200,
            {"Content-Type": "application/fhir+json"},
            '{"resourceType": "Bundle", "type": "searchset"}',
        )

    rsps.add_callback(responses.GET, re.compile(re.escape(EVIL) + ".*"), callback=answer)
    return seen


def timed_gather(request, config=CONFIG):
    started = time.monotonic()
    try:
        return gather(request, config), time.monotonic() - started
    finally:
        assert time.monotonic() - started < config.fhir_budget_s + SLACK_S


# ---- the normal path ------------------------------------------------------------------------------


def test_no_prefetch_fetches_everything_with_the_token(fake):
    fake.on("Observation", searchset([observation("o1"), observation("o2")]))
    fake.on("Condition", searchset([condition("c1")]))
    raw, _ = timed_gather(hook_request())
    assert raw.unavailable == {}
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1", "o2"]
    assert [r["id"] for r in raw.of_type("Condition")] == ["c1"]
    assert raw.of_type("Patient") == [patient()]
    assert raw.of_type("Procedure") == []  # retrieved, none recorded
    assert "Procedure" in raw.resources
    assert len(fake.calls) == 10
    assert {auth for _, _, auth in fake.calls} == {f"Bearer {TOKEN}"}


def test_without_fhir_authorization_no_authorization_header_is_sent(fake):
    timed_gather(hook_request(token=None))
    assert len(fake.calls) == 10
    assert {auth for _, _, auth in fake.calls} == {None}


def test_complete_prefetch_needs_no_fhir_server(fake):
    prefetch = {key: None for key in PREFETCH if key not in ("patient", "conditions")}  # nothing recorded
    prefetch["patient"] = patient()
    prefetch["conditions"] = searchset([condition("c1")])
    raw, _ = timed_gather(hook_request(prefetch=prefetch))
    assert fake.calls == []
    assert raw.unavailable == {}
    assert [r["id"] for r in raw.of_type("Condition")] == ["c1"]


def test_partial_prefetch_without_fhir_server_marks_the_rest_unavailable():
    prefetch = {
        "patient": patient(),
        "conditions": searchset([]),
        "observations": searchset([observation("o1")]),
    }
    raw, _ = timed_gather(hook_request(prefetch=prefetch, fhir_server=None))
    assert raw.of_type("Condition") == []
    assert "Condition" not in raw.unavailable
    assert len(raw.of_type("Observation")) == 1
    missing = READ_TYPES - {"Patient", "Observation", "Condition"}
    assert raw.unavailable == {t: UNAVAILABLE for t in missing}


def test_no_prefetch_and_no_fhir_server_is_412():
    with pytest.raises(PreconditionFailed):
        timed_gather(hook_request(fhir_server=None))


def test_prefetch_null_is_no_data_and_not_requeried(fake):
    fake.on("Condition", searchset([condition("c-server")]))
    raw, _ = timed_gather(hook_request(prefetch={"conditions": None}))
    assert raw.of_type("Condition") == []
    assert fake.calls_for("Condition") == 0


def test_prefetch_operation_outcome_is_requeried(fake):
    fake.on("Condition", searchset([condition("c-server")]))
    raw, _ = timed_gather(hook_request(prefetch={"conditions": outcome()}))
    assert [r["id"] for r in raw.of_type("Condition")] == ["c-server"]
    assert fake.calls_for("Condition") == 1


def test_prefetch_html_error_page_is_requeried(fake):
    fake.on("Observation", searchset([observation("o-server")]))
    raw, _ = timed_gather(hook_request(prefetch={"observations": "<html>500 Internal Server Error</html>"}))
    assert [r["id"] for r in raw.of_type("Observation")] == ["o-server"]


def test_prefetch_next_link_is_followed_on_the_fhir_server(fake):
    fake.on("Observation", searchset([observation("o2")]))
    first = searchset([observation("o1")], next_url=f"{BASE}/Observation?_getpages=tok&_offset=1")
    raw, _ = timed_gather(hook_request(prefetch={"observations": first}))
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1", "o2"]
    path, query, auth = [c for c in fake.calls if c[0] == "Observation"][0]
    assert query == {"_getpages": ["tok"], "_offset": ["1"]}
    assert auth == f"Bearer {TOKEN}"


def test_prefetch_next_link_to_another_origin_is_not_followed(fake, evil):
    fake.on("Observation", searchset([observation("o1"), observation("o2")]))
    first = searchset([observation("o1")], next_url=f"{EVIL}/fhir/Observation?page=2")
    raw, _ = timed_gather(hook_request(prefetch={"observations": first}))
    assert evil == []
    # queried afresh from fhirServer instead
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1", "o2"]
    assert "Observation" not in raw.unavailable


# ---- faults ---------------------------------------------------------------------------------------

FAULTS = {
    "read timeout": requests.exceptions.ReadTimeout("slow"),
    "connect timeout": requests.exceptions.ConnectTimeout("slow"),
    "connection reset": requests.exceptions.ConnectionError(ConnectionResetError(104, "reset by peer")),
    "401": (401, outcome()),
    "403": (403, outcome()),
    "404": (404, outcome()),
    "500": (500, outcome()),
    "502 html": (502, {"Content-Type": "text/html"}, "<html><body>Bad gateway</body></html>"),
    "invalid json": (200, "{not json"),
    "html error page with 200": (200, {"Content-Type": "text/html"}, "<html><body>Error</body></html>"),
    "json array": (200, "[1, 2]"),
    "json nested too deep": (200, "[" * 100_000),
    "operation outcome instead of bundle": (200, outcome()),
    "bundle with error outcome": (200, searchset([outcome("fatal")], mode="outcome")),
    "redirect to another origin": (302, {"Location": f"{EVIL}/fhir/Observation"}, ""),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_on_observation_makes_it_unavailable(fake, evil, fault):
    fake.on("Observation", FAULTS[fault])
    fake.on("Condition", searchset([condition("c1")]))
    raw, _ = timed_gather(hook_request())
    assert raw.unavailable == {"Observation": UNAVAILABLE}
    assert "Observation" not in raw.resources
    assert [r["id"] for r in raw.of_type("Condition")] == ["c1"]
    assert evil == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("resource_type", ["Patient", "Condition"])
def test_fault_on_a_required_type_is_412(fake, evil, fault, resource_type):
    fake.on(resource_type, FAULTS[fault])
    with pytest.raises(PreconditionFailed) as excinfo:
        timed_gather(hook_request())
    assert resource_type in str(excinfo.value)
    assert PID not in str(excinfo.value)
    assert evil == []


def test_next_links_that_loop(fake):
    looping = searchset([observation("o1")], next_url=f"{BASE}/Observation?page=1")
    fake.on("Observation", looping)
    raw, _ = timed_gather(hook_request())
    assert raw.unavailable == {"Observation": UNAVAILABLE}
    assert fake.calls_for("Observation") == 2  # the query, then page=1 once; the repeat is not requested


def test_paging_that_never_ends_stops_at_the_page_cap(fake):
    counter = {"n": 0}

    def next_page(request):
        counter["n"] += 1
        return searchset(
            [observation(f"o{counter['n']}")], next_url=f"{BASE}/Observation?page={counter['n']}"
        )

    fake.on("Observation", next_page)
    raw, _ = timed_gather(hook_request())
    assert raw.unavailable == {"Observation": UNAVAILABLE}
    assert fake.calls_for("Observation") == CONFIG.fhir_max_pages


def test_paging_up_to_the_cap_is_complete(fake):
    pages = [
        searchset([observation(f"o{i}")], next_url=f"{BASE}/Observation?page={i + 1}" if i < 4 else None)
        for i in range(5)
    ]
    fake.on("Observation", sequence(*pages))
    raw, _ = timed_gather(hook_request())
    assert "Observation" not in raw.unavailable
    assert [r["id"] for r in raw.of_type("Observation")] == [f"o{i}" for i in range(5)]


def test_server_next_link_to_another_origin_is_not_followed(fake, evil):
    fake.on("Observation", searchset([observation("o1")], next_url=f"{EVIL}/fhir/Observation?page=2"))
    raw, _ = timed_gather(hook_request())
    assert evil == []
    assert raw.unavailable == {"Observation": UNAVAILABLE}


@pytest.mark.parametrize("link", ["Observation?page=2", "/fhir/Observation?page=2"])
def test_relative_next_link_resolves_against_the_base(fake, link):
    fake.on(
        "Observation",
        sequence(
            searchset([observation("o1")], next_url=link),
            searchset([observation("o2")]),
        ),
    )
    raw, _ = timed_gather(hook_request())
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1", "o2"]


def test_hapi_style_page_token_link_on_the_base_with_explicit_port(fake):
    # HAPI: next = <base>?_getpages=<token>&_getpagesoffset=N, often with an explicit :443
    fake.on(
        "Observation",
        searchset(
            [observation("o1")], next_url="https://ehr.example.org:443/fhir?_getpages=t&_getpagesoffset=1"
        ),
    )
    fake.on("", searchset([observation("o2")]))
    raw, _ = timed_gather(hook_request())
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1", "o2"]
    assert ("", {"_getpages": ["t"], "_getpagesoffset": ["1"]}, f"Bearer {TOKEN}") in fake.calls


def test_protocol_relative_next_link_is_not_followed(fake, evil):
    fake.on("Observation", searchset([observation("o1")], next_url="//evil.example.net/fhir/Observation"))
    raw, _ = timed_gather(hook_request())
    assert evil == []
    assert raw.unavailable == {"Observation": UNAVAILABLE}


def test_enormous_page_is_read_within_the_default_budget(fake):
    body = json.dumps(searchset([observation(f"o{i}") for i in range(20_000)]))  # about 8 MB
    fake.on("Observation", (200, body))
    config = CONFIG.with_(fhir_budget_s=3.0)  # the production default
    raw, elapsed = timed_gather(hook_request(), config)
    assert raw.unavailable == {}
    assert len(raw.of_type("Observation")) == 20_000
    assert elapsed < config.fhir_budget_s


def test_response_over_the_size_cap_is_an_error(rsps):
    FakeFhir(rsps).on("Observation", searchset([observation(f"o{i}") for i in range(200)]))
    source = FhirSource(BASE, None, time.monotonic() + 5, 1.0, 5, max_response_bytes=10_000)
    with pytest.raises(FetchError, match="too large"):
        source.search_all("Observation?patient=pat-1", "Observation", PID)


def test_429_then_success(fake):
    fake.on("Observation", sequence((429, {"Retry-After": "0"}, outcome()), searchset([observation("o1")])))
    raw, _ = timed_gather(hook_request())
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1"]
    assert fake.calls_for("Observation") == 2


def test_503_then_success(fake):
    fake.on("Condition", sequence((503, outcome()), searchset([condition("c1")])))
    raw, _ = timed_gather(hook_request())
    assert [r["id"] for r in raw.of_type("Condition")] == ["c1"]


def test_429_forever_gives_up_after_bounded_retries(fake):
    fake.on("Observation", (429, {"Retry-After": "0"}, outcome()))
    raw, _ = timed_gather(hook_request())
    assert raw.unavailable == {"Observation": UNAVAILABLE}
    assert fake.calls_for("Observation") == 3  # first try + MAX_RETRIES


def test_retry_after_beyond_the_budget_is_not_waited_for(fake):
    fake.on("Observation", (503, {"Retry-After": "3600"}, outcome()))
    raw, elapsed = timed_gather(hook_request())
    assert raw.unavailable == {"Observation": UNAVAILABLE}
    assert fake.calls_for("Observation") == 1
    assert elapsed < 0.5


def test_connection_reset_then_success(fake):
    reset = requests.exceptions.ConnectionError(ConnectionResetError(104, "reset"))
    fake.on("Observation", sequence(reset, searchset([observation("o1")])))
    raw, _ = timed_gather(hook_request())
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1"]


def test_server_answer_for_another_patient_is_dropped(fake):
    fake.on("Observation", searchset([observation("o1"), observation("o2", pid="other-patient")]))
    raw, _ = timed_gather(hook_request())
    assert [r["id"] for r in raw.of_type("Observation")] == ["o1"]
    assert raw.notes and "skipped" in raw.notes[0]


def test_patient_with_another_id_is_412(fake):
    fake.on("Patient", patient("someone-else"))
    with pytest.raises(PreconditionFailed):
        timed_gather(hook_request())


# ---- allowlist ------------------------------------------------------------------------------------


def test_fhir_server_outside_the_allowlist_is_never_contacted(fake, evil, caplog):
    caplog.set_level(logging.DEBUG)
    request = hook_request(fhir_server=f"{EVIL}/fhir?patient={PID}")
    with pytest.raises(PreconditionFailed):
        timed_gather(request)
    assert evil == [] and fake.calls == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "ALLOWLIST" in r.getMessage()]
    assert warnings
    assert all(PID not in r.getMessage() and "?" not in r.getMessage() for r in warnings)


def test_http_fhir_server_needs_an_http_allowlist_entry(rsps):
    http_base = BASE.replace("https://", "http://")
    fake = FakeFhir(rsps, base=http_base)
    with pytest.raises(PreconditionFailed):
        timed_gather(hook_request(fhir_server=http_base))
    assert fake.calls == []
    raw, _ = timed_gather(hook_request(fhir_server=http_base), CONFIG.with_(fhir_allowlist=(http_base,)))
    assert raw.of_type("Patient")


def test_empty_allowlist_contacts_nothing(fake):
    with pytest.raises(PreconditionFailed):
        timed_gather(hook_request(), CONFIG.with_(fhir_allowlist=()))
    assert fake.calls == []


# ---- Medication references ------------------------------------------------------------------------


def administration(mid: str, reference: str, contained: list | None = None) -> dict:
    resource = {
        "resourceType": "MedicationAdministration",
        "id": mid,
        "status": "completed",
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": "2026-11-01",
        "medicationReference": {"reference": reference},
    }
    if contained:
        resource["contained"] = contained
    return resource


def test_separate_medication_is_fetched_and_contained_is_left_alone(fake):
    contained = [{"resourceType": "Medication", "id": "med1", "code": {"text": "dinutuximab"}}]
    fake.on(
        "MedicationAdministration",
        searchset(
            [
                administration("ma1", "#med1", contained),
                administration("ma2", "Medication/m-sep"),
                administration("ma3", f"{BASE}/Medication/m-abs"),
                administration("ma4", f"{EVIL}/fhir/Medication/m-evil"),
            ]
        ),
    )
    fake.on(
        "Medication",
        searchset(
            [{"resourceType": "Medication", "id": "m-sep"}, {"resourceType": "Medication", "id": "m-abs"}]
        ),
    )
    raw, _ = timed_gather(hook_request())
    assert raw.of_type("MedicationAdministration")[0]["contained"] == contained
    assert sorted(m["id"] for m in raw.of_type("Medication")) == ["m-abs", "m-sep"]
    ((path, query, _),) = [c for c in fake.calls if c[0] == "Medication"]
    assert query["_id"] == ["m-abs,m-sep"]


def test_included_medication_is_not_fetched_again(fake):
    bundle = searchset([administration("ma1", "Medication/m1")])
    bundle["entry"].append(
        {"resource": {"resourceType": "Medication", "id": "m1"}, "search": {"mode": "include"}}
    )
    fake.on("MedicationAdministration", bundle)
    raw, _ = timed_gather(hook_request())
    assert [m["id"] for m in raw.of_type("Medication")] == ["m1"]
    assert fake.calls_for("Medication") == 0


def test_medication_fetch_failure_marks_medication_unavailable(fake):
    fake.on(
        "MedicationRequest",
        searchset([{**administration("mr1", "Medication/m1"), "resourceType": "MedicationRequest"}]),
    )
    fake.on("Medication", (500, outcome()))
    raw, _ = timed_gather(hook_request())
    assert raw.unavailable == {"Medication": UNAVAILABLE}
    assert len(raw.of_type("MedicationRequest")) == 1


def test_medication_reference_without_fhir_server_is_unavailable():
    prefetch = {
        "patient": patient(),
        "conditions": None,
        "medicationStatements": searchset(
            [{**administration("ms1", "Medication/m1"), "resourceType": "MedicationStatement"}]
        ),
    }
    raw, _ = timed_gather(hook_request(prefetch=prefetch, fhir_server=None))
    assert raw.unavailable["Medication"] == UNAVAILABLE


# ---- input and logging ----------------------------------------------------------------------------


@pytest.mark.parametrize("pid", [None, "", "a/b", "x&_include=*", "p" * 65, 12, "a\n"])
def test_invalid_patient_id_is_bad_request(pid):
    request = hook_request()
    request["context"]["patientId"] = pid
    with pytest.raises(BadRequest):
        gather(request, CONFIG)


def test_logs_carry_no_token_or_patient_id(fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.on("Observation", (500, outcome()))
    fake.on("Procedure", searchset([observation("o1")], next_url=f"{EVIL}/x?patient={PID}"))
    timed_gather(hook_request())
    assert caplog.records
    assert TOKEN not in caplog.text
    assert PID not in caplog.text


def test_paginated_prefetch_without_fhir_server_is_incomplete():
    prefetch = {
        "patient": patient(),
        "conditions": searchset([condition("c1")]),
        "observations": searchset([observation("o1")], next_url=f"{BASE}/Observation?page=2"),
    }
    raw, _ = timed_gather(hook_request(prefetch=prefetch, fhir_server=None))
    assert raw.unavailable["Observation"] == UNAVAILABLE
    prefetch["conditions"] = searchset([condition("c1")], next_url=f"{BASE}/Condition?page=2")
    with pytest.raises(PreconditionFailed):
        timed_gather(hook_request(prefetch=prefetch, fhir_server=None))


@pytest.mark.parametrize("request_body", [None, [], "text"])
def test_request_that_is_not_an_object_is_bad_request(request_body):
    with pytest.raises(BadRequest):
        gather(request_body, CONFIG)
