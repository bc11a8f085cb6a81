"""POST /cds-services/<id>: status codes and the SPEC-NOTES 1.14 input/output checklist (Flask test client)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cds.db import card_trials
from cds.errors import BadRequest, PreconditionFailed
from tests.cds_service import DATA, SERVICE_ID, assert_valid, example_card, hook_request

URL = f"/cds-services/{SERVICE_ID}"
AUD = f"http://localhost{URL}"


@pytest.fixture
def post(mint_token):
    def _post(
        client,
        body: Any = None,
        *,
        data: bytes | str | None = None,
        content_type: str = "application/json",
        url: str = URL,
        token: str | None = "mint",
        headers: dict[str, str] | None = None,
    ):
        hdrs = dict(headers or {})
        if token == "mint":
            token = mint_token(f"http://localhost{url}")
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        payload = data if data is not None else json.dumps(body)
        return client.post(url, data=payload, content_type=content_type, headers=hdrs)

    return _post


def assert_outcome(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert_valid("OperationOutcome", body)
    return body


def test_valid_request_returns_cards_and_records_trials(make_app, post):
    cards = [example_card("NCT06631391"), example_card("NCT05247957")]
    seen: list[dict[str, Any]] = []

    def runner(req):
        seen.append(req)
        return {"cards": cards}

    app = make_app(hook_runner=runner)
    req = hook_request()
    resp = post(app.test_client(), req)
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert_valid("ServiceResponse", resp.get_json())
    assert resp.get_json() == {"cards": cards}
    assert seen == [req]  # the runner gets the request as sent
    db = app.extensions["nk_cds"].db
    with db.engine.connect() as conn:
        rows = {(r.card_uuid, r.nct_id, r.hook_instance) for r in conn.execute(select(card_trials))}
    assert rows == {
        (c["uuid"], c["extension"]["org.nktrials.eligibility"]["trial"], req["hookInstance"]) for c in cards
    }


def test_no_match_is_200_with_empty_cards(make_app, post):
    resp = post(make_app().test_client(), hook_request())
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}
    assert_valid("ServiceResponse", resp.get_json())


def test_spec_example_request_is_accepted(make_app, post):
    body = json.loads((DATA / "patient-view-request.json").read_text())
    resp = post(make_app().test_client(), body)
    assert resp.status_code == 200
    assert_valid("ServiceResponse", resp.get_json())


def test_unknown_members_and_extensions_are_ignored(make_app, post):
    body = json.loads((DATA / "request-with-extension.json").read_text())
    body["context"]["patientId"] = "pat-ext"
    body["somethingNew"] = {"x": [1, 2]}
    body["context"]["extension"] = {"com.example": True}
    received: list[dict[str, Any]] = []
    resp = post(make_app(hook_runner=lambda r: received.append(r) or {"cards": []}).test_client(), body)
    assert resp.status_code == 200
    assert received[0]["somethingNew"] == {"x": [1, 2]}


def _without(path: str) -> dict[str, Any]:
    body = hook_request()
    if path == "context.patientId":
        del body["context"]["patientId"]
    else:
        del body[path]
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_without("hook"), id="missing-hook"),
        pytest.param(_without("hookInstance"), id="missing-hookInstance"),
        pytest.param(_without("context"), id="missing-context"),
        pytest.param(_without("context.patientId"), id="missing-patientId"),
        pytest.param(hook_request(hook="order-sign"), id="wrong-hook"),
        pytest.param(hook_request(hook=""), id="empty-hook"),
        pytest.param(hook_request(hookInstance=""), id="empty-hookInstance"),
        pytest.param(hook_request(context="pat-1"), id="context-not-object"),
        pytest.param(hook_request(patient_id="Patient/pat-1"), id="patientId-with-type"),
        pytest.param(hook_request(patient_id="../../metadata"), id="patientId-path-traversal"),
        pytest.param(hook_request(patient_id=""), id="patientId-empty"),
        pytest.param(hook_request(patient_id="x" * 65), id="patientId-too-long"),
        pytest.param(hook_request(patient_id="pat-1\n"), id="patientId-trailing-newline"),
        pytest.param(
            hook_request(fhirAuthorization={"access_token": "t", "token_type": "Bearer"}),
            id="fhirAuthorization-without-fhirServer",
        ),
        pytest.param(hook_request(fhirServer="not a url"), id="fhirServer-not-url"),
        pytest.param(hook_request(prefetch=[1]), id="prefetch-not-object"),
        pytest.param([hook_request()], id="array-body"),
        pytest.param("patient-view", id="string-body"),
        pytest.param(None, id="null-body"),
    ],
)
def test_bad_envelope_is_400(make_app, post, body):
    called = []
    app = make_app(hook_runner=lambda r: called.append(r) or {"cards": []})
    assert_outcome(post(app.test_client(), body), 400)
    assert called == []


def test_patient_id_edges_are_accepted(make_app, post):
    client = make_app().test_client()
    for pid in ("a", "x" * 64, "A-z.0-9"):
        assert post(client, hook_request(patient_id=pid)).status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        "{",
        "",
        "{'hook': 'patient-view'}",
        '{"hook": NaN}',
        '{"a": Infinity}',
        '{"a": [1e999]}',
        '{"a": -1E400}',
        "\xff\xfe",
        "[" * 100000,
    ],
)
def test_malformed_json_is_400(make_app, post, data):
    assert_outcome(post(make_app().test_client(), data=data), 400)


@pytest.mark.parametrize("depth", [900, 1010, 1100])
def test_deeply_nested_json_is_answered_not_500(make_app, post, depth):
    """Depths around both parsers' limits (cds.jsonio): read and answered, or refused with a 400."""
    body = json.dumps(hook_request())
    body = body[:-1] + ', "extension": {"deep": ' + "[" * depth + "1" + "]" * depth + "}}"
    resp = post(make_app().test_client(), data=body)
    assert resp.status_code in (200, 400)
    assert resp.status_code == 200 or resp.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""]
)
def test_non_json_content_type_is_415(make_app, post, content_type):
    resp = post(make_app().test_client(), hook_request(), content_type=content_type)
    assert_outcome(resp, 415)


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/fhir+json", "APPLICATION/JSON"]
)
def test_json_content_types_are_accepted(make_app, post, content_type):
    assert post(make_app().test_client(), hook_request(), content_type=content_type).status_code == 200


