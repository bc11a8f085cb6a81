"""Procedures (groups, intent, body sites), immunizations, allergies, research, patient, sources."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.facts import SourceState
from cds.normalise.patient import age_years_range, completed_years, exact_age_years
from cds.raw import RESOURCE_TYPES
from cds.synthetic import CPT, MCODE_PROCEDURE_INTENT, SCT, PatientBuilder
from tests.normalise_support import TODAY, facts_of, patient

RT = (SCT, "1156506007", "External beam radiation therapy using photons (procedure)")


def test_procedure_groups_and_statuses() -> None:
    f = facts_of(
        patient()
        .procedure("hsct-autologous", days_ago=100)
        .procedure("hsct-allogeneic", days_ago=50, status="in-progress")
        .procedure("hsct", days_ago=10, status="not-done")
        .procedure("hsct", days_ago=10, status="entered-in-error")
        .procedure("hsct", days_ago=10, status="preparation")
    )
    assert len(f.procedures) == 2
    auto, allo = f.procedures
    assert auto.groups == {"hsct-autologous", "hsct"} and allo.groups == {"hsct-allogeneic", "hsct"}
    assert auto.end is not None and auto.end.earliest == TODAY - dt.timedelta(days=100)


@pytest.mark.parametrize(
    ("kwargs", "group", "intent"),
    [
        ({"intent": "palliative"}, "radiotherapy-palliative", "palliative"),
        ({"intent": "curative"}, "radiotherapy-non-palliative", "curative"),
        ({}, "radiotherapy-intent-unknown", None),
        ({"text": "Palliative radiotherapy to spine"}, "radiotherapy-palliative", "palliative"),
    ],
)
def test_radiotherapy_intent(kwargs: dict, group: str, intent: str | None) -> None:  # type: ignore[type-arg]
    text = kwargs.pop("text", None)
    b = patient().procedure(system=RT[0], code=RT[1], display=RT[2], text=text, days_ago=20, **kwargs)
    (p,) = facts_of(b).procedures
    assert {"radiotherapy", group} <= p.groups and p.intent == intent
    others = {"radiotherapy-palliative", "radiotherapy-non-palliative", "radiotherapy-intent-unknown"} - {
        group
    }
    assert not (p.groups & others)


def test_intent_from_reason_code() -> None:
    b = patient().procedure(system=RT[0], code=RT[1], display=RT[2], days_ago=20)
    b.last()["reasonCode"] = [{"text": "palliation of bone pain"}]
    assert facts_of(b).procedures[0].intent == "palliative"
    b = patient().procedure(system=RT[0], code=RT[1], display=RT[2], days_ago=20)
    b.last()["extension"] = [
        {
            "url": MCODE_PROCEDURE_INTENT,
            "valueCodeableConcept": {"coding": [{"system": SCT, "code": "363676003"}]},
        }
    ]
    assert facts_of(b).procedures[0].intent == "palliative"


def test_radiotherapy_body_site_and_tbi_text() -> None:
    (p,) = facts_of(
        patient().procedure(
            system=RT[0], code=RT[1], display=RT[2], body_site=(SCT, "39607008", "Lung structure")
        )
    ).procedures
    assert p.body_sites == {"lung"}
    (p,) = facts_of(patient().procedure(text="Total body irradiation 12 Gy", days_ago=60)).procedures
    assert "tbi" in p.groups and "radiotherapy" in p.groups
    (p,) = facts_of(patient().procedure(text="TBI 2 Gy", days_ago=60)).procedures
    assert {"tbi", "radiotherapy", "radiotherapy-intent-unknown"} <= p.groups


def test_mibg_therapy_vs_scan() -> None:
    (p,) = facts_of(
        patient().procedure(
            system=CPT, code="79101", display="Radiopharmaceutical therapy", text="131I-MIBG therapy"
        )
    ).procedures
    assert "mibg-therapy" in p.groups
    assert facts_of(patient().procedure(text="MIBG scan (123I)")).procedures == ()


def test_immunizations() -> None:
    f = facts_of(
        patient()
        .immunization("03", days_ago=20)
        .immunization("149", days_ago=5, status="not-done")
        .immunization("206", days_ago=3)
        .immunization("140", days_ago=2, status="entered-in-error")
    )
    groups = [i.groups for i in f.immunizations]
    assert groups == [{"live-vaccine"}, {"mva-bn"}]
    assert f.immunizations[0].date is not None and f.immunizations[0].date.earliest == TODAY - dt.timedelta(
        days=20
    )


def test_allergies() -> None:
    f = facts_of(
        patient()
        .allergy(text="Dinutuximab - anaphylaxis")
        .allergy(text="murine protein", verification_status="refuted")
        .allergy(text="monoclonal antibody", clinical_status="resolved")
        .allergy(text="penicillin")
    )
    assert [a.groups for a in f.allergies] == [{"biologics"}]


def test_research_subjects() -> None:
    f = facts_of(
        patient()
        .research_subject("NCT01234567", status="on-study", start_days_ago=30)
        .research_subject("NCT06631391", status="candidate")
        .research_subject("LOCAL-9", status="withdrawn")
    )
    assert [(r.study, r.on_study) for r in f.research] == [
        ("NCT01234567", True),
        ("NCT06631391", False),
        ("LOCAL-9", False),
    ]
    assert f.research[0].start is not None


def test_demographics_and_deceased() -> None:
    f = facts_of(PatientBuilder("d1", TODAY, birth_date="2019-03", sex="male", deceased=10))
    assert f.demographics.sex == "male" and f.demographics.deceased
    assert f.demographics.birth_date is not None and not f.demographics.birth_date.exact
    f = facts_of(PatientBuilder("d2", TODAY, sex=None))
    assert f.demographics.birth_date is None and f.demographics.sex is None and not f.demographics.deceased


def test_age_arithmetic() -> None:
    assert completed_years(dt.date(2010, 11, 27), TODAY) == 16
    assert completed_years(dt.date(2010, 11, 28), TODAY) == 15
    assert completed_years(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17
    assert completed_years(dt.date(2008, 2, 29), dt.date(2026, 3, 1)) == 18
    from cds.normalise.dates import parse_fuzzy

    assert age_years_range(parse_fuzzy("2010"), TODAY) == (15, 16)
    assert exact_age_years(parse_fuzzy("2010"), TODAY) is None
    assert exact_age_years(parse_fuzzy("2010-03"), TODAY) == 16
    assert age_years_range(parse_fuzzy("2030"), TODAY) is None


def test_sources_follow_unavailable() -> None:
    f = facts_of(patient(), unavailable={"Procedure": "403 Forbidden", "Immunization": "timeout"})
    assert set(f.sources) == set(RESOURCE_TYPES)
    assert (
        f.sources["Procedure"] == SourceState.UNAVAILABLE
        and f.sources["Immunization"] == SourceState.UNAVAILABLE
    )
    assert f.source_ok("Condition") and f.source_ok("Observation")


def test_patient_with_wrong_id_falls_back_to_first() -> None:
    b = PatientBuilder("x1", TODAY, age=(5, 0), sex="female")
    f = facts_of(b)
    assert f.demographics.resource_id == "Patient/x1"


def test_duplicate_resources_are_counted_once() -> None:
    b = patient().lab("anc", 1.5, "10*9/L", days_ago=1).condition("gvhd")
    raw_resources = b.resources()
    b._resources.extend([raw_resources[1], raw_resources[2]])  # the same Observation and Condition again
    f = facts_of(b)
    assert len(f.lab_values("anc")) == 1 and len(f.conditions) == 1


def test_a_failing_section_becomes_unavailable_not_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    import cds.normalise as normalise

    def boom(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(normalise, "normalise_procedures", boom)
    f = facts_of(patient().procedure("hsct", days_ago=5).condition("gvhd"))
    assert f.sources["Procedure"] == SourceState.UNAVAILABLE and f.procedures == ()
    assert f.sources["Condition"] == SourceState.RETRIEVED and len(f.conditions) == 1
    assert any("Procedure: could not be read" in n for n in f.notes)


def test_relevant_record_failing_validation_makes_its_history_incomplete() -> None:
    """A matching record that fails R4B validation is skipped; its type must not then claim "none recorded".

    Found end to end (tests/test_pipeline_records.py): a carboplatin administration 10 days ago with an empty
    ``text`` (invalid FHIR) vanished and the 21-day washout read "no chemotherapy recorded".
    """
    p = patient().med_admin("carboplatin", days_ago=10).condition("interstitial-lung-disease")
    p.last()["code"]["text"] = ""  # empty strings are invalid FHIR
    p.med_admin("carboplatin", days_ago=20)
    p._resources[0]["medicationCodeableConcept"]["text"] = ""  # noqa: SLF001 - the first administration
    f = facts_of(p)
    assert f.sources["MedicationAdministration"] == SourceState.UNAVAILABLE
    assert f.sources["Condition"] == SourceState.UNAVAILABLE
    assert len(f.drugs) == 1  # the valid record is kept
    assert any("treated as incomplete" in n for n in f.notes)
    # An invalid record that matches nothing (not read by any criterion) changes nothing.
    q = patient().condition(code="195967001", display="Asthma")
    q.last()["code"]["text"] = ""
    assert facts_of(q).sources["Condition"] == SourceState.RETRIEVED


@pytest.mark.parametrize(
    ("status", "period_end", "counted", "ongoing"),
    [
        ("in-progress", False, True, True),
        ("on-hold", False, True, True),
        ("in-progress", True, True, False),
        ("stopped", False, True, False),
        ("completed", False, True, False),
        ("not-done", False, False, False),
        ("unknown", False, False, False),
    ],
)
def test_procedure_in_progress_without_end_is_ongoing_and_stopped_counts(
    status: str, period_end: bool, counted: bool, ongoing: bool
) -> None:
    """Found end to end (tests/test_pipeline_dates.py / _records.py): a radiotherapy course in progress since
    60 days ago got ``end = start`` (read as over for 60 days), and a stopped (cut-short) course was dropped."""
    b = patient().procedure(
        "radiotherapy", start_days_ago=60, days_ago=(5 if period_end else None), status=status
    )
    if not period_end:
        b.last()["performedPeriod"] = {"start": b.date(60)}
    f = facts_of(b)
    assert len(f.procedures) == int(counted)
    if counted:
        proc = f.procedures[0]
        assert (proc.end is None) is ongoing
        if not ongoing:
            assert proc.end is not None
