"""``nk-cds load-demo`` and ``nk-cds match`` against a real FHIR server.

The same tests run against the local sekmet-fhir server (always) and, marked ``live``, against a public
sandbox when ``NK_CDS_LIVE_FHIR`` is set (its value is the base URL, or ``1`` for the HAPI R4 sandbox).
Live runs reload the demo patients first, since their dates are relative to the day of loading.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
import requests

from cds.cli import main
from cds.commands.load_demo import loading_date
from cds.demo.patients import PREFIX, demo_patients
from cds.demo.stack import HookOutcome, compare, verdicts_from_result_json
from cds.demo.upload import UploadError, post_transaction

pytestmark = pytest.mark.timeout(300)
HAPI = "https://hapi.fhir.org/baseR4"


def live_base() -> str:
    value = os.environ.get("NK_CDS_LIVE_FHIR", "").strip()
    return HAPI if value in ("", "1", "true", "yes") else value.rstrip("/")


def _count(base: str, query: str) -> int:
    body = requests.get(f"{base}/{query}", params={"_summary": "count"}, timeout=60).json()
    return int(body["total"])


def check_load_demo_is_idempotent(base: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load-demo", "--fhir-server", base]) == 0
    first = capsys.readouterr().out
    assert "Dates are relative to today" in first and "reload" in first
    assert "17/17" in first or f"{len(demo_patients())}/{len(demo_patients())}" in first
    counts = [
        _count(base, f"Observation?patient={PREFIX}nb-eligible"),
        _count(base, f"Condition?patient={PREFIX}nb-marrow"),
    ]
    assert main(["load-demo", "--fhir-server", base]) == 0
    capsys.readouterr()
    again = [
        _count(base, f"Observation?patient={PREFIX}nb-eligible"),
        _count(base, f"Condition?patient={PREFIX}nb-marrow"),
    ]
    assert counts == again and counts[0] > 10


def check_match_gives_declared_verdicts(base: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load-demo", "--fhir-server", base]) == 0
    capsys.readouterr()
    problems = []
    for patient in demo_patients(loading_date()):
        code = main(["match", "--fhir-server", base, "--patient", patient.patient_id, "--json"])
        out = capsys.readouterr().out
        assert code == 0, f"{patient.patient_id}: exit {code}"
        body = json.loads(out)
        assert body["patientId"] == patient.patient_id
        assert {r["trial"] for r in body["results"]} == set(patient.expected)
        outcome = HookOutcome(
            patient.patient_id, 200, verdicts_from_result_json(body["results"]), via="match"
        )
        problems += compare(patient, outcome, dt.date.fromisoformat(body["evaluatedOn"]))
    assert not problems, "\n".join(problems)


# ---- local server (always) -------------------------------------------------------------------------------


def test_load_demo_is_idempotent_local(fhir_base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    check_load_demo_is_idempotent(fhir_base_url, capsys)


def test_match_gives_declared_verdicts_local(fhir_base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    check_match_gives_declared_verdicts(fhir_base_url, capsys)


def test_match_checklist_text(fhir_base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load-demo", "--fhir-server", fhir_base_url]) == 0
    capsys.readouterr()
    assert main(["match", "--fhir-server", fhir_base_url, "--patient", PREFIX + "nb-chemo-wait"]) == 0
    out = capsys.readouterr().out
    assert "NCT06631391" in out and "NOT-YET-ELIGIBLE from" in out
    assert "[ok]" in out and "[NO]" in out and "[rv]" in out


def test_match_unknown_patient_exits_2(fhir_base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["match", "--fhir-server", fhir_base_url, "--patient", "nk-no-such-patient-4711"])
    assert code == 2
    assert "unavailable" in capsys.readouterr().err


def test_load_demo_reports_an_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load-demo", "--fhir-server", "http://127.0.0.1:9/fhir", "--timeout", "2"]) == 1
    assert "was not loaded" in capsys.readouterr().err


def test_upload_rejects_non_transactions_and_reports_server_errors(fhir_base_url: str) -> None:
    with pytest.raises(UploadError):
        post_transaction(fhir_base_url, {"resourceType": "Bundle", "type": "batch", "entry": []})
    broken = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": {"resourceType": "Patient", "id": "nk-bad", "birthDate": "31/12/2020"},
                   "request": {"method": "PUT", "url": "Patient/nk-bad"}}],
    }  # fmt: skip
    with pytest.raises(UploadError, match="HTTP 4"):
        post_transaction(fhir_base_url, broken)


def test_load_demo_sends_the_token(
    fhir_base_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []
    original = requests.Session.post

    def spy(self, url, *args, **kwargs):
        seen.append(kwargs.get("headers", {}).get("Authorization"))
        return original(self, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "post", spy)
    assert main(["load-demo", "--fhir-server", fhir_base_url, "--token", "t0k3n"]) == 0
    capsys.readouterr()
    assert seen and all(h == "Bearer t0k3n" for h in seen)


# ---- public sandbox (only with NK_CDS_LIVE_FHIR) ---------------------------------------------------------


@pytest.mark.live
def test_load_demo_is_idempotent_live(capsys: pytest.CaptureFixture[str]) -> None:
    check_load_demo_is_idempotent(live_base(), capsys)


@pytest.mark.live
def test_match_gives_declared_verdicts_live(capsys: pytest.CaptureFixture[str]) -> None:
    check_match_gives_declared_verdicts(live_base(), capsys)
