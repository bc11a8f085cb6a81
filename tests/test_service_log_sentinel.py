"""No token, patient id or clinical value in any log: in-process at DEBUG, and a real server's stdout/stderr."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from cds.errors import PreconditionFailed
from cds.logging_setup import JsonFormatter
from tests.cds_service import SERVICE_ID, hook_request
from tests.gather_support import fhir_authorization

PATIENT = "sentinelpat4711"
LAB = "123.456"
ACCESS_TOKEN = "fhir-access-token-sentinel-9f8e7d"
URL = f"/cds-services/{SERVICE_ID}"


class FhirStub(BaseHTTPRequestHandler):
    """Answers every read/search like a FHIR server holding one patient with one lab value."""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?")[0]
        if path.startswith("/Patient/"):
            body = {"resourceType": "Patient", "id": PATIENT, "birthDate": "2012-05-01", "gender": "female"}
        elif path == "/metadata":
            body = {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "fhirVersion": "4.0.1",
                "kind": "instance",
                "format": ["json"],
            }
        else:
            entries = []
            if path.startswith("/Observation"):
                entries = [{"resource": observation()}]
            body = {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args) -> None:  # keep the stub quiet
        pass


def observation() -> dict:
    return {
        "resourceType": "Observation",
        "id": "obs-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-11-20",
        "valueQuantity": {
            "value": float(LAB),
            "unit": "10*9/L",
            "system": "http://unitsofmeasure.org",
            "code": "10*9/L",
        },
    }


@pytest.fixture
def fhir_stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FhirStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def sentinel_request(fhir_base: str | None = None, with_prefetch: bool = True) -> dict:
    body = hook_request(patient_id=PATIENT)
    if with_prefetch:
        body["prefetch"] = {
            "patient": {"resourceType": "Patient", "id": PATIENT, "birthDate": "2012-05-01"},
            "observations": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": observation()}],
            },
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        }
    else:
        body.pop("prefetch", None)
    if fhir_base:
        body["fhirServer"] = fhir_base
        body["fhirAuthorization"] = fhir_authorization(ACCESS_TOKEN, scope="user/*.read")
    return body


def sentinel_feedback(comment: str) -> dict:
    """A feedback body whose override comment carries the sentinels."""
    return {
        "feedback": [
            {
                "card": "c",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-27T08:00:00Z",
                "overrideReason": {"userComment": comment},
            }
        ]
    }


def leaks(text: str, token: str) -> list[str]:
    return [s for s in (PATIENT, LAB, ACCESS_TOKEN, token, token.split(".")[2]) if s in text]


def all_log_text(records: list[logging.LogRecord]) -> str:
    formatter = JsonFormatter()
    plain = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = []
    for record in records:
        parts.append(formatter.format(record))
        parts.append(plain.format(record))
        parts.append(repr(getattr(record, "fields", "")))
    return "\n".join(parts)


def test_in_process_logs_hold_no_sentinel(make_app, mint_token, fhir_stub, caplog):
    caplog.set_level(logging.DEBUG)  # root at DEBUG: every propagating logger is captured

    def runner(req: dict) -> dict:
        # what the data layer does: HTTP calls with the patient id in the URL and the token in a header
        requests.get(
            f"{fhir_stub}/Observation",
            params={"patient": req["context"]["patientId"]},
            headers={"Authorization": f"Bearer {req['fhirAuthorization']['access_token']}"},
            timeout=5,
        )
        logging.getLogger("cds.gather").debug("fetched observations", extra={"fields": {"count": 1}})
        if req["hookInstance"].startswith("0"):
            raise PreconditionFailed(f"Patient {PATIENT} unavailable")
        return {"cards": []}

    app = make_app(hook_runner=runner)
    logging.getLogger("cds").setLevel(logging.DEBUG)
    client = app.test_client()
    token = mint_token(f"http://localhost{URL}")
    auth = {"Authorization": f"Bearer {token}"}
    body = {
        **sentinel_request(fhir_stub),
        "hookInstance": "1" + str(uuid.uuid4())[1:],
    }  # "0..." means 412 here
    assert client.post(URL, json=body, headers=auth).status_code == 200
    assert (
        client.post(URL, json=body, headers=auth).status_code == 401
    )  # replay: the reason is logged, not the token
    body412 = {**sentinel_request(fhir_stub), "hookInstance": "0" + str(uuid.uuid4())[1:]}
    assert (
        client.post(
            URL, json=body412, headers={"Authorization": f"Bearer {mint_token(f'http://localhost{URL}')}"}
        ).status_code
        == 412
    )
    bad = sentinel_request(fhir_stub)
    bad["context"]["patientId"] = f"{PATIENT}/{LAB}"
    assert (
        client.post(
            URL, json=bad, headers={"Authorization": f"Bearer {mint_token(f'http://localhost{URL}')}"}
        ).status_code
        == 400
    )
    fb = sentinel_feedback(f"{PATIENT} ANC {LAB}")
    assert (
        client.post(
            URL + "/feedback",
            json=fb,
            headers={"Authorization": f"Bearer {mint_token(f'http://localhost{URL}/feedback')}"},
        ).status_code
        == 200
    )
    text = all_log_text(caplog.records) + caplog.text
    assert any(r.name == "cds.access" for r in caplog.records)
    assert leaks(text, token) == []


def test_sentinel_detector_can_fail(caplog):
    """Control: a URL-logging library left at DEBUG does reach the captured log, so the check above is
    meaningful; ``configure_logging`` is what keeps those libraries at WARNING."""
    from cds.logging_setup import QUIET_LOGGERS, configure_logging

    caplog.set_level(logging.DEBUG)
    noisy = logging.getLogger("aiohttp.client")
    noisy.setLevel(logging.DEBUG)
    noisy.debug("GET /Observation?patient=%s", PATIENT)
    assert PATIENT in caplog.text
    caplog.clear()
    configure_logging("DEBUG")
    noisy.debug("GET /Observation?patient=%s", PATIENT)
    assert PATIENT not in caplog.text
    assert all(logging.getLogger(name).getEffectiveLevel() >= logging.WARNING for name in QUIET_LOGGERS)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_server_process_output_holds_no_sentinel(serve_process, mint_token, fhir_stub):
    server = serve_process(workers=2, NK_CDS_LOG_LEVEL="DEBUG", NK_CDS_FHIR_ALLOWLIST=fhir_stub)
    url = server.base_url + URL
    token = mint_token(url)
    statuses = []
    for body, tok in [
        (sentinel_request(), token),  # prefetch only
        (sentinel_request(), token),  # replayed token
        (sentinel_request(fhir_stub, with_prefetch=False), mint_token(url)),  # fetched from the FHIR stub
        (sentinel_request(fhir_stub), mint_token(url, "RS384")),
        ({**sentinel_request(), "context": {"patientId": f"{PATIENT}/x"}}, mint_token(url)),  # 400
    ]:
        statuses.append(
            requests.post(url, json=body, headers={"Authorization": f"Bearer {tok}"}, timeout=30).status_code
        )
    fb_url = url + "/feedback"
    fb = sentinel_feedback(f"{PATIENT} {LAB}")
    statuses.append(
        requests.post(
            fb_url, json=fb, headers={"Authorization": f"Bearer {mint_token(fb_url)}"}, timeout=10
        ).status_code
    )
    assert statuses[1] == 401 and statuses[4] == 400 and statuses[5] == 200
    # statuses 0, 2, 3 depend on the trial-matching pipeline (200/412, or 500/503 while it is unfinished);
    # whatever happened there, its log lines are checked below.
    server.stop()
    output = server.output()
    assert "cds.access" in output
    assert leaks(output, token) == [], "sentinel found in the server's stdout/stderr"


def test_access_line_written_even_at_warning_level(make_app, mint_token, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(log_level="WARNING")
    app.test_client().get("/cds-services")
    (line,) = [r for r in caplog.records if r.name == "cds.access"]
    assert line.fields["route"] == "/cds-services" and line.fields["status"] == 200
    assert not [
        r
        for r in caplog.records
        if r.name.startswith("cds.") and r.levelno < logging.WARNING and r.name != "cds.access"
    ]
