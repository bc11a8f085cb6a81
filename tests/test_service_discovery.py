"""GET /cds-services: SPEC-NOTES 1.14 items 1-6."""

from __future__ import annotations

import re
import sys
from urllib.parse import parse_qsl

import pytest

from cds.http import discovery
from tests.cds_service import SERVICE_ID, assert_valid

ALLOWED_TOKENS = {
    "{{context.patientId}}",
    "{{context.userId}}",
    "{{context.encounterId}}",
    "{{userPractitionerId}}",
    "{{userPractitionerRoleId}}",
    "{{userPatientId}}",
    "{{userRelatedPersonId}}",
}
RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")


def check_restricted_subset(template: str) -> None:
    """CDS Hooks 2.0 recommended prefetch query subset, R4 syntax."""
    for token in re.findall(r"\{\{[^}]*\}\}", template):
        assert token in ALLOWED_TOKENS, token
    path, _, query = template.partition("?")
    parts = path.split("/")
    assert RESOURCE_TYPE.match(parts[0]), template
    if not query:
        assert len(parts) == 2, template  # instance read Type/{{id}}
        return
    assert len(parts) == 1, template
    for name, value in parse_qsl(query, keep_blank_values=True):
        assert ":" not in name and "." not in name, f"modifier or chain in {template}"
        assert name not in ("_include", "_revinclude", "_has", "_elements"), template
        assert name in (
            "patient",
            "subject",
            "individual",
            "_count",
            "_sort",
            "date",
            "category",
            "code",
            "status",
        ), name
        if name == "_sort":
            assert value in ("-date", "date"), "R4 _sort syntax"
        if name in ("patient", "subject", "individual"):
            assert value == "{{context.patientId}}"


def test_discovery_document(make_app):
    resp = make_app().test_client().get("/cds-services")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert_valid("DiscoveryResponse", body)
    (service,) = body["services"]
    assert service["hook"] == "patient-view"
    assert service["id"] == SERVICE_ID and re.fullmatch(r"[A-Za-z0-9._~-]+", service["id"])
    for key in ("title", "description", "usageRequirements"):
        assert isinstance(service[key], str) and service[key].strip()
    assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    for template in service["prefetch"].values():
        check_restricted_subset(template)
    for value in service.values():
        assert value not in (None, "", [], {})


def test_service_id_comes_from_config(make_app):
    body = make_app(service_id="trials-x").test_client().get("/cds-services").get_json()
    assert body["services"][0]["id"] == "trials-x"


def test_discovery_is_open_without_token_even_with_auth_on(make_app):
    app = make_app()
    assert app.extensions["nk_cds"].verifier is not None
    assert app.test_client().get("/cds-services").status_code == 200
    resp = app.test_client().get("/cds-services", headers={"Authorization": "Bearer garbage"})
    assert resp.status_code == 200  # discovery carries no patient data; a bad token does not matter


def test_fallback_prefetch_when_data_layer_is_missing(make_app, monkeypatch):
    monkeypatch.setitem(sys.modules, "cds.gather.templates", None)
    body = make_app().test_client().get("/cds-services").get_json()
    prefetch = body["services"][0]["prefetch"]
    assert prefetch == discovery.FALLBACK_PREFETCH
    assert_valid("DiscoveryResponse", body)
    for template in prefetch.values():
        check_restricted_subset(template)
    assert prefetch["observations"].endswith("&_sort=-date")
    assert prefetch["researchSubjects"] == "ResearchSubject?individual={{context.patientId}}"


def test_fallback_covers_the_data_layer_keys():
    try:
        from cds.gather.templates import PREFETCH
    except ImportError:
        pytest.skip("cds.gather.templates not written yet")
    assert set(discovery.FALLBACK_PREFETCH) == set(PREFETCH)


@pytest.mark.parametrize(
    "bad",
    [
        "Observation?patient={{context.patientId}}&_include=Observation:subject",
        "Observation?subject.name=x",
        "Observation?patient={{context.patientId}}&sort:desc=date",
        "Observation?patient={{patient}}",
    ],
)
def test_subset_checker_rejects(bad):
    with pytest.raises(AssertionError):
        check_restricted_subset(bad)
