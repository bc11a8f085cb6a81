"""Small helpers shared by the normaliser modules: safe access to raw FHIR JSON, validation, notes."""

from __future__ import annotations

import datetime as dt
import logging
import marshal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar, cast

from cds.config import Config
from cds.facts import FuzzyDate
from cds.mappings import Mappings
from cds.mappings.codes import CODE_TYPES
from cds.normalise.dates import DateMemo
from cds.normalise.validation import VALIDATORS, carrier, whole_valid

log = logging.getLogger(__name__)
T = TypeVar("T")

# fhir.resources R4B model per resource type (module, class).
_MODELS = {
    "Patient": ("patient", "Patient"),
    "Observation": ("observation", "Observation"),
    "Condition": ("condition", "Condition"),
    "MedicationAdministration": ("medicationadministration", "MedicationAdministration"),
    "MedicationStatement": ("medicationstatement", "MedicationStatement"),
    "MedicationRequest": ("medicationrequest", "MedicationRequest"),
    "Medication": ("medication", "Medication"),
    "Procedure": ("procedure", "Procedure"),
    "Immunization": ("immunization", "Immunization"),
    "AllergyIntolerance": ("allergyintolerance", "AllergyIntolerance"),
    "ResearchSubject": ("researchsubject", "ResearchSubject"),
}


# The elements the readers use, per type whose volume makes validation cost matter (a chart holds thousands of
# Observations). Only these are validated ("validate only what the criteria use", issue 7): an Observation with a
# malformed ``subject``, ``category`` or narrative but sound code, status, dates and values is read; one with a
# malformed value, code, date, range or component is still skipped. Prefixes cover choice types (``value[x]``) and
# ``_element`` primitive extensions are kept with their element. Every required element of the type is listed.
READ_ELEMENTS: dict[str, frozenset[str]] = {
    "Observation": frozenset(
        {
            "resourceType",
            "id",
            "status",
            "code",
            "issued",
            "component",
            "referenceRange",
            "interpretation",
            "note",
            "dataAbsentReason",
        }
    ),
}
CHOICE_ELEMENTS: dict[str, tuple[str, ...]] = {"Observation": ("effective", "value")}


