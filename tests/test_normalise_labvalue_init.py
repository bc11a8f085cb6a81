"""``make_lab_value`` (cds/facts.py) builds the same ``LabValue`` as the class, faster; it must follow the class."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import pickle

import pytest

from cds.facts import FuzzyDate, LabValue, make_lab_value

FIELDS = dataclasses.fields(LabValue)
NAMES = [f.name for f in FIELDS]


def test_signature_is_the_class_signature_but_for_the_context_factory() -> None:
    """Same parameters, order, kinds and defaults: a field added to the class must be added to the builder. The
    one field with a ``default_factory`` (``context``) has the default None in the builder. The builder runs no
    other code, so the class must have none to run (no ``__post_init__``)."""
    assert not hasattr(LabValue, "__post_init__")
    built = list(inspect.signature(make_lab_value).parameters.values())
    cls = list(inspect.signature(LabValue).parameters.values())
    assert [p.name for p in built] == [p.name for p in cls] == NAMES
    for b, c, f in zip(built, cls, FIELDS, strict=True):
        assert b.kind == c.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
        if f.default_factory is not dataclasses.MISSING:
            assert f.name == "context" and b.default is None
        else:
            assert b.default == c.default, f.name


def test_builds_the_object_the_class_builds() -> None:
    distinct = [f"value-{i}" for i in range(len(NAMES))]  # a value per field: a swapped pair would show
    built = make_lab_value(*distinct)
    assert type(built) is LabValue
    assert built == LabValue(*distinct)
    assert [getattr(built, n) for n in NAMES] == distinct
    assert list(vars(built)) == NAMES  # the instance dict in field order, as __init__ fills it
    assert make_lab_value(**dict(zip(NAMES, distinct, strict=True))) == LabValue(*distinct)
    assert repr(built) == repr(LabValue(*distinct))
    assert pickle.dumps(built) == pickle.dumps(LabValue(*distinct))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.value = 1.0  # type: ignore[misc]


def test_defaults_and_a_new_context_per_value() -> None:
    day = FuzzyDate.of(dt.date(2026, 11, 27))
    built = make_lab_value("anc", day, "Observation/1", "final")
    assert built == LabValue("anc", day, "Observation/1", "final")
    assert [getattr(built, n) for n in NAMES] == [
        getattr(LabValue("anc", day, "Observation/1", "final"), n) for n in NAMES
    ]
    assert built.context == {} and built.context is not make_lab_value("anc", day, "x", "final").context
    context = {"oxygen": "room-air"}
    assert make_lab_value("spo2", day, "x", "final", context=context).context is context
    assert dataclasses.replace(built, value=2.0) == LabValue("anc", day, "Observation/1", "final", 2.0)
    assert built.uln_ratio is None
    assert make_lab_value("alt", day, "x", "final", value=80.0, ref_high=40.0).uln_ratio == 2.0
