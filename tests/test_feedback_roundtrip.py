"""Feedback round trip with real cards: hook call -> cards -> the clinician overrides / accepts -> report."""

from __future__ import annotations

import datetime as dt
import json

from cds.cli import main
from cds.config import Config
from cds.demo.patients import demo_patients
from cds.http.app import create_app

OVERRIDE_SYSTEM = "https://nktrials.org/CodeSystem/override-reason"


def _patient(pid_suffix: str):
    return next(p for p in demo_patients(dt.date.today()) if p.patient_id.endswith(pid_suffix))


def test_real_cards_feedback_is_stored_per_trial_and_reported(tmp_path, capsys) -> None:
    db = tmp_path / "feedback.sqlite"
    app = create_app(Config(auth="off", db_url=str(db)))
    client = app.test_client()
    patient = _patient("nb-eligible")
    response = client.post("/cds-services/nk-cell-trials", json=patient.builder.hook_request(prefetch=True))
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    by_trial = {c["extension"]["org.nktrials.eligibility"]["trial"]: c for c in cards}
    assert {"NCT06631391", "NCT06674265"} <= set(by_trial)

    accepted = by_trial["NCT06631391"]
    suggestion_id = accepted["suggestions"][0]["uuid"]
    overridden = by_trial["NCT06674265"]
    reason = overridden["overrideReasons"][0]
    assert reason["system"] == OVERRIDE_SYSTEM
    now = dt.datetime.now(dt.UTC).isoformat()
    feedback = {
        "feedback": [
            {
                "card": accepted["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": suggestion_id}],
                "outcomeTimestamp": now,
            },
            # the CDS Hooks Sandbox sends the reason without its display
            {
                "card": overridden["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": now,
                "overrideReason": {"reason": {"code": reason["code"], "system": reason["system"]}},
            },
        ]
    }
    stored = client.post("/cds-services/nk-cell-trials/feedback", json=feedback)
    assert stored.status_code == 200, stored.get_data(as_text=True)

    assert main(["feedback-report", "--db", str(db), "--json"]) == 0
    report = {row["nct_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert report["NCT06631391"]["accepted"] == 1 and report["NCT06631391"]["overridden"] == 0
    assert report["NCT06674265"]["overridden"] == 1 and report["NCT06674265"]["accepted"] == 0
