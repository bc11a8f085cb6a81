"""JWKS sources (file / configured https URL), jku rules, caching and key rotation; the spec's own token."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import ec

from cds.auth import AuthError, JwksCache, JwtVerifier
from cds.db import open_database
from tests.cds_service import DATA, SERVICE_ID, hook_request
from tests.tokens import SANDBOX_ISS, SANDBOX_JKU, TestKey, generate_keys, jwks_document, mint

EHR_ISS = "https://ehr.example.org"
EHR_JWKS = "https://ehr.example.org/.well-known/jwks.json"
AUD = "https://cds.example.org/cds-services/nk-cell-trials"


def verifier_for(issuers: dict[str, str], tmp_path: Path, clock=time.time, **cache_options) -> JwtVerifier:
    db = open_database(f"sqlite:///{tmp_path / 'replay.sqlite'}")
    jwks = JwksCache(issuers, clock=clock, **cache_options)
    return JwtVerifier(issuers, remember_jti=db.remember_jti, clock=clock, jwks=jwks)


@responses.activate
def test_url_issuer_keys_are_fetched_once_and_cached(tmp_path, token_keys):
    responses.get(EHR_JWKS, json=jwks_document(token_keys))
    v = verifier_for({EHR_ISS: EHR_JWKS}, tmp_path)
    for alg in ("ES384", "RS384", "ES384"):
        v.verify("Bearer " + mint(token_keys, AUD, alg, iss=EHR_ISS, header={"jku": EHR_JWKS}), AUD)
    assert len(responses.calls) == 1


@responses.activate
def test_url_issuer_without_jku_accepted(tmp_path, token_keys):
    responses.get(EHR_JWKS, json=jwks_document(token_keys))
    v = verifier_for({EHR_ISS: EHR_JWKS}, tmp_path)
    v.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, drop=("jku",)), AUD)


@responses.activate
def test_foreign_jku_rejected_and_never_fetched(tmp_path, token_keys):
    responses.get(EHR_JWKS, json=jwks_document(token_keys))
    v = verifier_for({EHR_ISS: EHR_JWKS}, tmp_path)
    with pytest.raises(AuthError):
        v.verify(
            "Bearer " + mint(token_keys, AUD, iss=EHR_ISS, header={"jku": "https://evil.example/jwks.json"}),
            AUD,
        )
    assert len(responses.calls) == 0  # neither the foreign URL nor ours was contacted


def test_file_issuer_ignores_jku(tmp_path, token_keys, jwks_file):
    """The Sandbox always sends its jku; with a JWKS file configured the keys come from the file."""
    v = verifier_for({SANDBOX_ISS: str(jwks_file)}, tmp_path)
    v.verify("Bearer " + mint(token_keys, AUD, header={"jku": "https://anything.example/jwks"}), AUD)
    v.verify("Bearer " + mint(token_keys, AUD, header={"jku": SANDBOX_JKU}), AUD)


@responses.activate
def test_unknown_kid_triggers_one_refresh(tmp_path, token_keys):
    rotated = generate_keys()
    responses.get(EHR_JWKS, json=jwks_document(token_keys))
    responses.get(EHR_JWKS, json=jwks_document(rotated))
    v = verifier_for({EHR_ISS: EHR_JWKS}, tmp_path, refresh_interval_s=0)
    v.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, drop=("jku",)), AUD)
    v.verify("Bearer " + mint(rotated, AUD, iss=EHR_ISS, drop=("jku",)), AUD)  # new kid -> refresh -> found
    assert len(responses.calls) == 2
    with pytest.raises(AuthError):  # a kid in neither set: one more refresh, still unknown
        v.verify("Bearer " + mint(generate_keys(), AUD, iss=EHR_ISS, drop=("jku",)), AUD)
    assert len(responses.calls) == 3


@responses.activate
def test_refresh_is_throttled(tmp_path, token_keys):
    now = [1_800_000_000.0]
    responses.get(EHR_JWKS, json=jwks_document(token_keys))
    v = verifier_for({EHR_ISS: EHR_JWKS}, tmp_path, clock=lambda: now[0], refresh_interval_s=10)
    for _ in range(3):
        with pytest.raises(AuthError):
            v.verify("Bearer " + mint(generate_keys(), AUD, iss=EHR_ISS, now=now[0], drop=("jku",)), AUD)
    assert len(responses.calls) == 1  # the first load; unknown kids within 10 s do not refetch
    now[0] += 10
    with pytest.raises(AuthError):
        v.verify("Bearer " + mint(generate_keys(), AUD, iss=EHR_ISS, now=now[0], drop=("jku",)), AUD)
    assert len(responses.calls) == 2


@responses.activate
def test_cache_expires_after_ttl_and_survives_fetch_errors(tmp_path, token_keys):
    now = [1_800_000_000.0]
    responses.get(EHR_JWKS, json=jwks_document(token_keys))
    responses.get(EHR_JWKS, status=500)
    v = verifier_for({EHR_ISS: EHR_JWKS}, tmp_path, clock=lambda: now[0], ttl_s=3600)
    v.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, now=now[0], drop=("jku",)), AUD)
    now[0] += 3599
    v.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, now=now[0], drop=("jku",)), AUD)
    assert len(responses.calls) == 1
    now[0] += 2  # past the TTL: refetch fails, cached keys keep working
    v.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, now=now[0], drop=("jku",)), AUD)
    assert len(responses.calls) == 2


@responses.activate
def test_unreachable_jwks_without_cache_is_401(tmp_path, token_keys):
    responses.get(EHR_JWKS, status=503)
    v = verifier_for({EHR_ISS: EHR_JWKS}, tmp_path)
    with pytest.raises(AuthError):
        v.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, drop=("jku",)), AUD)


@responses.activate
def test_plain_http_jwks_url_refused_except_loopback(tmp_path, token_keys):
    responses.get("http://ehr.example.org/jwks", json=jwks_document(token_keys))
    responses.get("http://127.0.0.1:9/jwks", json=jwks_document(token_keys))
    v = verifier_for({EHR_ISS: "http://ehr.example.org/jwks"}, tmp_path / "a")
    with pytest.raises(AuthError):
        v.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, drop=("jku",)), AUD)
    assert len(responses.calls) == 0
    local = verifier_for({EHR_ISS: "http://127.0.0.1:9/jwks"}, tmp_path / "b")
    local.verify("Bearer " + mint(token_keys, AUD, iss=EHR_ISS, drop=("jku",)), AUD)


def test_missing_jwks_file_is_401(tmp_path, token_keys):
    v = verifier_for({SANDBOX_ISS: str(tmp_path / "absent.json")}, tmp_path)
    with pytest.raises(AuthError):
        v.verify("Bearer " + mint(token_keys, AUD), AUD)


# -- the specification's own example token -------------------------------------------------------

SPEC_ISS = "https://fhir-ehr.example.com/"
SPEC_AUD = "https://cds.example.org/cds-services/some-service"
SPEC_TOKEN = (DATA / "jwt-compact-example.txt").read_text().strip()
SPEC_PAYLOAD = json.loads((DATA / "jwt-payload.json").read_text())


def spec_verifier(tmp_path: Path, now: float) -> JwtVerifier:
    return verifier_for({SPEC_ISS: str(DATA / "jwks-public.json")}, tmp_path, clock=lambda: now)


def test_spec_example_token_verifies_with_frozen_clock(tmp_path):
    client = spec_verifier(tmp_path, SPEC_PAYLOAD["exp"] - 100).verify(f"Bearer {SPEC_TOKEN}", SPEC_AUD)
    assert (
        client.iss == SPEC_ISS
        and client.jti == SPEC_PAYLOAD["jti"]
        and client.tenant == SPEC_PAYLOAD["tenant"]
    )


def test_spec_example_token_expiry_edges(tmp_path):
    exp = SPEC_PAYLOAD["exp"]
    spec_verifier(tmp_path / "a", exp + 60).verify(f"Bearer {SPEC_TOKEN}", SPEC_AUD)  # at the leeway edge
    with pytest.raises(AuthError):
        spec_verifier(tmp_path / "b", exp + 61).verify(f"Bearer {SPEC_TOKEN}", SPEC_AUD)
    with pytest.raises(AuthError):  # real clock: long expired
        verifier_for({SPEC_ISS: str(DATA / "jwks-public.json")}, tmp_path / "c").verify(
            f"Bearer {SPEC_TOKEN}", SPEC_AUD
        )


def test_spec_example_token_wrong_audience_and_tampering(tmp_path):
    now = SPEC_PAYLOAD["exp"] - 100
    with pytest.raises(AuthError):
        spec_verifier(tmp_path / "a", now).verify(
            f"Bearer {SPEC_TOKEN}", "https://cds.example.org/cds-services"
        )
    head, payload, sig = SPEC_TOKEN.split(".")
    tampered = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{sig}"
    with pytest.raises(AuthError):
        spec_verifier(tmp_path / "b", now).verify(f"Bearer {tampered}", SPEC_AUD)


def test_spec_example_token_through_the_app(tmp_path, make_app):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    app = make_app(
        trusted_issuers={SPEC_ISS: str(DATA / "jwks-public.json")},
        service_id="some-service",
        public_url="https://cds.example.org",
        db_url=str(tmp_path / "a" / "spec.sqlite"),
    )
    app.extensions["nk_cds"].verifier.clock = lambda: SPEC_PAYLOAD["exp"] - 100
    client = app.test_client()
    headers = {"Authorization": f"Bearer {SPEC_TOKEN}"}
    assert client.post("/cds-services/some-service", json=hook_request(), headers=headers).status_code == 200
    assert (
        client.post("/cds-services/some-service", json=hook_request(), headers=headers).status_code == 401
    )  # replay
    assert SERVICE_ID != "some-service"


def test_real_sandbox_jwks_file_is_usable_as_issuer_source(tmp_path, token_keys):
    """The CDS Hooks Sandbox's published JWKS (tests/data/sandbox-jwks.json) loads as a file source; a token
    naming its kid but signed with another P-384 key fails on the signature."""
    sandbox_kid = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
    v = verifier_for({SANDBOX_ISS: str(DATA / "sandbox-jwks.json")}, tmp_path)
    assert v.jwks.key_for(SANDBOX_ISS, sandbox_kid)["crv"] == "P-384"
    with pytest.raises(AuthError):
        v.verify("Bearer " + mint(token_keys, AUD, header={"kid": sandbox_kid}), AUD)


def test_a_replaced_key_under_the_same_kid_is_used_after_the_reload(tmp_path, token_keys):
    """The parsed key object is cached with its JWK: a reloaded JWKS replaces it (never the stale key)."""
    old = token_keys["ES384"]
    new = TestKey("ES384", old.kid, ec.generate_private_key(ec.SECP384R1()))  # same kid, new key
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [old.public_jwk()]}))
    now = [time.time()]
    v = verifier_for({SANDBOX_ISS: str(path)}, tmp_path, clock=lambda: now[0], ttl_s=60)
    v.verify("Bearer " + mint({"ES384": old}, AUD, now=now[0]), AUD)
    v.verify("Bearer " + mint({"ES384": old}, AUD, now=now[0]), AUD)  # the cached key object
    path.write_text(json.dumps({"keys": [new.public_jwk()]}))
    now[0] += 61  # past the JWKS cache's lifetime: reloaded on the next call
    with pytest.raises(AuthError):
        v.verify("Bearer " + mint({"ES384": old}, AUD, now=now[0]), AUD)
    v.verify("Bearer " + mint({"ES384": new}, AUD, now=now[0]), AUD)
