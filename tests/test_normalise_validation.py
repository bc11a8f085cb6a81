"""Which records are validated with fhir.resources R4B (issue 7, docs/performance-changes.md).

Drug records: only those that can decide a criterion (recent, ongoing, undated, the newest per class, every
non-administration record). Observations: only the elements the readers use. A validated record that fails is
skipped, counted and (for history types) marks its type incomplete, as before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds.engine import timerules as tr
from cds.facts import DrugExposure, FuzzyDate, SourceState
from cds.mappings import load_mappings
from cds.normalise.common import _read_part
from cds.normalise.dates import DateMemo, effective, parse_fuzzy
from cds.normalise.drugs import NEWEST_PER_CLASS, VALIDATION_WINDOW_DAYS, records_to_validate
from cds.normalise.labs import observation_concepts
from cds.trials import load_trials
from tests.normalise_support import TODAY, facts_of, patient

CHEMO = "myelosuppressive-chemotherapy"
INVALID_MA = "MedicationAdministration: invalid resource skipped (fails FHIR R4B validation)"


def _break(res: dict[str, Any]) -> None:
    res["subject"] = {"reference": 5}  # a number where FHIR wants a string: fails R4B validation


def _chemo_history(newer: int, old_days_ago: int):  # type: ignore[no-untyped-def]
    """``newer`` valid carboplatin doses 10..(10+newer-1) days ago and one invalid one ``old_days_ago``."""
    p = patient("val-drugs")
    for i in range(newer):
        p.med_admin("carboplatin", days_ago=10 + i)
    p.med_admin("carboplatin", days_ago=old_days_ago)
    _break(p.last())
    return p


@pytest.mark.parametrize(
    ("old_days_ago", "validated"),
    [
        (VALIDATION_WINDOW_DAYS - 1, True),
        (VALIDATION_WINDOW_DAYS, True),
        (VALIDATION_WINDOW_DAYS + 1, False),
    ],
)
def test_invalid_drug_record_validated_only_inside_the_window(old_days_ago: int, validated: bool) -> None:
    facts = facts_of(_chemo_history(NEWEST_PER_CLASS, old_days_ago))
    ids = {d.resource_id for d in facts.drugs}
    assert len(ids) == NEWEST_PER_CLASS + (0 if validated else 1)
    assert (INVALID_MA in facts.notes) == validated
    expected = SourceState.UNAVAILABLE if validated else SourceState.RETRIEVED
    assert facts.sources["MedicationAdministration"] == expected


@pytest.mark.parametrize(("newer", "validated"), [(NEWEST_PER_CLASS - 1, True), (NEWEST_PER_CLASS, False)])
def test_old_invalid_record_is_validated_while_among_the_newest_of_its_class(
    newer: int, validated: bool
) -> None:
    facts = facts_of(_chemo_history(newer, 400))
    assert (INVALID_MA in facts.notes) == validated
    assert len(facts.drugs) == newer + (0 if validated else 1)


def test_old_invalid_ongoing_and_non_administration_records_are_validated() -> None:
    p = patient("val-ongoing")
    for i in range(NEWEST_PER_CLASS):
        p.med_admin("carboplatin", days_ago=10 + i)
    p.med_admin("carboplatin", start_days_ago=400, ongoing=True)
    _break(p.last())
    facts = facts_of(p)
    assert INVALID_MA in facts.notes and len(facts.drugs) == NEWEST_PER_CLASS


def _exposure(
    i: int,
    days_ago: int | None,
    *,
    classes: tuple[str, ...] = (CHEMO,),
    source: str = "MedicationAdministration",
    ongoing: bool = False,
    looks: bool = False,
) -> DrugExposure:
    day = FuzzyDate.of(TODAY - dt.timedelta(days=days_ago)) if days_ago is not None else None
    return DrugExposure(
        classes=frozenset(classes),
        resource_id=f"{source}/{i}",
        source=source,
        name="x",
        start=day,
        end=day,
        ongoing=ongoing,
        looks_anticancer_unclassified=looks,
    )


def test_records_to_validate_selection() -> None:
    old = VALIDATION_WINDOW_DAYS + 50
    exposures = [
        _exposure(0, 5),  # recent
        *[_exposure(i, old + i) for i in range(1, NEWEST_PER_CLASS + 3)],  # old chemo: newest few only
        _exposure(20, None, classes=("il2",)),  # undated
        _exposure(21, old, classes=("il2",), ongoing=True),
        _exposure(22, old, classes=("il2",), source="MedicationStatement"),
        _exposure(23, old, classes=(), looks=True),
        _exposure(24, old + 100, classes=("nitrosourea",)),  # the only one of its class
        _exposure(25, VALIDATION_WINDOW_DAYS),  # on the window's edge
    ]
    chosen = records_to_validate(exposures, TODAY)
    old_chemo = list(range(1, NEWEST_PER_CLASS + 3))
    # the recent record 0 and the edge record 25 are newer than every old chemo record
    newest_old = set(old_chemo[: max(0, NEWEST_PER_CLASS - 2)])
    assert chosen == {
        0,
        *newest_old,
        1 + len(old_chemo),
        2 + len(old_chemo),
        3 + len(old_chemo),
        4 + len(old_chemo),
        5 + len(old_chemo),
        6 + len(old_chemo),
    }


def _drug_windows(rule: Any) -> list[tr.Duration]:
    found: list[tr.Duration] = []
    if isinstance(rule, dict):
        if (
            rule.get("kind") == "exposure" and rule.get("drugClasses") or rule.get("kind") == "steroid-dose"
        ) and rule.get("within"):
            found.append(tr.Duration.parse(rule["within"]))
        for value in rule.values():
            found += _drug_windows(value)
    elif isinstance(rule, list):
        for value in rule:
            found += _drug_windows(value)
    return found


def test_every_drug_window_of_the_catalogue_fits_in_the_validation_window() -> None:
    windows = [
        w
        for trial in load_trials()
        for c in trial.criteria
        for w in _drug_windows(c.rule) + _drug_windows(c.applies_when)
    ]
    assert len(windows) >= 10
    longest = max((TODAY - tr.subtract(TODAY, w)).days for w in windows)
    assert longest + 14 <= VALIDATION_WINDOW_DAYS  # a margin for partial dates and time zones


# --- Observations: only the read elements are validated -------------------------------------------------------


def test_observation_with_a_malformed_unread_element_is_read() -> None:
    p = patient("val-obs").lab("751-8", 2.1, "10*9/L", days_ago=2)
    p.last()["subject"] = {"reference": 5}
    p.last()["category"] = "not a list of CodeableConcepts"
    facts = facts_of(p)
    assert not any("invalid" in n for n in facts.notes)
    assert facts.lab_values("anc")


@pytest.mark.parametrize("element", ["code", "valueQuantity", "referenceRange", "interpretation"])
def test_observation_with_a_malformed_read_element_is_skipped(element: str) -> None:
    p = patient("val-obs-bad").lab("751-8", 2.1, "10*9/L", days_ago=2, low=1.5, high=7.0)
    obs = p.last()
    bad = {
        "code": {**obs["code"], "text": ""},
        "valueQuantity": {"value": "x", "unit": 3},
        "referenceRange": [{"low": {"value": "low"}}],
        "interpretation": "high",
    }
    obs[element] = bad[element]
    facts = facts_of(p)
    assert "Observation: invalid resource skipped (fails FHIR R4B validation)" in facts.notes
    assert not facts.lab_values("anc")


def test_read_part_keeps_read_elements_choices_and_their_primitive_extensions() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "identifier": [],
        "status": "final",
        "_status": {},
        "code": {},
        "subject": {},
        "valueQuantity": {},
        "effectivePeriod": {},
        "effectiveness": 1,
        "meta": {},
    }
    assert set(_read_part(obs, "Observation")) == {
        "resourceType",
        "id",
        "status",
        "_status",
        "code",
        "valueQuantity",
        "effectivePeriod",
    }
    condition = {"resourceType": "Condition", "subject": {}, "meta": {}}
    assert _read_part(condition, "Condition") is condition


def test_read_part_remembers_names_and_answers_as_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The element names' answers are remembered (``_READ_NAMES``): the same parts the first time a name is seen
    and later, in the record's order; bounded (beyond the bound, names are decided without being kept)."""
    from cds.normalise import common

    monkeypatch.setitem(common._READ_NAMES, "Observation", {})
    obs = {"resourceType": "Observation", "valueString": "x", "madeUp": 1, "_effectiveInstant": {}, "id": "o"}
    expected = {k: v for k, v in obs.items() if common._is_read("Observation", k)}
    assert list(expected) == ["resourceType", "valueString", "_effectiveInstant", "id"]
    for _ in range(2):  # first sight, then remembered
        part = _read_part(obs, "Observation")
        assert part == expected and list(part) == list(expected)
    assert common._READ_NAMES["Observation"] == {k: k != "madeUp" for k in obs}
    monkeypatch.setattr(common, "_MAX_NAMES", 5)
    other = {"resourceType": "Observation", "madeUpToo": 1, "code": {}}
    assert list(_read_part(other, "Observation")) == ["resourceType", "code"]
    assert "madeUpToo" not in common._READ_NAMES["Observation"]
    assert list(_read_part(other, "Observation")) == ["resourceType", "code"]


