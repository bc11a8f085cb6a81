"""Synthetic benchmark patients built with ``cds.synthetic.PatientBuilder`` (deterministic, fixed seed).

``heavy_patient``: the issue's heavy patient, 2,000 Observations over two years, 300
MedicationAdministrations, 40 Conditions and 30 Procedures (plus the Patient).
``scaled_patient(n)``: the same clinical story with about ``n`` resources in the same proportions
(``scaled_patient(100)`` is the "typical" patient). The data look like a child treated for relapsed
neuroblastoma: lab panels every few days in mixed units, chemotherapy cycles with growth factor and
steroids, supportive-care conditions (some resolved), marrow aspirates, radiotherapy and a transplant.
"""

from __future__ import annotations

import datetime as dt
import random

from cds.synthetic import PatientBuilder

HEAVY_MIX = {"Observation": 2000, "MedicationAdministration": 300, "Condition": 40, "Procedure": 30}
HISTORY_DAYS = 730  # two years

# (shortcut, value, UCUM unit, low, high, relative spread)
_PANEL: tuple[tuple[str, float, str, float, float, float], ...] = (
    ("anc", 1.8, "10*9/L", 1.5, 8.0, 0.5),
    ("wbc", 4.2, "10*9/L", 4.0, 12.0, 0.4),
    ("platelets", 160, "10*9/L", 150, 450, 0.5),
    ("hemoglobin", 105, "g/L", 110, 150, 0.15),
    ("creatinine", 0.45, "mg/dL", 0.2, 0.7, 0.2),
    ("bilirubin-total", 0.6, "mg/dL", 0.2, 1.2, 0.3),
    ("alt", 30, "U/L", 5, 45, 0.4),
    ("ast", 35, "U/L", 10, 50, 0.4),
)
_OCCASIONAL: tuple[tuple[str, float, str, float, float, float], ...] = (
    ("inr", 1.1, "{INR}", 0.8, 1.2, 0.1),
    ("pt", 12.5, "s", 11.0, 13.5, 0.1),
    ("aptt", 30, "s", 25, 35, 0.1),
    ("spo2", 97, "%", 95, 100, 0.02),
    ("body-weight", 23, "kg", 0, 0, 0.05),
    ("body-height", 122, "cm", 0, 0, 0.01),
    ("qtc", 410, "ms", 350, 450, 0.05),
    ("lvef", 62, "%", 55, 75, 0.05),
)
_CHEMO = (
    "cyclophosphamide",
    "topotecan",
    "etoposide",
    "carboplatin",
    "cisplatin",
    "vincristine",
    "doxorubicin",
)
_SUPPORT = ("filgrastim", "prednisone", "dexamethasone", "enoxaparin")
_CONDITION_SHORTCUTS = ("neuroblastoma-adrenal", "bone-marrow-involvement", "gvhd")
# Supportive-care problems with SNOMED CT codes the trial mappings do not use (realistic noise).
_OTHER_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("409089005", "Febrile neutropenia"),
    ("95324001", "Mucositis"),
    ("422587007", "Nausea"),
    ("267036007", "Dyspnea"),
    ("271737000", "Anemia"),
    ("302215000", "Thrombocytopenic disorder"),
    ("62315008", "Diarrhea"),
    ("386661006", "Fever"),
    ("68962001", "Muscle pain"),
    ("25064002", "Headache"),
)
_PROCEDURES: tuple[str, ...] = ("bone-marrow-aspiration", "radiotherapy", "hsct-autologous")


def scaled_patient(
    n_resources: int, today: dt.date, patient_id: str | None = None, seed: int = 7
) -> PatientBuilder:
    """About ``n_resources`` resources (plus the Patient) in the heavy patient's proportions."""
    total = sum(HEAVY_MIX.values())
    counts = {k: max(1, round(v * n_resources / total)) for k, v in HEAVY_MIX.items()}
    return _build(patient_id or f"bench-{n_resources}", today, counts, seed)


def heavy_patient(today: dt.date, patient_id: str = "bench-heavy", seed: int = 7) -> PatientBuilder:
    return _build(patient_id, today, dict(HEAVY_MIX), seed)


def typical_patient(today: dt.date, patient_id: str = "bench-typical", seed: int = 7) -> PatientBuilder:
    return scaled_patient(100, today, patient_id, seed)


