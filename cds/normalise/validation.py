"""R4B validation of a record's read part, split into pieces whose verdicts are remembered (issue 7).

A chart repeats the same record shapes many times: the same code, reference range, unit, drug and route, with
only the id, the dates and the numbers changing. ``SplitValidator(split).valid(part)`` gives the verdict of
``Model.model_validate(part)`` from three cheaper checks:

* the *skeleton*: the part with its *leaves* (``id``, dates, a measured number; only when of the JSON type the
  leaf normally has) and its *complex elements* (a dict, or a list of dicts, such as ``code``) replaced by fixed
  valid stand-ins, validated as the resource (a chart has a handful of skeletons);
* each replaced complex element (with its own leaves already replaced), validated with its own model
  (``CodeableConcept``, ``Quantity``, ``Period``, a backbone element, ...), which is what fhir_core's field
  validator does with a dict;
* each leaf value, validated alone with a pydantic ``TypeAdapter`` of the annotation of the model field it came
  from (the fhir_core types ``Id``, ``DateTime``, ``Instant``, ``Decimal`` carry the checks).

Why the verdict is the same: pydantic validates every field independently; fhir_core's model validators look
only at which elements are present and non-null (``reject_null_complex_elements`` at lists of complex types,
the one-of-many choice and required-primitive checks), and the stand-ins keep presence, non-null-ness and list
lengths. ``Reference`` elements are never split out (their allowed target types are checked by the parent), and
anything of another shape stays in the skeleton as it is. ``tests/test_normalise_validation_memo.py`` compares
the split verdict with full validation on mutated records of every split type.

What is remembered: verdicts keyed by :func:`key`, the name of what validated (``Class``, or ``Class.field`` for a
leaf) and the ``marshal`` bytes of the content, so every key means "this check of this content" whichever way
it was computed. A record is looked up first by its *shape* (the part with its leaves replaced, complex elements
as they are: a chart has a few dozen); only a shape not known yet is split into its skeleton and complex
elements, each looked up alone, and the shape's verdict is their conjunction. Leaves are looked up one by one.
Within one call by the key itself (``Build.verdicts``, passed as ``seen``, gone with the call); across calls in ``MEMO``,
a process-wide ``VerdictMemo`` keyed by a 16-byte BLAKE2b digest of the key (keyed with a random per-process salt,
so a digest cannot be matched against a guessed record outside this process), so it holds no record content, only
digests and booleans (bounded). Ids are never remembered (they do not recur), and a check that failed for a
reason other than a validation error (``RecursionError``, ``MemoryError``, ...) is not remembered at all, nor is
a shape whose verdict depended on such a check.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from hashlib import blake2b
from os import urandom
from typing import Any

from pydantic import TypeAdapter, ValidationError

Model = tuple[str, str]  # (fhir.resources.R4B module, class)
_SALT = urandom(16)  # keys the memo's digests; per process tree (forked workers share it), never stored
_STR = (str,)
_NUMBER = (int, float)
_DATE = "2000-01-01"
_NOTHING: dict[bytes, bool] = {}  # (never written) the look-up when a caller keeps no per-call verdicts
_INSTANT = "2000-01-01T00:00:00Z"


@dataclass(frozen=True, eq=False)
class Leaf:
    """A primitive at ``path`` (from the resource root), declared on field ``path[-1]`` of ``carrier``; replaced
    by ``stand_in`` when its JSON type is one of ``types``. A table entry, compared and hashed by identity (so
    the ``leaf_adapter`` cache look-up is cheap)."""

    path: tuple[str, ...]
    carrier: Model
    types: tuple[type, ...]
    stand_in: Any
    remember: bool = True  # False: never put in the process-wide memo (values that do not recur, such as ids)
    tag: str = field(init=False)  # "Class.field": the name its verdicts are keyed by (:func:`key`)
    prefix: bytes = field(init=False)  # ``tag`` encoded, with ``|``: its keys are ``prefix + marshal bytes``
    name: str = field(init=False)  # path[-1]
    # the path to the leaf's holder: (element name, the path up to and including it) per step
    steps: tuple[tuple[str, tuple[str, ...]], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", f"{self.carrier[1]}.{self.path[-1]}")
        object.__setattr__(self, "prefix", self.tag.encode() + b"|")
        object.__setattr__(self, "name", self.path[-1])
        steps = tuple((key, self.path[: depth + 1]) for depth, key in enumerate(self.path[:-1]))
        object.__setattr__(self, "steps", steps)


@dataclass(frozen=True)
class Complex:
    """A top-level complex element validated alone with ``model``; ``repeats``: a list of them."""

    name: str
    model: Model
    repeats: bool = False
    stand_in: Any = field(default_factory=lambda: {"text": "x"})


@dataclass(frozen=True)
class Split:
    """How one resource type is split: its model, its leaves, its complex elements."""

    model: Model
    leaves: tuple[Leaf, ...]
    complexes: tuple[Complex, ...]
    prefix: bytes = field(init=False)  # the class name encoded, with ``|``: shape keys (:func:`key`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", self.model[1].encode() + b"|")


_CC: Model = ("codeableconcept", "CodeableConcept")
_PERIOD: Model = ("period", "Period")
_QUANTITY: Model = ("quantity", "Quantity")
_PERIOD_STAND_IN = {"start": _DATE}


def _id(carrier: Model) -> Leaf:
    return Leaf(("id",), carrier, _STR, "x", remember=False)


def _dates(carrier: Model, *names: str) -> tuple[Leaf, ...]:
    return tuple(Leaf((name,), carrier, _STR, _DATE) for name in names)


def _period(name: str) -> tuple[Leaf, ...]:
    return tuple(Leaf((name, end), _PERIOD, _STR, _DATE) for end in ("start", "end"))


_OBSERVATION: Model = ("observation", "Observation")
_MED_ADMIN: Model = ("medicationadministration", "MedicationAdministration")
_CONDITION: Model = ("condition", "Condition")
_PROCEDURE: Model = ("procedure", "Procedure")

SPLITS: dict[str, Split] = {
    "Observation": Split(
        _OBSERVATION,
        leaves=(
            _id(_OBSERVATION),
            *_dates(_OBSERVATION, "effectiveDateTime"),
            Leaf(("issued",), _OBSERVATION, _STR, _INSTANT),
            Leaf(("valueQuantity", "value"), _QUANTITY, _NUMBER, 1),
        ),
        complexes=(
            Complex("code", _CC),
            Complex("valueQuantity", _QUANTITY, stand_in={"value": 1}),
            Complex("referenceRange", ("observation", "ObservationReferenceRange"), repeats=True),
        ),
    ),
    "MedicationAdministration": Split(
        _MED_ADMIN,
        leaves=(
            _id(_MED_ADMIN),
            *_dates(_MED_ADMIN, "effectiveDateTime"),
            *_period("effectivePeriod"),
            Leaf(("dosage", "dose", "value"), _QUANTITY, _NUMBER, 1),
        ),
        complexes=(
            Complex("medicationCodeableConcept", _CC),
            Complex("effectivePeriod", _PERIOD, stand_in=_PERIOD_STAND_IN),
            Complex(
                "dosage",
                ("medicationadministration", "MedicationAdministrationDosage"),
                stand_in={"text": "x"},
            ),
        ),
    ),
    "Condition": Split(
        _CONDITION,
        leaves=(
            _id(_CONDITION),
            *_dates(_CONDITION, "onsetDateTime", "abatementDateTime", "recordedDate"),
        ),
        complexes=(
            Complex("code", _CC),
            Complex("clinicalStatus", _CC),
            Complex("verificationStatus", _CC),
            Complex("category", _CC, repeats=True),
            Complex("bodySite", _CC, repeats=True),
        ),
    ),
    "Procedure": Split(
        _PROCEDURE,
        leaves=(_id(_PROCEDURE), *_dates(_PROCEDURE, "performedDateTime"), *_period("performedPeriod")),
        complexes=(
            Complex("code", _CC),
            Complex("performedPeriod", _PERIOD, stand_in=_PERIOD_STAND_IN),
            Complex("bodySite", _CC, repeats=True),
        ),
    ),
}


@cache
def carrier(module: str, cls: str) -> Any:
    import importlib

    return getattr(importlib.import_module(f"fhir.resources.R4B.{module}"), cls)


@cache
def leaf_adapter(leaf: Leaf) -> TypeAdapter[Any]:
    """A pydantic ``TypeAdapter`` of the annotation of the leaf's model field: the field's own validation (the
    fhir_core type's constraints and validator) without a model around it (the model validators look only at
    presence, kept in the skeleton)."""
    return TypeAdapter(carrier(*leaf.carrier).model_fields[leaf.path[-1]].annotation)


@cache
def leaf_validate(leaf: Leaf) -> Callable[[Any], object]:
    """The leaf adapter's validation: its pydantic-core ``validator.validate_python`` (what
    ``TypeAdapter.validate_python`` calls with its default arguments, without the Python wrapper around it:
    0.53 -> 0.2 us, once per record for its id)."""
    return leaf_adapter(leaf).validator.validate_python


def _check(validate: Callable[[Any], object], data: Any) -> tuple[bool, bool]:
    """(verdict, may be remembered) of ``validate(data)``: a validation error is a verdict about the content; any
    other exception (``RecursionError``, ``MemoryError``, ...) still means "invalid" for this record but is not
    remembered."""
    try:
        validate(data)
    except ValidationError:
        return False, True
    except Exception:  # noqa: BLE001 - the record is skipped, the verdict not kept
        return False, False
    return True, True


def _check_leaf(leaf: Leaf, value: Any) -> tuple[bool, bool]:
    return _check(leaf_validate(leaf), value)


def _take_leaf(part: dict[str, Any], leaf: Leaf) -> tuple[dict[str, Any], Any]:
    """``part`` with the leaf replaced by its stand-in (copied along the path only), and the value taken; or
    ``part`` unchanged and ``None`` when the leaf is absent or of another JSON type."""
    *parents, name = leaf.path
    chain = [part]
    for key in parents:
        child = chain[-1].get(key)
        if type(child) is not dict:
            return part, None
        chain.append(child)
    value = chain[-1].get(name)
    if type(value) not in leaf.types:
        return part, None
    replaced: Any = leaf.stand_in
    for holder, key in zip(reversed(chain), reversed(leaf.path), strict=True):
        replaced = {**holder, key: replaced}
    return replaced, value


def _take_leaves(
    part: dict[str, Any], leaves: tuple[Leaf, ...]
) -> tuple[dict[str, Any], list[tuple[Leaf, Any]]]:
    """What :func:`_take_leaf` applied leaf after leaf gives (the same skeleton and taken values), with one copy
    of ``part`` and of each dict along a leaf's path instead of one copy per leaf. The skeleton is always a copy,
    so the caller may replace elements in it."""
    skeleton = dict(part)
    copied: set[tuple[str, ...]] = set()
    taken: list[tuple[Leaf, Any]] = []
    for leaf in leaves:
        holder = skeleton
        for key, prefix in leaf.steps:  # (none for a top-level leaf)
            child = holder.get(key)
            if type(child) is not dict:
                break
            if prefix not in copied:
                child = holder[key] = dict(child)
                copied.add(prefix)
            holder = child
        else:
            value = holder.get(leaf.name)
            if type(value) in leaf.types:
                holder[leaf.name] = leaf.stand_in
                taken.append((leaf, value))
    return skeleton, taken


class VerdictMemo:
    """Verdicts by a digest of what was validated, shared by every call in this process (issue 7).

    A verdict is a pure function of the validated content, so it can be reused; the key is a 16-byte BLAKE2b
    digest of that content's :func:`key`, so the memo holds no patient data, only digests and booleans. Bounded:
    when it holds ``capacity`` verdicts it starts again (about 150 bytes per entry: ~7 MB at the default). Safe
    to share between threads (single dict operations).
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._verdicts: dict[bytes, bool] = {}

    def verdict(self, key: bytes, model: Any, data: dict[str, Any]) -> bool:
        """The remembered verdict for ``key``, or ``model.model_validate(data)``'s, remembered."""
        return self.remembered(key, _check, model.model_validate, data)[0]

    def remembered(
        self, key: bytes, check: Callable[..., tuple[bool, bool]], *args: Any
    ) -> tuple[bool, bool]:
        """(verdict, may be remembered) for ``key``: the remembered one, or ``check(*args)``'s, remembered when
        it may be (see :func:`_check`)."""
        digest = blake2b(key, digest_size=16, key=_SALT).digest()
        ok = self._verdicts.get(digest)
        if ok is not None:
            return ok, True
        ok, keep = check(*args)
        if keep:
            if len(self._verdicts) >= self.capacity:
                self._verdicts.clear()
            self._verdicts[digest] = ok
        return ok, keep

    def __len__(self) -> int:
        return len(self._verdicts)

    def clear(self) -> None:
        self._verdicts.clear()