def test_unknown_service_is_404(make_app, post):
    resp = post(make_app().test_client(), hook_request(), url="/cds-services/other-service")
    assert_outcome(resp, 404)


def test_unknown_path_is_404_operation_outcome(make_app):
    assert_outcome(make_app().test_client().get("/nothing-here"), 404)


def test_wrong_method_is_405_operation_outcome(make_app):
    resp = make_app().test_client().get(URL)
    assert_outcome(resp, 405)
    assert "POST" in resp.headers["Allow"]


def test_size_limit_both_sides(make_app, post):
    body = hook_request()
    size = len(json.dumps(body).encode())
    client = make_app(max_request_bytes=size).test_client()
    assert post(client, body).status_code == 200  # exactly at the limit
    body["hookInstance"] += "x"  # one byte over
    assert_outcome(post(client, body), 413)


def test_oversized_chunked_body_is_413(make_app, mint_token):
    client = make_app(max_request_bytes=100).test_client()
    big = json.dumps(hook_request(padding="x" * 500)).encode()

    resp = client.post(
        URL,
        input_stream=io.BytesIO(big),
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {mint_token(f'http://localhost{URL}')}",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_outcome(resp, 413)


def test_precondition_failed_is_412_with_operation_outcome(make_app, post):
    def runner(_req):
        raise PreconditionFailed("Patient could be obtained neither from prefetch nor from fhirServer")

    body = assert_outcome(post(make_app(hook_runner=runner).test_client(), hook_request()), 412)
    assert "Patient" in body["issue"][0]["diagnostics"]


def test_bad_request_from_lower_layer_is_400(make_app, post):
    def runner(_req):
        raise BadRequest("fhirServer is not allowed")

    assert_outcome(post(make_app(hook_runner=runner).test_client(), hook_request()), 400)


def test_real_bug_is_500_and_logged_without_message(make_app, post, caplog):
    def runner(_req):
        secret = "pat-" + "secret-999"
        raise RuntimeError(f"boom {secret}")

    caplog.set_level(logging.DEBUG)
    body = assert_outcome(post(make_app(hook_runner=runner).test_client(), hook_request()), 500)
    assert body["issue"][0]["diagnostics"] == "internal error"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info and errors[0].exc_info[0] is RuntimeError
    from cds.logging_setup import JsonFormatter

    assert "pat-secret-999" not in "".join(JsonFormatter().format(r) for r in caplog.records)


def test_nonconformant_card_is_dropped_not_sent(make_app, post):
    good = example_card()
    bad = example_card(summary="x" * 140)  # 140 > 139 characters
    edge = example_card(summary="y" * 139)
    resp = post(make_app(hook_runner=lambda r: {"cards": [good, bad, edge]}).test_client(), hook_request())
    assert resp.status_code == 200
    assert [c["uuid"] for c in resp.get_json()["cards"]] == [good["uuid"], edge["uuid"]]
    assert_valid("ServiceResponse", resp.get_json())


def test_runner_without_cards_list_gives_empty_cards(make_app, post):
    resp = post(make_app(hook_runner=lambda r: {"nothing": 1}).test_client(), hook_request())
    assert resp.status_code == 200 and resp.get_json() == {"cards": []}


def test_card_recording_failure_does_not_withhold_cards(make_app, post, monkeypatch):
    app = make_app(hook_runner=lambda r: {"cards": [example_card()]})

    def broken(*_a, **_k):
        raise RuntimeError("database gone")

    monkeypatch.setattr(app.extensions["nk_cds"].db, "record_cards", broken)
    resp = post(app.test_client(), hook_request())
    assert resp.status_code == 200 and len(resp.get_json()["cards"]) == 1


def test_cards_without_trial_extension_are_not_recorded(make_app, post):
    card = example_card()
    del card["extension"]
    app = make_app(hook_runner=lambda r: {"cards": [card]})
    assert post(app.test_client(), hook_request()).status_code == 200
    with app.extensions["nk_cds"].db.engine.connect() as conn:
        assert conn.execute(select(card_trials)).fetchall() == []


def test_no_null_or_empty_members_in_responses(make_app, post):
    resp = post(make_app(hook_runner=lambda r: {"cards": [example_card()]}).test_client(), hook_request())

    def walk(value: Any, top: bool = True) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if not (top and key == "cards"):
                    assert item not in (None, "", [], {}), key
                walk(item, False)
        elif isinstance(value, list):
            for item in value:
                walk(item, False)

    walk(resp.get_json())


def test_healthz(make_app):
    resp = make_app().test_client().get("/healthz")
    assert resp.status_code == 200
    assert_valid("Health", resp.get_json())


def test_healthz_503_when_database_is_down(make_app, monkeypatch):
    app = make_app()
    monkeypatch.setattr(app.extensions["nk_cds"].db, "ping", lambda: False)
    assert_outcome(app.test_client().get("/healthz"), 503)


def test_openapi_document_describes_the_endpoints(make_app):
    resp = make_app().test_client().get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/cds-services",
        "/cds-services/{service_id}",
        "/cds-services/{service_id}/feedback",
        "/healthz",
        "/openapi.json",
    }
    schema = json.loads((Path(__file__).parents[1] / "cds/schemas/cds-hooks.schema.json").read_text())
    assert set(doc["components"]["schemas"]) == set(schema["$defs"])  # kept in sync with the project schema


