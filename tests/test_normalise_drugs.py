"""Medication records: identification (codes, SCD-only, text-only, contained/separate Medication), statuses,
anchor dates, dose, route, prednisone factor, unclassified anticancer drugs."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.synthetic import RXNORM, Drug
from tests.normalise_support import TODAY, facts_of, patient

SCD_ONLY = Drug(((RXNORM, "1234567", "cyclophosphamide 500 MG Injection"),), "")
SBD_ONLY = Drug(((RXNORM, "7654321", "temozolomide 100 MG Oral Capsule [Temodar]"),), "")
TEXT_ONLY = Drug((), "Lomustine 40mg capsules")


def one(builder):  # type: ignore[no-untyped-def]
    (d,) = facts_of(builder).drugs
    return d


@pytest.mark.parametrize("via", ["code", "text", "contained", "reference"])
def test_all_ways_of_naming_the_drug(via: str) -> None:
    d = one(patient().med_admin("carboplatin", days_ago=10, via=via))
    assert "myelosuppressive-chemotherapy" in d.classes


def _codes_only(drug: Drug):  # type: ignore[no-untyped-def]
    b = patient().med_admin(drug, days_ago=5)
    del b.last()["medicationCodeableConcept"]["text"]  # a coded-only record: no CodeableConcept.text
    return b


def test_scd_only_sbd_only_and_text_only_records() -> None:
    assert "myelosuppressive-chemotherapy" in one(_codes_only(SCD_ONLY)).classes
    assert "myelosuppressive-chemotherapy" in one(_codes_only(SBD_ONLY)).classes
    d = one(patient().med_statement(TEXT_ONLY, start_days_ago=50, end_days_ago=40))
    assert {"nitrosourea", "myelosuppressive-chemotherapy"} <= d.classes


def test_unresolved_reference_uses_display() -> None:
    b = patient().med_admin("carboplatin", days_ago=3, via="reference")
    b._resources = [
        r for r in b._resources if r["resourceType"] != "Medication"
    ]  # the Medication was not fetched
    b.last()["medicationReference"]["display"] = "Carboplatin 450 mg IV"
    assert "myelosuppressive-chemotherapy" in one(b).classes


@pytest.mark.parametrize("status", ["completed", "in-progress", "stopped", "on-hold"])
def test_administration_statuses_that_count(status: str) -> None:
    assert facts_of(patient().med_admin("etoposide", days_ago=3, status=status)).drugs != ()


@pytest.mark.parametrize("status", ["not-done", "entered-in-error"])
def test_administration_statuses_that_never_count(status: str) -> None:
    assert facts_of(patient().med_admin("etoposide", days_ago=3, status=status)).drugs == ()


@pytest.mark.parametrize(
    ("status", "count"),
    [
        ("active", 1),
        ("completed", 1),
        ("stopped", 1),
        ("intended", 0),
        ("not-taken", 0),
        ("entered-in-error", 0),
    ],
)
def test_statement_statuses(status: str, count: int) -> None:
    assert (
        len(facts_of(patient().med_statement("tacrolimus", start_days_ago=30, status=status)).drugs) == count
    )


@pytest.mark.parametrize(
    ("status", "intent", "count"),
    [
        ("active", "order", 1),
        ("on-hold", "order", 1),
        ("completed", "order", 0),
        ("cancelled", "order", 0),
        ("entered-in-error", "order", 0),
        ("active", "plan", 0),
        ("active", "proposal", 0),
    ],
)
def test_requests_are_only_evidence_of_current_use(status: str, intent: str, count: int) -> None:
    drugs = facts_of(
        patient().med_request("warfarin", status=status, intent=intent, authored_days_ago=20)
    ).drugs
    assert len(drugs) == count
    if drugs:
        assert (
            drugs[0].ongoing
            and drugs[0].end is None
            and drugs[0].start == drugs[0].start.of(TODAY - dt.timedelta(days=20))
        )


def test_anchor_is_end_of_period_and_in_progress_is_ongoing() -> None:
    d = one(patient().med_admin("topotecan", start_days_ago=12, days_ago=8))
    assert (
        d.start.earliest == TODAY - dt.timedelta(days=12)
        and d.end.earliest == TODAY - dt.timedelta(days=8)
        and not d.ongoing
    )
    d = one(patient().med_admin("topotecan", start_days_ago=2, ongoing=True))
    assert d.ongoing and d.end is None
    d = one(patient().med_statement("tacrolimus", start_days_ago=30, status="active"))
    assert d.ongoing and d.end is None
    d = one(patient().med_statement("tacrolimus", start_days_ago=30, end_days_ago="2026-10", status="active"))
    assert not d.ongoing and d.end.latest == dt.date(2026, 10, 31)


def test_dose_route_and_prednisone_factor() -> None:
    d = one(
        patient().med_statement(
            "dexamethasone", start_days_ago=10, end_days_ago=1, dose=(4, "mg"), per_day=True, route="oral"
        )
    )
    assert d.dose_mg == 4 and d.dose_per_day_mg == 4 and d.route == "oral"
    assert d.prednisone_factor == pytest.approx(6.67) and "corticosteroid-systemic" in d.classes
    d = one(patient().med_admin("methylprednisolone", days_ago=1, dose=(1, "g"), route="intravenous"))
    assert d.dose_mg == 1000 and d.prednisone_factor == 1.25


def test_non_systemic_steroid_is_not_systemic() -> None:
    assert facts_of(patient().med_admin("hydrocortisone", days_ago=1, route="topical")).drugs == ()
    assert facts_of(patient().med_admin("prednisolone", days_ago=1, route="inhaled")).drugs == ()
    cream = Drug((), "hydrocortisone 1 % Topical Cream")
    assert facts_of(patient().med_admin(cream, days_ago=1)).drugs == ()


def test_heparin_flush_and_alteplase_catheter_clearance_are_not_anticoagulation() -> None:
    assert facts_of(patient().med_admin(Drug((), "heparin lock flush 100 units/mL"), days_ago=1)).drugs == ()
    assert (
        facts_of(patient().med_admin(Drug((), "heparin sodium"), days_ago=1, dose=(500, "[iU]"))).drugs == ()
    )
    assert (
        "anticoagulant"
        in one(patient().med_admin(Drug((), "heparin sodium"), days_ago=1, dose=(5000, "[iU]"))).classes
    )
    assert facts_of(patient().med_admin(Drug((), "alteplase"), days_ago=1, dose=(2, "mg"))).drugs == ()
    assert (
        "thrombolytic" in one(patient().med_admin(Drug((), "alteplase"), days_ago=1, dose=(50, "mg"))).classes
    )


def test_unclassified_anticancer_drug_is_flagged() -> None:
    d = one(patient().med_admin(Drug((), "selpercatinib 80 MG Oral Capsule"), days_ago=5))
    assert d.classes == frozenset() and d.looks_anticancer_unclassified
    d = one(patient().med_admin("carboplatin", days_ago=5))
    assert not d.looks_anticancer_unclassified
    assert facts_of(patient().med_admin(Drug((), "paracetamol 500 MG Oral Tablet"), days_ago=5)).drugs == ()


def test_nitrosourea_vs_other_anticancer_and_gd2() -> None:
    assert {"nitrosourea", "myelosuppressive-chemotherapy"} <= one(
        patient().med_admin("lomustine", days_ago=1)
    ).classes
    other = one(patient().med_admin("pazopanib", days_ago=1)).classes
    assert "anticancer-other" in other and "myelosuppressive-chemotherapy" not in other
    gd2 = one(patient().med_admin(Drug((), "Unituxin 17.5 mg/m2 infusion"), days_ago=1)).classes
    assert "gd2-antibody" in gd2 and "immunotherapy" in gd2
    assert "mibg-131i" in one(patient().med_admin("iobenguane-i131", days_ago=1)).classes
    assert facts_of(patient().med_admin(Drug((), "iobenguane I-123 diagnostic"), days_ago=1)).drugs == ()


def test_growth_factors_long_and_short() -> None:
    assert one(patient().med_admin("pegfilgrastim", days_ago=1)).classes == {"growth-factor-long"}
    assert one(patient().med_admin(Drug((), "Zarxio 480 mcg"), days_ago=1)).classes == {"growth-factor-short"}


def _unresolvable(b):  # type: ignore[no-untyped-def]
    b._resources = [r for r in b._resources if r["resourceType"] != "Medication"]
    return b


def test_unidentifiable_drug_is_unknown_only_when_its_medication_could_not_be_fetched() -> None:
    b = _unresolvable(patient().med_admin("carboplatin", days_ago=3, via="reference"))
    f = facts_of(b, unavailable={"Medication": "timeout"})
    (d,) = f.drugs
    assert d.looks_anticancer_unclassified and d.classes == frozenset() and d.end is not None
    f = facts_of(_unresolvable(patient().med_admin("carboplatin", days_ago=3, via="reference")))
    assert f.drugs == () and any("could not be identified" in n for n in f.notes)


def test_point_in_time_records() -> None:
    b = patient().med_statement("tacrolimus", status="active")
    b.last()["effectiveDateTime"] = "2026-10-01"
    d = one(b)
    assert d.ongoing and d.start is not None and d.start.earliest == dt.date(2026, 10, 1)
    b = patient().med_admin("carboplatin", days_ago=3, status="in-progress")
    del b.last()["effectivePeriod"]
    b.last()["effectiveDateTime"] = "2026-11-24T10:00:00Z"
    d = one(b)
    assert not d.ongoing and d.end is not None and d.end.earliest == dt.date(2026, 11, 24)


@pytest.mark.parametrize("via", ["contained", "reference"])
def test_medication_named_only_by_its_ingredients(via: str) -> None:
    """Medication.code is optional (compounded / multi-ingredient products): the ingredients identify the drug.

    Found end to end (tests/test_pipeline_records.py): a separately stored Medication without ``code`` made the
    administration unidentifiable and the chemotherapy washout read "none recorded".
    """
    b = patient().med_admin("carboplatin", days_ago=10, via=via)
    admin = b.last()
    med = (
        admin["contained"][0]
        if via == "contained"
        else next(r for r in b._resources if r["resourceType"] == "Medication")
    )
    del med["code"]
    admin["medicationReference"].pop("display", None)
    med["ingredient"] = [
        {"itemCodeableConcept": {"coding": [{"system": RXNORM, "code": "40048", "display": "carboplatin"}]}}
    ]
    assert "myelosuppressive-chemotherapy" in one(b).classes


@pytest.mark.parametrize(
    ("field", "end_days_ago", "ongoing"),
    [
        ("validity", 1, False),
        ("validity", 0, True),
        ("validity", -30, True),
        ("bounds", 10, False),
        ("bounds", -5, True),
    ],
)
def test_expired_active_order_is_not_current_use(field: str, end_days_ago: int, ongoing: bool) -> None:
    """An "active" order left open in the EHR whose validity (or dosing bounds) ended before today is no
    evidence of current use. Found end to end: a year-old warfarin order made the trial ineligible for good."""
    b = patient().med_request("warfarin", authored_days_ago=400)
    end = (TODAY - dt.timedelta(days=end_days_ago)).isoformat()
    if field == "validity":
        b.last()["dispenseRequest"] = {
            "validityPeriod": {"start": (TODAY - dt.timedelta(days=400)).isoformat(), "end": end}
        }
    else:
        b.last()["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"end": end}
    d = one(b)
    assert d.ongoing is ongoing
    assert (d.end is None) is ongoing


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (
            {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}], "text": "Intravenous"},
            "oral",
        ),
        ({"coding": [{"system": "http://snomed.info/sct", "code": "999999"}], "text": "Oral route"}, "oral"),
        ({"text": "Intravenous route"}, "intravenous"),
        ({"text": "through a straw"}, "other"),
    ],
)
def test_dosage_route_code_first_then_text(route: dict, expected: str) -> None:  # type: ignore[type-arg]
    b = patient().med_admin("carboplatin", days_ago=1, dose=(300, "mg"), route="intravenous")
    b.last()["dosage"]["route"] = route
    (d,) = facts_of(b).drugs
    assert d.route == expected