def _read_part(resource: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """``resource`` restricted to the elements the readers of its type use (all of it for other types).

    Each element name's :func:`_is_read` answer is kept in ``_READ_NAMES`` (a plain dict look-up per key is half
    the cost of the cached call; a record's names are nearly always known)."""
    known = _READ_NAMES.get(resource_type)
    if known is None:
        return resource
    try:
        return {k: v for k, v in resource.items() if known[k]}
    except KeyError:  # a name not seen yet
        part = {k: v for k, v in resource.items() if _is_read(resource_type, k)}
        if len(known) < _MAX_NAMES:  # bounded against made-up keys, as the cache
            known.update((k, _is_read(resource_type, k)) for k in resource)
        return part


_MAX_NAMES = 4096  # element names: a few dozen per type (bounded against made-up keys)
_READ_NAMES: dict[str, dict[str, bool]] = {resource_type: {} for resource_type in READ_ELEMENTS}


@lru_cache(maxsize=_MAX_NAMES)
def _is_read(resource_type: str, key: str) -> bool:
    name = key.removeprefix("_")
    return name in READ_ELEMENTS[resource_type] or any(
        name.startswith(c) and name[len(c) :][:1].isupper() for c in CHOICE_ELEMENTS.get(resource_type, ())
    )


def _model(resource_type: str) -> Any:
    return carrier(*_MODELS[resource_type])


@dataclass
class Build:
    """Per-call state: inputs every module needs, and the data-quality counters that become notes."""

    evaluation_date: dt.date
    mappings: Mappings
    config: Config
    birth_date: FuzzyDate | None = None
    sex: str | None = None
    counters: Counter[str] = field(default_factory=Counter)
    invalid_types: set[str] = field(
        default_factory=set
    )  # types with a relevant record that failed validation
    # Memos of pure functions of repeated pieces of this call's records (a chart repeats dates, codes and
    # reference ranges). They belong to this call only and go with the Build: no patient data outlives the call.
    dates: DateMemo = field(default_factory=DateMemo, repr=False, compare=False)
    lab_concepts: dict[tuple[Any, Any], tuple[str, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    verdicts: dict[bytes, bool] = field(default_factory=dict, repr=False, compare=False)  # validation pieces
    range_bounds: dict[tuple[Any, ...], float | None] = field(default_factory=dict, repr=False, compare=False)
    # results of pure functions of record content by (function name, content): see :meth:`remembered`
    matches: dict[tuple[str, bytes], Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tz(self) -> str:
        return self.config.timezone

    def remembered(self, name: str, value: Any, compute: Callable[[Any], T]) -> T:
        """``compute(value)`` (a pure function named ``name``, such as matching a code to groups), remembered for
        this call by the value's content: its ``marshal`` format-2 bytes, as the validation keys
        (:func:`cds.normalise.validation.key`: for JSON values, equal bytes mean equal content and types). A value
        ``marshal`` cannot write is computed, not remembered."""
        try:
            key = (name, marshal.dumps(value, 2))
        except ValueError:
            return compute(value)
        try:
            return cast(T, self.matches[key])
        except KeyError:
            found = self.matches[key] = compute(value)
            return found

    def count(self, note: str, n: int = 1) -> None:
        self.counters[note] += n

    def valid(self, resource: Any, resource_type: str) -> bool:
        """True when ``resource`` is a dict whose read elements (``READ_ELEMENTS``) validate as the R4B model;
        otherwise counted and False."""
        if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
            self.count(f"{resource_type}: malformed resource skipped")
            return False
        try:
            part = _read_part(resource, resource_type)
            split = VALIDATORS.get(resource_type)
            ok = (
                split.valid(part, self.verdicts)
                if split is not None
                else whole_valid(_MODELS[resource_type], part)
            )
            if not ok:
                raise ValueError(f"invalid {resource_type}")
        except Exception:  # noqa: BLE001 - any validation failure means "skip this resource"
            self.count(f"{resource_type}: invalid resource skipped (fails FHIR R4B validation)")
            self.invalid_types.add(resource_type)
            return False
        return True

    def notes(self) -> tuple[str, ...]:
        return tuple(f"{note} ({n})" if n > 1 else note for note, n in sorted(self.counters.items()))


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def codings(cc: Any) -> list[tuple[Any, Any]]:
    """(system, code) pairs of a CodeableConcept dict."""
    out = []
    for coding in as_list(as_dict(cc).get("coding")):
        if isinstance(coding, dict) and coding.get("code") is not None:
            out.append((coding.get("system"), coding.get("code")))
    return out


def texts(cc: Any) -> list[str]:
    """CodeableConcept.text and every coding display."""
    cc = as_dict(cc)
    out = [t for t in [text_of(cc.get("text"))] if t]
    for coding in as_list(cc.get("coding")):
        if isinstance(coding, dict) and text_of(coding.get("display")):
            out.append(coding["display"])
    return out


def code_strings(cc: Any) -> tuple[str, ...]:
    """'system|code' strings as recorded (for evidence)."""
    return pair_strings(codings(cc))


def pair_strings(pairs: list[tuple[Any, Any]]) -> tuple[str, ...]:
    """:func:`code_strings` of the (system, code) pairs that :func:`codings` gave."""
    return tuple(f"{s or ''}|{c}" for s, c in pairs if isinstance(c, CODE_TYPES))


def display_of(cc: Any, fallback: str = "") -> str:
    found = texts(cc)
    return found[0] if found else fallback


def status_code(value: Any) -> str | None:
    """A status that is a plain code or a CodeableConcept (Condition.clinicalStatus) -> its first code."""
    if isinstance(value, str):
        return value.strip().lower() or None
    for _system, code in codings(value):
        if isinstance(code, str):
            return code.strip().lower()
    return None


def resource_id(resource: dict[str, Any]) -> str:
    rid = resource.get("id")
    return (
        f"{resource.get('resourceType', 'Resource')}/{rid}"
        if isinstance(rid, str)
        else str(resource.get("resourceType", "?"))
    )