def test_default_runner_fails_at_start_when_catalogue_cannot_load(tmp_path, jwks_file, monkeypatch):
    import sys

    from cds.http.app import create_app
    from tests.cds_service import base_config

    monkeypatch.setitem(sys.modules, "cds.mappings", None)  # as if the module were not installed
    with pytest.raises(ImportError):
        create_app(base_config(tmp_path, jwks_file))


def test_default_runner_uses_the_pipeline(tmp_path, jwks_file, mint_token, monkeypatch):
    import cds.pipeline
    from cds.http.app import create_app
    from tests.cds_service import base_config

    calls = []
    monkeypatch.setattr(
        cds.pipeline,
        "run_patient_view",
        lambda req, catalogue, config, now: calls.append((catalogue, now.tzinfo)) or {"cards": []},
    )
    app = create_app(base_config(tmp_path, jwks_file), catalogue="CATALOGUE")
    resp = app.test_client().post(
        URL, json=hook_request(), headers={"Authorization": f"Bearer {mint_token(AUD)}"}
    )
    assert resp.status_code == 200 and resp.get_json() == {"cards": []}
    assert calls and calls[0][0] == "CATALOGUE" and calls[0][1] is not None  # aware "now"


def test_hook_instance_is_logged_only_when_uuid(make_app, post, caplog):
    caplog.set_level(logging.INFO, logger="cds.access")
    client = make_app().test_client()
    good = str(uuid.uuid4())
    post(client, hook_request(hookInstance=good))
    post(client, hook_request(hookInstance="pat-777-not-a-uuid"))
    lines = [r.fields for r in caplog.records if r.name == "cds.access"]
    assert lines[0]["hookInstance"] == good and lines[0]["status"] == 200 and lines[0]["cards"] == 0
    assert lines[1]["hookInstance"] == "(not a uuid)"
