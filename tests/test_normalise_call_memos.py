"""The per-call memos on ``Build`` (dates, lab concepts per code, converted reference-range bounds) give exactly
what the uncached functions give, and nothing of them outlives the ``build_facts`` call (issue 7)."""

from __future__ import annotations

import gc
import itertools
import weakref
from typing import Any

import pytest

import cds.normalise as normalise
from cds.config import Config
from cds.mappings import load_mappings
from cds.normalise.common import Build
from cds.normalise.labs import _reference_range
from tests.normalise_support import TODAY, facts_of, patient

MAPPINGS = load_mappings()

VALUES: list[Any] = [1.5, -0.0, 0.0, 0, 1, 1.0, True, "1", None, 1e13, -3]
UNITS: list[dict[str, Any]] = [
    {},
    {"unit": "10*9/L"},
    {"code": "10*3/uL", "system": "http://unitsofmeasure.org"},
    {"code": "10*3/uL", "system": "http://example.org/units"},
    {"code": "/uL", "unit": "K/uL"},
    {"unit": "bananas"},
    {"code": "g/dL"},
]
BOUNDS: list[Any] = [
    None,
    {},
    {"extension": [{"url": "x"}]},
    *({"value": v, **u} for v, u in itertools.product(VALUES, UNITS)),
    {"value": 2, "comparator": "<", "unit": "10*9/L"},
]
VALUE_UNITS = [[], ["10*9/L"], ["/uL", "K/uL"], ["bananas"]]


def _holders() -> list[dict[str, Any]]:
    holders = []
    for low, high in zip(BOUNDS, reversed(BOUNDS), strict=True):
        holders.append({"referenceRange": [{"low": low, "high": high}]})
        holders.append(
            {"referenceRange": [{"type": {"coding": [{"code": "treatment"}]}, "low": high}, {"low": low}]}
        )
    return holders


@pytest.mark.parametrize("concept_name", ["anc", "platelets", "hemoglobin", "inr", "vma-urine"])
def test_remembered_bounds_equal_the_computed_ones_in_any_order(concept_name: str) -> None:
    concept = MAPPINGS.lab(concept_name)
    cases = [(h, u) for h in _holders() for u in VALUE_UNITS]
    expected = [repr(_reference_range(h, u, concept)) for h, u in cases]
    for order in (cases, list(reversed(cases))):
        memo: dict[tuple[Any, ...], float | None] = {}
        got = {
            id(h) * 10 + VALUE_UNITS.index(u): repr(_reference_range(h, u, concept, memo)) for h, u in order
        }
        assert [got[id(h) * 10 + VALUE_UNITS.index(u)] for h, u in cases] == expected
        assert memo  # the memo was used (and hit: far fewer entries than bounds read)
        assert len(memo) < 2 * len(cases)


def test_minus_zero_and_zero_bounds_stay_apart() -> None:
    concept = MAPPINGS.lab("anc")
    memo: dict[tuple[Any, ...], float | None] = {}
    zero = {"referenceRange": [{"low": {"value": 0.0, "unit": "10*9/L"}}]}
    minus = {"referenceRange": [{"low": {"value": -0.0, "unit": "10*9/L"}}]}
    assert repr(_reference_range(zero, [], concept, memo)) == "(0.0, None)"
    assert repr(_reference_range(minus, [], concept, memo)) == "(-0.0, None)"


def test_unhashable_bound_fields_are_computed_not_remembered() -> None:
    concept = MAPPINGS.lab("anc")
    memo: dict[tuple[Any, ...], float | None] = {}
    holder = {
        "referenceRange": [{"low": {"value": 1, "unit": ["10*9/L"]}, "high": {"value": 2, "unit": "10*9/L"}}]
    }
    assert _reference_range(holder, [], concept, memo) == _reference_range(holder, [], concept)
    assert len(memo) == 1  # only the hashable bound


def test_a_fresh_build_has_empty_memos() -> None:
    build = Build(evaluation_date=TODAY, mappings=MAPPINGS, config=None)  # type: ignore[arg-type]
    assert not build.lab_concepts and not build.range_bounds and not build.dates._seen and not build.verdicts
    assert not build.matches


