"""End to end: ``nk-cds serve`` (gunicorn, 2 workers) as a real process, talked to over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.cds_service import SERVICE_ID, ServiceProcess, assert_valid, hook_request, service_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
TIMEOUT = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory, jwks_file) -> Iterator[ServiceProcess]:
    """One two-worker server shared by the tests of this module."""
    base = tmp_path_factory.mktemp("e2e")
    proc = ServiceProcess(service_env(base, jwks_file), base, workers=2)
    proc.start()
    yield proc
    proc.stop()


def test_discovery_health_openapi_and_cors(server):
    resp = requests.get(server.base_url + "/cds-services", timeout=TIMEOUT)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    assert_valid("DiscoveryResponse", resp.json())
    assert resp.json()["services"][0]["id"] == SERVICE_ID
    health = requests.get(server.base_url + "/healthz", timeout=TIMEOUT)
    assert_valid("Health", health.json())
    assert requests.get(server.base_url + "/openapi.json", timeout=TIMEOUT).json()["openapi"].startswith("3.")
    pre = requests.options(
        server.base_url + f"/cds-services/{SERVICE_ID}",
        timeout=TIMEOUT,
        headers={
            "Origin": "http://localhost:8080",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == "*"


def test_hook_and_feedback_need_tokens(server, mint_token):
    url = server.base_url + f"/cds-services/{SERVICE_ID}"
    resp = requests.post(url, json=hook_request(), timeout=TIMEOUT)
    assert resp.status_code == 401 and resp.content == b""
    fb = requests.post(url + "/feedback", json={"feedback": []}, timeout=TIMEOUT)
    assert fb.status_code == 401 and fb.content == b""
    bad = requests.post(
        url,
        json=hook_request(),
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {mint_token(url, iss='https://evil.example')}"},
    )
    assert bad.status_code == 401


def test_feedback_round_trip(server, mint_token):
    url = server.base_url + f"/cds-services/{SERVICE_ID}/feedback"
    body = {
        "feedback": [
            {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-27T08:00:00Z"}
        ]
    }
    resp = requests.post(
        url, json=body, timeout=TIMEOUT, headers={"Authorization": f"Bearer {mint_token(url, 'RS384')}"}
    )
    assert resp.status_code == 200
    assert_valid("FeedbackAck", resp.json())
    malformed = requests.post(
        url,
        data="{",
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {mint_token(url)}", "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert_valid("OperationOutcome", malformed.json())


def test_client_errors_over_http(server, mint_token):
    url = server.base_url + f"/cds-services/{SERVICE_ID}"
    auth = lambda: {"Authorization": f"Bearer {mint_token(url)}"}  # noqa: E731 - fresh jti each call
    cases = [
        (
            requests.post(
                url, data=b"{", headers={**auth(), "Content-Type": "application/json"}, timeout=TIMEOUT
            ),
            400,
        ),
        (
            requests.post(
                url, json={**hook_request(), "hook": "order-sign"}, headers=auth(), timeout=TIMEOUT
            ),
            400,
        ),
        (
            requests.post(url, data=b"x", headers={**auth(), "Content-Type": "text/plain"}, timeout=TIMEOUT),
            415,
        ),
        (requests.post(server.base_url + "/cds-services/nope", json=hook_request(), timeout=TIMEOUT), 404),
    ]
    for resp, status in cases:
        assert resp.status_code == status
        assert_valid("OperationOutcome", resp.json())


def test_chunked_oversized_body_is_413(serve_process, mint_token):
    server = serve_process(workers=1, NK_CDS_MAX_REQUEST_BYTES="2000")
    url = server.base_url + f"/cds-services/{SERVICE_ID}"
    payload = json.dumps(hook_request(padding="x" * 5000)).encode()

    def chunks():
        for i in range(0, len(payload), 1000):
            yield payload[i : i + 1000]

    resp = requests.post(
        url,
        data=chunks(),
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {mint_token(url)}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    small = requests.post(
        url,
        data=iter([json.dumps(hook_request()).encode()]),
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {mint_token(url)}", "Content-Type": "application/json"},
    )
    assert small.status_code != 413


def test_hook_call_with_the_real_pipeline(server, mint_token):
    url = server.base_url + f"/cds-services/{SERVICE_ID}"
    body = hook_request(
        prefetch={
            "patient": {"resourceType": "Patient", "id": "pat-1", "birthDate": "2015-01-01"},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        }
    )
    resp = requests.post(url, json=body, timeout=30, headers={"Authorization": f"Bearer {mint_token(url)}"})
    assert resp.status_code == 200, resp.text  # other types missing: their criteria are unknown, still 200
    assert_valid("ServiceResponse", resp.json())
    no_patient = hook_request()
    no_patient.pop("prefetch")  # neither prefetch nor fhirServer: 412
    resp = requests.post(
        url, json=no_patient, timeout=30, headers={"Authorization": f"Bearer {mint_token(url)}"}
    )
    assert resp.status_code == 412
    assert_valid("OperationOutcome", resp.json())


def test_access_lines_are_json(server):
    requests.get(server.base_url + "/cds-services", timeout=TIMEOUT)
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry["logger"] == "cds.access"]
    assert any(entry["route"] == "/cds-services" and entry["status"] == 200 for entry in access)
    assert all({"duration_ms", "status", "method", "route"} <= set(entry) for entry in access)


def test_serve_refuses_bad_configuration(monkeypatch, capsys):
    from cds.cli import main

    monkeypatch.setenv("NK_CDS_AUTH", "maybe")
    assert main(["serve", "--port", "0"]) == 2
    assert "NK_CDS_AUTH" in capsys.readouterr().err


def test_gunicorn_options():
    import argparse

    from cds.commands.serve import gunicorn_options

    opts = gunicorn_options(argparse.Namespace(host="0.0.0.0", port=8080, workers=3, threads=2, timeout=30))
    assert opts["bind"] == "0.0.0.0:8080" and opts["workers"] == 3 and opts["worker_class"] == "gthread"
    assert opts["preload_app"] is True and opts["accesslog"] is None
    assert (
        gunicorn_options(argparse.Namespace(host="h", port=1, workers=0, threads=0, timeout=1))["workers"]
        == 1
    )


def test_serve_defaults_to_two_workers_of_two_threads():
    import argparse

    from cds.commands.serve import gunicorn_options, register

    parser = argparse.ArgumentParser()
    register(parser)
    opts = gunicorn_options(parser.parse_args([]))
    assert (opts["workers"], opts["threads"], opts["worker_class"]) == (2, 2, "gthread")
    assert gunicorn_options(parser.parse_args(["--threads", "8"]))["threads"] == 8
