"""Deterministic synthetic demo patients, dated relative to the day they are generated.

``demo_patients(today)`` returns the same patients (same ids, same resources, same values) for a given
evaluation date; only the dates move with the day. Ids start with ``nk-demo-``. Each patient declares the
verdict it is expected to get from each of the five trials (and when it becomes eligible), and
``tests/test_demo_e2e.py`` asserts them through HTTP against a real FHIR server and the real service, so the
demo cannot drift from the engine without a test failing.

Design notes (why a patient gets what it gets):

- An *eligible* patient needs every criterion decided by data: each carries a complete screening work-up
  two to five days old (blood counts, chemistry with reference ranges, coagulation, ECG and echo, urine,
  virology, SpO2, weight and height, and for neuroblastoma urinary VMA/HVA) plus a performance score.
  Criteria that only a clinician can judge are ``review`` and do not stop a patient being eligible.
- Waiting periods are anchored on the end of the last exposure: chemotherapy 21 days, nitrosourea 42,
  long-acting growth factor 14, stem cell infusion 56, 131I-MIBG 42. Each not-yet-eligible patient's
  ``eligibleFrom`` offset is the days still to wait.
- Children are *not-yet-eligible* for the adult trial (NCT03619954, 18-75 years) when nothing else rules
  them out: the only failing criterion is age, which clears on their 18th birthday (the engine's contract:
  a not-met criterion that time will clear). That is expected, and the demo table shows it.
- NCT06848582 lists inclusion criteria only (``criteriaComplete: false``), so its best verdict is
  ``possibly-eligible``.
- Units are mixed on purpose: ANC in 10*9/L, 10*3/uL and /uL; haemoglobin in g/L, g/dL and mmol/L;
  creatinine and bilirubin in mg/dL and umol/L.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from cds.synthetic import SCT, Drug, PatientBuilder, years_before

PREFIX = "nk-demo-"

STS_CN = "NCT06848582"  # UCB NK cells, paediatric soft tissue sarcoma (inclusion criteria only)
NB_CN = "NCT06631391"  # UCB NK cells, paediatric neuroblastoma
SARCOMA_ES = "NCT05952310"  # haploidentical NK cells, sarcoma 0-30 years
NB_IR = "NCT06674265"  # allogeneic NK cells, neuroblastoma 2-16 years
ADULT_CN = "NCT03619954"  # NK cells, advanced malignancies 18-75 years
TRIALS: tuple[str, ...] = (NB_CN, NB_IR, STS_CN, SARCOMA_ES, ADULT_CN)

ELIGIBLE = "eligible"
NOT_YET = "not-yet-eligible"
POSSIBLY = "possibly-eligible"
INELIGIBLE = "ineligible"


@dataclass(frozen=True)
class Expect:
    """An expected verdict. ``eligible_from`` is either ``in_days`` after the evaluation date, or the
    birthday on which the patient turns ``at_age`` years (only for ``not-yet-eligible``)."""

    verdict: str
    in_days: int | None = None
    at_age: int | None = None

    def eligible_from(self, evaluation_date: dt.date, birth_date: str | None) -> dt.date | None:
        if self.in_days is not None:
            return evaluation_date + dt.timedelta(days=self.in_days)
        if self.at_age is not None and birth_date:
            born = dt.date.fromisoformat(birth_date)
            return years_before(born, -self.at_age)
        return None

    def __str__(self) -> str:
        if self.in_days is not None:
            return f"{self.verdict} (+{self.in_days} d)"
        if self.at_age is not None:
            return f"{self.verdict} (at {self.at_age} y)"
        return self.verdict


@dataclass(frozen=True)
class DemoPatient:
    patient_id: str
    summary: str  # one line for the demo table and docs
    builder: PatientBuilder
    expected: dict[str, Expect]  # NCT id -> expected verdict, for every trial in TRIALS
    use_prefetch: bool = False  # the demo sends prefetch for some patients, FHIR queries for the others
    tags: tuple[str, ...] = field(default=())

    def expected_eligible_from(self, trial: str, evaluation_date: dt.date) -> dt.date | None:
        exp = self.expected[trial]
        return exp.eligible_from(evaluation_date, self.builder.birth_date) if exp.verdict == NOT_YET else None


# ---- work-up helpers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blood:
    """Blood counts and chemistry in canonical units (values are converted to the chosen unit style)."""

    anc: float = 3.2  # 10*9/L
    wbc: float = 6.1  # 10*9/L
    platelets: float = 210  # 10*9/L
    hemoglobin: float = 118  # g/L
    bilirubin: float = 0.5  # mg/dL (ULN 1.2)
    creatinine: float = 0.45  # mg/dL
    creatinine_uln: float = 0.7
    alt: float = 28  # U/L (ULN 45)
    ast: float = 32  # U/L (ULN 50)


def add_blood(p: PatientBuilder, blood: Blood, *, units: str = "si", days_ago: int = 3) -> None:
    """ANC, WBC, platelets, haemoglobin, bilirubin, creatinine, ALT, AST with reference ranges.

    ``units``: ``si`` (10*9/L, g/L, umol/L), ``us`` (10*3/uL, g/dL, mg/dL) or ``cells`` (/uL, mmol/L, mg/dL).
    """
    b = blood
    if units == "si":
        p.lab("anc", b.anc, "10*9/L", low=1.5, high=8.0, days_ago=days_ago)
        p.lab("wbc", b.wbc, "10*9/L", low=4.0, high=12.0, days_ago=days_ago)
        p.lab("platelets", b.platelets, "10*9/L", low=150, high=450, days_ago=days_ago)
        p.lab("hemoglobin", b.hemoglobin, "g/L", low=110, high=150, days_ago=days_ago)
        p.lab(
            "bilirubin-total-molar",
            round(b.bilirubin * 17.104, 1),
            "umol/L",
            low=3,
            high=20.5,
            days_ago=days_ago,
        )
        p.lab(
            "creatinine-molar",
            round(b.creatinine * 88.4),
            "umol/L",
            low=18,
            high=round(b.creatinine_uln * 88.4),
            days_ago=days_ago,
        )
    elif units == "us":
        p.lab("anc", b.anc, "10*3/uL", unit_text="K/uL", low=1.5, high=8.0, days_ago=days_ago)
        p.lab("wbc", b.wbc, "10*3/uL", unit_text="K/uL", low=4.0, high=12.0, days_ago=days_ago)
        p.lab("platelets", b.platelets, "10*3/uL", unit_text="K/uL", low=150, high=450, days_ago=days_ago)
        p.lab("hemoglobin", round(b.hemoglobin / 10, 1), "g/dL", low=11.0, high=15.0, days_ago=days_ago)
        p.lab("bilirubin-total", b.bilirubin, "mg/dL", low=0.2, high=1.2, days_ago=days_ago)
        p.lab("creatinine", b.creatinine, "mg/dL", low=0.2, high=b.creatinine_uln, days_ago=days_ago)
    elif units == "cells":
        p.lab("anc", round(b.anc * 1000), "/uL", unit_text="cells/uL", low=1500, high=8000, days_ago=days_ago)
        p.lab(
            "wbc", round(b.wbc * 1000), "/uL", unit_text="cells/uL", low=4000, high=12000, days_ago=days_ago
        )
        p.lab("platelets", b.platelets, "10*3/uL", low=150, high=450, days_ago=days_ago)
        p.lab(
            "hemoglobin-molar", round(b.hemoglobin / 16.11, 1), "mmol/L", low=6.8, high=9.3, days_ago=days_ago
        )
        p.lab("bilirubin-total", b.bilirubin, "mg/dL", low=0.2, high=1.2, days_ago=days_ago)
        p.lab("creatinine", b.creatinine, "mg/dL", low=0.2, high=b.creatinine_uln, days_ago=days_ago)
    else:
        raise ValueError(f"unknown unit style {units!r}")
    p.lab("alt", b.alt, "U/L", low=5, high=45, days_ago=days_ago)
    p.lab("ast", b.ast, "U/L", low=10, high=50, days_ago=days_ago)


def add_screening(
    p: PatientBuilder,
    *,
    days_ago: int = 3,
    lvef: float = 64,
    shortening_fraction: float = 34,
    qtc: float = 410,
    hbsag: str = "negative",
    weight_kg: float = 25.0,
    height_cm: float = 122.0,
    neuroblastoma: bool = False,
    tumor_mm: float | None = 25,
) -> None:
    """Coagulation, ECG/echo, NYHA class, urine, virology, SpO2, weight/height, tumour size (and VMA/HVA)."""
    p.lab("inr", 1.0, "{INR}", low=0.8, high=1.2, days_ago=days_ago)
    p.lab("pt", 12.1, "s", low=11.0, high=14.0, days_ago=days_ago)
    p.lab("aptt", 30.5, "s", low=25.0, high=37.0, days_ago=days_ago)
    p.lab("qtc", qtc, "ms", days_ago=days_ago)
    p.lab("lvef", lvef, "%", days_ago=days_ago)
    p.lab("shortening-fraction", shortening_fraction, "%", days_ago=days_ago)
    p.lab(
        "88020-3",
        display="Functional capacity NYHA",
        coded=(SCT, "420300004", "New York Heart Association Classification - Class I (finding)"),
        days_ago=days_ago,
    )
    p.lab("urine-protein-dipstick", coded="negative", days_ago=days_ago)
    p.lab("urine-protein-24h", 0.08, "g/(24.h)", high=0.15, days_ago=days_ago)
    p.lab("hbsag", coded=hbsag, days_ago=days_ago)
    p.lab("anti-hcv", coded="negative", days_ago=days_ago)
    p.lab("hiv", coded="negative", days_ago=days_ago)
    p.lab("spo2", 98, "%", days_ago=days_ago)
    p.weight(weight_kg, days_ago=days_ago)
    p.height(height_cm, days_ago=days_ago)
    if tumor_mm is not None:
        p.lab("tumor-size", tumor_mm, "mm", days_ago=days_ago + 2)
    if neuroblastoma:
        p.lab("vma-urine", 7.5, "mg/g{creat}", high=10.0, days_ago=days_ago)
        p.lab("hva-urine", 11.0, "mg/g{creat}", high=15.0, days_ago=days_ago)


def nb_history(p: PatientBuilder, *, diagnosed_days_ago: int = 720, last_chemo_days_ago: int = 60) -> None:
    """High-risk neuroblastoma treated with induction chemotherapy; the last cycle ``last_chemo_days_ago``."""
    p.condition("neuroblastoma-adrenal", onset_days_ago=diagnosed_days_ago, body_site="adrenal-gland")
    p.med_admin("cyclophosphamide", days_ago=last_chemo_days_ago, dose=(400, "mg"), route="intravenous")
    p.med_admin("topotecan", days_ago=last_chemo_days_ago, dose=(0.6, "mg"), route="intravenous")
    p.procedure(text="Resection of adrenal tumour", days_ago=600)


def sarcoma_history(p: PatientBuilder, condition: str, *, diagnosed_days_ago: int = 500) -> None:
    p.condition(condition, onset_days_ago=diagnosed_days_ago, body_site="thigh")
    p.med_admin("ifosfamide", days_ago=70, dose=(2500, "mg"), route="intravenous")
    p.med_admin("doxorubicin", days_ago=70, dose=(45, "mg"), route="intravenous")


def _ages_out(years: int = 18) -> Expect:
    return Expect(NOT_YET, at_age=years)


NEVER = Expect(INELIGIBLE)


# ---- the patients ---------------------------------------------------------------------------------------


def _nb_eligible(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-eligible", today, age=(7, 40), sex="male", name="Leo")
    nb_history(p, last_chemo_days_ago=35)
    add_blood(p, Blood(), units="si")
    add_screening(p, weight_kg=23, height_cm=122, neuroblastoma=True)
    p.lansky(80, days_ago=4)
    p.immunization("influenza-inactivated", days_ago=20)
    return DemoPatient(
        p.patient_id,
        "7 y, relapsed neuroblastoma, last chemotherapy 35 days ago, full work-up",
        p,
        {
            NB_CN: Expect(ELIGIBLE),
            NB_IR: Expect(ELIGIBLE),
            STS_CN: NEVER,
            SARCOMA_ES: NEVER,
            ADULT_CN: _ages_out(),
        },
        use_prefetch=False,
    )


def _nb_low_anc(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-low-anc", today, age=(5, 100), sex="female", name="Mia")
    nb_history(p, last_chemo_days_ago=50)
    add_blood(p, Blood(anc=0.6, wbc=2.1), units="us")
    add_screening(p, weight_kg=18, height_cm=108, neuroblastoma=True)
    p.lansky(70, days_ago=3)
    return DemoPatient(
        p.patient_id,
        "5 y, neuroblastoma, ANC 0.6 x10^9/L without marrow involvement",
        p,
        {NB_CN: NEVER, NB_IR: Expect(ELIGIBLE), STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: NEVER},
        use_prefetch=True,
    )


def _nb_marrow(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-marrow", today, age=(6, 200), sex="male", name="Noah")
    nb_history(p, last_chemo_days_ago=40)
    p.condition("bone-marrow-involvement", onset_days_ago=300)
    add_blood(p, Blood(anc=0.7, wbc=2.4, platelets=32), units="cells")
    add_screening(p, weight_kg=21, height_cm=117, neuroblastoma=True)
    p.lansky(70, days_ago=5)
    return DemoPatient(
        p.patient_id,
        "6 y, neuroblastoma with marrow involvement: ANC 0.7 and platelets 32 meet the marrow thresholds",
        p,
        {NB_CN: Expect(ELIGIBLE), NB_IR: Expect(ELIGIBLE), STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: NEVER},
        use_prefetch=False,
    )


def _nb_anticoagulated(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-anticoag", today, age=(8, 10), sex="female", name="Ava")
    nb_history(p, last_chemo_days_ago=45)
    add_blood(p, Blood(), units="si")
    add_screening(p, weight_kg=26, height_cm=128, neuroblastoma=True)
    p.lansky(80, days_ago=2)
    p.med_statement("enoxaparin", start_days_ago=20, status="active", dose=(25, "mg"), route="subcutaneous")
    return DemoPatient(
        p.patient_id,
        "8 y, neuroblastoma, on enoxaparin (current anticoagulant)",
        p,
        {NB_CN: NEVER, NB_IR: Expect(ELIGIBLE), STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: _ages_out()},
        use_prefetch=True,
    )


def _nb_age_17(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-age-17", today, age=(17, 200), sex="male", name="Omar")
    nb_history(p, diagnosed_days_ago=1500, last_chemo_days_ago=60)
    add_blood(p, Blood(creatinine=0.8, creatinine_uln=1.1), units="us")
    add_screening(p, weight_kg=61, height_cm=172, neuroblastoma=True)
    p.karnofsky(80, days_ago=4)
    return DemoPatient(
        p.patient_id,
        "17 y, neuroblastoma: within 1 d-18 y, above the 2-16 y range of the other neuroblastoma trial",
        p,
        {NB_CN: Expect(ELIGIBLE), NB_IR: NEVER, STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: _ages_out()},
        use_prefetch=False,
    )


def _nb_chemo_wait(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-chemo-wait", today, age=(8, 150), sex="male", name="Ethan")
    nb_history(p, last_chemo_days_ago=31)
    p.med_admin("carboplatin", days_ago=10, start_days_ago=12, dose=(250, "mg"), route="intravenous")
    p.med_admin("etoposide", days_ago=10, start_days_ago=12, dose=(100, "mg"), route="intravenous")
    p.med_statement(
        Drug((), "ondansetron 4 mg as needed for nausea"), start_days_ago=12, end_days_ago=9, via="text"
    )
    add_blood(p, Blood(), units="si")
    add_screening(p, weight_kg=27, height_cm=130, neuroblastoma=True)
    p.lansky(70, days_ago=3)
    return DemoPatient(
        p.patient_id,
        "8 y, neuroblastoma, carboplatin/etoposide ended 10 days ago (21-day wait)",
        p,
        {
            NB_CN: Expect(NOT_YET, in_days=11),
            NB_IR: Expect(ELIGIBLE),
            STS_CN: NEVER,
            SARCOMA_ES: NEVER,
            ADULT_CN: _ages_out(),
        },
        use_prefetch=True,
    )


def _nb_nitrosourea_wait(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-nitrosourea-wait", today, age=(9, 60), sex="female", name="Sofia")
    nb_history(p, last_chemo_days_ago=90)
    p.med_admin("lomustine", days_ago=30, dose=(90, "mg"), route="oral", via="contained")
    add_blood(p, Blood(), units="cells")
    add_screening(p, weight_kg=30, height_cm=134, neuroblastoma=True)
    p.lansky(80, days_ago=4)
    return DemoPatient(
        p.patient_id,
        "9 y, neuroblastoma, lomustine (a nitrosourea) 30 days ago (42-day wait); drug in a contained Medication",
        p,
        {
            NB_CN: Expect(NOT_YET, in_days=12),
            NB_IR: Expect(ELIGIBLE),
            STS_CN: NEVER,
            SARCOMA_ES: NEVER,
            ADULT_CN: _ages_out(),
        },
        use_prefetch=False,
    )


def _nb_growth_factor_wait(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-gcsf-wait", today, age=(4, 20), sex="male", name="Lucas")
    nb_history(p, last_chemo_days_ago=28)
    p.med_admin("pegfilgrastim", days_ago=5, dose=(2, "mg"), route="subcutaneous", via="reference")
    add_blood(p, Blood(creatinine=0.35, creatinine_uln=0.5), units="us")
    add_screening(p, weight_kg=16, height_cm=102, neuroblastoma=True)
    p.lansky(70, days_ago=3)
    return DemoPatient(
        p.patient_id,
        "4 y, neuroblastoma, pegfilgrastim 5 days ago (14-day wait); drug in a separate Medication resource",
        p,
        {
            NB_CN: Expect(NOT_YET, in_days=9),
            NB_IR: Expect(ELIGIBLE),
            STS_CN: NEVER,
            SARCOMA_ES: NEVER,
            ADULT_CN: _ages_out(),
        },
        use_prefetch=True,
    )


def _nb_transplant_wait(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-transplant-wait", today, age=(6, 90), sex="female", name="Emma")
    nb_history(p, last_chemo_days_ago=48)
    p.med_admin("busulfan", days_ago=46, start_days_ago=49, dose=(60, "mg"), route="intravenous")
    p.procedure("hsct-autologous", days_ago=40)
    add_blood(p, Blood(platelets=120), units="si")
    add_screening(p, weight_kg=20, height_cm=115, neuroblastoma=True)
    p.lansky(70, days_ago=2)
    return DemoPatient(
        p.patient_id,
        "6 y, neuroblastoma, autologous stem cell transplant 40 days ago (56-day wait)",
        p,
        {
            NB_CN: Expect(NOT_YET, in_days=16),
            NB_IR: Expect(ELIGIBLE),
            STS_CN: NEVER,
            SARCOMA_ES: NEVER,
            ADULT_CN: _ages_out(),
        },
        use_prefetch=False,
    )


def _nb_mibg_wait(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "nb-mibg-wait", today, age=(11, 30), sex="male", name="Adam")
    nb_history(p, last_chemo_days_ago=120)
    p.med_admin("iobenguane-i131", days_ago=22, route="intravenous")
    p.procedure("radionuclide-therapy", text="131I-MIBG therapy", days_ago=22)
    add_blood(p, Blood(creatinine=0.55, creatinine_uln=0.8), units="si")
    add_screening(p, weight_kg=35, height_cm=145, neuroblastoma=True)
    p.lansky(80, days_ago=4)
    return DemoPatient(
        p.patient_id,
        "11 y, neuroblastoma, 131I-MIBG therapy 22 days ago (42-day wait)",
        p,
        {
            NB_CN: Expect(NOT_YET, in_days=20),
            NB_IR: Expect(ELIGIBLE),
            STS_CN: NEVER,
            SARCOMA_ES: NEVER,
            ADULT_CN: _ages_out(),
        },
        use_prefetch=True,
    )


def _sts_eligible(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "sts-eligible", today, age=(10, 75), sex="male", name="Liam")
    sarcoma_history(p, "embryonal-rhabdomyosarcoma")
    add_blood(p, Blood(creatinine=0.5, creatinine_uln=0.8), units="us")
    add_screening(p, weight_kg=32, height_cm=140)
    p.lansky(80, days_ago=3)
    return DemoPatient(
        p.patient_id,
        "10 y, relapsed embryonal rhabdomyosarcoma, full work-up",
        p,
        {
            NB_CN: NEVER,
            NB_IR: NEVER,
            STS_CN: Expect(POSSIBLY),
            SARCOMA_ES: Expect(ELIGIBLE),
            ADULT_CN: _ages_out(),
        },
        use_prefetch=False,
    )


def _sts_low_lansky(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "sts-low-lansky", today, age=(12, 120), sex="female", name="Zoe")
    sarcoma_history(p, "synovial-sarcoma")
    add_blood(p, Blood(creatinine=0.6, creatinine_uln=0.9), units="si")
    add_screening(p, weight_kg=38, height_cm=150)
    p.lab("pregnancy-test", coded="negative", days_ago=2)
    p.lansky(40, days_ago=2)
    return DemoPatient(
        p.patient_id,
        "12 y, synovial sarcoma, Lansky 40 (below 50 and 60)",
        p,
        {NB_CN: NEVER, NB_IR: NEVER, STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: _ages_out()},
        use_prefetch=True,
    )


def _sarcoma_young_adult(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "sarcoma-ya-eligible", today, age=(24, 50), sex="male", name="Hugo")
    sarcoma_history(p, "ewing-sarcoma", diagnosed_days_ago=900)
    add_blood(p, Blood(creatinine=0.9, creatinine_uln=1.2, hemoglobin=132), units="cells")
    add_screening(p, weight_kg=72, height_cm=178, tumor_mm=45)
    p.karnofsky(80, days_ago=3)
    p.ecog(1, days_ago=3)
    return DemoPatient(
        p.patient_id,
        "24 y, relapsed Ewing sarcoma, Karnofsky 80 and ECOG 1, full work-up",
        p,
        {NB_CN: NEVER, NB_IR: NEVER, STS_CN: NEVER, SARCOMA_ES: Expect(ELIGIBLE), ADULT_CN: Expect(ELIGIBLE)},
        use_prefetch=False,
    )


def _sarcoma_low_lvef(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "sarcoma-low-lvef", today, age=(27, 10), sex="female", name="Ines")
    sarcoma_history(p, "osteosarcoma", diagnosed_days_ago=1100)
    add_blood(p, Blood(creatinine=0.7, creatinine_uln=1.0, hemoglobin=121), units="si")
    add_screening(p, weight_kg=58, height_cm=165, lvef=35, shortening_fraction=18, tumor_mm=40)
    p.lab("pregnancy-test", coded="negative", days_ago=2)
    p.karnofsky(70, days_ago=3)
    p.ecog(2, days_ago=3)
    return DemoPatient(
        p.patient_id,
        "27 y, osteosarcoma after anthracyclines: LVEF 35 %, ECOG 2",
        p,
        {NB_CN: NEVER, NB_IR: NEVER, STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: NEVER},
        use_prefetch=True,
    )


def _adult_eligible(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "adult-eligible", today, age=(52, 120), sex="female", name="Helen")
    p.condition("metastatic-malignancy", onset_days_ago=800)
    p.med_admin("carboplatin", days_ago=120, dose=(600, "mg"), route="intravenous")
    p.med_admin("docetaxel", days_ago=60, dose=(120, "mg"), route="intravenous")
    add_blood(
        p,
        Blood(
            anc=3.5, wbc=6.5, platelets=240, hemoglobin=124, bilirubin=0.6, creatinine=0.8, creatinine_uln=1.1
        ),
        units="us",
    )
    add_screening(p, weight_kg=66, height_cm=164, tumor_mm=40)
    p.ecog(1, days_ago=4)
    return DemoPatient(
        p.patient_id,
        "52 y, metastatic carcinoma after two lines of chemotherapy, ECOG 1",
        p,
        {NB_CN: NEVER, NB_IR: NEVER, STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: Expect(ELIGIBLE)},
        use_prefetch=False,
    )


def _adult_hbv(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "adult-hbv", today, age=(60, 30), sex="male", name="Victor")
    p.condition("metastatic-malignancy", onset_days_ago=700)
    p.condition("hepatitis-b", onset_days_ago=4000)
    p.med_admin("gemcitabine", days_ago=50, dose=(1800, "mg"), route="intravenous")
    add_blood(
        p,
        Blood(anc=3.0, wbc=5.8, platelets=190, hemoglobin=128, creatinine=0.9, creatinine_uln=1.2),
        units="si",
    )
    add_screening(p, weight_kg=78, height_cm=175, hbsag="positive", tumor_mm=35)
    p.ecog(1, days_ago=4)
    return DemoPatient(
        p.patient_id,
        "60 y, metastatic cancer, chronic hepatitis B carrier (HBsAg positive)",
        p,
        {NB_CN: NEVER, NB_IR: NEVER, STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: NEVER},
        use_prefetch=True,
    )


def _no_cancer(today: dt.date) -> DemoPatient:
    p = PatientBuilder(PREFIX + "no-cancer", today, age=(9, 250), sex="female", name="Lily")
    p.condition("celiac-disease", onset_days_ago=1200)
    add_blood(p, Blood(), units="us")
    add_screening(p, weight_kg=29, height_cm=133, tumor_mm=None)
    p.lansky(100, days_ago=10)
    p.immunization("mmr", days_ago=400)
    return DemoPatient(
        p.patient_id,
        "9 y, coeliac disease, no cancer",
        p,
        {NB_CN: NEVER, NB_IR: NEVER, STS_CN: NEVER, SARCOMA_ES: NEVER, ADULT_CN: NEVER},
        use_prefetch=False,
    )


FACTORIES: tuple[Callable[[dt.date], DemoPatient], ...] = (
    _nb_eligible,
    _nb_low_anc,
    _nb_marrow,
    _nb_anticoagulated,
    _nb_age_17,
    _nb_chemo_wait,
    _nb_nitrosourea_wait,
    _nb_growth_factor_wait,
    _nb_transplant_wait,
    _nb_mibg_wait,
    _sts_eligible,
    _sts_low_lansky,
    _sarcoma_young_adult,
    _sarcoma_low_lvef,
    _adult_eligible,
    _adult_hbv,
    _no_cancer,
)


def demo_patients(today: dt.date | None = None) -> list[DemoPatient]:
    """Every demo patient, dated relative to ``today`` (default: the local date now)."""
    today = today or dt.date.today()
    return [factory(today) for factory in FACTORIES]


def transaction_bundles(today: dt.date | None = None) -> list[tuple[str, dict]]:
    """(patient id, transaction Bundle) for every demo patient."""
    return [(d.patient_id, d.builder.transaction_bundle()) for d in demo_patients(today)]
