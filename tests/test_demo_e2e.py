"""End to end: every demo patient's declared verdicts, through HTTP, from a real FHIR server and the service.

``DemoStack`` runs a real sekmet-fhir process loaded with the demo patients and the real Flask app on a
werkzeug HTTP server (127.0.0.1, ephemeral ports). Each patient is sent twice: once without prefetch (the
service queries the FHIR server) and once with the full prefetch. A verdict or an eligibleFrom that differs
from the declaration fails, so the demo cannot silently drift from the engine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from cds.demo.patients import FACTORIES, PREFIX, TRIALS
from cds.demo.stack import CARD_HORIZON_DAYS, DemoStack, compare

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[1]
NK_CDS = [sys.executable, "-c", "import sys; from cds.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def stack():
    with DemoStack() as running:
        yield running


def _patient(stack: DemoStack, index: int):
    return stack.patients[index]


@pytest.mark.parametrize("via", ["fhir", "prefetch"])
@pytest.mark.parametrize("index", range(len(FACTORIES)), ids=lambda i: FACTORIES[i].__name__.strip("_"))
def test_declared_verdicts_through_http(stack: DemoStack, index: int, via: str) -> None:
    patient = _patient(stack, index)
    outcome = stack.call(patient, prefetch=(via == "prefetch"))
    assert outcome.error is None, outcome.error
    assert outcome.status == 200
    problems = compare(patient, outcome, stack.evaluation_date, CARD_HORIZON_DAYS)
    assert not problems, "\n".join(problems)


def test_cards_only_for_trials_the_patient_may_join(stack: DemoStack) -> None:
    patient = next(p for p in stack.patients if p.patient_id == PREFIX + "no-cancer")
    outcome = stack.call(patient)
    assert outcome.error is None, outcome.error
    assert outcome.cards == []


def test_discovery_and_health_of_the_demo_service(stack: DemoStack) -> None:
    discovery = requests.get(stack.discovery_url, timeout=10).json()
    assert any(s["id"] == stack.service_id and s["hook"] == "patient-view" for s in discovery["services"])
    assert requests.get(stack.service_url + "/healthz", timeout=10).status_code == 200
    patient = requests.get(f"{stack.fhir_base_url}/Patient/{PREFIX}nb-eligible", timeout=10)
    assert patient.status_code == 200 and patient.json()["id"] == PREFIX + "nb-eligible"


def test_nk_cds_demo_prints_the_table_and_exits_cleanly() -> None:
    started = time.monotonic()
    env = {**os.environ, "NK_CDS_LOG_LEVEL": "WARNING"}
    done = subprocess.run(NK_CDS + ["demo"], capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [
        line
        for line in done.stdout.splitlines()
        if line.startswith(("nb-", "sts-", "sarcoma-", "adult-", "no-"))
    ]
    assert len(rows) == len(FACTORIES)
    for trial in TRIALS:
        assert trial in done.stdout
    assert "Every verdict matches what the demo patient declares." in done.stdout
    assert elapsed < 60, f"the demo took {elapsed:.0f} s"


def test_nk_cds_demo_serve_prints_urls_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        NK_CDS + ["demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl+C" in line:
                break
        text = "".join(lines)
        assert "Press Ctrl+C" in text, text[-2000:]
        discovery = next(line.split(": ", 1)[1].strip() for line in lines if "CDS discovery URL" in line)
        fhir = next(line.split(": ", 1)[1].strip() for line in lines if "FHIR server (R4)" in line)
        assert requests.get(discovery, timeout=10).json()["services"]
        assert requests.get(f"{fhir}/Patient/{PREFIX}no-cancer", timeout=10).status_code == 200
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        with pytest.raises(requests.RequestException):
            requests.get(discovery, timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
