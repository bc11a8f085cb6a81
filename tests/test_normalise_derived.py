"""Derived ANC and Cockcroft-Gault creatinine clearance."""

from __future__ import annotations

import pytest

from cds.synthetic import PatientBuilder
from tests.normalise_support import TODAY, facts_of, patient


def test_anc_derived_from_wbc_and_neutrophils_same_day() -> None:
    f = facts_of(patient().lab("wbc", 4.0, "10*9/L", days_ago=1).lab("neutrophils-pct", 30, "%", days_ago=1))
    (v,) = f.lab_values("anc")
    assert v.value == pytest.approx(1.2)
    assert v.resource_id.startswith("derived:anc:")
    assert set(v.derived_from) == {"Observation/p1-obs-1", "Observation/p1-obs-2"}


def test_bands_are_added() -> None:
    b = patient().lab("wbc", 4.0, "10*9/L", days_ago=1).lab("neutrophils-pct", 30, "%", days_ago=1)
    b.lab("764-1", 10, "%", days_ago=1)
    (v,) = facts_of(b).lab_values("anc")
    assert v.value == pytest.approx(1.6) and len(v.derived_from) == 3


def test_no_derivation_when_direct_anc_same_day_or_percent_on_other_day() -> None:
    b = (
        patient()
        .lab("wbc", 4.0, "10*9/L", days_ago=1)
        .lab("neutrophils-pct", 30, "%", days_ago=1)
        .lab("anc", 1.5, "10*9/L", days_ago=1)
    )
    assert [v.value for v in facts_of(b).lab_values("anc")] == [1.5]
    b = patient().lab("wbc", 4.0, "10*9/L", days_ago=1).lab("neutrophils-pct", 30, "%", days_ago=2)
    assert facts_of(b).lab_values("anc") == ()


def test_derived_anc_is_newest_when_direct_is_older() -> None:
    b = (
        patient()
        .lab("anc", 0.8, "10*9/L", days_ago=5)
        .lab("wbc", 5.0, "10*9/L", days_ago=1)
        .lab("neutrophils-pct", 40, "%", days_ago=1)
    )
    values = facts_of(b).lab_values("anc")
    assert [v.value for v in values] == [pytest.approx(2.0), 0.8]


def test_unusable_inputs_give_no_derived_value() -> None:
    b = patient().lab("wbc", 4.0, "bananas", days_ago=1).lab("neutrophils-pct", 30, "%", days_ago=1)
    assert facts_of(b).lab_values("anc") == ()


def _cg(age: tuple[int, int], sex: str, weight_days_ago: int = 3) -> PatientBuilder:
    return (
        PatientBuilder("cg", TODAY, age=age, sex=sex)
        .lab("creatinine", 1.0, "mg/dL", days_ago=1)
        .weight(72, days_ago=weight_days_ago)
    )


def test_cockcroft_gault_male_and_female() -> None:
    (m,) = facts_of(_cg((40, 10), "male")).lab_values("crcl")
    assert m.value == pytest.approx(100.0)  # (140-40)*72/(72*1.0)
    assert m.context["method"] == "cockcroft-gault"
    assert set(m.derived_from) == {"Observation/cg-obs-1", "Observation/cg-obs-2"}
    (w,) = facts_of(_cg((40, 10), "female")).lab_values("crcl")
    assert w.value == pytest.approx(85.0)


def test_cockcroft_gault_only_for_adults() -> None:
    # 18th birthday is the day before the creatinine result's date -> adult; one day later -> 17 y
    assert facts_of(_cg((18, 1), "male")).lab_values("crcl") != ()
    assert facts_of(_cg((18, 0), "male")).lab_values("crcl") == ()
    assert facts_of(_cg((10, 0), "male")).lab_values("crcl") == ()


def test_cockcroft_gault_needs_weight_near_the_creatinine_and_a_known_sex() -> None:
    assert facts_of(_cg((40, 10), "male", weight_days_ago=31)).lab_values("crcl") != ()  # 30 days away
    assert facts_of(_cg((40, 10), "male", weight_days_ago=32)).lab_values("crcl") == ()  # 31 days away
    assert facts_of(_cg((40, 10), "other")).lab_values("crcl") == ()


def test_measured_clearance_same_day_prevents_derivation() -> None:
    b = _cg((40, 10), "male").lab("crcl-measured", 70, "mL/min", days_ago=1)
    assert [v.value for v in facts_of(b).lab_values("crcl")] == [70]
