"""``SplitValidator`` (skeleton + complex elements + leaves, verdicts memoised by digest) accepts and rejects
exactly what a full ``model_validate`` of the read part does, for every split type (issue 7,
docs/performance-changes.md)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cds.normalise.common import _model, _read_part
from cds.normalise.validation import (
    MEMO,
    SPLITS,
    VALIDATORS,
    SplitValidator,
    VerdictMemo,
    _take_leaf,
    _take_leaves,
    carrier,
    leaf_adapter,
    leaf_validate,
    whole_valid,
)
from cds.normalise.validation import key as key_of

BASE: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "obs-1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}], "text": "ANC"},
    "effectiveDateTime": "2026-10-27",
    "issued": "2026-10-27T10:00:00Z",
    "valueQuantity": {
        "value": 1.38,
        "unit": "10*9/L",
        "system": "http://unitsofmeasure.org",
        "code": "10*9/L",
    },
    "referenceRange": [{"low": {"value": 1.5, "unit": "10*9/L"}, "high": {"value": 8.0, "unit": "10*9/L"}}],
}

IDS = ["obs-1", "a.b-C9", "", "a b", "x" * 64, "x" * 65, "ö", 5, None, True, ["a"]]
DATES = [
    "2026-10-27",
    "2024",
    "2024-05",
    "2024-05-01T10:00:00Z",
    "2024-05-01T10:00:00+02:00",
    "2024-05-01T10:00:00",
    "2024-13-01",
    "2024-02-30",
    "",
    " 2024",
    "yesterday",
    2024,
    None,
    {"a": 1},
]
INSTANTS = [
    "2026-10-27T10:00:00Z",
    "2026-10-27T10:00:00.123+01:00",
    "2026-10-27",
    "2026-10-27T10:00:00",
    "",
    7,
    None,
]
NUMBERS = [1.38, 1, 0, -0.0, -5, 1e308, 10**30, "1.5", "", True, False, None, [], {"v": 1}, 1.5e-300]
EXTRA = [
    {},
    {"effectivePeriod": {"start": "2024-01-01"}},
    {"valueString": "high"},
    {"_effectiveDateTime": {"extension": [{"url": "http://x", "valueString": "y"}]}},
    {"_id": {"x": 1}},
    {"valueInteger": 4},
    {"status": None},
    {"status": "bogus"},
    {"code": None},
    {"referenceRange": [None]},
    {"interpretation": [{"text": "H"}, None]},
    {"dataAbsentReason": {"text": "lost"}},
    {"subject": {"reference": 5}},  # not read: dropped by _read_part
    {"code": {}},
    {"code": {"coding": [{"system": 5, "code": "751-8"}]}},
    {"code": {"coding": [None]}},
    {"code": {"text": ""}},
    {"code": "751-8"},
    {"code": [{"text": "x"}]},
    {"code": {"text": "x", "bogus": 1}},
    {"referenceRange": []},
    {"referenceRange": [{"low": {"value": "x"}}]},
    {"referenceRange": [{"text": "ok"}, {"bogus": 1}]},
    {"referenceRange": [{"text": "ok"}, "text"]},
    {"referenceRange": {"text": "not a list"}},
    {"valueQuantity": {}},
    {"valueQuantity": {"value": 1, "unit": 5}},
    {"valueQuantity": {"value": 1, "comparator": "about"}},
    {"valueQuantity": {"value": 2.5, "extra": 1}},
    {"valueQuantity": {"value": 3, "_value": {"extension": [{"url": "http://x", "valueString": "y"}]}}},
    {"valueQuantity": "1.5"},
    {"valueQuantity": None},
    {"valueQuantity": [{"value": 1}]},
]
MISSING = [None, "id", "effectiveDateTime", "issued", "valueQuantity", "status", "code"]


def _full(part: dict[str, Any], resource_type: str = "Observation") -> bool:
    try:
        _model(resource_type).model_validate(part)
    except Exception:  # noqa: BLE001
        return False
    return True


def _fresh(resource_type: str) -> SplitValidator:
    return SplitValidator(SPLITS[resource_type], memo=VerdictMemo())


def _observation(id_: Any, date: Any, issued: Any, number: Any, extra: dict[str, Any], missing: Any) -> dict:
    obs = copy.deepcopy(BASE)
    obs["id"], obs["effectiveDateTime"], obs["issued"] = id_, date, issued
    obs["valueQuantity"]["value"] = number
    obs.update(copy.deepcopy(extra))
    if missing is not None:
        obs.pop(missing, None)
    return obs


SHARED = VALIDATORS["Observation"]  # the process-wide memo, across examples: it must not leak a verdict


@settings(max_examples=600, derandomize=True, deadline=None)
@given(
    st.sampled_from(IDS),
    st.sampled_from(DATES),
    st.sampled_from(INSTANTS),
    st.sampled_from(NUMBERS),
    st.sampled_from(EXTRA),
    st.sampled_from(MISSING),
)
def test_same_verdict_as_full_validation(
    id_: Any, date: Any, issued: Any, number: Any, extra: dict[str, Any], missing: Any
) -> None:
    part = _read_part(_observation(id_, date, issued, number, extra, missing), "Observation")
    expected = _full(part)
    assert _fresh("Observation").valid(part) is expected
    assert SHARED.valid(part) is expected


@pytest.mark.parametrize("leaf", ["id", "effectiveDateTime", "issued"])
@pytest.mark.parametrize("bad", ["", "a b", "2024-13-01", "x" * 65])
def test_one_bad_leaf_rejects_even_after_its_skeleton_passed(leaf: str, bad: str) -> None:
    validator = _fresh("Observation")
    good = _read_part(copy.deepcopy(BASE), "Observation")
    assert validator.valid(good)
    broken = {**good, leaf: bad}
    assert validator.valid(broken) is _full(broken)


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), True, "1.5", None, [1]])
def test_bad_quantity_value_after_a_good_one(bad: Any) -> None:
    validator = _fresh("Observation")
    good = _read_part(copy.deepcopy(BASE), "Observation")
    assert validator.valid(good)
    broken = {**good, "valueQuantity": {**good["valueQuantity"], "value": bad}}
    assert validator.valid(broken) is _full(broken)


# --- the other split types: a valid base record, then mutations of leaves and elements -----------------------

SUBJECT = {"reference": "Patient/p1"}
CC = {"coding": [{"system": "http://snomed.info/sct", "code": "47625008", "display": "Intravenous route"}]}
BASES: dict[str, dict[str, Any]] = {
    "MedicationAdministration": {
        "resourceType": "MedicationAdministration",
        "id": "madm-1",
        "status": "completed",
        "subject": SUBJECT,
        "medicationCodeableConcept": {
            "text": "carboplatin",
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "40048"}],
        },
        "effectivePeriod": {"start": "2026-09-17", "end": "2026-09-18"},
        "dosage": {"route": CC, "dose": {"value": 305, "unit": "mg", "system": "http://unitsofmeasure.org"}},
    },
    "Condition": {
        "resourceType": "Condition",
        "id": "cond-1",
        "subject": SUBJECT,
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "281562007"}], "text": "NB"},
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "category": [{"coding": [{"code": "problem-list-item"}]}],
        "onsetDateTime": "2024-11-27",
        "abatementDateTime": "2025-01-02T10:00:00Z",
        "recordedDate": "2024-11-28",
        "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "23451007"}]}],
    },
    "Procedure": {
        "resourceType": "Procedure",
        "id": "proc-1",
        "status": "completed",
        "subject": SUBJECT,
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "108290001"}], "text": "RT"},
        "performedPeriod": {"start": "2026-03-17", "end": "2026-03-20"},
        "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "23451007"}]}],
    },
}
# (path, values): each value replaces the element at path (None at the end of a path deletes it)
BAD_CC: list[Any] = [
    {},
    {"text": ""},
    {"coding": [None]},
    {"coding": [{"code": 5}]},
    "x",
    [CC],
    None,
    {"bogus": 1},
]
MUTATIONS: dict[str, list[tuple[tuple[str, ...], list[Any]]]] = {
    "MedicationAdministration": [
        (("id",), ["a.b-C9", "", "a b", "x" * 65, 5]),
        (("status",), ["bogus", None, ""]),
        (("subject",), [{"reference": 5}, {}, None, "Patient/p1", {"reference": "Patient/p2"}]),
        (("medicationCodeableConcept",), BAD_CC),
        (("medicationReference",), [{"reference": "Medication/m1"}, {"display": "x"}, "Medication/m1"]),
        (("effectivePeriod",), [{}, {"start": "2024"}, {"end": "2024-13-01"}, {"start": 5}, "2024", None]),
        (("effectivePeriod", "start"), ["2024-05", "2024-05-01T10:00:00", "yesterday", "", 2024, None]),
        (("effectiveDateTime",), ["2024-05-01", "2024-02-30", "", 7]),
        (("dosage",), [{}, {"text": ""}, {"dose": "5 mg"}, {"route": None}, [{"text": "x"}], None]),
        (("dosage", "dose", "value"), [0, -1, 1.5, 10**30, 1e308, "305", True, None, [1]]),
        (("dosage", "dose", "unit"), [5, "", "mg"]),
        (("dosage", "route"), BAD_CC),
        (("note",), [[{"text": "x"}], [None], "x"]),
    ],
    "Condition": [
        (("id",), ["a.b-C9", "", "a b", 5]),
        (("code",), BAD_CC),
        (("clinicalStatus",), BAD_CC),
        (("verificationStatus",), BAD_CC),
        (("category",), [[], [None], [{"text": "x"}, {}], CC, [CC, {"bogus": 1}]]),
        (("bodySite",), [[], [None], [{"text": "x"}, {}], CC, "x"]),
        (("onsetDateTime",), ["2024", "2024-05", "2024-13-01", "", 2024, None]),
        (("abatementDateTime",), ["2024-05-01T10:00:00+02:00", "2024-05-01T25:00:00Z", "", None]),
        (("recordedDate",), ["2024", "x", None]),
        (("onsetPeriod",), [{"start": "2024"}, {"start": "bad"}]),
        (("onsetString",), ["as a child"]),
        (("subject",), [None, {"reference": 5}]),
    ],
    "Procedure": [
        (("id",), ["", "x" * 64, "x" * 65]),
        (("status",), ["bogus", None]),
        (("code",), BAD_CC),
        (("performedPeriod",), [{}, {"start": "2024"}, {"start": "2024-13-01"}, None, "2024"]),
        (("performedPeriod", "end"), ["2026-03-21T10:00:00Z", "2026-03-21T10:00:00", "", 3]),
        (("performedDateTime",), ["2026-03-17", "2026-02-30"]),
        (("bodySite",), [[], [None], [{"text": "x"}, {}], CC]),
        (("extension",), [[{"url": "http://x", "valueString": "y"}], [{"valueString": "y"}], [None]]),
    ],
}


def _mutated(resource_type: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    record = copy.deepcopy(BASES[resource_type])
    holder = record
    for key in path[:-1]:
        holder = holder.setdefault(key, {}) if isinstance(holder.get(key), dict | None) else holder[key]
    if value is None:
        holder.pop(path[-1], None)
    else:
        holder[path[-1]] = copy.deepcopy(value)
    return record


CASES = [
    pytest.param(rt, path, value, id=f"{rt}-{'.'.join(path)}-{i}")
    for rt, mutations in MUTATIONS.items()
    for path, values in mutations
    for i, value in enumerate(values)
]


@pytest.mark.parametrize("resource_type", sorted(BASES))
def test_base_records_are_valid(resource_type: str) -> None:
    part = _read_part(copy.deepcopy(BASES[resource_type]), resource_type)
    assert _full(part, resource_type)
    assert _fresh(resource_type).valid(part)


@pytest.mark.parametrize(("resource_type", "path", "value"), CASES)
def test_split_types_same_verdict_as_full_validation(
    resource_type: str, path: tuple[str, ...], value: Any
) -> None:
    part = _read_part(_mutated(resource_type, path, value), resource_type)
    expected = _full(part, resource_type)
    validator = _fresh(resource_type)
    assert validator.valid(_read_part(copy.deepcopy(BASES[resource_type]), resource_type))  # warm memo first
    assert validator.valid(part) is expected
    assert VALIDATORS[resource_type].valid(part) is expected


@pytest.mark.parametrize("order", [1, -1])
def test_one_calls_verdicts_by_text_give_the_same_verdicts(order: int) -> None:
    """A call's ``seen`` dict (verdicts by text, in front of the digest memo), shared by every record of the
    call, gives full validation's verdict for every mutated record, whatever the order."""
    seen: dict[bytes, bool] = {}
    validators = {t: _fresh(t) for t in SPLITS}
    cases = [case.values for case in CASES][::order]
    for resource_type, path, value in cases:
        part = _read_part(_mutated(resource_type, path, value), resource_type)
        assert validators[resource_type].valid(part, seen) is _full(part, resource_type), (path, value)
    assert seen and len(seen) < 7 * len(cases)
    assert False in seen.values() and True in seen.values()


