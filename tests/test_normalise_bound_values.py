"""Reference-range bounds are converted with ``quantity_value`` (the value alone): the same number as
``convert_quantity(...).value``, for any quantity, unit table and range type."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cds.mappings import load_mappings
from cds.normalise.common import codings
from cds.normalise.labs import _range_bound, _reference_range
from cds.normalise.units import convert_quantity, quantity_units, quantity_value

M = load_mappings()
CONCEPTS = sorted(name for name, concept in M.labs.items() if concept.units is not None)
UNITS = sorted({row["unit"] for spec in M.raw["labs"]["unit_tables"].values() for row in spec["units"]})

_UNIT = st.one_of(
    st.sampled_from(UNITS), st.sampled_from(["", " ", "mg", "furlong", "%"]), st.none(), st.just(3)
)
_VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**14), 10**14),
    st.sampled_from([0, 0.0, -0.0, True, False, "1", None, 1e12, 1e13]),
)
_QUANTITY = st.fixed_dictionaries(
    {},
    optional={
        "value": _VALUE,
        "unit": _UNIT,
        "code": _UNIT,
        "system": st.sampled_from(["http://unitsofmeasure.org", "http://example.org", None, 7]),
        "comparator": st.sampled_from(["<", ">=", None]),
    },
)


def _same(a: float | None, b: float | None) -> bool:
    """Equal, with the sign of zero and nan compared too."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(quantity=st.one_of(_QUANTITY, st.none(), st.just([1])), concept=st.sampled_from(CONCEPTS))
def test_quantity_value_is_the_converted_value(quantity: Any, concept: str) -> None:
    table = M.lab(concept).units
    assert _same(quantity_value(quantity, table), convert_quantity(quantity, table).value)
    if isinstance(quantity, dict):
        units = quantity_units(quantity)
        assert _same(quantity_value(quantity, table, units), convert_quantity(quantity, table, units).value)


def _range_bound_before(q: Any, value_units: list[str], concept: str) -> float | None:
    """``_range_bound`` as it was: the whole conversion, then its value."""
    q = q if isinstance(q, dict) else {}
    if not q:
        return None
    table = M.lab(concept).units
    if not quantity_units(q) and value_units:
        q = {**q, "code": value_units[0]}
    return convert_quantity(q, table).value


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(
    bound=st.one_of(_QUANTITY, st.none(), st.just("x")),
    value_units=st.lists(st.sampled_from(UNITS), max_size=2),
    concept=st.sampled_from(CONCEPTS),
)
def test_a_bound_converts_as_before(bound: Any, value_units: list[str], concept: str) -> None:
    assert _same(
        _range_bound(bound, value_units, M.lab(concept)), _range_bound_before(bound, value_units, concept)
    )


def _reference_range_before(holder: dict[str, Any], value_units: list[str], concept: str) -> tuple[Any, Any]:
    for rng in holder.get("referenceRange", []):
        rng = rng if isinstance(rng, dict) else {}
        rtype = [c for _s, c in codings(rng.get("type"))]
        if rtype and "normal" not in rtype:
            continue
        low = _range_bound_before(rng.get("low"), value_units, concept)
        high = _range_bound_before(rng.get("high"), value_units, concept)
        if high is not None and high <= 0:
            high = None
        if low is not None or high is not None:
            return low, high
    return None, None


_TYPE = st.sampled_from(
    [
        None,
        {},
        {"text": "normal"},
        {"coding": []},
        {"coding": [{"code": "normal"}]},
        {"coding": [{"code": "treatment"}]},
        {"coding": [{"code": "treatment"}, {"code": "normal"}]},
        {"coding": [{"system": "x"}]},
        "normal",
    ]
)


@settings(max_examples=800, derandomize=True, deadline=None)
@given(
    ranges=st.lists(
        st.fixed_dictionaries({}, optional={"type": _TYPE, "low": _QUANTITY, "high": _QUANTITY}), max_size=3
    ),
    value_units=st.lists(st.sampled_from(UNITS), max_size=1),
    concept=st.sampled_from(CONCEPTS),
)
def test_the_normal_range_is_chosen_and_converted_as_before(
    ranges: list[dict[str, Any]], value_units: list[str], concept: str
) -> None:
    holder = {"referenceRange": ranges}
    got = _reference_range(holder, value_units, M.lab(concept), {})
    want = _reference_range_before(holder, value_units, concept)
    assert all(_same(a, b) for a, b in zip(got, want, strict=True)), (got, want)


def test_typed_ranges_other_than_normal_are_skipped() -> None:  # both sides of the type test
    concept = M.lab("anc")
    treatment = {"type": {"coding": [{"code": "treatment"}]}, "low": {"value": 9, "unit": "10*9/L"}}
    normal = {"type": {"coding": [{"code": "normal"}]}, "low": {"value": 1.5, "unit": "10*9/L"}}
    untyped = {"low": {"value": 2, "unit": "10*9/L"}}
    assert _reference_range({"referenceRange": [treatment, normal]}, [], concept, {}) == (1.5, None)
    assert _reference_range({"referenceRange": [treatment, untyped]}, [], concept, {}) == (2.0, None)
    assert _reference_range({"referenceRange": [treatment]}, [], concept, {}) == (None, None)