def _build(patient_id: str, today: dt.date, counts: dict[str, int], seed: int) -> PatientBuilder:
    rng = random.Random(seed)
    p = PatientBuilder(patient_id, today, age=(7, 40), sex="male")
    _observations(p, rng, counts["Observation"])
    _med_admins(p, rng, counts["MedicationAdministration"])
    _conditions(p, rng, counts["Condition"])
    _procedures(p, rng, counts["Procedure"])
    return p


def _spread_days(n: int, rng: random.Random, newest: int = 1) -> list[int]:
    """``n`` days-ago values spread over the two-year history, newest first, with a little jitter."""
    if n <= 0:
        return []
    step = (HISTORY_DAYS - newest) / max(1, n)
    return [min(HISTORY_DAYS, newest + int(i * step + rng.random() * step)) for i in range(n)]


def _observations(p: PatientBuilder, rng: random.Random, n: int) -> None:
    per_panel = len(_PANEL) + 2  # the panel, one occasional lab, one performance score
    panels = max(1, n // per_panel)
    made = 0
    for days_ago in _spread_days(panels, rng, newest=2):
        for name, value, unit, low, high, spread in _PANEL:
            if made >= n:
                return
            v = round(value * (1 + spread * (rng.random() - 0.5)), 2)
            if rng.random() < 0.2 and unit == "10*9/L":  # US units now and then
                p.lab(name, v, "10*3/uL", unit_text="K/uL", low=low, high=high, days_ago=days_ago)
            else:
                p.lab(name, v, unit, low=low or None, high=high or None, days_ago=days_ago)
            made += 1
        if made < n:
            name, value, unit, low, high, spread = _OCCASIONAL[made % len(_OCCASIONAL)]
            v = round(value * (1 + spread * (rng.random() - 0.5)), 2)
            p.lab(name, v, unit, low=low or None, high=high or None, days_ago=days_ago)
            made += 1
        if made < n:
            p.lansky(rng.choice((60, 70, 80, 90)), days_ago=days_ago)
            made += 1
    while made < n:  # remainder: urine dipstick results
        p.lab("urine-protein-dipstick", coded=rng.choice(("negative", "trace")), days_ago=1 + made % 700)
        made += 1


def _med_admins(p: PatientBuilder, rng: random.Random, n: int) -> None:
    for i, days_ago in enumerate(_spread_days(n, rng, newest=35)):
        if i % 4 == 3:
            drug = _SUPPORT[(i // 4) % len(_SUPPORT)]
            route = "subcutaneous" if drug in ("filgrastim", "enoxaparin") else "oral"
            p.med_admin(drug, days_ago=days_ago, dose=(round(5 + rng.random() * 10, 1), "mg"), route=route)
        else:
            drug = _CHEMO[i % len(_CHEMO)]
            p.med_admin(
                drug, days_ago=days_ago, dose=(round(50 + rng.random() * 400), "mg"), route="intravenous"
            )


def _conditions(p: PatientBuilder, rng: random.Random, n: int) -> None:
    p.condition("neuroblastoma-adrenal", onset_days_ago=HISTORY_DAYS, body_site="adrenal-gland")
    for i in range(1, n):
        onset = rng.randrange(30, HISTORY_DAYS)
        if i < len(_CONDITION_SHORTCUTS):
            p.condition(
                _CONDITION_SHORTCUTS[i],
                onset_days_ago=onset,
                clinical_status="resolved",
                abatement_days_ago=max(1, onset - 60),
            )
            continue
        code, display = _OTHER_CONDITIONS[i % len(_OTHER_CONDITIONS)]
        resolved = rng.random() < 0.7
        p.condition(
            code=code,
            display=display,
            onset_days_ago=onset,
            clinical_status="resolved" if resolved else "active",
            abatement_days_ago=max(1, onset - rng.randrange(3, 30)) if resolved else None,
        )


def _procedures(p: PatientBuilder, rng: random.Random, n: int) -> None:
    for i, days_ago in enumerate(_spread_days(n, rng, newest=90)):
        name = _PROCEDURES[0] if i % 5 else _PROCEDURES[1 + (i // 5) % 2]
        if name == "radiotherapy":
            p.procedure(name, days_ago=days_ago, intent="curative", body_site="adrenal-gland")
        elif name == "hsct-autologous":
            p.procedure(name, days_ago=max(days_ago, 400))
        else:
            p.procedure(name, days_ago=days_ago, body_site="bone-marrow")


def resource_count(p: PatientBuilder) -> dict[str, int]:
    counts: dict[str, int] = {}
    for res in p.resources():
        counts[res["resourceType"]] = counts.get(res["resourceType"], 0) + 1
    return counts