@pytest.mark.parametrize(
    ("resource_type", "first", "second"),
    [
        (
            "MedicationAdministration",
            (("effectivePeriod", "start"), "2024"),
            (("dosage", "dose", "value"), "1"),
        ),
        ("MedicationAdministration", (("dosage", "dose", "value"), 1.5), (("effectivePeriod",), "x")),
        ("Condition", (("onsetDateTime",), "2024-13-01"), (("category",), [None])),
        ("Procedure", (("id",), ""), (("performedPeriod", "end"), "bad")),
    ],
)
def test_two_mutations_at_once(resource_type: str, first: tuple, second: tuple) -> None:
    record = _mutated(resource_type, *first)
    path, value = second
    holder = record
    for key in path[:-1]:
        holder = holder[key] if isinstance(holder.get(key), dict) else holder.setdefault(key, {})
    holder[path[-1]] = value
    part = _read_part(record, resource_type)
    assert _fresh(resource_type).valid(part) is _full(part, resource_type)


# --- the split tables themselves ------------------------------------------------------------------------------


@pytest.mark.parametrize("resource_type", sorted(SPLITS))
def test_leaves_have_their_fields_annotation_and_valid_stand_ins(resource_type: str) -> None:
    split = SPLITS[resource_type]
    assert carrier(*split.model) is _model(resource_type)
    for leaf in split.leaves:
        field = carrier(*leaf.carrier).model_fields[leaf.path[-1]]
        assert not field.metadata  # every constraint is in the annotation, which the adapter validates
        assert leaf_adapter(leaf).core_schema["type"] == "nullable"
        assert leaf_adapter(leaf).validate_python(leaf.stand_in) is not None


