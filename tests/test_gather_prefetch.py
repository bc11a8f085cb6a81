"""Unit tests of the prefetch decision table (cds.gather.prefetch) and the templates."""

from __future__ import annotations

import re

import pytest

from cds.gather.bundles import read_page, referenced_patient_id
from cds.gather.prefetch import Action, decide
from cds.gather.templates import PREFETCH, READ_KEYS, RESOURCE_TYPE, own_query, render
from cds.raw import RESOURCE_TYPES
from tests.gather_support import PID, READ_TYPES, condition, observation, outcome, patient, searchset

# ---- templates ----------------------------------------------------------------------------------


def test_every_resource_type_has_a_template():
    assert set(RESOURCE_TYPE.values()) == READ_TYPES
    assert len(RESOURCE_TYPES) == len(READ_TYPES) and set(RESOURCE_TYPES) == READ_TYPES
    assert {"patient"} == READ_KEYS


ALLOWED_PARAMS = {"patient", "_count", "_sort"}


@pytest.mark.parametrize("key", sorted(PREFETCH))
def test_templates_stay_in_the_restricted_query_subset(key):
    template = PREFETCH[key]
    tokens = re.findall(r"\{\{([^}]*)\}\}", template)
    assert tokens == ["context.patientId"]
    if "?" not in template:
        assert template == "Patient/{{context.patientId}}"
        return
    path, query = template.split("?", 1)
    assert "/" not in path  # type-level search
    params = dict(part.split("=", 1) for part in query.split("&"))
    assert set(params) <= ALLOWED_PARAMS
    assert params["patient"] == "{{context.patientId}}"
    assert ":" not in query  # no modifiers, no _include
    if "_sort" in params:
        assert params["_sort"] == "-date"  # R4 syntax, not DSTU2 sort:desc


def test_observation_template_is_not_narrowed_by_code():
    assert "code=" not in PREFETCH["observations"]
    assert all("code=" not in t and "status=" not in t for t in PREFETCH.values())


def test_render_and_own_query():
    assert render(PREFETCH["observations"], "p-9").startswith("Observation?patient=p-9&")
    assert own_query("medicationAdministrations", "p-9").endswith(
        "&_include=MedicationAdministration:medication"
    )
    assert "_include" not in own_query("observations", "p-9")


# ---- decision table -------------------------------------------------------------------------------


def test_absent_key_is_fetched():
    decision = decide("observations", {}, PID)
    assert decision.action is Action.FETCH
    assert decision.reason == "not prefetched"


def test_no_prefetch_object_at_all_is_fetched():
    assert decide("conditions", None, PID).action is Action.FETCH
    assert decide("conditions", "garbage", PID).action is Action.FETCH


def test_null_search_is_no_data():
    decision = decide("observations", {"observations": None}, PID)
    assert decision.action is Action.NO_DATA
    assert decision.resources == []


def test_empty_bundle_is_no_data():
    assert decide("conditions", {"conditions": searchset([])}, PID).action is Action.NO_DATA
    bundle_without_entry = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    assert decide("conditions", {"conditions": bundle_without_entry}, PID).action is Action.NO_DATA


def test_bundle_entries_are_used_and_filtered_to_the_expected_type():
    bundle = searchset(
        [observation("o1"), condition("c1"), observation("o2"), {"resourceType": "Medication", "id": "m"}]
    )
    bundle["entry"].append({"fullUrl": "no resource"})
    decision = decide("observations", {"observations": bundle}, PID)
    assert decision.action is Action.USE
    assert [r["id"] for r in decision.resources] == ["o1", "o2"]
    assert [r["id"] for r in decision.included] == ["m"]
    assert decision.dropped == 2  # the Condition and the entry without a resource


def test_entries_of_another_patient_are_dropped():
    bundle = searchset([observation("o1"), observation("o2", pid="someone-else")])
    decision = decide("observations", {"observations": bundle}, PID)
    assert [r["id"] for r in decision.resources] == ["o1"]
    assert decision.dropped == 1


def test_bundle_with_only_foreign_entries_is_no_data():
    bundle = searchset([condition("c1")])
    assert decide("observations", {"observations": bundle}, PID).action is Action.NO_DATA


def test_next_link_means_continue():
    bundle = searchset([observation("o1")], next_url="https://ehr.example.org/fhir?page=abc")
    decision = decide("observations", {"observations": bundle}, PID)
    assert decision.action is Action.CONTINUE
    assert decision.next_url == "https://ehr.example.org/fhir?page=abc"
    assert [r["id"] for r in decision.resources] == ["o1"]