def test_memos_are_filled_during_the_call_and_released_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[weakref.ref[Build]] = []
    sizes: list[tuple[int, ...]] = []

    class Spy(Build):
        def notes(self) -> tuple[str, ...]:  # called once, at the end of build_facts
            builds.append(weakref.ref(self))
            sizes.append(
                (
                    len(self.lab_concepts),
                    len(self.range_bounds),
                    len(self.dates._seen),
                    len(self.verdicts),
                    len(self.matches),
                )
            )
            return super().notes()

    monkeypatch.setattr(normalise, "Build", Spy)
    b = patient().condition("neuroblastoma", onset_days_ago=400)
    for day in (1, 2, 3):
        b.lab("751-8", 1.2 + day, "10*9/L", days_ago=day, low=1.5, high=8.0)
    first = facts_of(b)
    second = facts_of(b)
    assert repr(first) == repr(second)
    assert len(builds) == 2 and all(all(n > 0 for n in s) for s in sizes)
    gc.collect()
    assert [ref() for ref in builds] == [None, None]  # no Build (and so no memo) survives its call


def test_drug_records_read_the_same_with_and_without_the_drug_memo() -> None:
    from cds.normalise.drugs import exposure_of
    from cds.synthetic import Drug
    from tests.normalise_support import raw_of

    cream = Drug((), "hydrocortisone 1 % Topical Cream")
    tablet = Drug((), "dexamethasone 4 MG Oral Tablet")
    b = patient()
    for day in (1, 2):
        b.med_admin("carboplatin", days_ago=day)
        b.med_admin("methylprednisolone", days_ago=day, dose=(1, "g"), route="intravenous")
        b.med_admin("methylprednisolone", days_ago=day, dose=(1, "g"))
        b.med_admin(cream, days_ago=day)
        b.med_admin(tablet, days_ago=day)
        b.med_statement("dexamethasone", start_days_ago=10, end_days_ago=day, dose=(4, "mg"), route="oral")
    raw = raw_of(b)

    def read(memo: dict[Any, Any] | None) -> list[str]:
        build = Build(evaluation_date=TODAY, mappings=MAPPINGS, config=Config())
        return [
            repr(exposure_of(res, source, {}, build, memo=memo))
            for source in ("MedicationAdministration", "MedicationStatement")
            for res in raw.resources.get(source, [])
        ]

    memo: dict[Any, Any] = {}
    with_memo = read(memo)
    assert with_memo == read(None)
    assert 0 < len(memo) < len(with_memo)  # hits: the same drug names repeat
    assert any("'oral'" in r for r in with_memo) and any("'intravenous'" in r for r in with_memo)


def test_drug_concepts_are_remembered_by_content_with_types() -> None:
    """The drug memo is keyed by the concept's content: codes of another JSON type, unhashable codes and
    concepts that are not JSON data read exactly as without the memo."""
    from cds.normalise.drugs import exposure_of

    class Odd(dict):  # not JSON data: read, not remembered
        pass

    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    concepts: list[Any] = [
        {"coding": [{"system": rxnorm, "code": "40048"}], "text": "carboplatin"},
        {"coding": [{"system": rxnorm, "code": 40048}], "text": "carboplatin"},
        {"coding": [{"system": rxnorm, "code": ["40048"]}], "text": "carboplatin"},
        {"coding": [{"system": rxnorm, "code": "40048"}]},
        {"text": "carboplatin"},
        {"text": ""},
        {},
        Odd({"text": "carboplatin"}),
    ]
    build = Build(evaluation_date=TODAY, mappings=MAPPINGS, config=Config())

    def read(memo: dict[Any, Any] | None) -> list[str]:
        out = []
        for concept in concepts + concepts:
            res = {
                "resourceType": "MedicationAdministration",
                "id": "m1",
                "status": "completed",
                "subject": {"reference": "Patient/p1"},
                "medicationCodeableConcept": concept,
                "effectiveDateTime": "2026-11-01",
            }
            out.append(repr(exposure_of(res, "MedicationAdministration", {}, build, memo=memo)))
        return out

    memo: dict[Any, Any] = {}
    assert read(memo) == read(None)
    assert len(memo) == len(concepts) - 1  # each JSON concept once; the odd one never
    first = read(None)
    assert "carboplatin" in first[0] and "myelosuppressive-chemotherapy" in first[0]
    assert first[1] == "None"  # the numeric code is its own memo entry (and fails R4B validation)


class _NoMemoBuild(Build):
    def remembered(self, name: str, value: Any, compute: Any) -> Any:
        return compute(value)