def _record_with_leaf(resource_type: str, leaf: Any, value: Any) -> dict[str, Any]:
    """A valid base record of the type with the leaf set to ``value`` (alternatives of a choice element removed)."""
    record = copy.deepcopy(BASE if resource_type == "Observation" else BASES[resource_type])
    choice = re.match(r"[a-z]+", leaf.path[0]).group()
    for other in [
        k for k in record if k != leaf.path[0] and k.startswith(choice) and k[len(choice) :][:1].isupper()
    ]:
        del record[other]
    holder = record
    for key in leaf.path[:-1]:
        holder = holder.setdefault(key, {})
    holder[leaf.path[-1]] = value
    return _read_part(record, resource_type)


LEAF_EDGES: list[Any] = [
    *IDS,
    "x" * 255,
    "x" * 256,
    "a\n",
    "a\nb",
    "\n",
    "a\x00",
    "\u0663",  # an Arabic-Indic digit
    "\ud800",  # a lone surrogate
    "ß",
    "A-Z.0-9",
    *DATES,
    *INSTANTS,
    *NUMBERS,
    "2024-05-01T10:00:00.123456789Z",
    "2024-05-01T23:59:60Z",
    "2024-05-01T10:00Z",
    "2024-05-01T10:00:00+14:00",
    "2024-05-01T10:00:00-00:00",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "2024-05-01T10:00:00 Z",
    "2024-05-01\n",
    float("inf"),
    float("nan"),
    -(2**63),
    2**64,
]
LEAVES = [(rt, leaf) for rt, split in SPLITS.items() for leaf in split.leaves]
_DATE_RE = r"[0-9]{4}(-[0-9]{1,2}(-[0-9]{1,2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
_INSTANT_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,4})?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
LEAF_VALUES: dict[type, st.SearchStrategy[Any]] = {
    str: st.one_of(
        st.sampled_from([v for v in LEAF_EDGES if type(v) is str]),
        st.text(max_size=70),
        st.text(alphabet="abcXYZ019-._ \n", min_size=0, max_size=260),
        st.from_regex(rf"\A{_DATE_RE}\Z"),
        st.from_regex(rf"\A{_INSTANT_RE}\Z"),
    ),
    int: st.one_of(
        st.sampled_from([v for v in LEAF_EDGES if type(v) in (int, float)]), st.integers(), st.floats()
    ),
}


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(st.sampled_from(LEAVES), st.data())
def test_a_leaf_adapter_gives_its_fields_verdict(case: tuple[str, Any], data: st.DataObject) -> None:
    """``TypeAdapter(annotation)`` of a leaf (its core validator, :func:`leaf_validate`) accepts exactly what its
    model field accepts in a whole record, for values of the JSON types the leaf is taken out with (a value of
    another type stays in the skeleton)."""
    resource_type, leaf = case
    value = data.draw(LEAF_VALUES[leaf.types[0]])
    assert type(value) in leaf.types
    try:
        leaf_validate(leaf)(value)  # what the validator calls (the adapter's core validator)
        alone = True
    except ValidationError:
        alone = False
    assert alone is _full(_record_with_leaf(resource_type, leaf, value), resource_type)


