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
from functools import partial
from typing import Any

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
    pregnancy_test: str | None = None,
) -> None:
    """Coagulation, ECG/echo, NYHA class, urine, virology, SpO2, weight/height, tumour size (and VMA/HVA,
    and a pregnancy test two days old when ``pregnancy_test`` gives its result)."""
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
    if pregnancy_test is not None:
        p.lab("pregnancy-test", coded=pregnancy_test, days_ago=2)


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
Step = Callable[[PatientBuilder], object]


def _call(method: str, *args: Any, **kwargs: Any) -> Step:
    """A recipe step: ``PatientBuilder.<method>(*args, **kwargs)``."""
    return lambda p: getattr(p, method)(*args, **kwargs)


def _verdicts(overrides: dict[str, Expect] | None = None) -> dict[str, Expect]:
    """The expected verdict for every trial in ``TRIALS``: ineligible unless overridden."""
    return {trial: NEVER for trial in TRIALS} | (overrides or {})


@dataclass(frozen=True)
class Recipe:
    """One demo patient as data: records are added in a fixed order (``history`` steps, blood counts and
    chemistry, the screening work-up, ``after`` steps), so ids and resources are the same on every run."""

    slug: str  # the patient id without PREFIX
    summary: str
    age: tuple[int, int]  # (years, extra days)
    sex: str
    name: str
    history: tuple[Step, ...]
    blood: Blood
    units: str
    screening: dict[str, Any]  # keywords of add_screening
    after: tuple[Step, ...]  # performance scores and late records
    expected: dict[str, Expect]
    use_prefetch: bool

    def build(self, today: dt.date) -> DemoPatient:
        p = PatientBuilder(PREFIX + self.slug, today, age=self.age, sex=self.sex, name=self.name)
        for step in self.history:
            step(p)
        add_blood(p, self.blood, units=self.units)
        add_screening(p, **self.screening)
        for step in self.after:
            step(p)
        return DemoPatient(p.patient_id, self.summary, p, self.expected, use_prefetch=self.use_prefetch)


def _factory(recipe: Recipe) -> Callable[[dt.date], DemoPatient]:
    """``today -> DemoPatient`` named after the recipe (test ids use the name)."""

    def build(today: dt.date) -> DemoPatient:
        return recipe.build(today)

    build.__name__ = build.__qualname__ = "_" + recipe.slug.replace("-", "_")
    return build


def _nb_waiting(in_days: int) -> dict[str, Expect]:
    """Waiting for NCT06631391 only; eligible for NCT06674265; a child for the adult trial."""
    return _verdicts(
        {NB_CN: Expect(NOT_YET, in_days=in_days), NB_IR: Expect(ELIGIBLE), ADULT_CN: _ages_out()}
    )


def _nb(weight_kg: float, height_cm: float) -> dict[str, Any]:
    return {"weight_kg": weight_kg, "height_cm": height_cm, "neuroblastoma": True}


# ---- the patients ---------------------------------------------------------------------------------------

RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "nb-eligible",
        "7 y, relapsed neuroblastoma, last chemotherapy 35 days ago, full work-up",
        (7, 40),
        "male",
        "Leo",
        history=(partial(nb_history, last_chemo_days_ago=35),),
        blood=Blood(),
        units="si",
        screening=_nb(23, 122),
        after=(_call("lansky", 80, days_ago=4), _call("immunization", "influenza-inactivated", days_ago=20)),
        expected=_verdicts({NB_CN: Expect(ELIGIBLE), NB_IR: Expect(ELIGIBLE), ADULT_CN: _ages_out()}),
        use_prefetch=False,
    ),
    Recipe(
        "nb-low-anc",
        "5 y, neuroblastoma, ANC 0.6 x10^9/L without marrow involvement",
        (5, 100),
        "female",
        "Mia",
        history=(partial(nb_history, last_chemo_days_ago=50),),
        blood=Blood(anc=0.6, wbc=2.1),
        units="us",
        screening=_nb(18, 108),
        after=(_call("lansky", 70, days_ago=3),),
        expected=_verdicts({NB_IR: Expect(ELIGIBLE)}),
        use_prefetch=True,
    ),
    Recipe(
        "nb-marrow",
        "6 y, neuroblastoma with marrow involvement: ANC 0.7 and platelets 32 meet the marrow thresholds",
        (6, 200),
        "male",
        "Noah",
        history=(
            partial(nb_history, last_chemo_days_ago=40),
            _call("condition", "bone-marrow-involvement", onset_days_ago=300),
        ),
        blood=Blood(anc=0.7, wbc=2.4, platelets=32),
        units="cells",
        screening=_nb(21, 117),
        after=(_call("lansky", 70, days_ago=5),),
        expected=_verdicts({NB_CN: Expect(ELIGIBLE), NB_IR: Expect(ELIGIBLE)}),
        use_prefetch=False,
    ),
    Recipe(
        "nb-anticoag",
        "8 y, neuroblastoma, on enoxaparin (current anticoagulant)",
        (8, 10),
        "female",
        "Ava",
        history=(partial(nb_history, last_chemo_days_ago=45),),
        blood=Blood(),
        units="si",
        screening=_nb(26, 128),
        after=(
            _call("lansky", 80, days_ago=2),
            _call(
                "med_statement",
                "enoxaparin",
                start_days_ago=20,
                status="active",
                dose=(25, "mg"),
                route="subcutaneous",
            ),
        ),
        expected=_verdicts({NB_IR: Expect(ELIGIBLE), ADULT_CN: _ages_out()}),
        use_prefetch=True,
    ),
    Recipe(
        "nb-age-17",
        "17 y, neuroblastoma: within 1 d-18 y, above the 2-16 y range of the other neuroblastoma trial",
        (17, 200),
        "male",
        "Omar",
        history=(partial(nb_history, diagnosed_days_ago=1500, last_chemo_days_ago=60),),
        blood=Blood(creatinine=0.8, creatinine_uln=1.1),
        units="us",
        screening=_nb(61, 172),
        after=(_call("karnofsky", 80, days_ago=4),),
        expected=_verdicts({NB_CN: Expect(ELIGIBLE), ADULT_CN: _ages_out()}),
        use_prefetch=False,
    ),
    Recipe(
        "nb-chemo-wait",
        "8 y, neuroblastoma, carboplatin/etoposide ended 10 days ago (21-day wait)",
        (8, 150),
        "male",
        "Ethan",
        history=(
            partial(nb_history, last_chemo_days_ago=31),
            _call(
                "med_admin",
                "carboplatin",
                days_ago=10,
                start_days_ago=12,
                dose=(250, "mg"),
                route="intravenous",
            ),
            _call(
                "med_admin",
                "etoposide",
                days_ago=10,
                start_days_ago=12,
                dose=(100, "mg"),
                route="intravenous",
            ),
            _call(
                "med_statement",
                Drug((), "ondansetron 4 mg as needed for nausea"),
                start_days_ago=12,
                end_days_ago=9,
                via="text",
            ),
        ),
        blood=Blood(),
        units="si",
        screening=_nb(27, 130),
        after=(_call("lansky", 70, days_ago=3),),
        expected=_nb_waiting(11),
        use_prefetch=True,
    ),
    Recipe(
        "nb-nitrosourea-wait",
        "9 y, neuroblastoma, lomustine (a nitrosourea) 30 days ago (42-day wait); drug in a contained Medication",
        (9, 60),
        "female",
        "Sofia",
        history=(
            partial(nb_history, last_chemo_days_ago=90),
            _call("med_admin", "lomustine", days_ago=30, dose=(90, "mg"), route="oral", via="contained"),
        ),
        blood=Blood(),
        units="cells",
        screening=_nb(30, 134),
        after=(_call("lansky", 80, days_ago=4),),
        expected=_nb_waiting(12),
        use_prefetch=False,
    ),
    Recipe(
        "nb-gcsf-wait",
        "4 y, neuroblastoma, pegfilgrastim 5 days ago (14-day wait); drug in a separate Medication resource",
        (4, 20),
        "male",
        "Lucas",
        history=(
            partial(nb_history, last_chemo_days_ago=28),
            _call(
                "med_admin",
                "pegfilgrastim",
                days_ago=5,
                dose=(2, "mg"),
                route="subcutaneous",
                via="reference",
            ),
        ),
        blood=Blood(creatinine=0.35, creatinine_uln=0.5),
        units="us",
        screening=_nb(16, 102),
        after=(_call("lansky", 70, days_ago=3),),
        expected=_nb_waiting(9),
        use_prefetch=True,
    ),
    Recipe(
        "nb-transplant-wait",
        "6 y, neuroblastoma, autologous stem cell transplant 40 days ago (56-day wait)",
        (6, 90),
        "female",
        "Emma",
        history=(
            partial(nb_history, last_chemo_days_ago=48),
            _call(
                "med_admin", "busulfan", days_ago=46, start_days_ago=49, dose=(60, "mg"), route="intravenous"
            ),
            _call("procedure", "hsct-autologous", days_ago=40),
        ),
        blood=Blood(platelets=120),
        units="si",
        screening=_nb(20, 115),
        after=(_call("lansky", 70, days_ago=2),),
        expected=_nb_waiting(16),
        use_prefetch=False,
    ),
    Recipe(
        "nb-mibg-wait",
        "11 y, neuroblastoma, 131I-MIBG therapy 22 days ago (42-day wait)",
        (11, 30),
        "male",
        "Adam",
        history=(
            partial(nb_history, last_chemo_days_ago=120),
            _call("med_admin", "iobenguane-i131", days_ago=22, route="intravenous"),
            _call("procedure", "radionuclide-therapy", text="131I-MIBG therapy", days_ago=22),
        ),
        blood=Blood(creatinine=0.55, creatinine_uln=0.8),
        units="si",
        screening=_nb(35, 145),
        after=(_call("lansky", 80, days_ago=4),),
        expected=_nb_waiting(20),
        use_prefetch=True,
    ),
    Recipe(
        "sts-eligible",
        "10 y, relapsed embryonal rhabdomyosarcoma, full work-up",
        (10, 75),
        "male",
        "Liam",
        history=(partial(sarcoma_history, condition="embryonal-rhabdomyosarcoma"),),
        blood=Blood(creatinine=0.5, creatinine_uln=0.8),
        units="us",
        screening={"weight_kg": 32, "height_cm": 140},
        after=(_call("lansky", 80, days_ago=3),),
        expected=_verdicts({STS_CN: Expect(POSSIBLY), SARCOMA_ES: Expect(ELIGIBLE), ADULT_CN: _ages_out()}),
        use_prefetch=False,
    ),
    Recipe(
        "sts-low-lansky",
        "12 y, synovial sarcoma, Lansky 40 (below 50 and 60)",
        (12, 120),
        "female",
        "Zoe",
        history=(partial(sarcoma_history, condition="synovial-sarcoma"),),
        blood=Blood(creatinine=0.6, creatinine_uln=0.9),
        units="si",
        screening={"weight_kg": 38, "height_cm": 150, "pregnancy_test": "negative"},
        after=(_call("lansky", 40, days_ago=2),),
        expected=_verdicts({ADULT_CN: _ages_out()}),
        use_prefetch=True,
    ),
    Recipe(
        "sarcoma-ya-eligible",
        "24 y, relapsed Ewing sarcoma, Karnofsky 80 and ECOG 1, full work-up",
        (24, 50),
        "male",
        "Hugo",
        history=(partial(sarcoma_history, condition="ewing-sarcoma", diagnosed_days_ago=900),),
        blood=Blood(creatinine=0.9, creatinine_uln=1.2, hemoglobin=132),
        units="cells",
        screening={"weight_kg": 72, "height_cm": 178, "tumor_mm": 45},
        after=(_call("karnofsky", 80, days_ago=3), _call("ecog", 1, days_ago=3)),
        expected=_verdicts({SARCOMA_ES: Expect(ELIGIBLE), ADULT_CN: Expect(ELIGIBLE)}),
        use_prefetch=False,
    ),
    Recipe(
        "sarcoma-low-lvef",
        "27 y, osteosarcoma after anthracyclines: LVEF 35 %, ECOG 2",
        (27, 10),
        "female",
        "Ines",
        history=(partial(sarcoma_history, condition="osteosarcoma", diagnosed_days_ago=1100),),
        blood=Blood(creatinine=0.7, creatinine_uln=1.0, hemoglobin=121),
        units="si",
        screening={
            "weight_kg": 58,
            "height_cm": 165,
            "lvef": 35,
            "shortening_fraction": 18,
            "tumor_mm": 40,
            "pregnancy_test": "negative",
        },
        after=(_call("karnofsky", 70, days_ago=3), _call("ecog", 2, days_ago=3)),
        expected=_verdicts(),
        use_prefetch=True,
    ),
    Recipe(
        "adult-eligible",
        "52 y, metastatic carcinoma after two lines of chemotherapy, ECOG 1",
        (52, 120),
        "female",
        "Helen",
        history=(
            _call("condition", "metastatic-malignancy", onset_days_ago=800),
            _call("med_admin", "carboplatin", days_ago=120, dose=(600, "mg"), route="intravenous"),
            _call("med_admin", "docetaxel", days_ago=60, dose=(120, "mg"), route="intravenous"),
        ),
        blood=Blood(
            anc=3.5, wbc=6.5, platelets=240, hemoglobin=124, bilirubin=0.6, creatinine=0.8, creatinine_uln=1.1
        ),
        units="us",
        screening={"weight_kg": 66, "height_cm": 164, "tumor_mm": 40},
        after=(_call("ecog", 1, days_ago=4),),
        expected=_verdicts({ADULT_CN: Expect(ELIGIBLE)}),
        use_prefetch=False,
    ),
    Recipe(
        "adult-hbv",
        "60 y, metastatic cancer, chronic hepatitis B carrier (HBsAg positive)",
        (60, 30),
        "male",
        "Victor",
        history=(
            _call("condition", "metastatic-malignancy", onset_days_ago=700),
            _call("condition", "hepatitis-b", onset_days_ago=4000),
            _call("med_admin", "gemcitabine", days_ago=50, dose=(1800, "mg"), route="intravenous"),
        ),
        blood=Blood(anc=3.0, wbc=5.8, platelets=190, hemoglobin=128, creatinine=0.9, creatinine_uln=1.2),
        units="si",
        screening={"weight_kg": 78, "height_cm": 175, "hbsag": "positive", "tumor_mm": 35},
        after=(_call("ecog", 1, days_ago=4),),
        expected=_verdicts(),
        use_prefetch=True,
    ),
    Recipe(
        "no-cancer",
        "9 y, coeliac disease, no cancer",
        (9, 250),
        "female",
        "Lily",
        history=(_call("condition", "celiac-disease", onset_days_ago=1200),),
        blood=Blood(),
        units="us",
        screening={"weight_kg": 29, "height_cm": 133, "tumor_mm": None},
        after=(_call("lansky", 100, days_ago=10), _call("immunization", "mmr", days_ago=400)),
        expected=_verdicts(),
        use_prefetch=False,
    ),
)

FACTORIES: tuple[Callable[[dt.date], DemoPatient], ...] = tuple(_factory(r) for r in RECIPES)


def demo_patients(today: dt.date | None = None) -> list[DemoPatient]:
    """Every demo patient, dated relative to ``today`` (default: the local date now)."""
    today = today or dt.date.today()
    return [factory(today) for factory in FACTORIES]


def transaction_bundles(today: dt.date | None = None) -> list[tuple[str, dict]]:
    """(patient id, transaction Bundle) for every demo patient."""
    return [(d.patient_id, d.builder.transaction_bundle()) for d in demo_patients(today)]
