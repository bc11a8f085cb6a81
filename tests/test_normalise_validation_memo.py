"""``ObservationValidator`` (skeleton + leaves, memoised per call) accepts and rejects exactly what a full
``Observation.model_validate`` of the read part does (issue 7, docs/performance-changes.md)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds.normalise.common import _model, _read_part
from cds.normalise.validation import (
    _FIXED_NUMBER,
    _QUANTITY_VALUE,
    _TOP_LEAVES,
    ObservationValidator,
    _leaf_model,
    carrier,
)

BASE: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "obs-1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}], "text": "ANC"},
    "effectiveDateTime": "2026-10-27",
    "issued": "2026-10-27T10:00:00Z",
    "valueQuantity": {
        "value": 1.38,
        "unit": "10*9/L",
        "system": "http://unitsofmeasure.org",
        "code": "10*9/L",
    },
    "referenceRange": [{"low": {"value": 1.5, "unit": "10*9/L"}, "high": {"value": 8.0, "unit": "10*9/L"}}],
}

IDS = ["obs-1", "a.b-C9", "", "a b", "x" * 64, "x" * 65, "ö", 5, None, True, ["a"]]
DATES = [
    "2026-10-27",
    "2024",
    "2024-05",
    "2024-05-01T10:00:00Z",
    "2024-05-01T10:00:00+02:00",
    "2024-05-01T10:00:00",
    "2024-13-01",
    "2024-02-30",
    "",
    " 2024",
    "yesterday",
    2024,
    None,
    {"a": 1},
]
INSTANTS = [
    "2026-10-27T10:00:00Z",
    "2026-10-27T10:00:00.123+01:00",
    "2026-10-27",
    "2026-10-27T10:00:00",
    "",
    7,
    None,
]
NUMBERS = [1.38, 1, 0, -0.0, -5, 1e308, 10**30, "1.5", "", True, False, None, [], {"v": 1}, 1.5e-300]
EXTRA = [
    {},
    {"effectivePeriod": {"start": "2024-01-01"}},
    {"valueString": "high"},
    {"_effectiveDateTime": {"extension": [{"url": "http://x", "valueString": "y"}]}},
    {"_id": {"x": 1}},
    {"valueInteger": 4},
    {"status": None},
    {"status": "bogus"},
    {"code": None},
    {"referenceRange": [None]},
    {"interpretation": [{"text": "H"}, None]},
    {"dataAbsentReason": {"text": "lost"}},
    {"subject": {"reference": 5}},  # not read: dropped by _read_part
    {"code": {}},
    {"code": {"coding": [{"system": 5, "code": "751-8"}]}},
    {"code": {"coding": [None]}},
    {"code": {"text": ""}},
    {"code": "751-8"},
    {"code": [{"text": "x"}]},
    {"code": {"text": "x", "bogus": 1}},
    {"referenceRange": []},
    {"referenceRange": [{"low": {"value": "x"}}]},
    {"referenceRange": [{"text": "ok"}, {"bogus": 1}]},
    {"referenceRange": [{"text": "ok"}, "text"]},
    {"referenceRange": {"text": "not a list"}},
    {"valueQuantity": {}},
    {"valueQuantity": {"value": 1, "unit": 5}},
    {"valueQuantity": {"value": 1, "comparator": "about"}},
    {"valueQuantity": {"value": 2.5, "extra": 1}},
    {"valueQuantity": {"value": 3, "_value": {"extension": [{"url": "http://x", "valueString": "y"}]}}},
    {"valueQuantity": "1.5"},
    {"valueQuantity": None},
    {"valueQuantity": [{"value": 1}]},
]
MISSING = [None, "id", "effectiveDateTime", "issued", "valueQuantity", "status", "code"]


def _full(part: dict[str, Any]) -> bool:
    try:
        _model("Observation").model_validate(part)
    except Exception:  # noqa: BLE001
        return False
    return True


def _observation(id_: Any, date: Any, issued: Any, number: Any, extra: dict[str, Any], missing: Any) -> dict:
    obs = copy.deepcopy(BASE)
    obs["id"], obs["effectiveDateTime"], obs["issued"] = id_, date, issued
    obs["valueQuantity"]["value"] = number
    obs.update(copy.deepcopy(extra))
    if missing is not None:
        obs.pop(missing, None)
    return obs


SHARED = ObservationValidator()  # one validator across examples: its memo must not leak a verdict


@settings(max_examples=600, derandomize=True, deadline=None)
@given(
    st.sampled_from(IDS),
    st.sampled_from(DATES),
    st.sampled_from(INSTANTS),
    st.sampled_from(NUMBERS),
    st.sampled_from(EXTRA),
    st.sampled_from(MISSING),
)
def test_same_verdict_as_full_validation(
    id_: Any, date: Any, issued: Any, number: Any, extra: dict[str, Any], missing: Any
) -> None:
    part = _read_part(_observation(id_, date, issued, number, extra, missing), "Observation")
    expected = _full(part)
    assert ObservationValidator().valid(part) is expected
    assert SHARED.valid(part) is expected


@pytest.mark.parametrize("leaf", ["id", "effectiveDateTime", "issued"])
@pytest.mark.parametrize("bad", ["", "a b", "2024-13-01", "x" * 65])
def test_one_bad_leaf_rejects_even_after_its_skeleton_passed(leaf: str, bad: str) -> None:
    validator = ObservationValidator()
    good = _read_part(copy.deepcopy(BASE), "Observation")
    assert validator.valid(good)
    broken = {**good, leaf: bad}
    assert validator.valid(broken) is _full(broken)


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), True, "1.5", None, [1]])
def test_bad_quantity_value_after_a_good_one(bad: Any) -> None:
    validator = ObservationValidator()
    good = _read_part(copy.deepcopy(BASE), "Observation")
    assert validator.valid(good)
    broken = {**good, "valueQuantity": {**good["valueQuantity"], "value": bad}}
    assert validator.valid(broken) is _full(broken)


def test_leaf_model_uses_the_observation_field_types() -> None:
    """Each leaf field has exactly the annotation of the Observation (or Quantity) field; the fixed stand-ins
    are valid."""
    observation, leaves = _model("Observation"), _leaf_model().model_fields
    for name, fixed in _TOP_LEAVES.items():
        assert leaves[name].annotation == observation.model_fields[name].annotation
        assert _full({**_read_part(copy.deepcopy(BASE), "Observation"), name: fixed})
    assert (
        leaves[_QUANTITY_VALUE].annotation == carrier("quantity", "Quantity").model_fields["value"].annotation
    )
    assert _full(
        {**_read_part(copy.deepcopy(BASE), "Observation"), "valueQuantity": {"value": _FIXED_NUMBER}}
    )
    assert set(leaves) == {*_TOP_LEAVES, _QUANTITY_VALUE}