@pytest.mark.parametrize("resource_type", sorted(SPLITS))
def test_stand_ins_keep_a_valid_record_valid(resource_type: str) -> None:
    base = _read_part(
        copy.deepcopy(BASE if resource_type == "Observation" else BASES[resource_type]), resource_type
    )
    for element in SPLITS[resource_type].complexes:
        stand_in = [element.stand_in] if element.repeats else element.stand_in
        assert carrier(*element.model).model_validate(element.stand_in)
        assert _full({**base, element.name: stand_in}, resource_type), element.name
    for leaf in SPLITS[resource_type].leaves:
        record = copy.deepcopy(base)
        choice = re.match(r"[a-z]+", leaf.path[0]).group()  # a choice element replaces its alternatives
        for other in [
            k for k in record if k != leaf.path[0] and k.startswith(choice) and k[len(choice) :][:1].isupper()
        ]:
            del record[other]
        holder = record
        for key in leaf.path[:-1]:
            holder = holder.setdefault(key, {})
        holder[leaf.path[-1]] = leaf.stand_in
        assert _full(record, resource_type), leaf.path


def test_take_leaf_copies_only_along_the_path() -> None:
    part = _read_part(copy.deepcopy(BASES["MedicationAdministration"]), "MedicationAdministration")
    leaf = next(x for x in SPLITS["MedicationAdministration"].leaves if x.path == ("dosage", "dose", "value"))
    replaced, value = _take_leaf(part, leaf)
    assert value == 305 and replaced["dosage"]["dose"]["value"] == leaf.stand_in
    assert part["dosage"]["dose"]["value"] == 305  # the record itself is untouched
    assert replaced["dosage"]["route"] is part["dosage"]["route"]
    assert _take_leaf({**part, "dosage": {"dose": {"value": "305"}}}, leaf)[1] is None  # not a number: stays


