"""Property tests: random FHIR-like garbage never raises out of build_facts, and bad values become unknowns."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds.config import Config
from cds.facts import PatientFacts
from cds.mappings import load_mappings
from cds.normalise import build_facts
from cds.raw import RESOURCE_TYPES, RawPatient

TODAY = dt.date(2026, 11, 27)
M = load_mappings()
SETTINGS = settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LOINC_CODES = [
    "751-8",
    "777-3",
    "718-7",
    "2160-0",
    "1742-6",
    "89243-0",
    "89247-1",
    "5196-1",
    "20454-5",
    "29463-7",
    "6690-2",
    "770-8",
]
junk_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "2024",
            "2024-05",
            "2024-05-14",
            "2024-13-40",
            "2026-11-26T10:00:00Z",
            "garbage",
            "",
            "final",
            "mg/dL",
        ]
    ),
)
junk = st.recursive(
    junk_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
dates = st.one_of(
    st.sampled_from(["2026", "2026-11", "2026-11-20", "2026-11-26T23:59:59-08:00", "not a date", "", "0000"]),
    junk_scalar,
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)
units = st.sampled_from(
    ["10*9/L", "/uL", "K/uL", "mg/dL", "umol/L", "g/dL", "bananas", "", "%", "kg", "[lb_av]", None]
)


@st.composite
def observations(draw: Any) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": draw(st.sampled_from(["Observation", "Observation", "Condition", 7])),
        "id": draw(st.one_of(st.text(min_size=1, max_size=6, alphabet="abc123-"), junk_scalar)),
        "status": draw(
            st.one_of(
                st.sampled_from(["final", "amended", "preliminary", "entered-in-error", "cancelled"]),
                junk_scalar,
            )
        ),
        "code": draw(
            st.one_of(
                st.builds(
                    lambda c: {"coding": [{"system": "http://loinc.org", "code": c}]},
                    st.sampled_from(LOINC_CODES),
                ),
                junk,
            )
        ),
        "effectiveDateTime": draw(dates),
    }
    choice = draw(st.integers(min_value=0, max_value=4))
    if choice == 0:
        obs["valueQuantity"] = {"value": draw(numbers), "unit": draw(units), "code": draw(units)}
    elif choice == 1:
        obs["valueString"] = draw(junk_scalar)
    elif choice == 2:
        obs["valueCodeableConcept"] = draw(junk)
    elif choice == 3:
        obs["valueInteger"] = draw(numbers)
    if draw(st.booleans()):
        obs["referenceRange"] = draw(
            st.one_of(junk, st.just([{"high": {"value": draw(numbers), "unit": draw(units)}}]))
        )
    if draw(st.booleans()):
        obs["component"] = draw(junk)
    if draw(st.booleans()):
        obs[draw(st.text(max_size=6))] = draw(junk)
    return obs


@st.composite
def other_resources(draw: Any) -> dict[str, Any]:
    rtype = draw(st.sampled_from(RESOURCE_TYPES))
    res: dict[str, Any] = {"resourceType": rtype, "id": draw(st.one_of(st.just("r1"), junk_scalar))}
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "status",
                    "code",
                    "clinicalStatus",
                    "verificationStatus",
                    "onsetDateTime",
                    "abatementDateTime",
                    "birthDate",
                    "gender",
                    "medicationCodeableConcept",
                    "medicationReference",
                    "effectivePeriod",
                    "effectiveDateTime",
                    "dosage",
                    "vaccineCode",
                    "occurrenceDateTime",
                    "performedDateTime",
                    "performedPeriod",
                    "study",
                    "period",
                    "contained",
                    "extension",
                    "intent",
                    "authoredOn",
                    "dosageInstruction",
                    "bodySite",
                    "reaction",
                ]
            ),
            max_size=8,
        )
    ):
        res[key] = draw(
            st.one_of(
                junk,
                dates,
                st.sampled_from(
                    [
                        {"text": "carboplatin 450 MG Injection"},
                        {"coding": [{"system": "http://snomed.info/sct", "code": "432328008"}]},
                        {"reference": "#m1"},
                        {"reference": "Medication/zzz"},
                        "completed",
                        "active",
                        "in-progress",
                        {"start": "2026-11", "end": "garbage"},
                        [{"doseAndRate": [{"doseQuantity": {"value": float("nan"), "unit": "mg"}}]}],
                    ]
                ),
            )
        )
    return res


def _run(resources: list[Any], unavailable: Any = None) -> PatientFacts:
    by_type: dict[str, list[Any]] = {}
    for res in resources:
        key = (
            res.get("resourceType")
            if isinstance(res, dict) and isinstance(res.get("resourceType"), str)
            else "Observation"
        )
        by_type.setdefault(key, []).append(res)
    raw = RawPatient("p1", by_type, unavailable=unavailable if isinstance(unavailable, dict) else {})
    return build_facts(raw, TODAY, M, Config())


def _check_labs(facts: PatientFacts) -> None:
    for concept, values in facts.labs.items():
        assert M.defines("lab", concept) or M.defines("coded", concept)
        for v in values:
            if v.value is not None:
                assert math.isfinite(v.value)
            if v.problem is None and M.lab(concept).type != "coded":
                assert v.value is not None
            assert v.date.earliest <= v.date.latest and v.date.earliest <= TODAY


@SETTINGS
@given(st.lists(observations(), max_size=12))
def test_random_observations_never_raise(resources: list[dict[str, Any]]) -> None:
    facts = _run(resources)
    _check_labs(facts)


@SETTINGS
@given(
    st.lists(other_resources(), max_size=12),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(RESOURCE_TYPES), st.text(max_size=4))),
)
def test_random_resources_of_every_type_never_raise(
    resources: list[dict[str, Any]], unavailable: Any
) -> None:
    facts = _run(resources, unavailable)
    assert set(facts.sources) == set(RESOURCE_TYPES)
    for d in facts.drugs:
        assert d.dose_mg is None or math.isfinite(d.dose_mg)


@SETTINGS
@given(st.lists(junk, max_size=6))
def test_non_resources_never_raise(items: list[Any]) -> None:
    facts = _run(items)
    assert facts.labs == {} or all(isinstance(v, tuple) for v in facts.labs.values())


@SETTINGS
@given(numbers, units)
def test_bad_numbers_become_unknown_values(value: Any, unit: Any) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "effectiveDateTime": "2026-11-26",
        "valueQuantity": {"value": value, "unit": unit},
    }
    facts = _run([obs, dict(obs, id="o2")])  # duplicates too
    for v in facts.lab_values("anc"):
        ok_number = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and abs(value) <= 1e12
        )
        if not ok_number or unit in ("bananas", "", None, "mg/dL", "umol/L", "g/dL", "%", "kg", "[lb_av]"):
            assert v.value is None and v.problem


def test_raw_that_is_not_a_raw_patient_does_not_raise() -> None:
    class Weird:
        patient_id = 5
        resources = "nope"
        unavailable = ["x"]
        notes = None

    facts = build_facts(Weird(), TODAY, M, Config())  # type: ignore[arg-type]
    assert facts.patient_id == "" and facts.labs == {}
