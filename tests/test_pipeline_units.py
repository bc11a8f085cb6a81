"""End to end: every lab a trial threshold uses, in every unit the EHR may send, on both sides of the threshold.

Each patient goes through the full chain (prefetch request -> ``gather`` -> ``build_facts`` -> the real trial
file with the real mappings) and the one criterion that reads the lab is checked. Values sitting exactly on a
threshold after a unit conversion or a ULN multiplication (``1.5 x 0.7`` is ``1.0499999999999998`` in binary
floating point) must count as on the threshold.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import pytest

from cds.synthetic import PatientBuilder
from tests.pipeline_support import (
    ADULT,
    MET,
    NB_265,
    NB_UCB,
    NOT_MET,
    SARCOMA_AYA,
    UNKNOWN,
    adult,
    child,
    criterion,
    explain,
)


@dataclass(frozen=True)
class Case:
    """One lab value (``unit`` = UCUM code, ``text`` = non-UCUM unit string only) and the expected result."""

    nct: str
    cid: str
    lab: str
    value: float
    unit: str | None
    expected: str
    text: str | None = None
    high: float | None = None
    sex: str = "male"
    extra: tuple[tuple[str, float, str, float | None], ...] = ()  # supporting labs (name, value, unit, ULN)

    @property
    def id(self) -> str:
        unit = self.unit or f"text:{self.text}"
        return f"{self.lab}-{self.value}-{unit}-{self.sex[0]}-{self.expected}"


def _edges(
    nct: str, cid: str, lab: str, ok: float, bad: float, unit: str | None, text: str | None = None, **kw: Any
) -> list[Case]:
    """Both sides of a threshold: ``ok`` (on it: met) and ``bad`` (just past it: not met)."""
    return [
        Case(nct, cid, lab, ok, unit, "met", text, **kw),
        Case(nct, cid, lab, bad, unit, "not-met", text, **kw),
    ]


def _cases() -> list[Case]:
    anc = "inc-12a-anc"  # NB_UCB: ANC >= 1.0 x10^9/L (0.5 with marrow involvement)
    plt = "inc-12b-platelets"  # NB_UCB: platelets >= 75 x10^9/L
    c: list[Case] = []
    for unit, text, ok, bad in [
        ("10*9/L", None, 1.0, 0.99),
        ("10*3/uL", None, 1.0, 0.99),
        ("10*3/mm3", None, 1.0, 0.99),
        ("/uL", None, 1000, 999),
        ("/mm3", None, 1000, 999),
        (None, "K/uL", 1.0, 0.9),
        (None, "x10E3/uL", 1.0, 0.9),
        (None, "10^9/L", 1.0, 0.9),
        (None, "cells/uL", 1000, 990),
    ]:
        c += _edges(NB_UCB, anc, "anc", ok, bad, unit, text)
    for unit, text, ok, bad in [
        ("10*9/L", None, 75, 74.9),
        ("10*3/uL", None, 75, 74),
        ("/uL", None, 75000, 74999),
        ("/mm3", None, 75000, 74000),
        (None, "K/uL", 75, 74),
    ]:
        c += _edges(NB_UCB, plt, "platelets", ok, bad, unit, text)
    # Adult trial: WBC >= 3, ANC >= 1.5, Hb >= 90 g/L, platelets >= 100.
    for unit, text, ok, bad in [
        ("10*9/L", None, 3.0, 2.99),
        ("10*3/uL", None, 3.0, 2.9),
        ("/uL", None, 3000, 2999),
        ("/mm3", None, 3000, 2990),
        (None, "K/uL", 3.0, 2.99),
    ]:
        c += _edges(ADULT, "inc-06-1a-wbc", "wbc", ok, bad, unit, text)
    for unit, text, ok, bad in [
        ("/uL", None, 1500, 1499),
        (None, "K/uL", 1.5, 1.49),
        ("10*9/L", None, 1.5, 1.4),
    ]:
        c += _edges(ADULT, "inc-06-1b-anc", "anc", ok, bad, unit, text)
    for unit, text, ok, bad in [
        ("10*3/uL", None, 100, 99),
        ("/mm3", None, 100000, 99000),
        (None, "K/uL", 100, 99),
    ]:
        c += _edges(ADULT, "inc-06-1d-platelets", "platelets", ok, bad, unit, text)
    for unit, text, ok, bad in [
        ("g/L", None, 90, 89),
        ("g/dL", None, 9.0, 8.9),
        ("mmol/L", None, 5.6, 5.5),  # x 16.11: 90.2 / 88.6 g/L
        (None, "g/dl", 9.0, 8.9),
    ]:
        c += _edges(ADULT, "inc-06-1c-hemoglobin", "hemoglobin", ok, bad, unit, text)
    # ULN multiples, exact products included (1.5 x 1.2 = 1.7999999999999998 in floating point).
    for unit, high, ok, bad in [
        ("mg/dL", 1.2, 1.8, 1.81),
        ("umol/L", 20.5, 30.75, 31),
        ("umol/L", 17.1, 25.65, 26),
    ]:
        c += _edges(NB_UCB, "inc-12c-bilirubin", "bilirubin-total", ok, bad, unit, high=high)
    for unit, high, ok, bad in [("mg/dL", 0.7, 1.05, 1.06), ("umol/L", 62, 93, 94), ("umol/L", 53, 79.5, 80)]:
        c += _edges(NB_UCB, "inc-12d-creatinine", "creatinine", ok, bad, unit, high=high)
    ast_ok = (("ast", 30.0, "U/L", 40.0),)
    alt_ok = (("alt", 30.0, "U/L", 40.0),)
    for unit, high, ok, bad in [("U/L", 40, 120, 121), ("ukat/L", 0.68, 2.04, 2.05), ("U/L", 0.7, 2.1, 2.2)]:
        c += _edges(NB_UCB, "inc-12e-alt-ast", "alt", ok, bad, unit, high=high, extra=ast_ok)
    for unit, high, ok, bad in [("U/L", 35, 105, 106), ("ukat/L", 0.58, 1.74, 1.75)]:
        c += _edges(NB_UCB, "inc-12e-alt-ast", "ast", ok, bad, unit, high=high, extra=alt_ok)
    for unit, high, ok, bad in [("U/L", 33, 66, 67), ("ukat/L", 0.55, 1.1, 1.11)]:
        c += _edges(ADULT, "inc-06-2b-alt", "alt", ok, bad, unit, high=high, sex="female")
    for unit, high, ok, bad in [("mg/dL", 1.1, 1.65, 1.66), ("umol/L", 21, 31.5, 32)]:
        c += _edges(ADULT, "inc-06-2a-bilirubin", "bilirubin-total", ok, bad, unit, high=high, sex="female")
    # QTc < 450 ms (male) / < 470 ms (female), in ms and in s.
    for sex, unit, ok, bad in [
        ("male", "ms", 449, 450),
        ("male", "s", 0.449, 0.45),
        ("female", "ms", 469, 470),
        ("female", "s", 0.469, 0.47),
    ]:
        c += _edges(NB_UCB, "exc-02b-arrhythmia-qtc", "qtc", ok, bad, unit, sex=sex)
    c += _edges(NB_UCB, "exc-02d-lvef", "lvef", 50, 49, "%")
    c += _edges(SARCOMA_AYA, "inc-04-lvef", "lvef", 40, 39, "%")
    lvef_ok = (("lvef", 60.0, "%", None),)
    c += _edges(NB_265, "exc-03-cardiac", "shortening-fraction", 27, 26, "%", extra=lvef_ok)
    # Coagulation: INR <= 1.5; PT <= ULN + 4 s; aPTT <= 1.5 x ULN.
    c += [
        *_edges(NB_UCB, "exc-04a-inr", "inr", 1.5, 1.6, "{INR}"),
        *_edges(NB_UCB, "exc-04b-pt", "pt", 17, 17.1, "s", high=13),
        Case(NB_UCB, "exc-04b-pt", "pt", 16.1, "s", "met", high=12.1),
        *_edges(NB_UCB, "exc-04c-aptt", "aptt", 54, 54.1, "s", high=36),
        *_edges(NB_265, "exc-04d-spo2", "spo2", 94, 93, "%"),
        *_edges(ADULT, "exc-11-spo2", "spo2", 91, 90, "%"),
        *_edges(ADULT, "inc-07-tumor-size", "tumor-size", 60, 61, "mm"),
        *_edges(ADULT, "inc-07-tumor-size", "tumor-size", 6.0, 6.1, "cm"),
    ]
    # 24-hour urine protein < 1.0 g decides when the dipstick is positive.
    for unit, ok, bad in [("g/(24.h)", 0.99, 1.0), ("mg/(24.h)", 999, 1000)]:
        c += _edges(NB_UCB, "exc-11-proteinuria", "urine-protein-24h", ok, bad, unit)
    return c


CASES = _cases()


def _patient(case: Case) -> PatientBuilder:
    pid = f"u{zlib.crc32(case.id.encode()):08x}"
    p = adult(pid, sex=case.sex) if case.nct == "NCT03619954" else child(pid, sex=case.sex)
    p.lab(case.lab, case.value, case.unit, unit_text=case.text, high=case.high, days_ago=2)
    for name, value, unit, high in case.extra:
        p.lab(name, value, unit, high=high, days_ago=2)
    if case.lab == "urine-protein-24h":
        p.lab("urine-protein-dipstick", value_string="2+", days_ago=2)
    return p


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lab_threshold_in_unit(case: Case) -> None:
    result = criterion(_patient(case), case.nct, case.cid)
    assert result.result == case.expected, explain(result)


@pytest.mark.parametrize(
    ("lab", "value", "unit", "text", "nct", "cid"),
    [
        ("anc", 1.5, "mg/dL", None, NB_UCB, "inc-12a-anc"),  # wrong dimension
        ("anc", 1500, None, "bananas", NB_UCB, "inc-12a-anc"),
        ("anc", 1.5, None, None, NB_UCB, "inc-12a-anc"),  # no unit at all
        ("platelets", 150, "g/L", None, NB_UCB, "inc-12b-platelets"),
        ("hemoglobin", 120, "10*9/L", None, ADULT, "inc-06-1c-hemoglobin"),
        ("hemoglobin", 12, None, "gm%", ADULT, "inc-06-1c-hemoglobin"),
        ("qtc", 420, "%", None, NB_UCB, "exc-02b-arrhythmia-qtc"),
        ("lvef", 60, "mL", None, NB_UCB, "exc-02d-lvef"),
        ("urine-protein-24h", 0.2, "g/L", None, NB_UCB, "exc-11-proteinuria"),
    ],
)
def test_unknown_unit_is_unknown_not_not_met(lab, value, unit, text, nct, cid) -> None:
    p = adult("unk-unit") if nct == ADULT else child("unk-unit")
    p.lab(lab, value, unit, unit_text=text, days_ago=1)
    if lab == "urine-protein-24h":
        p.lab("urine-protein-dipstick", value_string="2+", days_ago=1)
    result = criterion(p, nct, cid)
    assert result.result == UNKNOWN, explain(result)
    assert result.evidence, "the unusable value is still shown as evidence"


def test_unknown_unit_does_not_hide_an_older_valid_value_in_window() -> None:
    """A newer result in an unknown unit cannot decide; the latest *valid* value does."""
    p = (
        child("unk-older")
        .lab("anc", 0.4, "10*9/L", days_ago=5)
        .lab("anc", 2.0, None, unit_text="bananas", days_ago=1)
    )
    result = criterion(p, NB_UCB, "inc-12a-anc")
    assert result.result == NOT_MET, explain(result)


def test_bilirubin_range_in_other_unit_than_value() -> None:
    """Value in umol/L, reference range in mg/dL: both converted before the ratio is taken."""
    p = child("bili-mixed")
    p.lab("bilirubin-total", 30, "umol/L", days_ago=1)
    p.last()["referenceRange"] = [{"high": PatientBuilder.quantity(1.2, "mg/dL")}]
    # 30 umol/L = 1.754 mg/dL <= 1.8 mg/dL
    assert criterion(p, NB_UCB, "inc-12c-bilirubin").result == MET
    p.last()["valueQuantity"] = PatientBuilder.quantity(31, "umol/L")  # 1.813 mg/dL
    assert criterion(p, NB_UCB, "inc-12c-bilirubin").result == NOT_MET


def test_uln_rule_without_range_and_without_fallback_is_unknown() -> None:
    """Bilirubin has no age fallback: no reference range -> unknown, never a guessed limit."""
    p = child("bili-norange").lab("bilirubin-total", 0.3, "mg/dL", days_ago=1)
    result = criterion(p, NB_UCB, "inc-12c-bilirubin")
    assert result.result == UNKNOWN, explain(result)
    assert "upper limit" in result.reason


@pytest.mark.parametrize(
    ("value", "unit", "high", "expected"),
    [
        (0.45, "mg/dL", 0.3, MET),  # 1.5 x 0.3 = 0.45 (0.44999999999999996 in floating point)
        (0.46, "mg/dL", 0.3, NOT_MET),  # the age fallback (COG 1.0 mg/dL for 6-<10 y) would have allowed it
        (39.7, "umol/L", 26.5, MET),  # 1.5 x 26.5 = 39.75 umol/L
        (39.8, "umol/L", 26.5, NOT_MET),
    ],
)
def test_creatinine_uln_from_observation_range_wins_over_age_fallback(value, unit, high, expected) -> None:
    p = child("crea-range").lab("creatinine", value, unit, high=high, days_ago=1)
    result = criterion(p, NB_UCB, "inc-12d-creatinine")
    assert result.result == expected, explain(result)
    assert result.evidence[0].limitSource == "observation"


@pytest.mark.parametrize(("value", "expected"), [(1.0, MET), (1.01, NOT_MET), (1.5, NOT_MET)])
def test_creatinine_child_without_range_uses_age_fallback(value, expected) -> None:
    """8-year-old, no referenceRange: the COG maximum for age (6-<10 y: 1.0 mg/dL) stands for 1.5 x ULN, marked.

    The COG value is a maximum allowed creatinine, not a ULN: 1.5 mg/dL (1.5 x the COG value) must not pass.
    """
    p = child("crea-fallback").lab("creatinine", value, "mg/dL", days_ago=1)
    result = criterion(p, NB_UCB, "inc-12d-creatinine")
    assert result.result == expected, explain(result)
    assert result.evidence[0].limitSource.startswith("fallback"), explain(result)


def test_creatinine_fallback_follows_age_row() -> None:
    """A 3-year-old (row 2-<6 y: COG maximum 0.8 mg/dL = 1.5 x ULN for age): 0.8 is met, 0.81 is not."""
    ok = child("crea-3y-ok", age=(3, 10)).lab("creatinine", 0.8, "mg/dL", days_ago=1)
    bad = child("crea-3y-bad", age=(3, 10)).lab("creatinine", 0.81, "mg/dL", days_ago=1)
    assert criterion(ok, NB_UCB, "inc-12d-creatinine").result == MET
    assert criterion(bad, NB_UCB, "inc-12d-creatinine").result == NOT_MET


@pytest.mark.parametrize(
    ("creatinine", "unit", "expected"),
    [(1.3, "mg/dL", MET), (1.4, "mg/dL", NOT_MET), (115, "umol/L", MET), (124, "umol/L", NOT_MET)],
)
def test_adult_cockcroft_gault_from_raw_fhir(creatinine, unit, expected) -> None:
    """45-year-old woman, 70 kg: CrCl = (140-45) x 70 / (72 x Scr) x 0.85; >= 60 mL/min needs Scr <= ~1.31 mg/dL."""
    p = (
        adult("cg")
        .weight(70, days_ago=3)
        .lab("creatinine", creatinine, unit, high=1.1 if unit == "mg/dL" else 97, days_ago=1)
    )
    result = criterion(p, ADULT, "inc-06-3-crcl")
    assert result.result == expected, explain(result)


def test_cockcroft_gault_needs_weight() -> None:
    p = adult("cg-noweight").lab("creatinine", 0.8, "mg/dL", days_ago=1)
    assert criterion(p, ADULT, "inc-06-3-crcl").result == UNKNOWN


@pytest.mark.parametrize(
    ("lab", "value", "text", "nct", "cid", "expected"),
    [
        ("anc", 1.0, "10^3/µL", NB_UCB, "inc-12a-anc", MET),  # micro sign
        ("anc", 0.9, "10^3/µL", NB_UCB, "inc-12a-anc", NOT_MET),
        ("hemoglobin", 5.6, "mmol/l", ADULT, "inc-06-1c-hemoglobin", MET),
        ("platelets", 99, "x10E3/uL", ADULT, "inc-06-1d-platelets", NOT_MET),
    ],
)
def test_non_ucum_unit_strings(lab, value, text, nct, cid, expected) -> None:
    p = (adult if nct == ADULT else child)("nonucum").lab(lab, value, None, unit_text=text, days_ago=1)
    result = criterion(p, nct, cid)
    assert result.result == expected, explain(result)


@pytest.mark.parametrize(
    ("lab", "value", "comparator", "cid"),
    [("anc", 0.5, "<", "inc-12a-anc"), ("platelets", 500, ">", "inc-12b-platelets")],
)
def test_censored_values_are_unknown(lab, value, comparator, cid) -> None:
    """Documented choice (docs/normalisation.md): a comparator value (<0.5, >500) is not a measurement."""
    p = child("censored").lab(lab, value, "10*9/L", days_ago=1)
    p.last()["valueQuantity"]["comparator"] = comparator
    assert criterion(p, NB_UCB, cid).result == UNKNOWN


CATECHOL = "exc-06-catecholamine-or-marrow-only"  # NB_265: VMA/HVA <= 2 x ULN and no marrow disease -> met


@pytest.mark.parametrize(
    ("vma", "unit", "text", "expected"),
    [
        (20, "mg/g{creat}", None, MET),  # exactly 2 x ULN 10: not raised
        (21, "mg/g{creat}", None, "review"),  # raised: never not-met by itself (curated intent), review
        (20, None, "mcg/mg creat", MET),  # unlisted unit kept because the range has the same unit
    ],
)
def test_urinary_catecholamines_ratio_to_uln(vma, unit, text, expected) -> None:
    p = child("vma").lab("vma-urine", vma, unit, unit_text=text, high=10, days_ago=3)
    p.lab("hva-urine", 10, "mg/g{creat}", high=20, days_ago=3)
    result = criterion(p, NB_265, CATECHOL)
    assert result.result == expected, explain(result)


def test_catecholamine_range_in_another_unit_is_not_compared() -> None:
    p = child("vma-mixed").lab("vma-urine", 20, "mg/g{creat}", days_ago=3)
    p.last()["referenceRange"] = [{"high": PatientBuilder.quantity(5, "umol/mmol{creat}")}]
    p.lab("hva-urine", 10, "mg/g{creat}", high=20, days_ago=3)
    assert criterion(p, NB_265, CATECHOL).result != MET


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (20, "[IU]/mL", MET),
        (21, "[IU]/mL", NOT_MET),
        (20000, "[IU]/L", MET),
        (21000, "[IU]/L", NOT_MET),
        (10, "{copies}/mL", UNKNOWN),
    ],
)
def test_hbv_dna_with_positive_hbsag(value, unit, expected) -> None:
    """HBsAg positive: HBV DNA <= ULN decides; copies/mL are never converted to IU/mL (assay-dependent)."""
    p = child("hbv").lab("hbsag", coded="positive", days_ago=3).lab("hbv-dna", value, unit, days_ago=3)
    p.last()["referenceRange"] = [{"high": PatientBuilder.quantity(20, "[IU]/mL")}]
    result = criterion(p, NB_UCB, "exc-23a-hbv")
    assert result.result == expected, explain(result)
    if unit == "{copies}/mL":
        assert all(e.unit != "[IU]/mL" for e in result.evidence), explain(result)


@pytest.mark.parametrize(("alt", "expected"), [(135, MET), (136, NOT_MET)])
def test_alt_in_a_child_without_range_uses_the_documented_fallback(alt, expected) -> None:
    """ALT ULN fallback 45 U/L for under-18s (marked unverified): 3 x 45 = 135."""
    p = child("alt-fb").lab("alt", alt, "U/L", days_ago=2).lab("ast", 30, "U/L", high=40, days_ago=2)
    result = criterion(p, NB_UCB, "inc-12e-alt-ast")
    assert result.result == expected, explain(result)
    assert result.evidence[0].limitSource == "fallback-unverified:cog-alt-uln"


def test_ast_without_range_has_no_fallback() -> None:
    p = child("ast-nofb").lab("alt", 30, "U/L", high=40, days_ago=2).lab("ast", 30, "U/L", days_ago=2)
    assert criterion(p, NB_UCB, "inc-12e-alt-ast").result == UNKNOWN