def _one_leaf_at_a_time(part: dict[str, Any], resource_type: str) -> tuple[dict[str, Any], list[Any]]:
    skeleton, taken = part, []
    for leaf in SPLITS[resource_type].leaves:
        skeleton, value = _take_leaf(skeleton, leaf)
        if value is not None:
            taken.append((leaf, value))
    return skeleton, taken


@pytest.mark.parametrize("resource_type", sorted(SPLITS))
@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: None,
        lambda r: r.update(id=5, effectivePeriod={"start": "2024", "end": 7}),
        lambda r: r.update(dosage={"dose": {"value": "305"}}, valueQuantity={"value": True}),
        lambda r: r.update(dosage="x", valueQuantity=[1], effectivePeriod=None),
        lambda r: r.update(onsetDateTime=2024, performedPeriod={"end": "2024-01-01"}),
    ],
)
def test_take_leaves_equals_taking_them_one_at_a_time(resource_type: str, mutate: Any) -> None:
    record = copy.deepcopy(BASE if resource_type == "Observation" else BASES[resource_type])
    mutate(record)
    part = _read_part(record, resource_type)
    before = repr(part)
    skeleton, taken = _take_leaves(part, SPLITS[resource_type].leaves)
    expected, expected_taken = _one_leaf_at_a_time(part, resource_type)
    assert repr(skeleton) == repr(expected)
    assert [(leaf, repr(v)) for leaf, v in taken] == [(leaf, repr(v)) for leaf, v in expected_taken]
    assert skeleton is not part and repr(part) == before  # a copy; the record itself is untouched


# --- the memo -------------------------------------------------------------------------------------------------