MEMO = VerdictMemo()


def key(name: str, data: Any) -> bytes:
    """What a verdict is remembered by: ``name`` (the model class, or ``Class.field`` for a leaf), ``|`` and
    ``marshal.dumps(data, 2)``.

    Format 2 of ``marshal`` writes every value in full (no back-references): the same content always gives the
    same bytes, and reading them back gives an equal value of the same types (``1``, ``1.0``, ``True`` and
    ``"1"`` differ, so do ``0.0`` and ``-0.0``), so for JSON values (what a parsed request holds) equal keys mean
    equal content. Three times cheaper than
    ``repr``. Keys are only compared within one process, never read back or stored. Raises ``ValueError`` for
    what JSON cannot hold (the caller then validates without the memo)."""
    return name.encode() + b"|" + marshal.dumps(data, 2)


def _verdict(
    memo: VerdictMemo,
    seen: dict[bytes, bool] | None,
    key: bytes,
    check: Callable[..., tuple[bool, bool]],
    *args: Any,
) -> tuple[bool, bool]:
    """(verdict, may be remembered) for ``key``: looked up first in ``seen``, one call's verdicts (a chart
    repeats the same codes, units, ranges, dates and record shapes), which skips the digest; then in ``memo``;
    else ``check(*args)``'s. ``seen`` belongs to one call (its ``Build``) and goes with it; only the digest memo is
    process-wide. A verdict that may not be remembered is not kept in ``seen`` either."""
    ok = seen.get(key) if seen is not None else None
    if ok is not None:
        return ok, True
    ok, keep = memo.remembered(key, check, *args)
    if keep and seen is not None:
        seen[key] = ok
    return ok, keep


