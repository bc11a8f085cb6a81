"""R4B validation of an Observation's read part, split into pieces memoised within one call (issue 7).

A chart repeats the same Observation shape many times: the same code, reference range and unit, with only the
id, the dates and the measured number changing. ``ObservationValidator.valid(part)`` gives the verdict of
``Observation.model_validate(part)`` from three cheaper checks:

* the *skeleton*: the part with ``id``, ``effectiveDateTime``, ``issued`` (when a ``str``), the number in
  ``valueQuantity.value`` (when a JSON number), and the dicts in ``code``, ``valueQuantity`` and
  ``referenceRange`` (when a dict / a list of dicts) replaced by fixed valid stand-ins, validated as an
  Observation; remembered by ``repr`` (a typical patient has one or two skeletons);
* each replaced dict, validated with its own model (``CodeableConcept``, ``Quantity`` without its number,
  ``ObservationReferenceRange``), which is what fhir_core's field validator does with a dict; remembered by
  ``repr``;
* the replaced leaves together, in a plain pydantic model whose fields have the same annotations (the fhir_core
  types ``Id``, ``DateTime``, ``Instant``, ``Decimal`` carry the checks).

Why the verdict is the same: pydantic validates every field independently; fhir_core's model validators look
only at which elements are present and non-null (``reject_null_complex_elements`` at lists of complex types,
the one-of-many choice and required-primitive checks), and the stand-ins keep presence, non-null-ness and list
lengths. Anything of another shape stays in the skeleton as it is. ``tests/test_normalise_validation_memo.py``
compares the two on mutated Observations (an exhaustive run of 582,120 combinations found no difference).

Nothing is kept across calls: one validator belongs to one ``Build``; its memo keys are element contents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

# leaf -> fixed valid value put into the skeleton. The leaves themselves are validated together in
# ``_leaf_model``, whose fields have the annotations of the Observation fields (and of ``Quantity.value``).
_TOP_LEAVES: dict[str, str] = {
    "id": "x",
    "effectiveDateTime": "2000-01-01",
    "issued": "2000-01-01T00:00:00Z",
}
_QUANTITY_VALUE = "quantityValue"  # the leaf model's name for ``valueQuantity.value``
_FIXED_NUMBER = 1
_QUANTITY = ("quantity", "Quantity")
# complex element -> (fixed valid stand-in, its model, repeats). A dict (or each dict of a list of dicts) is
# validated alone with the element's model, which is what fhir_core's field validator does with a dict.
_COMPLEX: dict[str, tuple[dict[str, Any], tuple[str, str], bool]] = {
    "code": ({"text": "x"}, ("codeableconcept", "CodeableConcept"), False),
    "referenceRange": ({"text": "x"}, ("observation", "ObservationReferenceRange"), True),
}


@cache
def _leaf_model() -> Any:
    """A plain pydantic model of the leaves: same field annotations (the fhir_core types carry the checks) and
    ``extra="forbid"`` like the FHIR models; no model validators (they look only at presence, kept in the
    skeleton)."""
    from pydantic import ConfigDict, create_model

    observation, quantity = _observation(), carrier("quantity", "Quantity")
    fields: dict[str, Any] = {name: (observation.model_fields[name].annotation, None) for name in _TOP_LEAVES}
    fields[_QUANTITY_VALUE] = (quantity.model_fields["value"].annotation, None)
    return create_model("ObservationLeaves", __config__=ConfigDict(extra="forbid"), **fields)


@cache
def carrier(module: str, cls: str) -> Any:
    import importlib

    return getattr(importlib.import_module(f"fhir.resources.R4B.{module}"), cls)


@cache
def _observation() -> Any:
    from fhir.resources.R4B.observation import Observation

    return Observation


def _passes(model: Any, data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except Exception:  # noqa: BLE001 - any validation failure means "invalid"
        return False
    return True


@dataclass
class ObservationValidator:
    """Validates Observation read parts for one call; remembers skeleton and leaf verdicts by value."""

    skeletons: dict[str, bool] = field(default_factory=dict)
    elements: dict[tuple[str, str], bool] = field(default_factory=dict)

    def valid(self, part: dict[str, Any]) -> bool:
        skeleton = dict(part)
        leaves: dict[str, Any] = {}
        for name, fixed in _TOP_LEAVES.items():
            value = skeleton.get(name)
            if type(value) is str:
                leaves[name] = value
                skeleton[name] = fixed
        complexes: list[tuple[tuple[str, str], dict[str, Any]]] = []
        quantity = skeleton.get("valueQuantity")
        if type(quantity) is dict:
            if type(quantity.get("value")) in (int, float):
                leaves[_QUANTITY_VALUE] = quantity["value"]
                quantity = {**quantity, "value": _FIXED_NUMBER}
            complexes.append((_QUANTITY, quantity))
            skeleton["valueQuantity"] = {"value": _FIXED_NUMBER}
        for name, (stand_in, model, repeats) in _COMPLEX.items():
            value = skeleton.get(name)
            if not repeats and type(value) is dict:
                complexes.append((model, value))
                skeleton[name] = stand_in
            elif repeats and type(value) is list and all(type(item) is dict for item in value):
                complexes.extend((model, item) for item in value)
                skeleton[name] = [stand_in] * len(value)
        key = repr(skeleton)
        ok = self.skeletons.get(key)
        if ok is None:
            ok = self.skeletons[key] = _passes(_observation(), skeleton)
        return (
            ok
            and all(self._complex(model, value) for model, value in complexes)
            and (not leaves or _passes(_leaf_model(), leaves))
        )

    def _complex(self, model: tuple[str, str], value: dict[str, Any]) -> bool:
        key = (model[1], repr(value))
        ok = self.elements.get(key)
        if ok is None:
            ok = self.elements[key] = _passes(carrier(*model), value)
        return ok