# --- per-call memos give the same answers -------------------------------------------------------------------

DATES = st.one_of(
    st.none(),
    st.integers(),
    st.sampled_from(
        ["2024", "2024-05", "2024-02-30", "2024-05-06T24:00:00Z", "2024-05-06T23:30:00+14:00", "2024-13", "x"]
    ),
    st.text(max_size=30),
)


@settings(derandomize=True, max_examples=200)
@given(value=DATES, tz=st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Kiritimati", "Nowhere/Zone"]))
def test_date_memo_equals_parse_fuzzy(value: Any, tz: str) -> None:
    memo = DateMemo()
    assert memo(value, tz) == parse_fuzzy(value, tz)
    assert memo(value, tz) == parse_fuzzy(value, tz)  # second answer from the memo
    resource = {"effectivePeriod": {"start": value, "end": value}}
    assert effective(resource, "effective", tz, memo) == effective(resource, "effective", tz)


@pytest.mark.parametrize(
    "code",
    [
        ("http://loinc.org", "751-8"),
        ("http://loinc.org/", "751-8"),
        (None, "751-8"),
        ("http://loinc.org", 7518),
        ("urn:x", "1"),
        ("http://loinc.org", {"a": 1}),
    ],
)
def test_concept_memo_equals_direct_lookup(code: tuple[Any, Any]) -> None:
    m = load_mappings()
    obs = {"code": {"coding": [{"system": code[0], "code": code[1]}]}}
    memo: dict[Any, Any] = {}
    assert observation_concepts(obs, m, memo) == observation_concepts(obs, m)
    assert observation_concepts(obs, m, memo) == observation_concepts(obs, m)


def test_drug_memo_survives_unhashable_codes_and_repeats() -> None:
    p = patient("val-memo")
    for i in range(3):
        p.med_admin("carboplatin", days_ago=5 + i)
    p.med_admin("carboplatin", days_ago=9)
    p.last()["medicationCodeableConcept"]["coding"].append({"system": "urn:x", "code": {"not": "hashable"}})
    facts = facts_of(p)
    assert len(facts.drugs) == 4 - 1  # the malformed (unhashable) coding fails validation: skipped
    assert all(d.classes == facts.drugs[0].classes and CHEMO in d.classes for d in facts.drugs)
