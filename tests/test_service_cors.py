"""CORS: SPEC-NOTES 1.14 items 32-33. Preflight never needs a token."""

from __future__ import annotations

import pytest

from tests.cds_service import SERVICE_ID, hook_request

PATHS = ["/cds-services", f"/cds-services/{SERVICE_ID}", f"/cds-services/{SERVICE_ID}/feedback"]
PREFLIGHT = {
    "Origin": "https://sandbox.cds-hooks.org",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


@pytest.mark.parametrize("path", PATHS)
def test_preflight_without_token(make_app, path):
    resp = make_app().test_client().options(path, headers=PREFLIGHT)
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert resp.get_data() == b""


def test_configured_origins(make_app):
    client = make_app(cors_origins=("https://sandbox.cds-hooks.org", "http://localhost:8080")).test_client()
    ok = client.options(PATHS[1], headers=PREFLIGHT)
    assert ok.headers["Access-Control-Allow-Origin"] == "https://sandbox.cds-hooks.org"
    assert "Origin" in ok.headers["Vary"]
    other = client.options(PATHS[1], headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    get = client.get("/cds-services", headers={"Origin": "http://localhost:8080"})
    assert get.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert (
        "Access-Control-Allow-Origin"
        not in client.get("/cds-services", headers={"Origin": "http://localhost:8081"}).headers
    )


def test_actual_responses_carry_cors_headers_incl_errors(make_app, mint_token):
    client = make_app().test_client()
    origin = {"Origin": "https://sandbox.cds-hooks.org"}
    assert client.get("/cds-services", headers=origin).headers["Access-Control-Allow-Origin"] == "*"
    unauth = client.post(PATHS[1], json=hook_request(), headers=origin)
    assert unauth.status_code == 401 and unauth.headers["Access-Control-Allow-Origin"] == "*"
    token = mint_token(f"http://localhost{PATHS[1]}")
    ok = client.post(PATHS[1], json=hook_request(), headers={**origin, "Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "*"


def test_no_origin_no_cors_header(make_app):
    assert "Access-Control-Allow-Origin" not in make_app().test_client().get("/cds-services").headers
