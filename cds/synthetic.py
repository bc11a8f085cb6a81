"""Synthetic FHIR R4 patients with dates relative to an evaluation date.

A small fluent builder used by the tests and by the demo (``cds/demo``). Every helper appends one
resource (a plain dict, valid for ``fhir.resources.R4B``) and returns the builder::

    p = (PatientBuilder("nb-1", today, age=(6, 30), sex="female")
         .condition("neuroblastoma", onset_days_ago=400)
         .lab("anc", 1.2, "10*9/L", low=1.5, high=8.0, days_ago=3)
         .lansky(70, days_ago=5)
         .med_admin("carboplatin", days_ago=30, dose=(300, "mg"), route="intravenous"))
    bundle = p.transaction_bundle()       # PUT with stable ids, for a FHIR server
    request = p.hook_request()            # a patient-view request with prefetch

Dates: ``days_ago=N`` means the evaluation date minus N days. A string is used verbatim, so partial
dates (``"2024-05"``) can be written too. Ids are ``<patient id>-<kind>-<n>`` (stable across runs) unless
given. Codes come from the project's reference code list (verified rows preferred); shortcuts below name
the ones the tests use often. Nothing here knows about trials or mappings.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CVX = "http://hl7.org/fhir/sid/cvx"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
MCODE_PROCEDURE_INTENT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-procedure-intent"
CTGOV = "https://clinicaltrials.gov"

Coding = tuple[str, str, str]  # (system, code, display)

# Named condition shortcuts (codes.yaml "conditions", V1 unless marked).
CONDITIONS: dict[str, Coding] = {
    "neuroblastoma": (SCT, "432328008", "Neuroblastoma (disorder)"),
    "neuroblastoma-adrenal": (SCT, "281562007", "Adrenal neuroblastoma (disorder)"),
    "neuroblastoma-adrenal-icd10": (
        ICD10CM,
        "C74.90",
        "Malignant neoplasm of unspecified part of unspecified adrenal gland",
    ),
    "olfactory-neuroblastoma": (SCT, "422886007", "Olfactory neuroblastoma (disorder)"),
    "sarcoma": (SCT, "424413001", "Sarcoma (disorder)"),
    "soft-tissue-sarcoma": (SCT, "424952003", "Sarcoma of soft tissue (disorder)"),
    "rhabdomyosarcoma": (SCT, "302847003", "Rhabdomyosarcoma (disorder)"),
    "embryonal-rhabdomyosarcoma": (SCT, "404051002", "Embryonal rhabdomyosarcoma (disorder)"),
    "alveolar-rhabdomyosarcoma": (SCT, "404053004", "Alveolar rhabdomyosarcoma (disorder)"),
    "synovial-sarcoma": (SCT, "302851001", "Synovial sarcoma (disorder)"),
    "ewing-sarcoma": (SCT, "307608006", "Ewing's sarcoma of bone (disorder)"),
    "osteosarcoma": (SCT, "307576001", "Osteosarcoma of bone (disorder)"),
    "soft-tissue-sarcoma-icd10": (
        ICD10CM,
        "C49.9",
        "Malignant neoplasm of connective and soft tissue, unspecified",
    ),
    "bone-sarcoma-icd10": (
        ICD10CM,
        "C41.9",
        "Malignant neoplasm of bone and articular cartilage, unspecified",
    ),
    "malignant-neoplasm": (SCT, "363346000", "Malignant neoplastic disease (disorder)"),
    "metastatic-malignancy": (SCT, "128462008", "Metastatic malignant neoplasm (disorder)"),
    "disseminated-malignancy-icd10": (ICD10CM, "C80.0", "Disseminated malignant neoplasm, unspecified"),
    "bone-marrow-involvement": (SCT, "94217008", "Secondary malignant neoplasm of bone marrow (disorder)"),
    "liver-metastasis": (SCT, "94381002", "Secondary malignant neoplasm of liver (disorder)"),
    "brain-metastasis": (SCT, "94225005", "Secondary malignant neoplasm of brain (disorder)"),
    "gvhd": (SCT, "234646005", "Graft-versus-host disease (disorder)"),
    "chronic-gvhd-icd10": (ICD10CM, "D89.811", "Chronic graft-versus-host disease"),
    "hiv": (SCT, "86406008", "Human immunodeficiency virus infection (disorder)"),
    "hepatitis-b": (SCT, "186639003", "Chronic viral hepatitis B without delta-agent (disorder)"),
    "hepatitis-c": (SCT, "128302006", "Chronic hepatitis C (disorder)"),
    "interstitial-lung-disease": (ICD10CM, "J84.9", "Interstitial pulmonary disease, unspecified"),
    "pulmonary-embolism-icd10": (ICD10CM, "I26.99", "Other pulmonary embolism without acute cor pulmonale"),
    "stroke": (SCT, "230690007", "Cerebrovascular accident (disorder)"),
    "pregnancy": (SCT, "77386006", "Pregnancy (finding)"),
    "celiac-disease": (ICD10CM, "K90.0", "Celiac disease"),
    "autoimmune-thyroiditis": (ICD10CM, "E06.3", "Autoimmune thyroiditis"),
}

# Named lab shortcuts: name -> (LOINC, display). V1 codes where the reference list has them.
LABS: dict[str, tuple[str, str]] = {
    "anc": ("751-8", "Neutrophils [#/volume] in Blood by Automated count"),
    "anc-manual": ("753-4", "Neutrophils [#/volume] in Blood by Manual count"),
    "neutrophils-pct": ("770-8", "Neutrophils/100 leukocytes in Blood by Automated count"),
    "wbc": ("6690-2", "Leukocytes [#/volume] in Blood by Automated count"),
    "platelets": ("777-3", "Platelets [#/volume] in Blood by Automated count"),
    "hemoglobin": ("718-7", "Hemoglobin [Mass/volume] in Blood"),
    "hemoglobin-molar": ("59260-0", "Hemoglobin [Moles/volume] in Blood"),
    "bilirubin-total": ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
    "bilirubin-total-molar": ("14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma"),
    "creatinine": ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
    "creatinine-molar": ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma"),
    "crcl-measured": ("2164-2", "Creatinine renal clearance in 24 hour Urine and Serum or Plasma"),
    "alt": ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    "ast": ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    "inr": ("6301-6", "INR in Platelet poor plasma by Coagulation assay"),
    "pt": ("5902-2", "Prothrombin time (PT)"),
    "aptt": ("14979-9", "aPTT in Platelet poor plasma by Coagulation assay"),
    "qtc": ("8636-3", "Q-T interval corrected"),
    "lvef": ("10230-1", "Left ventricular Ejection fraction"),
    "shortening-fraction": ("18051-3", "Left ventricular Fractional shortening (by US)"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    "body-weight": ("29463-7", "Body weight"),
    "body-height": ("8302-2", "Body height"),
    "urine-protein-24h": ("2889-4", "Protein [Mass/time] in 24 hour Urine"),
    "urine-protein-dipstick": ("20454-5", "Protein [Presence] in Urine by Test strip"),
    "pregnancy-test": ("2106-3", "Choriogonadotropin (pregnancy test) [Presence] in Urine"),
    "hcg": ("19080-1", "Choriogonadotropin [Units/volume] in Serum or Plasma"),
    "hbsag": ("5196-1", "Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay"),
    "hbv-dna": (
        "42595-9",
        "Hepatitis B virus DNA [Units/volume] (viral load) in Serum or Plasma by NAA with probe detection",
    ),
    "anti-hcv": ("13955-0", "Hepatitis C virus Ab [Presence] in Serum or Plasma by Immunoassay"),
    "hiv": ("56888-1", "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay"),
    "vma-urine": ("3124-5", "Vanillylmandelate/Creatinine [Mass Ratio] in Urine"),
    "hva-urine": ("11146-8", "Homovanillate/Creatinine [Mass Ratio] in Urine"),
    "tumor-size": ("21889-1", "Size Tumor"),
}
VITAL_SIGN_LABS = frozenset({"body-weight", "body-height", "spo2"})

# Qualitative answers (SNOMED CT qualifier values) for valueCodeableConcept.
ANSWERS: dict[str, Coding] = {
    "positive": (SCT, "10828004", "Positive (qualifier value)"),
    "negative": (SCT, "260385009", "Negative (qualifier value)"),
    "trace": (SCT, "260405006", "Trace (qualifier value)"),
}

# Drugs: name -> (RxNorm ingredient RXCUI or None, ATC or None). codes.yaml "drugs", all V1.
DRUGS: dict[str, tuple[str | None, str | None]] = {
    "cyclophosphamide": ("3002", "L01AA01"),
    "ifosfamide": ("5657", "L01AA06"),
    "doxorubicin": ("3639", "L01DB01"),
    "etoposide": ("4179", "L01CB01"),
    "carboplatin": ("40048", "L01XA02"),
    "cisplatin": ("2555", "L01XA01"),
    "topotecan": ("57308", "L01CE01"),
    "irinotecan": ("51499", "L01CE02"),
    "temozolomide": ("37776", "L01AX03"),
    "vincristine": ("11202", "L01CA02"),
    "melphalan": ("6718", "L01AA03"),
    "busulfan": ("1828", "L01AB01"),
    "gemcitabine": ("12574", "L01BC05"),
    "docetaxel": ("72962", "L01CD02"),
    "carmustine": ("2105", "L01AD01"),
    "lomustine": ("6466", "L01AD02"),
    "pazopanib": ("714438", "L01EX03"),
    "isotretinoin": ("6064", "D10BA01"),
    "dinutuximab": ("1606274", None),
    "naxitamab": ("2474039", "L01FX21"),
    "pegfilgrastim": ("338036", "L03AA13"),
    "filgrastim": ("68442", "L03AA02"),
    "sargramostim": ("69634", "L03AA09"),
    "iobenguane-i131": ("2053281", "V10XA02"),
    "prednisone": ("8640", "H02AB07"),
    "prednisolone": ("8638", "H02AB06"),
    "methylprednisolone": ("6902", "H02AB04"),
    "dexamethasone": ("3264", "H02AB02"),
    "hydrocortisone": ("5492", "H02AB09"),
    "tacrolimus": ("42316", "L04AD02"),
    "cyclosporine": ("3008", "L04AD01"),
    "ruxolitinib": ("1193326", "L01EJ01"),
    "warfarin": ("11289", "B01AA03"),
    "enoxaparin": ("67108", "B01AB05"),
    "rivaroxaban": ("1114195", "B01AF01"),
    "rifampin": ("9384", None),
    "voriconazole": ("121243", None),
    "clarithromycin": ("21212", None),
}

# Route shortcuts (SNOMED CT route of administration).
ROUTES: dict[str, Coding] = {
    "oral": (SCT, "26643006", "Oral route"),
    "intravenous": (SCT, "47625008", "Intravenous route"),
    "subcutaneous": (SCT, "34206005", "Subcutaneous route"),
    "intramuscular": (SCT, "78421000", "Intramuscular route"),
    "inhaled": (SCT, "447694001", "Respiratory tract route"),
    "topical": (SCT, "6064005", "Topical route"),
}

# Procedure shortcuts (codes.yaml "procedures").
PROCEDURES: dict[str, Coding] = {
    "hsct": (SCT, "234336002", "Hemopoietic stem cell transplant (procedure)"),
    "hsct-autologous": (
        SCT,
        "709115004",
        "Transplantation of autologous hematopoietic stem cell (procedure)",
    ),
    "hsct-allogeneic": (
        SCT,
        "174241000112100",
        "Transplantation of allogeneic hematopoietic stem cell (procedure)",
    ),
    "hsct-autologous-cpt": (CPT, "38241", "Hematopoietic progenitor cell (HPC); autologous transplantation"),
    "hsct-allogeneic-cpt": (
        CPT,
        "38240",
        "Hematopoietic progenitor cell (HPC); allogeneic transplantation per donor",
    ),
    "bone-marrow-transplant": (SCT, "23719005", "Transplantation of bone marrow (procedure)"),
    "radiotherapy": (SCT, "108290001", "Radiation oncology AND/OR radiotherapy (procedure)"),
    "ebrt-photons": (SCT, "1156506007", "External beam radiation therapy using photons (procedure)"),
    "radionuclide-therapy": (SCT, "399315003", "Radionuclide therapy (procedure)"),
    "mibg-therapy-cpt": (CPT, "79101", "Radiopharmaceutical therapy, by intravenous administration"),
    "bone-marrow-aspiration": (SCT, "49401003", "Bone marrow aspiration procedure (procedure)"),
}
PROCEDURE_INTENTS: dict[str, Coding] = {
    "palliative": (SCT, "363676003", "Palliative - procedure intent (qualifier value)"),
    "curative": (SCT, "373808002", "Curative - procedure intent (qualifier value)"),
}
BODY_SITES: dict[str, Coding] = {
    "lung": (SCT, "39607008", "Lung structure (body structure)"),
    "liver": (SCT, "10200004", "Liver structure (body structure)"),
    "brain": (SCT, "12738006", "Brain structure (body structure)"),
    "bone-marrow": (SCT, "14016003", "Bone marrow structure (body structure)"),
    "entire-body": (SCT, "38266002", "Entire body as a whole (body structure)"),
    "adrenal-gland": (SCT, "23451007", "Adrenal gland structure (body structure)"),
    "thigh": (SCT, "68367000", "Thigh structure (body structure)"),
}

# Vaccine shortcuts (CDC CVX).
VACCINES: dict[str, tuple[str, str]] = {
    "mmr": ("03", "MMR"),
    "varicella": ("21", "varicella"),
    "laiv4": ("149", "Influenza, live, quadrivalent, intranasal (LAIV4)"),
    "bcg": ("19", "BCG"),
    "rotavirus": ("116", "rotavirus, pentavalent (RV5)"),
    "influenza-inactivated": ("150", "Influenza, injectable, quadrivalent, preservative free"),
    "ipv": ("10", "IPV"),
}

# Prefetch keys (as in discovery) -> resource type.
PREFETCH_KEYS: dict[str, str] = {
    "observations": "Observation",
    "conditions": "Condition",
    "medicationAdministrations": "MedicationAdministration",
    "medicationRequests": "MedicationRequest",
    "medicationStatements": "MedicationStatement",
    "procedures": "Procedure",
    "immunizations": "Immunization",
    "allergies": "AllergyIntolerance",
    "researchSubjects": "ResearchSubject",
}

_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
When = int | str | dt.date | None  # days ago, a literal FHIR date string, or a date


def _cc(coding: Coding | None = None, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if coding:
        system, code, display = coding
        out["coding"] = [{"system": system, "code": code, "display": display}]
    if text:
        out["text"] = text
    return out


def _lookup(table: dict[str, Coding], value: str | Coding) -> Coding:
    """A shortcut name looked up in ``table``, or a coding as given."""
    return table[value] if isinstance(value, str) else value


def _named_or_coded(
    table: dict[str, Coding],
    kind: str,
    name: str | None,
    system: str | None,
    code: str | None,
    display: str | None,
    text: str | None,
) -> dict[str, Any]:
    """The ``code`` of a Condition or Procedure: a ``table`` shortcut, an explicit code, or text only."""
    coding: Coding | None = None
    if name is not None:
        coding = table[name]
    elif code is not None:
        coding = (system or SCT, code, display or code)
    if coding is None and not text:
        raise ValueError(f"a {kind} needs a shortcut name, a code or a text")
    return _cc(coding, text or (coding[2] if coding else None))


def _value(
    value: float | int | None,
    unit: str | None,
    unit_text: str | None,
    coded: str | Coding | None,
    value_string: str | None,
    *,
    answer_text: bool,
) -> dict[str, Any]:
    """The value[x] of an Observation or component: a quantity, a coded answer or a string (or none).
    ``answer_text`` also writes the answer's display (without its semantic tag) as the concept's text."""
    if value is not None:
        return {"valueQuantity": PatientBuilder.quantity(value, unit, unit_text)}
    if coded is not None:
        answer = _lookup(ANSWERS, coded)
        return {"valueCodeableConcept": _cc(answer, answer[2].split(" (")[0] if answer_text else None)}
    if value_string is not None:
        return {"valueString": value_string}
    return {}


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    year = day.year - years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


@dataclass(frozen=True)
class Drug:
    """How a medication is identified: codings (RxNorm/ATC) and/or text."""

    codings: tuple[Coding, ...]
    text: str

    @classmethod
    def named(cls, name: str) -> Drug:
        if name not in DRUGS:
            raise KeyError(f"unknown drug shortcut {name!r}; pass Drug(codings=..., text=...)")
        rxcui, atc = DRUGS[name]
        codings: list[Coding] = []
        if rxcui:
            codings.append((RXNORM, rxcui, name))
        if atc:
            codings.append((ATC, atc, name))
        return cls(tuple(codings), name)

    def codeable(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.codings:
            out["coding"] = [{"system": s, "code": c, "display": d} for s, c, d in self.codings]
        return out


class PatientBuilder:
    """Builds one synthetic patient; every helper returns ``self``."""

    def __init__(
        self,
        patient_id: str,
        evaluation_date: dt.date,
        *,
        birth_date: dt.date | str | None = None,
        age: tuple[int, int] | int | None = None,
        sex: str | None = "female",
        deceased: bool | int = False,
        name: str | None = None,
    ) -> None:
        """``age=(years, extra_days)``: born that many calendar years plus days before the evaluation date.

        ``birth_date`` (a date or a literal, possibly partial, FHIR date) wins over ``age``; with neither
        the Patient has no birthDate. ``deceased``: True, or an int = died that many days ago.
        """
        if not _ID_RE.match(patient_id):
            raise ValueError(f"invalid FHIR id {patient_id!r}")
        self.patient_id = patient_id
        self.evaluation_date = evaluation_date
        self._counters: dict[str, int] = {}
        self._resources: list[dict[str, Any]] = []
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": patient_id,
            "active": True,
            "name": [{"use": "official", "family": "Synthetic", "given": [name or patient_id]}],
        }
        if sex is not None:
            patient["gender"] = sex
        if isinstance(birth_date, dt.date):
            patient["birthDate"] = birth_date.isoformat()
        elif isinstance(birth_date, str):
            patient["birthDate"] = birth_date
        elif age is not None:
            years, extra = (age, 0) if isinstance(age, int) else age
            born = years_before(evaluation_date, years) - dt.timedelta(days=extra)
            patient["birthDate"] = born.isoformat()
        if deceased is True:
            patient["deceasedBoolean"] = True
        elif deceased is not False and isinstance(deceased, int):
            patient["deceasedDateTime"] = self.date(deceased)
        self.patient = patient

    # -- basics -------------------------------------------------------------------------------

    @property
    def birth_date(self) -> str | None:
        return self.patient.get("birthDate")

    def date(self, when: When) -> str:
        """A FHIR date string: ``int`` = days before the evaluation date, ``str`` verbatim."""
        if when is None:
            return self.evaluation_date.isoformat()
        if isinstance(when, bool):
            raise TypeError("a date cannot be a bool")
        if isinstance(when, int):
            return (self.evaluation_date - dt.timedelta(days=when)).isoformat()
        if isinstance(when, dt.date):
            return when.isoformat()
        return when

    def _new_id(self, kind: str, explicit: str | None) -> str:
        if explicit:
            rid = explicit
        else:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            rid = f"{self.patient_id}-{kind}-{self._counters[kind]}"
        if not _ID_RE.match(rid):
            raise ValueError(f"invalid FHIR id {rid!r} (at most 64 of A-Z a-z 0-9 - .)")
        return rid

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.patient_id}"}

    def add(self, resource: dict[str, Any]) -> PatientBuilder:
        """Append a hand-written resource (must carry ``resourceType`` and ``id``)."""
        self._resources.append(resource)
        return self

    def last(self) -> dict[str, Any]:
        """The most recently added resource (to tweak a field the helpers do not cover)."""
        return self._resources[-1]

    # -- conditions ---------------------------------------------------------------------------

    def condition(
        self,
        name: str | None = None,
        *,
        system: str | None = None,
        code: str | None = None,
        display: str | None = None,
        text: str | None = None,
        clinical_status: str | None = "active",
        verification_status: str | None = "confirmed",
        onset_days_ago: When = None,
        abatement_days_ago: When = None,
        recorded_days_ago: When = None,
        body_site: str | Coding | None = None,
        category: str | None = "problem-list-item",
        id: str | None = None,
    ) -> PatientBuilder:
        """A Condition from a shortcut name (``CONDITIONS``) or an explicit system/code/display."""
        code_cc = _named_or_coded(CONDITIONS, "condition", name, system, code, display, text)
        res: dict[str, Any] = {
            "resourceType": "Condition",
            "id": self._new_id("cond", id),
            "subject": self.subject,
            "code": code_cc,
        }
        if clinical_status:
            res["clinicalStatus"] = _cc((CLINICAL_STATUS, clinical_status, clinical_status))
        if verification_status:
            res["verificationStatus"] = _cc((VERIFICATION_STATUS, verification_status, verification_status))
        if category:
            res["category"] = [_cc((CONDITION_CATEGORY, category, category))]
        if onset_days_ago is not None:
            res["onsetDateTime"] = self.date(onset_days_ago)
        if abatement_days_ago is not None:
            res["abatementDateTime"] = self.date(abatement_days_ago)
        if recorded_days_ago is not None:
            res["recordedDate"] = self.date(recorded_days_ago)
        if body_site is not None:
            res["bodySite"] = [_cc(_lookup(BODY_SITES, body_site))]
        return self.add(res)

    # -- observations -------------------------------------------------------------------------

    def lab(
        self,
        loinc: str,
        value: float | int | None = None,
        unit: str | None = None,
        *,
        unit_text: str | None = None,
        display: str | None = None,
        system: str = LOINC,
        low: float | None = None,
        high: float | None = None,
        status: str = "final",
        days_ago: When = 0,
        coded: str | Coding | None = None,
        value_string: str | None = None,
        components: list[dict[str, Any]] | None = None,
        category: str | None = None,
        data_absent: str | None = None,
        id: str | None = None,
    ) -> PatientBuilder:
        """An Observation. ``loinc`` is a LOINC code or a ``LABS`` shortcut name.

        ``unit`` is the UCUM code (``valueQuantity.code``); ``unit_text`` the displayed unit (defaults to
        ``unit``). ``unit=None`` with ``unit_text`` gives a quantity with a non-UCUM unit string only.
        ``coded`` (``"positive"`` or a coding) gives valueCodeableConcept, ``value_string`` valueString.
        ``components``: ready-made component dicts (see :meth:`component`).
        """
        shortcut = LABS.get(loinc)
        code, name = shortcut if shortcut else (loinc, display or loinc)
        if category is None:
            category = "vital-signs" if loinc in VITAL_SIGN_LABS else "laboratory"
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self._new_id("obs", id),
            "status": status,
            "category": [_cc((OBS_CATEGORY, category, category))],
            "code": {
                "coding": [{"system": system, "code": code, "display": display or name}],
                "text": display or name,
            },
            "subject": self.subject,
            "effectiveDateTime": self.date(days_ago),
        }
        value_x = _value(value, unit, unit_text, coded, value_string, answer_text=True)
        res.update(value_x)
        if not value_x and data_absent:
            res["dataAbsentReason"] = _cc(
                ("http://terminology.hl7.org/CodeSystem/data-absent-reason", data_absent, data_absent)
            )
        if low is not None or high is not None:
            rng: dict[str, Any] = {}
            if low is not None:
                rng["low"] = self.quantity(low, unit, unit_text)
            if high is not None:
                rng["high"] = self.quantity(high, unit, unit_text)
            res["referenceRange"] = [rng]
        if components:
            res["component"] = components
        return self.add(res)

    @staticmethod
    def quantity(value: float | int, unit: str | None, unit_text: str | None = None) -> dict[str, Any]:
        q: dict[str, Any] = {"value": value}
        if unit_text or unit:
            q["unit"] = unit_text or unit
        if unit:
            q["system"] = UCUM
            q["code"] = unit
        return q

    @classmethod
    def component(
        cls,
        loinc: str,
        value: float | int | None = None,
        unit: str | None = None,
        *,
        display: str | None = None,
        unit_text: str | None = None,
        coded: str | Coding | None = None,
        value_string: str | None = None,
    ) -> dict[str, Any]:
        """One Observation.component (a LOINC code or ``LABS`` shortcut)."""
        code, name = LABS.get(loinc, (loinc, display or loinc))
        return {
            "code": _cc((LOINC, code, display or name)),
            **_value(value, unit, unit_text, coded, value_string, answer_text=False),
        }

    def weight(self, kg: float, *, days_ago: When = 0, **kw: Any) -> PatientBuilder:
        return self.lab("body-weight", kg, "kg", days_ago=days_ago, **kw)

    def height(self, cm: float, *, days_ago: When = 0, **kw: Any) -> PatientBuilder:
        return self.lab("body-height", cm, "cm", days_ago=days_ago, **kw)

    def _score(
        self, coding: Coding, score: int, days_ago: When, status: str, id: str | None
    ) -> PatientBuilder:
        res = {
            "resourceType": "Observation",
            "id": self._new_id("obs", id),
            "status": status,
            "category": [_cc((OBS_CATEGORY, "survey", "survey"))],
            "code": _cc(coding, coding[2]),
            "subject": self.subject,
            "effectiveDateTime": self.date(days_ago),
            "valueInteger": score,
        }
        return self.add(res)

    def karnofsky(
        self, score: int, *, days_ago: When = 0, status: str = "final", id: str | None = None
    ) -> PatientBuilder:
        return self._score(
            (LOINC, "89243-0", "Karnofsky Performance Status score"), score, days_ago, status, id
        )

    def lansky(
        self, score: int, *, days_ago: When = 0, status: str = "final", id: str | None = None
    ) -> PatientBuilder:
        return self._score((NCIT, "C38144", "Lansky Play-Performance Status"), score, days_ago, status, id)

    def ecog(
        self, score: int, *, days_ago: When = 0, status: str = "final", id: str | None = None
    ) -> PatientBuilder:
        return self._score((LOINC, "89247-1", "ECOG Performance Status score"), score, days_ago, status, id)

    # -- medications --------------------------------------------------------------------------

    def _drug(self, drug: str | Drug) -> Drug:
        return Drug.named(drug) if isinstance(drug, str) else drug

    def _medication_resource(self, drug: Drug, rid: str) -> dict[str, Any]:
        return {"resourceType": "Medication", "id": rid, "code": drug.codeable()}

    def _medication_field(self, drug: Drug, via: str, res: dict[str, Any]) -> None:
        """Attach the drug to ``res`` by code, contained Medication, separate Medication, or text."""
        if via == "code":
            res["medicationCodeableConcept"] = drug.codeable()
        elif via == "text":
            res["medicationCodeableConcept"] = {"text": drug.text}
        elif via == "contained":
            res["contained"] = [{"resourceType": "Medication", "id": "med", "code": drug.codeable()}]
            res["medicationReference"] = {"reference": "#med", "display": drug.text}
        elif via == "reference":
            med_id = self._new_id("med", None)
            self._resources.append(self._medication_resource(drug, med_id))
            res["medicationReference"] = {"reference": f"Medication/{med_id}"}
        else:
            raise ValueError(f"via must be code, text, contained or reference, not {via!r}")

    def _medication_use(
        self, resource_type: str, kind: str, id: str | None, drug: str | Drug, via: str, **fields: Any
    ) -> dict[str, Any]:
        """A medication resource's common part: id, ``fields``, subject and the drug attached ``via``."""
        d = self._drug(drug)  # an unknown shortcut fails before an id is used up
        res: dict[str, Any] = {"resourceType": resource_type, "id": self._new_id(kind, id), **fields}
        res["subject"] = self.subject
        self._medication_field(d, via, res)
        return res

    def _dosage(self, dose: tuple[float, str] | None, route: str | Coding | None) -> dict[str, Any]:
        dosage: dict[str, Any] = {}
        if route is not None:
            dosage["route"] = _cc(_lookup(ROUTES, route))
        if dose is not None:
            dosage["dose"] = self.quantity(dose[0], dose[1])
        return dosage

    def _period(self, start: When, end: When) -> dict[str, str]:
        period: dict[str, str] = {}
        if start is not None:
            period["start"] = self.date(start)
        if end is not None:
            period["end"] = self.date(end)
        return period

    def med_admin(
        self,
        drug: str | Drug,
        *,
        days_ago: When = 0,
        start_days_ago: When = None,
        ongoing: bool = False,
        dose: tuple[float, str] | None = None,
        route: str | Coding | None = None,
        status: str | None = None,
        via: str = "code",
        id: str | None = None,
    ) -> PatientBuilder:
        """A MedicationAdministration whose effective period ends ``days_ago`` (starts ``start_days_ago``,
        default the same day). ``ongoing=True``: status in-progress with no end."""
        res = self._medication_use(
            "MedicationAdministration",
            "madm",
            id,
            drug,
            via,
            status=status or ("in-progress" if ongoing else "completed"),
        )
        start = start_days_ago if start_days_ago is not None else days_ago
        res["effectivePeriod"] = self._period(start, None if ongoing else days_ago)
        dosage = self._dosage(dose, route)
        if dosage:
            res["dosage"] = dosage
        return self.add(res)

    def med_statement(
        self,
        drug: str | Drug,
        *,
        start_days_ago: When = None,
        end_days_ago: When = None,
        status: str = "completed",
        dose: tuple[float, str] | None = None,
        per_day: bool = False,
        route: str | Coding | None = None,
        via: str = "code",
        id: str | None = None,
    ) -> PatientBuilder:
        """A MedicationStatement; no ``end_days_ago`` with status active = ongoing.

        ``per_day=True`` writes the dose as a once-daily schedule (so a daily dose can be read)."""
        res = self._medication_use("MedicationStatement", "mstm", id, drug, via, status=status)
        period = self._period(start_days_ago, end_days_ago)
        if period:
            res["effectivePeriod"] = period
        res_dosage = self._dosage_instruction(dose, route, per_day)
        if res_dosage:
            res["dosage"] = [res_dosage]
        return self.add(res)

    def med_request(
        self,
        drug: str | Drug,
        *,
        authored_days_ago: When = 0,
        status: str = "active",
        intent: str = "order",
        dose: tuple[float, str] | None = None,
        per_day: bool = True,
        route: str | Coding | None = None,
        via: str = "code",
        id: str | None = None,
    ) -> PatientBuilder:
        res = self._medication_use("MedicationRequest", "mreq", id, drug, via, status=status, intent=intent)
        res["authoredOn"] = self.date(authored_days_ago)
        res_dosage = self._dosage_instruction(dose, route, per_day)
        if res_dosage:
            res["dosageInstruction"] = [res_dosage]
        return self.add(res)

    def _dosage_instruction(
        self, dose: tuple[float, str] | None, route: str | Coding | None, per_day: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if per_day:
            out["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
        if route is not None:
            out["route"] = _cc(_lookup(ROUTES, route))
        if dose is not None:
            out["doseAndRate"] = [{"doseQuantity": self.quantity(dose[0], dose[1])}]
        return out

    # -- procedures, immunizations, allergies, research ---------------------------------------

    def procedure(
        self,
        name: str | None = None,
        *,
        system: str | None = None,
        code: str | None = None,
        display: str | None = None,
        text: str | None = None,
        days_ago: When = 0,
        start_days_ago: When = None,
        status: str = "completed",
        intent: str | None = None,
        body_site: str | Coding | None = None,
        id: str | None = None,
    ) -> PatientBuilder:
        """A Procedure (shortcut name from ``PROCEDURES`` or explicit code; text only also allowed).

        Performed on ``days_ago`` (a period from ``start_days_ago`` when given). ``intent`` adds the mCODE
        procedure-intent extension (``palliative`` / ``curative``)."""
        code_cc = _named_or_coded(PROCEDURES, "procedure", name, system, code, display, text)
        res: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": self._new_id("proc", id),
            "status": status,
            "subject": self.subject,
            "code": code_cc,
        }
        if start_days_ago is not None:
            res["performedPeriod"] = self._period(start_days_ago, days_ago)
        elif days_ago is not None:
            res["performedDateTime"] = self.date(days_ago)
        if body_site is not None:
            res["bodySite"] = [_cc(_lookup(BODY_SITES, body_site))]
        if intent is not None:
            res["extension"] = [
                {"url": MCODE_PROCEDURE_INTENT, "valueCodeableConcept": _cc(PROCEDURE_INTENTS[intent])}
            ]
        return self.add(res)

    def immunization(
        self,
        vaccine: str,
        *,
        display: str | None = None,
        days_ago: When = 0,
        status: str = "completed",
        id: str | None = None,
    ) -> PatientBuilder:
        """An Immunization: ``vaccine`` is a ``VACCINES`` shortcut or a CVX code."""
        cvx, name = VACCINES.get(vaccine, (vaccine, display or vaccine))
        res = {
            "resourceType": "Immunization",
            "id": self._new_id("imm", id),
            "status": status,
            "vaccineCode": _cc((CVX, cvx, display or name), display or name),
            "patient": self.subject,
            "occurrenceDateTime": self.date(days_ago),
        }
        return self.add(res)

    def allergy(
        self,
        *,
        system: str | None = None,
        code: str | None = None,
        display: str | None = None,
        text: str | None = None,
        drug: str | Drug | None = None,
        clinical_status: str = "active",
        verification_status: str = "confirmed",
        category: str | None = "medication",
        id: str | None = None,
    ) -> PatientBuilder:
        """An AllergyIntolerance by code, by a drug shortcut (RxNorm/ATC codings) or by text."""
        if drug is not None:
            code_cc = self._drug(drug).codeable()
        elif code is not None:
            code_cc = _cc((system or SCT, code, display or code), text or display)
        elif text:
            code_cc = {"text": text}
        else:
            raise ValueError("an allergy needs a drug, a code or a text")
        res: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            "id": self._new_id("alg", id),
            "clinicalStatus": _cc((ALLERGY_CLINICAL, clinical_status, clinical_status)),
            "verificationStatus": _cc((ALLERGY_VERIFICATION, verification_status, verification_status)),
            "code": code_cc,
            "patient": self.subject,
        }
        if category:
            res["category"] = [category]
        return self.add(res)

    def research_subject(
        self,
        study: str,
        *,
        status: str = "on-study",
        start_days_ago: When = None,
        end_days_ago: When = None,
        title: str | None = None,
        id: str | None = None,
    ) -> PatientBuilder:
        """A ResearchSubject on the study identified by ``study`` (an NCT id or other identifier)."""
        res: dict[str, Any] = {
            "resourceType": "ResearchSubject",
            "id": self._new_id("rs", id),
            "status": status,
            "study": {
                "identifier": {
                    "system": CTGOV if study.upper().startswith("NCT") else "urn:local:study",
                    "value": study,
                },
                "display": title or study,
            },
            "individual": self.subject,
        }
        period = self._period(start_days_ago, end_days_ago)
        if period:
            res["period"] = period
        return self.add(res)

    # -- output -------------------------------------------------------------------------------

    def resources(self) -> list[dict[str, Any]]:
        """Patient first, then every resource in the order added (deep copies)."""
        return [copy.deepcopy(self.patient)] + [copy.deepcopy(r) for r in self._resources]

    def transaction_bundle(self) -> dict[str, Any]:
        """A transaction Bundle that PUTs every resource at its stable id (idempotent on re-load)."""
        entries = []
        for res in self.resources():
            url = f"{res['resourceType']}/{res['id']}"
            entries.append({"fullUrl": url, "resource": res, "request": {"method": "PUT", "url": url}})
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    def resources_of(self, resource_type: str) -> list[dict[str, Any]]:
        return [r for r in self.resources() if r["resourceType"] == resource_type]

    def prefetch(self, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Prefetch as a CDS client would send it: ``patient`` is the resource, the rest searchset Bundles.

        Separately stored Medications referenced by medication resources ride along in the bundle of the
        resource that references them, as ``search.mode = include`` entries. ``keys`` limits the keys.
        """
        medications = {r["id"]: r for r in self.resources_of("Medication")}
        out: dict[str, Any] = {}
        if keys is None or "patient" in keys:
            out["patient"] = copy.deepcopy(self.patient)
        for key, rtype in PREFETCH_KEYS.items():
            if keys is not None and key not in keys:
                continue
            matches = self.resources_of(rtype)
            entries: list[dict[str, Any]] = [
                {"fullUrl": f"{rtype}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in matches
            ]
            included: set[str] = set()
            for r in matches:
                ref = r.get("medicationReference", {}).get("reference", "")
                med_id = ref.removeprefix("Medication/")
                if ref.startswith("Medication/") and med_id in medications and med_id not in included:
                    included.add(med_id)
                    entries.append(
                        {
                            "fullUrl": f"Medication/{med_id}",
                            "resource": medications[med_id],
                            "search": {"mode": "include"},
                        }
                    )
            out[key] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(matches),
                "entry": entries,
            }
        return out

    def hook_request(
        self,
        fhir_server: str | None = None,
        prefetch: bool | dict[str, Any] = True,
        token: str | None = None,
        hook_instance: str | None = None,
    ) -> dict[str, Any]:
        """A CDS Hooks ``patient-view`` request for this patient.

        ``prefetch``: True = full prefetch, False = none (the service must query ``fhir_server``), or a
        ready-made prefetch dict. ``token`` adds ``fhirAuthorization`` (bearer, read scopes).
        """
        request: dict[str, Any] = {
            "hook": "patient-view",
            "hookInstance": hook_instance or str(uuid.uuid4()),
            "context": {"userId": "Practitioner/nk-demo-clinician", "patientId": self.patient_id},
        }
        if fhir_server:
            request["fhirServer"] = fhir_server
        if token:
            request["fhirAuthorization"] = {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/Patient.read patient/Observation.read patient/Condition.read",
                "subject": "nk-cds",
            }
        if prefetch is True:
            request["prefetch"] = self.prefetch()
        elif isinstance(prefetch, dict):
            request["prefetch"] = prefetch
        return request
