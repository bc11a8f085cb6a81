"""Conditions: groups, status filters, abatement, body sites."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.config import Config
from cds.mappings import load_mappings
from cds.normalise.common import Build
from cds.normalise.conditions import is_history_record
from cds.synthetic import ICD10CM, SCT
from tests.normalise_support import facts_of, patient


def test_condition_groups_and_fields() -> None:
    (c,) = facts_of(
        patient().condition("ewing-sarcoma", onset_days_ago="2023-04", recorded_days_ago=10)
    ).conditions
    assert {"bone-sarcoma", "sarcoma", "malignancy"} <= c.groups
    assert c.clinical_status == "active" and c.verification_status == "confirmed" and c.active
    assert c.onset is not None and c.onset.earliest == dt.date(2023, 4, 1) and not c.onset.exact
    assert c.codes == (f"{SCT}|307608006",)


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_and_entered_in_error_never_count(verification: str) -> None:
    assert facts_of(patient().condition("hiv", verification_status=verification)).conditions == ()


@pytest.mark.parametrize("verification", ["provisional", "differential", "unconfirmed", None])
def test_other_verification_statuses_are_kept(verification: str | None) -> None:
    (c,) = facts_of(patient().condition("hiv", verification_status=verification)).conditions
    assert c.verification_status == verification


@pytest.mark.parametrize(
    ("clinical", "active"),
    [
        ("active", True),
        ("recurrence", True),
        ("relapse", True),
        ("inactive", False),
        ("remission", False),
        ("resolved", False),
    ],
)
def test_clinical_status(clinical: str, active: bool) -> None:
    (c,) = facts_of(patient().condition("neuroblastoma", clinical_status=clinical)).conditions
    assert c.active is active


def test_abatement_date_and_boolean() -> None:
    (c,) = facts_of(
        patient().condition("hepatitis-c", clinical_status=None, abatement_days_ago="2019")
    ).conditions
    assert c.abatement is not None and c.abatement.latest == dt.date(2019, 12, 31) and not c.active
    b = patient().condition("hepatitis-c", clinical_status=None)
    b.last()["abatementString"] = "in childhood"
    (c,) = facts_of(b).conditions
    assert c.clinical_status == "resolved" and not c.active


def test_unmatched_conditions_are_not_kept() -> None:
    assert facts_of(patient().condition(code="38341003", display="Hypertension")).conditions == ()


def test_icd10_and_text_only_conditions() -> None:
    f = facts_of(
        patient()
        .condition(
            system=ICD10CM,
            code="C49.4",
            display="Malignant neoplasm of connective and soft tissue of abdomen",
        )
        .condition(text="Alveolar rhabdomyosarcoma of the forearm")
    )
    assert all("soft-tissue-sarcoma" in c.groups for c in f.conditions) and len(f.conditions) == 2


def test_body_sites_from_code_and_group() -> None:
    f = facts_of(
        patient()
        .condition("liver-metastasis")
        .condition("neuroblastoma", body_site=(SCT, "39607008", "Lung structure"))
    )
    by_id = {c.resource_id: c for c in f.conditions}
    assert by_id["Condition/p1-cond-1"].body_sites == {"liver"}
    assert by_id["Condition/p1-cond-2"].body_sites == {"lung"}


def test_invalid_condition_is_skipped_and_counted() -> None:
    b = patient().condition("gvhd")
    b.last()["onsetDateTime"] = "yesterday"
    f = facts_of(b)
    assert f.conditions == () and any("Condition: invalid" in n for n in f.notes)


def test_onset_and_abatement_as_age() -> None:
    from cds.synthetic import PatientBuilder
    from tests.normalise_support import TODAY

    b = PatientBuilder("a1", TODAY, birth_date="2010-03-15", sex="female").condition(
        "hepatitis-c", clinical_status="resolved"
    )
    b.last()["onsetAge"] = {"value": 5, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}
    b.last()["abatementAge"] = {
        "value": 7,
        "unit": "years",
        "system": "http://unitsofmeasure.org",
        "code": "a",
    }
    (c,) = facts_of(b).conditions
    assert c.onset is not None and (c.onset.earliest, c.onset.latest) == (
        dt.date(2015, 3, 15),
        dt.date(2016, 3, 14),
    )
    assert c.abatement is not None and c.abatement.earliest == dt.date(2017, 3, 15)
    b = patient().condition("hepatitis-c")
    b.last()["onsetAge"] = {"value": 2.5, "code": "a", "system": "http://unitsofmeasure.org"}
    assert facts_of(b).conditions[0].onset is None


def test_history_of_records_are_inactive() -> None:
    f = facts_of(
        patient()
        .condition(
            system=ICD10CM, code="Z85.9", display="Personal history of malignant neoplasm, unspecified"
        )
        .condition(code="1098951000119108", display="History of cancer metastatic to liver (situation)")
        .condition(
            system=ICD10CM, code="Z86.718", display="Personal history of other venous thrombosis and embolism"
        )
    )
    assert len(f.conditions) == 3
    assert all(not c.active and c.clinical_status == "inactive" for c in f.conditions)
    assert "thromboembolism" in f.conditions[2].groups and "liver-metastasis" in f.conditions[1].groups
    (c,) = facts_of(patient().condition("neuroblastoma")).conditions
    assert c.active


def test_screening_text_never_matches() -> None:
    assert facts_of(patient().condition(text="Cancer screening")).conditions == ()


@pytest.mark.parametrize(
    ("text", "display", "history"),
    [
        ("History of neuroblastoma", "History of neuroblastoma", True),  # the same string twice
        ("Neuroblastoma", "History of neuroblastoma", True),
        ("History of neuroblastoma", "Neuroblastoma", True),
        ("Neuroblastoma", "Neuroblastoma", False),
        ("Neuroblastoma", None, False),
    ],
)
def test_history_texts_are_read_once_each(text: str, display: str | None, history: bool) -> None:
    coding = {"system": SCT, "code": "432328008"} | ({"display": display} if display else {})
    build = Build(evaluation_date=dt.date(2026, 11, 27), mappings=load_mappings(), config=Config())
    assert is_history_record({"text": text, "coding": [coding]}, build) is history
