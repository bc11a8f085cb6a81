"""Normalised patient facts: the one typed picture of a patient that the criteria engine reads.

This module is a contract. The data layer (``cds.gather`` -> ``cds.normalise``) builds a
:class:`PatientFacts`; the engine (``cds.engine``) only ever reads one. Neither side sees the other's
inputs: the engine never sees FHIR JSON, the normaliser never sees a criterion.

Concept, group and class names used here (``"anc"``, ``"neuroblastoma"``, ``"nitrosourea"``) are the
keys defined in ``mappings/*.yaml``; ``docs/CONTRACTS.md`` lists them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, order=True)
class FuzzyDate:
    """A clinical date that may be partial: the closed interval of days it could denote.

    ``2024-05-14`` is ``[2024-05-14, 2024-05-14]``; ``2024-05`` is ``[2024-05-01, 2024-05-31]``; ``2024`` is
    the whole year. A date-time is converted to the configured time zone before taking its day.
    """

    earliest: dt.date
    latest: dt.date
    text: str = field(default="", compare=False)

    @property
    def exact(self) -> bool:
        return self.earliest == self.latest

    @classmethod
    def of(cls, day: dt.date) -> FuzzyDate:
        return cls(day, day, day.isoformat())

    def __str__(self) -> str:
        return self.text or self.earliest.isoformat()


class SourceState(StrEnum):
    """Whether a FHIR resource type could be obtained for this patient (closed-world reasoning needs it)."""

    RETRIEVED = "retrieved"  # list obtained (maybe empty): no matching record means "none recorded"
    UNAVAILABLE = "unavailable"  # could not be obtained: history criteria on it are unknown


@dataclass(frozen=True)
class Demographics:
    birth_date: FuzzyDate | None
    sex: str | None  # "male" | "female" | "other" | "unknown" | None (FHIR administrative gender)
    deceased: bool = False
    resource_id: str | None = None


@dataclass(frozen=True)
class LabValue:
    """One observation result mapped to a concept, in the concept's canonical unit.

    Quantitative results carry ``value`` (canonical unit) and, when known, the reference range in the
    same unit and ``uln_ratio`` = value / reference high. Qualitative results carry ``coded``: one of the
    normalised answer tokens defined in mappings (``positive``, ``negative``, ``trace``, ``1+`` ... ``4+``,
    ``I``-``IV`` for NYHA). A result that could not be converted (unknown unit, NaN) has ``value=None``
    and ``problem`` set; the engine treats it as absent but shows it as evidence.
    """

    concept: str
    date: FuzzyDate
    resource_id: str
    status: str  # final | amended | corrected | preliminary (others are dropped by the normaliser)
    value: float | None = None
    unit: str | None = None  # canonical unit of the concept (UCUM)
    coded: str | None = None
    ref_low: float | None = None
    ref_high: float | None = None
    ref_source: str | None = None  # "observation" | "fallback:<table>" | "fallback-unverified:<table>"
    original_value: str | None = None  # as recorded, e.g. "1200 /uL"
    problem: str | None = None  # why the value is unusable, e.g. "unknown unit 'bananas'"
    derived_from: tuple[str, ...] = ()  # resource ids / concepts a derived value was computed from
    context: dict[str, str] = field(default_factory=dict)  # e.g. {"oxygen": "room-air"} for SpO2

    @property
    def uln_ratio(self) -> float | None:
        if self.value is None or not self.ref_high:
            return None
        return self.value / self.ref_high


def make_lab_value(
    concept: str,
    date: FuzzyDate,
    resource_id: str,
    status: str,
    value: float | None = None,
    unit: str | None = None,
    coded: str | None = None,
    ref_low: float | None = None,
    ref_high: float | None = None,
    ref_source: str | None = None,
    original_value: str | None = None,
    problem: str | None = None,
    derived_from: tuple[str, ...] = (),
    context: dict[str, str] | None = None,
) -> LabValue:
    """``LabValue(...)``, built about twice as fast (the normaliser builds one per lab result, thousands for a
    long chart).

    A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__``; this creates the
    instance with ``object.__new__`` and fills its ``__dict__`` in field order, which gives the same object
    (equal, same hash, repr and pickle). It takes the class's fields in order with the same defaults, except
    ``context``, whose default None means a new empty dict (the class's ``default_factory``). It runs no other
    code, as the dataclass ``__init__`` runs none (``tests/test_normalise_facts_builders.py`` checks it against
    the class)."""
    out = object.__new__(LabValue)
    fields = out.__dict__
    fields["concept"] = concept
    fields["date"] = date
    fields["resource_id"] = resource_id
    fields["status"] = status
    fields["value"] = value
    fields["unit"] = unit
    fields["coded"] = coded
    fields["ref_low"] = ref_low
    fields["ref_high"] = ref_high
    fields["ref_source"] = ref_source
    fields["original_value"] = original_value
    fields["problem"] = problem
    fields["derived_from"] = derived_from
    fields["context"] = {} if context is None else context
    return out


@dataclass(frozen=True)
class ConditionFact:
    groups: frozenset[str]  # mapping groups this condition belongs to (may be several)
    resource_id: str
    display: str
    codes: tuple[str, ...]  # "system|code" strings as recorded
    clinical_status: str | None  # active | recurrence | relapse | inactive | remission | resolved | None
    verification_status: str | None  # confirmed | provisional | differential | unconfirmed | None
    onset: FuzzyDate | None = None
    abatement: FuzzyDate | None = None
    recorded: FuzzyDate | None = None
    body_sites: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        """Active unless the record says inactive/remission/resolved or carries an abatement date."""
        if self.clinical_status in ("inactive", "remission", "resolved"):
            return False
        return self.clinical_status in ("active", "recurrence", "relapse") or self.abatement is None


@dataclass(frozen=True)
class DrugExposure:
    """One medication record mapped to drug classes.

    ``start``/``end`` come from the resource's effective period (``end`` is the anchor for waiting
    periods; for a single time point start == end). ``ongoing`` means the record says the patient is
    still receiving it with no end date (an in-progress administration, an active statement or request).
    ``source`` is the FHIR resource type; MedicationRequest records are evidence of current use only.
    """

    classes: frozenset[str]
    resource_id: str
    source: str  # MedicationAdministration | MedicationStatement | MedicationRequest
    name: str  # best human-readable drug name
    codes: tuple[str, ...] = ()
    status: str | None = None
    start: FuzzyDate | None = None
    end: FuzzyDate | None = None
    ongoing: bool = False
    dose_mg: float | None = None  # per administration, in mg, when given
    dose_per_day_mg: float | None = None  # when the record states a daily dose
    # normalised: oral | intravenous | intramuscular | subcutaneous | inhaled | topical | other
    route: str | None = None
    prednisone_factor: float | None = None  # mg prednisone per mg of this drug (systemic corticosteroids)
    looks_anticancer_unclassified: bool = False  # looks like an anticancer drug but matches no class


def make_drug_exposure(
    classes: frozenset[str],
    resource_id: str,
    source: str,
    name: str,
    codes: tuple[str, ...] = (),
    status: str | None = None,
    start: FuzzyDate | None = None,
    end: FuzzyDate | None = None,
    ongoing: bool = False,
    dose_mg: float | None = None,
    dose_per_day_mg: float | None = None,
    route: str | None = None,
    prednisone_factor: float | None = None,
    looks_anticancer_unclassified: bool = False,
) -> DrugExposure:
    """``DrugExposure(...)``, built about twice as fast (one per medication record: hundreds for a long chart),
    as :func:`make_lab_value`: the same fields, order and defaults; the instance's ``__dict__`` filled in field
    order (``tests/test_normalise_facts_builders.py``)."""
    out = object.__new__(DrugExposure)
    fields = out.__dict__
    fields["classes"] = classes
    fields["resource_id"] = resource_id
    fields["source"] = source
    fields["name"] = name
    fields["codes"] = codes
    fields["status"] = status
    fields["start"] = start
    fields["end"] = end
    fields["ongoing"] = ongoing
    fields["dose_mg"] = dose_mg
    fields["dose_per_day_mg"] = dose_per_day_mg
    fields["route"] = route
    fields["prednisone_factor"] = prednisone_factor
    fields["looks_anticancer_unclassified"] = looks_anticancer_unclassified
    return out


@dataclass(frozen=True)
class ProcedureFact:
    groups: frozenset[str]
    resource_id: str
    display: str
    codes: tuple[str, ...] = ()
    status: str | None = None  # completed | in-progress | stopped | on-hold (others dropped)
    start: FuzzyDate | None = None
    end: FuzzyDate | None = None
    intent: str | None = None  # palliative | curative | None (not recorded)
    body_sites: frozenset[str] = frozenset()  # normalised site groups, e.g. "lung", "liver"


@dataclass(frozen=True)
class ImmunizationFact:
    groups: frozenset[str]  # e.g. {"live-vaccine"}
    resource_id: str
    display: str
    date: FuzzyDate | None
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllergyFact:
    groups: frozenset[str]
    resource_id: str
    display: str


@dataclass(frozen=True)
class ResearchFact:
    resource_id: str
    study: str  # ResearchStudy identifier value (NCT id when known) or reference
    status: str  # FHIR R4 ResearchSubject.status
    start: FuzzyDate | None = None
    end: FuzzyDate | None = None

    @property
    def on_study(self) -> bool:
        return self.status in (
            "on-study",
            "on-study-intervention",
            "on-study-observation",
            "pending-on-study",
            "eligible",
        )


@dataclass(frozen=True)
class PatientFacts:
    """Everything the engine may know about one patient at one evaluation date."""

    patient_id: str
    evaluation_date: dt.date
    demographics: Demographics
    sources: dict[str, SourceState]  # by FHIR resource type, e.g. {"Condition": RETRIEVED}
    labs: dict[str, tuple[LabValue, ...]] = field(default_factory=dict)  # concept -> newest first
    conditions: tuple[ConditionFact, ...] = ()
    drugs: tuple[DrugExposure, ...] = ()
    procedures: tuple[ProcedureFact, ...] = ()
    immunizations: tuple[ImmunizationFact, ...] = ()
    allergies: tuple[AllergyFact, ...] = ()
    research: tuple[ResearchFact, ...] = ()
    notes: tuple[str, ...] = ()  # data-quality notes safe to show (no identifiers)

    def source_ok(self, resource_type: str) -> bool:
        return self.sources.get(resource_type) == SourceState.RETRIEVED

    def lab_values(self, concept: str) -> tuple[LabValue, ...]:
        return self.labs.get(concept, ())
