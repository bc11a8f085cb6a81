"""The demo's verdict comparison and table, without servers: both sides of every check."""

from __future__ import annotations

import datetime as dt

from cds.demo.patients import ADULT_CN, NB_CN, PREFIX, TRIALS, demo_patients
from cds.demo.stack import HookOutcome, TrialVerdict, compare, verdicts_from_cards
from cds.demo.table import render_table

DAY = dt.date(2026, 11, 27)
HORIZON = 365


def _declared(patient) -> HookOutcome:
    """The outcome a patient declares, as the service would report it (ineligible = no card)."""
    verdicts = {}
    for trial, exp in patient.expected.items():
        start = patient.expected_eligible_from(trial, DAY)
        if start and (start - DAY).days > HORIZON:
            continue  # beyond the card horizon: no card
        if exp.verdict != "ineligible":
            verdicts[trial] = TrialVerdict(exp.verdict, patient.expected_eligible_from(trial, DAY))
    return HookOutcome(patient.patient_id, 200, verdicts, via="FHIR")


def test_declared_outcomes_compare_clean_and_render_without_marks() -> None:
    patients = demo_patients(DAY)
    outcomes = {p.patient_id: _declared(p) for p in patients}
    assert all(compare(p, outcomes[p.patient_id], DAY, HORIZON) == [] for p in patients)
    table = render_table(patients, outcomes, DAY, {t: "title" for t in TRIALS})
    assert "*" not in table
    assert "from 2026-12-08" in table  # chemo wait: 10 days ago + 21
    assert all(p.patient_id.removeprefix(PREFIX) in table for p in patients)


def test_a_wrong_verdict_or_date_is_reported_and_marked() -> None:
    patients = demo_patients(DAY)
    chemo = next(p for p in patients if p.patient_id.endswith("nb-chemo-wait"))
    outcome = _declared(chemo)
    outcome.verdicts[NB_CN] = TrialVerdict("not-yet-eligible", DAY + dt.timedelta(days=12))  # one day late
    problems = compare(chemo, outcome, DAY, HORIZON)
    assert problems == [
        f"{chemo.patient_id} {NB_CN}: expected not-yet-eligible from 2026-12-08, got not-yet-eligible from 2026-12-09"
    ]
    outcome.verdicts[ADULT_CN] = TrialVerdict("not-yet-eligible", DAY + dt.timedelta(days=3500))
    assert len(compare(chemo, outcome, DAY, HORIZON)) == 2  # a card beyond the horizon is wrong too
    table = render_table([chemo], {chemo.patient_id: outcome}, DAY)
    far = (DAY + dt.timedelta(days=3500)).isoformat()
    assert "from 2026-12-09*" in table and f"from {far}*" in table


def test_errors_are_reported_per_patient() -> None:
    patient = demo_patients(DAY)[0]
    outcome = HookOutcome(patient.patient_id, 503, error="HTTP 503: unavailable")
    assert compare(patient, outcome, DAY) == [f"{patient.patient_id}: HTTP 503: unavailable"]
    assert "error: HTTP 503" in render_table([patient], {patient.patient_id: outcome}, DAY)


def test_verdicts_are_read_from_the_card_extension() -> None:
    cards = [
        {
            "extension": {
                "org.nktrials.eligibility": {
                    "trial": NB_CN,
                    "status": "not-yet-eligible",
                    "eligibleFrom": "2026-12-08",
                }
            }
        },
        {"extension": {"org.nktrials.eligibility": {"trial": ADULT_CN, "status": "eligible"}}},
        {"summary": "a card from something else"},
        {"extension": {"other": 1}},
    ]
    assert verdicts_from_cards(cards) == {
        NB_CN: TrialVerdict("not-yet-eligible", dt.date(2026, 12, 8)),
        ADULT_CN: TrialVerdict("eligible", None),
    }
