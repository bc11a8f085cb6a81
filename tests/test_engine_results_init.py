"""The hand-written ``__init__`` of the result dataclasses (cds/results.py) must match their fields exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import pickle

import pytest

from cds.results import CriterionResult, Evidence, Outcome, Result, TrialResult, Verdict

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
    assert list(vars(obj)) == names  # the instance dict in field order (Evidence.to_json relies on it)
    values = {n: getattr(obj, n) for n in names}
    assert type(obj)(**values) == obj
    assert hash(type(obj)(**values)) == hash(obj)
    assert pickle.loads(pickle.dumps(obj)) == obj
    assert dataclasses.replace(obj) == obj
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.reason = "changed"  # type: ignore[attr-defined]
    assert repr(obj).startswith(f"{type(obj).__name__}({names[0]}=")


def test_a_changed_field_makes_a_different_object() -> None:
    out = Outcome(Result.MET, "why")
    assert dataclasses.replace(out, reason="other") != out
    assert dataclasses.replace(out, reason="other").reason == "other"