def test_memo_keeps_digests_not_content_and_is_bounded() -> None:
    memo = VerdictMemo(capacity=3)
    validator = SplitValidator(SPLITS["Observation"], memo=memo)
    part = _read_part(copy.deepcopy(BASE), "Observation")
    assert validator.valid(part)
    assert 0 < len(memo) <= 3
    assert all(isinstance(k, bytes) and len(k) == 16 for k in memo._verdicts)
    assert "obs-1" not in repr(memo._verdicts) and "751-8" not in repr(memo._verdicts)
    for n in range(20):
        assert validator.valid({**part, "id": f"obs-{n}"})
        assert len(memo) <= 3


def test_memo_tells_int_from_float_and_str_from_number() -> None:
    memo = VerdictMemo()
    calls = []

    class Model:
        @staticmethod
        def model_validate(data: dict[str, Any]) -> None:
            calls.append(data)

    for value in (1, 1.0, True, "1", 1, -0.0, 0.0, 0, False, None, [1], [1.0], {"a": 1}, {"a": True}):
        assert memo.verdict(key_of("a", value), Model, {"value": value})
    assert len(calls) == 13  # only the second 1 was remembered


def test_process_memo_is_the_default() -> None:
    assert all(v.memo is MEMO for v in VALIDATORS.values())


PATIENTS: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "2015-03-01"},
    {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "2015-13-01"},
    {"resourceType": "Patient", "id": "p 1", "gender": "female"},
    {"resourceType": "Patient", "id": "p1", "birthDate": 2015},
    {"resourceType": "Patient", "id": "p1", "deceasedBoolean": True, "deceasedDateTime": "2020"},
    {"resourceType": "Patient", "id": "p1", "name": [None]},
]


@pytest.mark.parametrize("record", PATIENTS, ids=range(len(PATIENTS)))
def test_whole_verdict_of_an_unsplit_type_is_full_validation_and_remembered(record: dict[str, Any]) -> None:
    memo = VerdictMemo()
    expected = _full(record, "Patient")
    assert whole_valid(("patient", "Patient"), record, memo) is expected
    assert len(memo) == 1
    assert whole_valid(("patient", "Patient"), copy.deepcopy(record), memo) is expected  # remembered
    assert len(memo) == 1


def test_ids_are_not_remembered_across_calls() -> None:
    memo = VerdictMemo()
    validator = SplitValidator(SPLITS["Observation"], memo=memo)
    part = _read_part(copy.deepcopy(BASE), "Observation")
    assert validator.valid(part)
    size = len(memo)
    for n in range(20):
        assert validator.valid({**part, "id": f"obs-{n}"})
    assert len(memo) == size  # a new id adds nothing
    assert validator.valid({**part, "id": "a b"}) is _full({**part, "id": "a b"}) is False


def test_a_failure_that_is_not_a_validation_error_is_not_remembered() -> None:
    memo = VerdictMemo()
    calls = []

    class Flaky:
        @staticmethod
        def model_validate(data: dict[str, Any]) -> None:
            calls.append(data)
            if len(calls) == 1:
                raise RecursionError("deep")

    assert memo.verdict(key_of("x", 1), Flaky, {"value": 1}) is False
    assert len(memo) == 0
    assert memo.verdict(key_of("x", 1), Flaky, {"value": 1}) is True
    assert memo.verdict(key_of("x", 1), Flaky, {"value": 1}) is True
    assert len(calls) == 2


# --- shapes: a record without its leaves, looked up whole before its pieces ------------------------------------


@pytest.mark.parametrize("order", [1, -1])
def test_remembered_shapes_give_the_same_verdicts_in_any_order(order: int) -> None:
    """One memo per type, no per-call ``seen``: every mutated record's shape, once remembered, answers for the
    records that share it (different ids, dates and numbers), and each verdict is full validation's."""
    validators = {t: _fresh(t) for t in SPLITS}
    cases = [case.values for case in CASES][::order]
    for resource_type, path, value in cases:
        part = _read_part(_mutated(resource_type, path, value), resource_type)
        for other in (part, {**part, "id": "other-id"}, {**part, "id": "bad id"}):
            assert validators[resource_type].valid(other) is _full(other, resource_type), (path, value)


