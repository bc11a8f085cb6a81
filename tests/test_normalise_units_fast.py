"""Round 7 fast paths in ``units``: ``converted(...)`` builds the same ``Converted`` as the class (fields, order,
equality, repr, frozen); ``quantity_units`` gives the units it gave before."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds.normalise.units import Converted, converted, quantity_units


@pytest.mark.parametrize(
    "args",
    [
        (1.5, None, "10*9/L", "1.5 10*9/L"),
        (None, "no unit recorded", None, "3"),
        (None, "no quantity"),
        (0.0,),
        (-0.0, None, "g/L"),
    ],
)
def test_the_builder_gives_the_class_value(args: tuple[Any, ...]) -> None:
    built, made = converted(*args), Converted(*args)
    assert type(built) is Converted
    assert built == made and repr(built) == repr(made) and hash(built) == hash(made)
    assert list(vars(built).items()) == list(vars(made).items())
    assert [f.name for f in dataclasses.fields(Converted)] == list(vars(built))
    assert pickle.dumps(built) == pickle.dumps(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.value = 2.0  # type: ignore[misc]


def test_the_class_signature_is_the_one_the_builder_copies() -> None:
    """A new field or a ``__post_init__`` on the class would need the builder changed too."""
    fields = [(f.name, f.default) for f in dataclasses.fields(Converted)]
    assert fields == [("value", dataclasses.MISSING), ("problem", None), ("unit", None), ("original", "")]
    assert not hasattr(Converted, "__post_init__")


def _units_reference(quantity: dict[str, Any]) -> list[str]:
    """``quantity_units`` as it was before round 7 (the code's emptiness tested twice)."""
    out = []
    system = quantity.get("system")
    code = quantity.get("code")
    if isinstance(code, str) and code.strip() and (system is None or "unitsofmeasure" in str(system)):
        out.append(code)
    unit = quantity.get("unit")
    if isinstance(unit, str) and unit.strip():
        out.append(unit)
    if isinstance(code, str) and code.strip() and code not in out:
        out.append(code)
    return out


_UNIT_TEXT = st.sampled_from(["mg/dL", "g/L", " ", "", "10*9/L", None, 5, ["mg"]])


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "system": st.sampled_from(["http://unitsofmeasure.org", "urn:other", None, 3]),
            "code": _UNIT_TEXT,
            "unit": _UNIT_TEXT,
        },
    )
)
def test_quantity_units_as_before(quantity: dict[str, Any]) -> None:
    assert quantity_units(quantity) == _units_reference(quantity)