@pytest.mark.parametrize("severity", ["error", "fatal", "warning", "information"])
def test_bundle_containing_an_operation_outcome_is_fetched(severity):
    bundle = searchset([observation("o1")])
    bundle["entry"].append({"resource": outcome(severity), "search": {"mode": "outcome"}})
    decision = decide("observations", {"observations": bundle}, PID)
    assert decision.action is Action.FETCH
    assert decision.resources == []


def test_operation_outcome_instead_of_bundle_is_fetched():
    decision = decide("conditions", {"conditions": outcome()}, PID)
    assert decision.action is Action.FETCH
    assert "OperationOutcome" in decision.reason


@pytest.mark.parametrize(
    "value",
    [
        "<html><body>HTTP Status 500 - Internal Server Error</body></html>",  # cds-hooks/docs#5
        42,
        ["a", "list"],
        {"no": "resourceType"},
        patient(),  # a resource of the wrong type
        condition("c1"),  # a bare resource of the right type is not a search result
        {"resourceType": "Bundle", "type": "transaction-response", "entry": []},
        {"resourceType": "Bundle", "type": "searchset", "entry": "not a list"},
    ],
)
def test_wrong_type_or_garbage_is_treated_as_missing(value):
    assert decide("conditions", {"conditions": value}, PID).action is Action.FETCH


def test_patient_read():
    assert decide("patient", {"patient": patient()}, PID).action is Action.USE
    assert decide("patient", {"patient": patient("other")}, PID).action is Action.FETCH
    assert decide("patient", {"patient": None}, PID).action is Action.FETCH  # documented choice
    assert decide("patient", {"patient": outcome()}, PID).action is Action.FETCH
    assert decide("patient", {"patient": observation("o")}, PID).action is Action.FETCH
    assert decide("patient", {}, PID).action is Action.FETCH


def test_patient_wrapped_in_a_bundle_is_accepted_when_it_is_the_context_patient():
    assert decide("patient", {"patient": searchset([patient()])}, PID).action is Action.USE
    assert decide("patient", {"patient": searchset([patient("x")])}, PID).action is Action.FETCH
    assert decide("patient", {"patient": searchset([])}, PID).action is Action.FETCH


# ---- page reading (server answers) -----------------------------------------------------------------


def test_server_page_tolerates_warning_outcomes_but_not_errors():
    bundle = searchset([observation("o1")])
    bundle["entry"].append({"resource": outcome("warning"), "search": {"mode": "outcome"}})
    assert read_page(bundle, "Observation", PID).error is None
    bundle["entry"].append({"resource": outcome("error"), "search": {"mode": "outcome"}})
    assert read_page(bundle, "Observation", PID).error is not None


def test_malformed_outcome_counts_as_an_error():
    bundle = searchset([{"resourceType": "OperationOutcome"}])
    assert read_page(bundle, "Observation", PID).error is not None


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/abc", "abc"),
        ("https://ehr.example.org/fhir/Patient/abc", "abc"),
        ("Patient/abc/_history/3", "abc"),
        ("urn:uuid:1234", None),
        ("Group/abc", None),
    ],
)
def test_referenced_patient_id(reference, expected):
    assert referenced_patient_id({"subject": {"reference": reference}}) == expected


def test_unreadable_reference_keeps_the_resource():
    bundle = searchset([{"resourceType": "Observation", "id": "o", "subject": {"reference": "urn:uuid:1"}}])
    assert len(read_page(bundle, "Observation", PID).resources) == 1


@pytest.mark.parametrize(
    ("references", "kept"),
    [
        ({"subject": {"reference": f"Patient/{PID}"}}, True),  # the usual case, decided without the regex
        ({"subject": {"reference": "Patient/someone-else"}}, False),
        ({"subject": {"reference": f"Patient/{PID}/_history/2"}}, True),
        ({"subject": {"reference": f"https://fhir.example/Patient/{PID}"}}, True),
        # the first reference decides: the own one first keeps it, another patient's first drops it
        ({"subject": {"reference": f"Patient/{PID}"}, "patient": {"reference": "Patient/x"}}, True),
        ({"subject": {"reference": "Patient/x"}, "patient": {"reference": f"Patient/{PID}"}}, False),
        # an unreadable first reference is skipped, as before
        ({"subject": {"reference": "Group/1"}, "patient": {"reference": "Patient/x"}}, False),
        ({"subject": {"display": "no reference"}, "patient": {"reference": "Patient/x"}}, False),
        ({"subject": {"reference": f"Patient/{PID}\n"}}, True),  # read by the regex, as before
    ],
)
def test_read_page_keeps_exactly_the_entries_of_the_patient(references: dict, kept: bool) -> None:
    resource = {"resourceType": "Observation", "id": "o1", **references}
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": resource}]}
    page = read_page(bundle, "Observation", PID)
    assert (page.resources == [resource]) is kept
    assert page.dropped_other_patient == (0 if kept else 1)