def _group_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    class Odd(dict):  # not JSON data: computed, not remembered
        pass

    snomed = "http://snomed.info/sct"
    codes: list[Any] = [
        {"coding": [{"system": snomed, "code": "281562007"}], "text": "Adrenal neuroblastoma"},
        {"coding": [{"system": snomed, "code": 281562007}]},
        {"coding": [{"system": snomed, "code": ["281562007"]}]},
        {"text": "neuroblastoma"},
        {"text": "history of neuroblastoma"},
        Odd({"text": "neuroblastoma"}),
        {"coding": [{"system": snomed, "code": "108290001"}], "text": "Radiotherapy"},
        {"text": "radiotherapy to the brain"},
    ]
    sites: list[Any] = [
        None,
        [{"coding": [{"system": snomed, "code": "23451007"}]}],
        [{"text": "brain"}],
        [Odd({"text": "brain"})],
        [{"coding": [{"system": snomed, "code": 23451007}]}],
    ]
    conditions, procedures = [], []
    for n, (code, site) in enumerate(itertools.product(codes, sites)):
        common = {"id": f"r{n}", "subject": {"reference": "Patient/p1"}, "code": code}
        if site is not None:
            common["bodySite"] = site
        conditions.append({"resourceType": "Condition", "onsetDateTime": "2024-01-02", **common})
        procedures.append(
            {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2024-01-02", **common}
        )
    return conditions + conditions, procedures + procedures


def test_group_matches_are_remembered_by_content_and_read_the_same() -> None:
    from cds.normalise.conditions import normalise_conditions
    from cds.normalise.procedures import normalise_procedures

    conditions, procedures = _group_records()
    build = Build(evaluation_date=TODAY, mappings=MAPPINGS, config=Config())
    plain = _NoMemoBuild(evaluation_date=TODAY, mappings=MAPPINGS, config=Config())
    got = (repr(normalise_conditions(conditions, build)), repr(normalise_procedures(procedures, build)))
    expected = (repr(normalise_conditions(conditions, plain)), repr(normalise_procedures(procedures, plain)))
    assert got == expected
    assert "neuroblastoma" in got[0] and "radiotherapy" in got[1] and "adrenal" in got[0].lower()
    assert 0 < len(build.matches) < 2 * len(conditions)  # the second copy of every record was a hit
    assert build.counters == plain.counters


def test_vaccine_matches_are_remembered_and_read_the_same() -> None:
    from cds.normalise.immunizations import normalise_immunizations

    cvx = "http://hl7.org/fhir/sid/cvx"
    codes: list[Any] = [
        {"coding": [{"system": cvx, "code": "03"}], "text": "MMR"},
        {"coding": [{"system": cvx, "code": 3}]},
        {"text": "measles mumps rubella vaccine"},
        {"text": "influenza vaccine"},
        {},
    ]
    records = [
        {
            "resourceType": "Immunization",
            "id": f"i{n}",
            "status": "completed",
            "patient": {"reference": "Patient/p1"},
            "vaccineCode": code,
            "occurrenceDateTime": "2024-01-02",
        }
        for n, code in enumerate(codes + codes)
    ]
    build = Build(evaluation_date=TODAY, mappings=MAPPINGS, config=Config())
    plain = _NoMemoBuild(evaluation_date=TODAY, mappings=MAPPINGS, config=Config())
    got = repr(normalise_immunizations(records, build))
    assert got == repr(normalise_immunizations(records, plain))
    assert "ImmunizationFact" in got and len(build.matches) == len(codes)


def test_remembered_tells_types_apart_and_computes_what_is_not_json() -> None:
    build = Build(evaluation_date=TODAY, mappings=MAPPINGS, config=Config())
    calls: list[Any] = []

    def compute(value: Any) -> str:
        calls.append(value)
        return repr(value)

    values: list[Any] = [1, 1.0, True, "1", 0.0, -0.0, [1], {"a": 1}, 1, {"a": 1}]
    assert [build.remembered("f", v, compute) for v in values] == [repr(v) for v in values]
    assert len(calls) == 8  # the repeated 1 and {"a": 1} were remembered
    assert build.remembered("g", 1, compute) == "1" and len(calls) == 9  # another function: its own entries
    odd = type("Odd", (dict,), {})(a=1)
    assert build.remembered("f", odd, compute) == repr(odd) and len(calls) == 10
    assert build.remembered("f", odd, compute) == repr(odd) and len(calls) == 11  # never remembered
