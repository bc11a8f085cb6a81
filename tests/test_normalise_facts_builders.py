"""``make_lab_value`` and ``make_drug_exposure`` (cds/facts.py) build the same objects as their classes, faster;
they must follow the classes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import pickle
from collections.abc import Callable

import pytest

from cds.facts import DrugExposure, FuzzyDate, LabValue, make_drug_exposure, make_lab_value

BUILDERS: tuple[tuple[Callable[..., object], type], ...] = (
    (make_lab_value, LabValue),
    (make_drug_exposure, DrugExposure),
)
ids = pytest.mark.parametrize(("build", "cls"), BUILDERS, ids=lambda x: getattr(x, "__name__", ""))


@ids
def test_signature_is_the_class_signature_but_for_a_default_factory(
    build: Callable[..., object], cls: type
) -> None:
    """Same parameters, order, kinds and defaults: a field added to the class must be added to the builder. A field
    with a ``default_factory`` (``LabValue.context``) has the default None in the builder. The builder runs no
    other code, so the class must have none to run (no ``__post_init__``)."""
    assert not hasattr(cls, "__post_init__")
    fields = dataclasses.fields(cls)
    built = list(inspect.signature(build).parameters.values())
    plain = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in built] == [p.name for p in plain] == [f.name for f in fields]
    for b, c, f in zip(built, plain, fields, strict=True):
        assert b.kind == c.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
        if f.default_factory is not dataclasses.MISSING:
            assert (cls, f.name) == (LabValue, "context") and b.default is None
        else:
            assert b.default == c.default, f.name


@ids
def test_builds_the_object_the_class_builds(build: Callable[..., object], cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    distinct = [f"value-{i}" for i in range(len(names))]  # a value per field: a swapped pair would show
    built = build(*distinct)
    assert type(built) is cls
    assert built == cls(*distinct)
    assert [getattr(built, n) for n in names] == distinct
    assert list(vars(built)) == names  # the instance dict in field order, as __init__ fills it
    assert build(**dict(zip(names, distinct, strict=True))) == cls(*distinct)
    assert repr(built) == repr(cls(*distinct))
    assert pickle.dumps(built) == pickle.dumps(cls(*distinct))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, names[0], "changed")
    required = [
        n for n, p in inspect.signature(cls).parameters.items() if p.default is inspect.Parameter.empty
    ]
    assert vars(build(*distinct[: len(required)])) == vars(cls(*distinct[: len(required)]))  # defaults


def test_lab_value_defaults_and_a_new_context_per_value() -> None:
    day = FuzzyDate.of(dt.date(2026, 11, 27))
    built = make_lab_value("anc", day, "Observation/1", "final")
    assert vars(built) == vars(LabValue("anc", day, "Observation/1", "final"))
    assert built.context == {} and built.context is not make_lab_value("anc", day, "x", "final").context
    context = {"oxygen": "room-air"}
    assert make_lab_value("spo2", day, "x", "final", context=context).context is context
    assert dataclasses.replace(built, value=2.0) == LabValue("anc", day, "Observation/1", "final", 2.0)
    assert built.uln_ratio is None
    assert make_lab_value("alt", day, "x", "final", value=80.0, ref_high=40.0).uln_ratio == 2.0


def test_drug_exposure_is_hashable_as_the_class_makes_it() -> None:
    day = FuzzyDate.of(dt.date(2026, 11, 27))
    built = make_drug_exposure(
        frozenset({"il2"}), "MedicationAdministration/1", "MedicationAdministration", "x", end=day
    )
    plain = DrugExposure(
        frozenset({"il2"}), "MedicationAdministration/1", "MedicationAdministration", "x", end=day
    )
    assert hash(built) == hash(plain) and {built: 1}[plain] == 1
