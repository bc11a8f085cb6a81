"""Unit conversion: every row of every verified table, plus wrong / unknown / unusable values."""

from __future__ import annotations

import math

import pytest

from cds.mappings import load_mappings
from cds.normalise.units import convert_quantity, number, to_mg

M = load_mappings()
TABLES = {**M.raw["labs"]["unit_tables"], **M.raw["labs"].get("grade_unit_tables", {})}
ROWS = [(table, row["unit"], row["factor"]) for table, spec in TABLES.items() for row in spec["units"]]


def _table(name: str):  # type: ignore[no-untyped-def]
    for concept in M.labs.values():
        if concept.units is not None and concept.units.name == name:
            return concept.units
    from cds.mappings import _unit_table

    return _unit_table(name, TABLES[name])


@pytest.mark.parametrize(("table", "unit", "factor"), ROWS, ids=[f"{t}:{u}" for t, u, _ in ROWS])
def test_every_unit_converts_with_its_factor(table: str, unit: str, factor: float) -> None:
    conv = convert_quantity(
        {"value": 2.5, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}, _table(table)
    )
    assert conv.problem is None
    assert conv.value == pytest.approx(2.5 * factor)
    assert conv.unit == TABLES[table]["canonical"]


@pytest.mark.parametrize(
    ("table", "value", "unit", "expected"),
    [
        ("cell-count", 1200, "/uL", 1.2),
        ("cell-count", 1.2, "K/uL", 1.2),
        ("cell-count", 1.2, "x10E3/uL", 1.2),
        ("cell-count", 1500, "/mm3", 1.5),
        ("bilirubin", 17.1, "umol/L", 0.99984),
        ("bilirubin", 17.1, "µmol/L", 0.99984),
        ("creatinine", 88.4, "umol/L", 0.99980),
        ("hemoglobin", 9.0, "g/dL", 90.0),
        ("hemoglobin", 5.586, "mmol/L", 89.99),
        ("enzyme", 1.0, "ukat/L", 60.0),
        ("enzyme", 40, "[IU]/L", 40.0),
        ("milliseconds", 0.45, "s", 450.0),
        ("protein-24h", 800, "mg/(24.h)", 0.8),
        ("kilograms", 22, "[lb_av]", 9.97903),
        ("centimetres", 1.2, "m", 120.0),
        ("millimetres", 6, "cm", 60.0),
        ("protein-creatinine-ratio", 0.5, "mg/mg{creat}", 500.0),
    ],
)
def test_known_conversions(table: str, value: float, unit: str, expected: float) -> None:
    conv = convert_quantity({"value": value, "unit": unit}, _table(table))
    assert conv.problem is None
    assert conv.value == pytest.approx(expected, rel=1e-4)


def test_ucum_code_wins_over_display_unit() -> None:
    conv = convert_quantity(
        {"value": 1000, "unit": "cells per microlitre", "system": "http://unitsofmeasure.org", "code": "/uL"},
        _table("cell-count"),
    )
    assert conv.value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("quantity", "problem"),
    [
        ({"value": 1.2, "unit": "bananas"}, "unknown unit 'bananas'"),
        ({"value": 1.2, "unit": "mg/dL"}, "unknown unit"),  # a unit of the wrong dimension
        ({"value": 1.2}, "no unit recorded"),
        ({"value": "1.2", "unit": "10*9/L"}, "not a usable number"),
        ({"value": float("nan"), "unit": "10*9/L"}, "not a usable number"),
        ({"value": float("inf"), "unit": "10*9/L"}, "not a usable number"),
        ({"value": 1e300, "unit": "10*9/L"}, "not a usable number"),
        ({"value": True, "unit": "10*9/L"}, "not a usable number"),
        ({"value": 0.5, "comparator": "<", "unit": "10*9/L"}, "limit"),
        ("1.2 10*9/L", "no quantity"),
    ],
)
def test_unusable_quantities_give_a_problem_not_a_value(quantity, problem: str) -> None:  # type: ignore[no-untyped-def]
    conv = convert_quantity(quantity, _table("cell-count"))
    assert conv.value is None
    assert problem in (conv.problem or "")


def test_copies_are_not_converted_to_iu() -> None:
    conv = convert_quantity({"value": 500, "unit": "{copies}/mL"}, _table("iu-per-ml"))
    assert conv.value is None
    assert "not converted" in (conv.problem or "")


def test_unitless_ratio_is_accepted_only_where_allowed() -> None:
    assert convert_quantity({"value": 1.1}, _table("inr")).value == pytest.approx(1.1)
    assert convert_quantity({"value": 1.1}, _table("seconds")).value is None


def test_number_and_dose_helpers() -> None:
    assert number(3) == 3.0
    assert number(False) is None
    assert number(math.nan) is None
    assert to_mg({"value": 1, "unit": "g"}) == 1000.0
    assert to_mg({"value": 500, "unit": "mcg"}) == pytest.approx(0.5)
    assert to_mg({"value": 5, "unit": "mL"}) is None
    assert to_mg({"value": -5, "unit": "mg"}) is None
