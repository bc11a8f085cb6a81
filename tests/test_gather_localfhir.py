"""cds.localfhir.LocalFhirServer: a real sekmet-fhir process with the project's settings."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
import requests

from cds.localfhir import LocalFhirServer, LocalFhirServerError, load_bundle
from tests.fhir_server import unique_id

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]


def test_start_load_search_stop():
    server = LocalFhirServer(start_timeout_s=30)
    with server:
        assert server.running
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/fhir")
        metadata = requests.get(f"{server.base_url}/metadata", timeout=10).json()
        assert metadata["resourceType"] == "CapabilityStatement"
        settings = json.loads((server.db_path.parent / "settings.yaml").read_text())
        assert settings["simulator"] == {"enabled": False}
        assert settings["log_inbound"] is False
        assert settings["base_url"] == server.base_url
        with sqlite3.connect(server.db_path) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "idx_sort" in names
        pid = unique_id("p")
        response = server.load_bundle(
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": {"resourceType": "Patient", "id": pid},
                        "request": {"method": "PUT", "url": f"Patient/{pid}"},
                    },
                    {
                        "resource": {
                            "resourceType": "MedicationRequest",
                            "id": f"{pid}-mr",
                            "status": "active",
                            "intent": "order",
                            "medicationCodeableConcept": {"text": "x"},
                            "subject": {"reference": f"Patient/{pid}"},
                        },
                        "request": {"method": "PUT", "url": f"MedicationRequest/{pid}-mr"},
                    },
                ],
            }
        )
        assert response["type"] == "transaction-response"
        assert requests.get(f"{server.base_url}/Patient/{pid}", timeout=10).json()["id"] == pid
        # simulator disabled: nothing invented in answer to the MedicationRequest
        search = requests.get(f"{server.base_url}/MedicationDispense", timeout=10).json()
        assert search.get("entry", []) == []
        # next links are built from the real base URL
        bundle = requests.get(f"{server.base_url}/Patient", params={"_count": 1}, timeout=10).json()
        assert all(link["url"].startswith(server.base_url) for link in bundle["link"])
        assert pid not in server.log_path.read_text()  # no request log with patient ids
        workdir, pid_of_process = server.db_path.parent, server._process.pid
    assert not server.running
    server.stop()  # idempotent
    assert not workdir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid_of_process, 0)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.base_url}/metadata", timeout=2)


def test_two_servers_get_different_ports():
    with LocalFhirServer() as first, LocalFhirServer() as second:
        assert first.port != second.port
        assert requests.get(f"{second.base_url}/metadata", timeout=10).ok


def test_stop_is_safe_before_start():
    server = LocalFhirServer()
    server.stop()
    assert not server.running
    with pytest.raises(LocalFhirServerError):
        _ = server.db_path


def test_load_bundle_rejects_non_transactions_and_invalid_resources(fhir_base_url):
    with pytest.raises(LocalFhirServerError):
        load_bundle(fhir_base_url, {"resourceType": "Bundle", "type": "searchset"})
    bad = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": unique_id(), "gender": 42},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    with pytest.raises(LocalFhirServerError):
        load_bundle(fhir_base_url, bad)


def test_fixture_base_url_answers(fhir_base_url, fhir_load):
    pid = unique_id("p")
    fhir_load(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Patient", "id": pid},
                    "request": {"method": "PUT", "url": f"Patient/{pid}"},
                }
            ],
        }
    )
    assert requests.get(f"{fhir_base_url}/Patient/{pid}", timeout=30).json()["id"] == pid
