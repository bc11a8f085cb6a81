"""``converted(...)`` builds the same ``Converted`` as the class: fields, order, equality, repr, frozen."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from cds.normalise.units import Converted, converted


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
