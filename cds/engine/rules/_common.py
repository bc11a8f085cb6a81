"""Helpers shared by the rule evaluators: names for people, comparisons, unmapped and source checks."""

from __future__ import annotations

import math
from collections.abc import Iterable

from cds.engine.context import Context, MappingsView
from cds.facts import FuzzyDate
from cds.results import Outcome, Result, display_number, make_outcome

LABELS = {
    "anc": "ANC",
    "wbc": "WBC",
    "neutrophils-pct": "neutrophils %",
    "bands-pct": "bands %",
    "platelets": "platelets",
    "hemoglobin": "haemoglobin",
    "bilirubin-total": "total bilirubin",
    "creatinine": "creatinine",
    "crcl": "creatinine clearance",
    "alt": "ALT",
    "ast": "AST",
    "inr": "INR",
    "pt": "PT",
    "aptt": "aPTT",
    "qtc": "QTc",
    "lvef": "LVEF",
    "shortening-fraction": "shortening fraction",
    "spo2": "SpO2",
    "body-weight": "body weight",
    "body-height": "body height",
    "urine-protein-24h": "24-hour urine protein",
    "hcg": "hCG",
    "hbv-dna": "HBV DNA",
    "vma-urine": "urine VMA",
    "hva-urine": "urine HVA",
    "tumor-size": "tumour size",
    "karnofsky": "Karnofsky",
    "lansky": "Lansky",
    "ecog": "ECOG",
    "urine-protein-dipstick": "urine protein dipstick",
    "pregnancy-test": "pregnancy test",
    "hbsag": "HBsAg",
    "anti-hcv": "anti-HCV",
    "hcv-rna": "HCV RNA",
    "hiv": "HIV test",
    "nyha-class": "NYHA class",
    "hbv-dna-detected": "HBV DNA",
}

OP_WORDS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "="}

# Source resource types per history kind (closed-world reasoning).
DRUG_SOURCES = ("MedicationAdministration", "MedicationStatement", "MedicationRequest")


def label(name: str) -> str:
    """A short display name for a concept, group or class."""
    return LABELS.get(name, name.replace("-", " "))


def labels(names: Iterable[str]) -> str:
    items = [label(n) for n in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def compare(value: float, op: str, limit: float) -> bool:
    """``value op limit`` with equality judged to 1e-9 (``1.5 * 0.7`` equals ``1.05``)."""
    equal = math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12)
    if op == "==":
        return equal
    if op == "<":
        return value < limit and not equal
    if op == "<=":
        return value < limit or equal
    if op == ">":
        return value > limit and not equal
    if op == ">=":
        return value > limit or equal
    raise ValueError(f"unknown comparison {op!r}")


def num(value: float) -> str:
    """A number for a one-line reason: 1.0 -> "1", 1.0499999 -> "1.05", 0.502842 -> "0.503".
    The evidence keeps the exact value."""
    return display_number(value)


def unmapped(ctx: Context, kind: str, names: Iterable[str]) -> Outcome | None:
    """``review`` when a mapping declares one of the names unmapped (no verified codes).

    The answer depends on the mapping catalogue alone: it is kept in ``ctx.scratch.mappings_memo``.
    """
    names = tuple(names)
    memo = ctx.scratch.mappings_memo
    key = ("unmapped", kind, names)
    try:
        return memo[key]
    except KeyError:
        pass
    memo[key] = outcome = _unmapped(ctx.mappings, kind, names)
    return outcome


def _unmapped(mappings: MappingsView, kind: str, names: tuple[str, ...]) -> Outcome | None:
    is_unmapped = mappings.is_unmapped
    bad = [n for n in names if is_unmapped(kind, n)]
    if not bad:
        return None
    return make_outcome(
        Result.REVIEW,
        f"no verified codes for {labels(bad)}: check the record by hand",
        needs=tuple(f"{label(n)} (checked by hand)" for n in bad),
    )


def unavailable(ctx: Context, resource_types: Iterable[str]) -> list[str]:
    """The types whose source was not retrieved (``not ctx.facts.source_ok(t)``), in the order given."""
    retrieved = ctx.scratch.retrieved
    return [t for t in resource_types if t not in retrieved]


def source_unknown(missing: list[str], what: str) -> Outcome:
    return make_outcome(
        Result.UNKNOWN,
        f"source unavailable: {', '.join(missing)}",
        needs=(f"{what} history ({', '.join(missing)})",),
    )


def when(day: FuzzyDate | None) -> str | None:
    return str(day) if day is not None else None


def ref(resource_type: str, resource_id: str | None) -> str | None:
    """``"Observation/abc"`` from an id that may or may not already carry its type."""
    if not resource_id:
        return None
    return resource_id if "/" in resource_id else f"{resource_type}/{resource_id}"


UNIT_DISPLAY = {
    "10*9/L": "x10^9/L",
    "{INR}": "",
    "{score}": "",
    "g/(24.h)": "g/24 h",
    "[IU]/L": "IU/L",
    "[IU]/mL": "IU/mL",
}


def unit_text(unit: str | None) -> str:
    """ " x10^9/L" for display (with its leading space); "" for unitless concepts."""
    if not unit:
        return ""
    shown = UNIT_DISPLAY.get(unit, unit)
    return f" {shown}" if shown else ""
