"""Unit conversion to a concept's canonical unit, from the verified tables in ``mappings/labs.yaml``.

Why a table rather than a UCUM library: see the header of ``mappings/labs.yaml`` (every factor verified,
unknown strings stay unknown, mass<->substance conversions need molar masses, non-UCUM strings are common).
``valueQuantity.code`` (UCUM) is preferred to ``valueQuantity.unit`` (display text). An unknown or
non-convertible unit gives ``value=None`` and a problem text; the value is never used as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cds.mappings import UnitTable, unit_key

MAX_ABS = 1e12  # larger magnitudes are data errors, not measurements
_INT_FLOAT = (int, float)  # as ``int | float``; a tuple is the faster ``isinstance`` test (hot path)


@dataclass(frozen=True)
class Converted:
    value: float | None
    problem: str | None = None
    # the unit the value is in (canonical, or the recorded one when kept for ULN ratios)
    unit: str | None = None
    original: str = ""


_new = object.__new__


def converted(
    value: float | None, problem: str | None = None, unit: str | None = None, original: str = ""
) -> Converted:
    """``Converted(value, problem, unit, original)``, built without the frozen class's ``__init__`` (which sets
    each field through ``object.__setattr__``: 0.5 -> 0.25 us, once per converted value): the same fields in
    field order in the instance's ``__dict__``, as :func:`cds.facts.make_lab_value` builds a ``LabValue``."""
    out = _new(Converted)
    fields = out.__dict__
    fields["value"] = value
    fields["problem"] = problem
    fields["unit"] = unit
    fields["original"] = original
    return out


def number(value: Any) -> float | None:
    """A finite JSON number (not bool) within a sane magnitude, else None."""
    if isinstance(value, bool) or not isinstance(value, _INT_FLOAT):
        return None
    try:
        out = float(value)
    except (OverflowError, ValueError):
        return None
    if not math.isfinite(out) or abs(out) > MAX_ABS:
        return None
    return out


def quantity_units(quantity: dict[str, Any]) -> list[str]:
    """Candidate unit strings of a Quantity, UCUM code first, then the display unit."""
    out = []
    system = quantity.get("system")
    code = quantity.get("code")
    has_code = isinstance(code, str) and bool(code.strip())  # (tested once, used twice)
    if has_code and (system is None or "unitsofmeasure" in str(system)):
        out.append(code)
    unit = quantity.get("unit")
    if isinstance(unit, str) and unit.strip():
        out.append(unit)
    if has_code and code not in out:
        out.append(code)
    return out


def convert_quantity(quantity: Any, table: UnitTable, units: list[str] | None = None) -> Converted:
    """A FHIR Quantity dict -> value in the table's canonical unit (or a problem).

    ``units``: ``quantity_units(quantity)`` when the caller has it already."""
    if not isinstance(quantity, dict):
        return converted(None, "no quantity")
    raw_value = quantity.get("value")
    if units is None:
        units = quantity_units(quantity)
    original = f"{raw_value} {units[0] if units else ''}".strip()
    value = number(raw_value)
    if value is None:
        return converted(None, "value is not a usable number", original=original)
    comparator = quantity.get("comparator")
    if comparator is not None:
        return converted(
            None, f"value is a limit ({comparator}{raw_value}), not a measurement", original=original
        )
    return convert(value, units, table, original)


def quantity_value(quantity: Any, table: UnitTable, units: list[str] | None = None) -> float | None:
    """``convert_quantity(quantity, table, units).value``, without the problem text and the recorded-value
    string (for reference-range bounds, whose value alone is used)."""
    if not isinstance(quantity, dict):
        return None
    value = number(quantity.get("value"))
    if value is None or quantity.get("comparator") is not None:
        return None
    if units is None:
        units = quantity_units(quantity)
    if not units:
        return value if table.unitless_ok else None
    factor = _factor(units, table)
    return None if factor is None else _tidy(value * factor)


def _factor(units: list[str], table: UnitTable) -> float | None:
    """The table's factor for the first of ``units`` it lists."""
    for unit in units:
        factor = table.factors.get(unit_key(unit))
        if factor is not None:
            return factor
    return None


def convert(value: float, units: list[str], table: UnitTable, original: str = "") -> Converted:
    if not units:
        if table.unitless_ok:
            return converted(value, None, table.canonical, original)
        return converted(None, "no unit recorded", original=original)
    factor = _factor(units, table)
    if factor is not None:
        return converted(_tidy(value * factor), None, table.canonical, original)
    for unit in units:
        reason = table.not_convertible.get(unit_key(unit))
        if reason:
            return converted(None, f"unit '{unit}' not converted: {reason}", original=original)
    return converted(None, f"unknown unit '{units[0]}'", original=original)


def _tidy(value: float) -> float:
    """Drop binary noise from a multiplication (0.1 * 3 -> 0.3) while keeping 12 significant digits."""
    return float(f"{value:.12g}")


def to_mg(quantity: Any) -> float | None:
    """A dose Quantity in mg (mg, g, ug/mcg, ng), or None for other units (mL, units, mg/kg...)."""
    if not isinstance(quantity, dict):
        return None
    value = number(quantity.get("value"))
    if value is None or value < 0:
        return None
    for unit in quantity_units(quantity):
        factor = _MASS_TO_MG.get(unit_key(unit))
        if factor is not None:
            return value * factor
    return None


_MASS_TO_MG = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001, "ng": 1e-6, "kg": 1e6}
