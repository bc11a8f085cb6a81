"""The synthetic patient builder: valid FHIR R4 (fhir.resources R4B), relative dates, stable ids."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B import get_fhir_model_class

from cds.synthetic import ATC, CONDITIONS, LABS, NCIT, RXNORM, SCT, UCUM, Drug, PatientBuilder, years_before

TODAY = dt.date(2026, 3, 15)


def full_patient(today: dt.date = TODAY) -> PatientBuilder:
    return (
        PatientBuilder("syn-1", today, age=(6, 30), sex="male")
        .condition("neuroblastoma", onset_days_ago=400, body_site="adrenal-gland")
        .condition("gvhd", clinical_status="resolved", abatement_days_ago=90)
        .condition(
            system="http://hl7.org/fhir/sid/icd-10-cm",
            code="C74.90",
            display="adrenal",
            verification_status="refuted",
        )
        .condition(text="free-text only problem", clinical_status=None, verification_status=None)
        .lab("anc", 1.2, "10*9/L", low=1.5, high=8.0, days_ago=3)
        .lab("anc", 900, "/uL", unit_text="cells/uL", days_ago=20)
        .lab("creatinine-molar", 53, "umol/L", high=80, days_ago=2)
        .lab("wbc", 4.1, None, unit_text="K/uL", days_ago=2)
        .lab("hbsag", coded="negative", days_ago=10)
        .lab("urine-protein-dipstick", value_string="1+", days_ago=4)
        .lab("12345-6", 3, "mg/dL", display="Made-up test", status="preliminary")
        .lab(
            "spo2",
            97,
            "%",
            components=[PatientBuilder.component("3150-0", 21, "%", display="Inhaled oxygen concentration")],
        )
        .weight(21.5, days_ago=1)
        .height(118, days_ago=1)
        .lansky(70, days_ago=5)
        .karnofsky(80, days_ago=6)
        .ecog(1, days_ago=7)
        .med_admin("carboplatin", days_ago=30, dose=(300, "mg"), route="intravenous")
        .med_admin("lomustine", days_ago=40, start_days_ago=44, via="contained")
        .med_admin("pegfilgrastim", days_ago=10, via="reference", route="subcutaneous")
        .med_admin(Drug((), "investigational NK-priming agent"), days_ago=12, via="text")
        .med_admin("dexamethasone", start_days_ago=5, ongoing=True, dose=(4, "mg"), route="oral")
        .med_statement(
            "prednisone", start_days_ago=20, status="active", dose=(10, "mg"), per_day=True, route="oral"
        )
        .med_request("tacrolimus", authored_days_ago=3, dose=(1, "mg"))
        .procedure("hsct-autologous", days_ago=70)
        .procedure("radiotherapy", days_ago=20, start_days_ago=30, intent="palliative", body_site="lung")
        .procedure(text="Total body irradiation", days_ago=200)
        .immunization("mmr", days_ago=25)
        .allergy(text="murine antibodies")
        .allergy(drug="dinutuximab")
        .research_subject("NCT01234567", start_days_ago=100, end_days_ago=50, status="off-study")
    )


def test_every_resource_validates_as_fhir_r4b() -> None:
    for res in full_patient().resources():
        model = get_fhir_model_class(res["resourceType"])
        model.model_validate(res)  # raises on any invalid element


def test_transaction_bundle_validates_and_uses_put_with_stable_ids() -> None:
    bundle = full_patient().transaction_bundle()
    get_fhir_model_class("Bundle").model_validate(bundle)
    urls = [e["request"]["url"] for e in bundle["entry"]]
    assert all(e["request"]["method"] == "PUT" for e in bundle["entry"])
    assert urls[0] == "Patient/syn-1"
    assert len(urls) == len(set(urls))
    assert all(u.split("/", 1)[1].startswith("syn-1") for u in urls)
    # the same builder calls produce byte-identical bundles (stable ids)
    assert full_patient().transaction_bundle() == bundle


def test_ids_are_prefixed_counted_per_kind_and_explicit_ids_win() -> None:
    p = (
        PatientBuilder("p", TODAY)
        .lab("anc", 1, "10*9/L")
        .lab("anc", 2, "10*9/L")
        .condition("hiv", id="p-hiv")
    )
    ids = [r["id"] for r in p.resources()]
    assert ids == ["p", "p-obs-1", "p-obs-2", "p-hiv"]


def test_invalid_ids_are_rejected() -> None:
    with pytest.raises(ValueError):
        PatientBuilder("bad id!", TODAY)
    with pytest.raises(ValueError):
        PatientBuilder("p" * 60, TODAY).lab("anc", 1, "10*9/L")  # "<60 chars>-obs-1" exceeds 64


@pytest.mark.parametrize("today", [dt.date(2026, 3, 15), dt.date(2030, 1, 1), dt.date(2024, 2, 29)])
def test_dates_are_relative_to_the_evaluation_date(today: dt.date) -> None:
    res = {r["id"]: r for r in full_patient(today).resources()}
    assert res["syn-1-obs-1"]["effectiveDateTime"] == (today - dt.timedelta(days=3)).isoformat()
    assert res["syn-1-cond-1"]["onsetDateTime"] == (today - dt.timedelta(days=400)).isoformat()
    assert res["syn-1-cond-2"]["abatementDateTime"] == (today - dt.timedelta(days=90)).isoformat()
    admin = res["syn-1-madm-2"]["effectivePeriod"]
    assert admin == {
        "start": (today - dt.timedelta(days=44)).isoformat(),
        "end": (today - dt.timedelta(days=40)).isoformat(),
    }
    assert res["syn-1-imm-1"]["occurrenceDateTime"] == (today - dt.timedelta(days=25)).isoformat()


def test_age_and_birth_date() -> None:
    p = PatientBuilder("a", TODAY, age=(6, 30))
    assert p.patient["birthDate"] == (dt.date(2020, 3, 15) - dt.timedelta(days=30)).isoformat()
    assert PatientBuilder("b", TODAY, age=18).patient["birthDate"] == "2008-03-15"
    assert PatientBuilder("c", TODAY, birth_date="2019-05").patient["birthDate"] == "2019-05"
    assert "birthDate" not in PatientBuilder("d", TODAY).patient
    assert years_before(dt.date(2024, 2, 29), 1) == dt.date(2023, 2, 28)
    assert PatientBuilder("e", TODAY, deceased=True).patient["deceasedBoolean"] is True
    assert PatientBuilder("f", TODAY, deceased=3).patient["deceasedDateTime"] == "2026-03-12"


def test_literal_partial_dates_pass_through() -> None:
    res = (
        PatientBuilder("p", TODAY).med_admin("etoposide", days_ago="2026-02", start_days_ago="2026-02").last()
    )
    assert res["effectivePeriod"] == {"start": "2026-02", "end": "2026-02"}
    get_fhir_model_class("MedicationAdministration").model_validate(res)


def test_lab_quantities_units_and_ranges() -> None:
    res = {r["id"]: r for r in full_patient().resources()}
    anc = res["syn-1-obs-1"]
    assert anc["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "751-8",
        "display": LABS["anc"][1],
    }
    assert anc["valueQuantity"] == {"value": 1.2, "unit": "10*9/L", "system": UCUM, "code": "10*9/L"}
    assert (
        anc["referenceRange"][0]["low"]["value"] == 1.5 and anc["referenceRange"][0]["high"]["value"] == 8.0
    )
    assert (
        res["syn-1-obs-2"]["valueQuantity"]["unit"] == "cells/uL"
        and res["syn-1-obs-2"]["valueQuantity"]["code"] == "/uL"
    )
    assert res["syn-1-obs-4"]["valueQuantity"] == {"value": 4.1, "unit": "K/uL"}  # non-UCUM text only
    assert res["syn-1-obs-5"]["valueCodeableConcept"]["coding"][0]["code"] == "260385009"
    assert res["syn-1-obs-6"]["valueString"] == "1+"
    assert res["syn-1-obs-7"]["status"] == "preliminary"
    assert res["syn-1-obs-8"]["component"][0]["valueQuantity"]["value"] == 21
    assert res["syn-1-obs-8"]["category"][0]["coding"][0]["code"] == "vital-signs"


def test_performance_scores_use_their_codes() -> None:
    res = {r["id"]: r for r in full_patient().resources()}
    lansky, karnofsky, ecog = res["syn-1-obs-11"], res["syn-1-obs-12"], res["syn-1-obs-13"]
    assert lansky["code"]["coding"][0]["system"] == NCIT and lansky["code"]["coding"][0]["code"] == "C38144"
    assert karnofsky["code"]["coding"][0]["code"] == "89243-0" and karnofsky["valueInteger"] == 80
    assert ecog["code"]["coding"][0]["code"] == "89247-1" and ecog["valueInteger"] == 1


def test_medication_forms() -> None:
    res = {r["id"]: r for r in full_patient().resources()}
    by_code = res["syn-1-madm-1"]["medicationCodeableConcept"]["coding"]
    assert {(c["system"], c["code"]) for c in by_code} == {(RXNORM, "40048"), (ATC, "L01XA02")}
    assert res["syn-1-madm-1"]["dosage"]["dose"]["value"] == 300
    contained = res["syn-1-madm-2"]
    assert contained["medicationReference"]["reference"] == "#med"
    assert contained["contained"][0]["code"]["coding"][0]["code"] == "6466"
    separate = res["syn-1-madm-3"]
    assert separate["medicationReference"]["reference"] == "Medication/syn-1-med-1"
    assert res["syn-1-med-1"]["code"]["coding"][0]["code"] == "338036"
    assert res["syn-1-madm-4"]["medicationCodeableConcept"] == {"text": "investigational NK-priming agent"}
    ongoing = res["syn-1-madm-5"]
    assert ongoing["status"] == "in-progress" and "end" not in ongoing["effectivePeriod"]
    assert res["syn-1-mstm-1"]["dosage"][0]["timing"]["repeat"]["periodUnit"] == "d"


def test_procedure_intent_and_site() -> None:
    res = {r["id"]: r for r in full_patient().resources()}
    rt = res["syn-1-proc-2"]
    assert rt["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "363676003"
    assert rt["bodySite"][0]["coding"][0]["code"] == "39607008"
    assert rt["performedPeriod"]["end"] == (TODAY - dt.timedelta(days=20)).isoformat()
    assert res["syn-1-proc-3"]["code"] == {"text": "Total body irradiation"}


def test_prefetch_bundles_and_hook_request() -> None:
    p = full_patient()
    pre = p.prefetch()
    assert pre["patient"]["id"] == "syn-1"
    assert set(pre) == {
        "patient",
        "observations",
        "conditions",
        "medicationAdministrations",
        "medicationRequests",
        "medicationStatements",
        "procedures",
        "immunizations",
        "allergies",
        "researchSubjects",
    }
    for key, bundle in pre.items():
        if key != "patient":
            get_fhir_model_class("Bundle").model_validate(bundle)
            assert bundle["type"] == "searchset"
    admins = pre["medicationAdministrations"]
    assert admins["total"] == 5
    modes = [e["search"]["mode"] for e in admins["entry"]]
    assert modes.count("include") == 1  # the separately stored Medication rides along
    assert pre["observations"]["total"] == 13
    req = p.hook_request(fhir_server="http://127.0.0.1:1/fhir", token="tok")
    assert req["hook"] == "patient-view" and req["context"]["patientId"] == "syn-1"
    assert req["fhirAuthorization"]["access_token"] == "tok" and req["fhirServer"].endswith("/fhir")
    bare = p.hook_request(prefetch=False)
    assert "prefetch" not in bare and "fhirServer" not in bare and "fhirAuthorization" not in bare
    assert set(p.prefetch(keys=("patient", "conditions"))) == {"patient", "conditions"}


def test_condition_shortcuts_use_snomed_or_icd10() -> None:
    assert CONDITIONS["neuroblastoma"][:2] == (SCT, "432328008")
    res = PatientBuilder("p", TODAY).condition("neuroblastoma").last()
    assert res["clinicalStatus"]["coding"][0]["code"] == "active"
    assert res["verificationStatus"]["coding"][0]["code"] == "confirmed"
    with pytest.raises(ValueError):
        PatientBuilder("p", TODAY).condition()
