"""The result dataclasses (cds/results.py) use slots for speed; they must still behave as frozen dataclasses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import pickle

import pytest

from cds.results import (
    CriterionResult,
    Evidence,
    Outcome,
    Result,
    TrialResult,
    Verdict,
    make_criterion_result,
    make_evidence,
    make_outcome,
)

CLASSES = (Evidence, Outcome, CriterionResult, TrialResult)


@pytest.mark.parametrize("cls", CLASSES)
def test_init_signature_is_the_fields_in_order_with_their_defaults(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        expected = f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
        assert p.default == expected, f.name
        assert p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD


def _examples() -> list[object]:
    ev = Evidence("Observation/1", 1.5, "10*9/L", "2026-01-02", 1.0, "trial", "a note")
    out = Outcome(Result.MET, "why", (ev,), None, dt.date(2027, 1, 1), ("x",), dt.date(2026, 12, 1))
    cr = CriterionResult("I1", "inclusion", "text", Result.NOT_MET, "r", (ev,), dt.date(2026, 12, 1))
    tr = TrialResult("NCT1", Verdict.ELIGIBLE, dt.date(2026, 11, 27), "v1", (cr,), notes=("n",))
    return [ev, out, cr, tr, Evidence(), Outcome(Result.UNKNOWN, "")]


@pytest.mark.parametrize("obj", _examples(), ids=lambda o: type(o).__name__)
def test_instances_behave_as_frozen_dataclasses(obj: object) -> None:
    names = [f.name for f in dataclasses.fields(obj)]
    assert not hasattr(obj, "__dict__")  # slots: a quarter of the size, built twice as fast
    values = {n: getattr(obj, n) for n in names}
    assert type(obj)(**values) == obj
    assert hash(type(obj)(**values)) == hash(obj)
    assert pickle.loads(pickle.dumps(obj)) == obj
    assert dataclasses.replace(obj) == obj
    for name in names:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, "changed")
    with pytest.raises((AttributeError, TypeError)):  # no new attributes either (Python 3.11 says TypeError)
        obj.extra = 1  # type: ignore[attr-defined]
    assert repr(obj).startswith(f"{type(obj).__name__}({names[0]}=")


def test_a_changed_field_makes_a_different_object() -> None:
    out = Outcome(Result.MET, "why")
    assert dataclasses.replace(out, reason="other") != out
    assert dataclasses.replace(out, reason="other").reason == "other"


def test_evidence_json_lists_the_set_fields_in_field_order() -> None:
    from cds.results import EVIDENCE_FIELDS

    assert tuple(f.name for f in dataclasses.fields(Evidence)) == EVIDENCE_FIELDS
    full = Evidence("Observation/1", 0, "g/L", "2026", 0.0, "trial", "n")
    assert list(full.to_json().items()) == list(
        zip(EVIDENCE_FIELDS, ("Observation/1", 0, "g/L", "2026", 0.0, "trial", "n"), strict=True)
    )
    assert Evidence(value=False, note="x").to_json() == {"value": False, "note": "x"}  # only None is left out
    assert Evidence().to_json() == {}


def test_result_json_values_are_plain_strings() -> None:
    cr = CriterionResult("I1", "inclusion", "t", Result.NOT_APPLICABLE, "r")
    tr = TrialResult(
        "NCT1", Verdict.NOT_YET_ELIGIBLE, dt.date(2026, 11, 27), "v1", (cr,), dt.date(2026, 12, 1)
    )
    out = tr.to_json()
    assert type(out["status"]) is str and out["status"] == "not-yet-eligible"
    assert type(out["criteria"][0]["result"]) is str and out["criteria"][0]["result"] == "not-applicable"
    assert out["criteria"][0]["evidence"] == []
    assert out["eligibleFrom"] == "2026-12-01"


BUILDERS = (
    (make_outcome, Outcome),
    (make_evidence, Evidence),
    (make_criterion_result, CriterionResult),
)


@pytest.mark.parametrize(("build", "cls"), BUILDERS, ids=lambda x: getattr(x, "__name__", ""))
def test_builder_signature_is_the_class_signature(build: object, cls: type) -> None:
    """Same parameters, order, kinds and defaults: a field added to the class must be added to its builder.
    The builders run no other code, so the class must have none to run (no ``__post_init__``)."""
    assert not hasattr(cls, "__post_init__")
    assert list(inspect.signature(build).parameters.values()) == list(
        inspect.signature(cls).parameters.values()
    )


@pytest.mark.parametrize(("build", "cls"), BUILDERS, ids=lambda x: getattr(x, "__name__", ""))
def test_builder_makes_the_object_the_class_makes(build: object, cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    distinct = [f"value-{i}" for i in range(len(names))]  # a value per field: a swapped pair would show
    built = build(*distinct)  # type: ignore[operator]
    assert type(built) is cls
    assert built == cls(*distinct)
    assert [getattr(built, n) for n in names] == distinct
    assert build(**dict(zip(names, distinct, strict=True))) == cls(*distinct)  # type: ignore[operator]
    assert hash(built) == hash(cls(*distinct))
    assert repr(built) == repr(cls(*distinct))
    assert pickle.loads(pickle.dumps(built)) == built
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, names[0], "changed")
    # defaults
    required = [
        n for n, p in inspect.signature(cls).parameters.items() if p.default is inspect.Parameter.empty
    ]
    assert build(*distinct[: len(required)]) == cls(*distinct[: len(required)])  # type: ignore[operator]