def test_a_known_shape_skips_its_pieces_and_a_new_leaf_is_still_checked() -> None:
    memo = VerdictMemo()
    validator = SplitValidator(SPLITS["Observation"], memo=memo)
    part = _read_part(copy.deepcopy(BASE), "Observation")
    assert validator.valid(part)
    size = len(memo)  # shape, skeleton, code, quantity, range, two dates and the number
    assert size == 8
    later = {
        **part,
        "effectiveDateTime": "2025-01-02",
        "valueQuantity": {**part["valueQuantity"], "value": 2},
    }
    assert validator.valid(later)
    assert len(memo) == size + 2  # the shape was known: only the new date and number were added
    for date in ("2025-02-30", "2025-1-2"):
        assert validator.valid({**later, "effectiveDateTime": date}) is _full(
            {**later, "effectiveDateTime": date}
        )
        assert not validator.valid({**later, "effectiveDateTime": date})


def test_a_shape_whose_piece_failed_for_another_reason_is_not_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cds.normalise.validation as validation

    real = validation._check

    def flaky(validate: Any, data: Any) -> tuple[bool, bool]:
        if getattr(validate, "__self__", None) is carrier("codeableconcept", "CodeableConcept"):
            return False, False  # as for a RecursionError
        return real(validate, data)

    memo = VerdictMemo()
    validator = SplitValidator(SPLITS["Observation"], memo=memo)
    part = _read_part(copy.deepcopy(BASE), "Observation")
    seen: dict[bytes, bool] = {}
    monkeypatch.setattr(validation, "_check", flaky)
    assert validator.valid(part, seen) is False
    assert False not in seen.values() and False not in memo._verdicts.values()
    monkeypatch.setattr(validation, "_check", real)
    assert validator.valid(part, seen) is True  # checked again, not answered from a remembered failure
    assert validator.valid(part) is True


# --- the key: marshal format 2 bytes -----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=800, derandomize=True, deadline=None)
@given(JSON, JSON)
def test_equal_keys_mean_equal_content_with_types(a: Any, b: Any) -> None:
    """The same content always gives the same key (also a copy built apart), and equal keys mean the same
    content, types included (``repr`` shows them: ``1`` / ``1.0`` / ``True``, ``0.0`` / ``-0.0``)."""
    assert key_of("X", a) == key_of("X", copy.deepcopy(a)) == key_of(
        "X", json.loads(json.dumps(a))
    ) or _has_nan(a)
    if key_of("X", a) == key_of("X", b):
        assert repr(a) == repr(b)
    assert key_of("X", a) != key_of("Y", a)


def _has_nan(value: Any) -> bool:
    return value != value or "nan" in repr(value)  # json.dumps writes NaN; equal anyway, but not ==


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, 1.0),
        (1, True),
        (0, False),
        (0.0, -0.0),
        ("1", 1),
        (None, "None"),
        ([1], (1,)),
        ({"a": 1}, {"a": 1.0}),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # the order of elements differs: a miss, never a wrong verdict
        ("a|b", "a"),
        ("\ud800", "\ufffd"),
    ],
)
def test_keys_tell_apart_what_validates_differently(a: Any, b: Any) -> None:
    assert key_of("X", a) != key_of("X", b)


def test_not_json_data_is_validated_without_the_memo() -> None:
    class Odd(dict):  # marshal writes exact dicts only
        pass

    memo = VerdictMemo()
    validator = SplitValidator(SPLITS["Observation"], memo=memo)
    good = _read_part(copy.deepcopy(BASE), "Observation")
    for code, expected in ((good["code"], True), ({**good["code"], "text": ""}, False)):
        odd = {**good, "code": Odd(code)}
        assert validator.valid(odd) is _full(odd) is expected
    assert len(memo) == 0
    assert whole_valid(("patient", "Patient"), Odd(PATIENTS[0]), memo) is True
    assert whole_valid(("patient", "Patient"), Odd(PATIENTS[1]), memo) is False
    assert len(memo) == 0


def test_keys_do_not_depend_on_interning_or_shared_objects() -> None:
    """Why format 2: later formats mark interned strings and objects referenced twice, so equal content could
    give different bytes (a miss each time: a chart's keys come from ``json.loads``, which shares dict keys)."""
    import sys

    interned, built = sys.intern("resourceType"), "".join(["resource", "Type"])
    assert interned is not built
    assert key_of("X", {interned: "Observation"}) == key_of("X", {built: "Observation"})
    shared = {"value": 1.5, "unit": "mg"}
    assert key_of("X", [shared, shared]) == key_of("X", [dict(shared), dict(shared)])