@dataclass(frozen=True)
class SplitValidator:
    """Validates read parts of one resource type; verdicts of the pieces are remembered in ``memo``."""

    split: Split
    memo: VerdictMemo = MEMO

    def valid(self, part: dict[str, Any], seen: dict[bytes, bool] | None = None) -> bool:
        """The verdict of the split's model on ``part``; ``seen``: one call's verdicts (:func:`_verdict`).

        The record without its leaves (its *shape*: a chart has a few dozen) is looked up as a whole first; only
        a shape not seen before is split into the skeleton and its complex elements (:meth:`_pieces`).

        Keys are those of :func:`key`, built from prefixes encoded once (``Leaf.prefix``, the model's); a key
        already in ``seen`` is answered here, without the call to :func:`_verdict` (which would answer the
        same). A taken leaf's value is a str, int or float (``Leaf.types``), which ``marshal`` always writes."""
        shape, taken = _take_leaves(part, self.split.leaves)
        try:
            shape_key = self.split.prefix + marshal.dumps(shape, 2)
        except ValueError:  # not JSON data: validated whole, not remembered
            return _check(carrier(*self.split.model).model_validate, part)[0]
        get = seen.get if seen is not None else _NOTHING.get
        ok = get(shape_key)
        if ok is None:
            ok = _verdict(self.memo, seen, shape_key, self._pieces, shape, seen)[0]
        if not ok:
            return False
        for leaf, value in taken:
            if not leaf.remember:
                ok = _check_leaf(leaf, value)[0]
            else:
                leaf_key = leaf.prefix + marshal.dumps(value, 2)
                ok = get(leaf_key)
                if ok is None:
                    ok = _verdict(self.memo, seen, leaf_key, _check_leaf, leaf, value)[0]
            if not ok:
                return False
        return True

    def _pieces(self, shape: dict[str, Any], seen: dict[bytes, bool] | None) -> tuple[bool, bool]:
        """(verdict, may be remembered) of a shape from its skeleton and each complex element, each remembered
        on its own (a new shape is mostly a new combination of known codes, units and ranges)."""
        skeleton = dict(shape)
        complexes: list[tuple[Model, dict[str, Any]]] = []
        for element in self.split.complexes:
            value = skeleton.get(element.name)
            if not element.repeats and type(value) is dict:
                complexes.append((element.model, value))
                skeleton[element.name] = element.stand_in
            elif element.repeats and type(value) is list and all(type(item) is dict for item in value):
                complexes.extend((element.model, item) for item in value)
                skeleton[element.name] = [element.stand_in] * len(value)
        keep = True
        for model, data in [(self.split.model, skeleton), *complexes]:
            ok, kept = _verdict(
                self.memo, seen, key(model[1], data), _check, carrier(*model).model_validate, data
            )
            keep = keep and kept
            if not ok:
                return False, keep
        return True, keep


def whole_valid(model: Model, part: dict[str, Any], memo: VerdictMemo = MEMO) -> bool:
    """``model.model_validate(part)``'s verdict for a type without a split (Patient, Medication, ...), remembered
    in ``memo`` by the digest of the whole read part: the same key form and argument as a split's pieces (the
    verdict is a pure function of the content), so a record seen before (the same Patient on every hook call for
    that chart) is not validated again."""
    try:
        part_key = key(model[1], part)
    except ValueError:  # not JSON data: validated, not remembered
        return _check(carrier(*model).model_validate, part)[0]
    return memo.verdict(part_key, carrier(*model), part)


VALIDATORS: dict[str, SplitValidator] = {name: SplitValidator(split) for name, split in SPLITS.items()}
