"""JWT checks through the hook endpoint: SPEC-NOTES 1.14 items 28-30 (each failure mode, both algorithms)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.cds_service import SERVICE_ID, hook_request
from tests.tokens import SANDBOX_ISS, generate_keys, mint

URL = f"/cds-services/{SERVICE_ID}"
AUD = f"http://localhost{URL}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(signature)


def claims(aud: str = AUD) -> dict:
    now = int(time.time())
    return {"iss": SANDBOX_ISS, "aud": aud, "exp": now + 300, "iat": now, "jti": f"j-{time.time_ns()}"}


def call(app, token: str | None, url: str = URL, scheme: str = "Bearer"):
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return app.test_client().post(url, json=hook_request(), headers=headers)


def assert_401(resp) -> None:
    assert resp.status_code == 401
    assert resp.get_data() == b""  # bare: no hint why
    assert resp.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_tokens_accepted(make_app, mint_token, alg):
    assert call(make_app(), mint_token(AUD, alg)).status_code == 200


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_aud_array_containing_url_accepted(make_app, mint_token, alg):
    assert call(make_app(), mint_token(["https://other.example/x", AUD], alg)).status_code == 200


def test_missing_header_and_non_bearer(make_app, mint_token):
    app = make_app()
    assert_401(call(app, None))
    assert_401(call(app, mint_token(AUD), scheme="Basic"))
    assert_401(call(app, "", scheme="Bearer"))
    assert_401(call(app, "not.a.jwt"))


def test_alg_none_rejected(make_app, token_keys):
    kid = token_keys["ES384"].kid
    assert_401(call(make_app(), unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims())))


@pytest.mark.parametrize(
    "alg,digest", [("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)]
)
def test_hmac_with_public_key_as_secret_rejected(make_app, token_keys, alg, digest):
    """Algorithm confusion: an RS384 key's public PEM used as an HMAC secret."""
    key = token_keys["RS384"]
    pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": alg, "typ": "JWT", "kid": key.kid}
    signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims()).encode())).encode()
    token = signing_input.decode() + "." + b64(hmac.new(pem, signing_input, digest).digest())
    assert_401(call(make_app(), token))


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS384", "EdDSA"])
def test_other_asymmetric_algorithms_rejected(make_app, token_keys, alg):
    key = token_keys["ES384" if alg.startswith("E") else "RS384"]
    assert_401(call(make_app(), unsigned({"alg": alg, "typ": "JWT", "kid": key.kid}, claims(), b"x" * 64)))


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_wrong_key_rejected(make_app, token_keys, alg):
    other = generate_keys()[alg].private_key
    assert_401(call(make_app(), mint(token_keys, AUD, alg, signing_key=other)))


def test_alg_key_type_mismatch_rejected(make_app, token_keys):
    """An ES384 header naming the RSA key's kid."""
    other = ec.generate_private_key(ec.SECP384R1())
    token = jwt.encode(
        claims(), other, algorithm="ES384", headers={"kid": token_keys["RS384"].kid, "typ": "JWT"}
    )
    assert_401(call(make_app(), token))


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_wrong_or_missing_kid_rejected(make_app, mint_token, alg):
    assert_401(call(make_app(), mint_token(AUD, alg, header={"kid": "no-such-kid"})))
    assert_401(call(make_app(), mint_token(AUD, alg, drop=("kid",))))


def test_typ_other_than_jwt_rejected_missing_typ_accepted(make_app, mint_token):
    app = make_app()
    assert_401(call(app, mint_token(AUD, header={"typ": "at+jwt"})))
    assert call(app, mint_token(AUD, drop=("typ",))).status_code == 200


def test_unknown_issuer_rejected(make_app, mint_token):
    assert_401(call(make_app(), mint_token(AUD, iss="https://evil.example")))


def test_issuer_must_match_exactly(make_app, mint_token):
    assert_401(call(make_app(), mint_token(AUD, iss=SANDBOX_ISS + "/")))


@pytest.mark.parametrize(
    "aud",
    [
        "http://localhost/cds-services/other-service",
        "http://localhost/cds-services",
        f"{AUD}/feedback",
        f"https://localhost{URL}",
        f"{AUD}/",
        ["http://localhost/cds-services"],
    ],
)
def test_wrong_audience_rejected(make_app, mint_token, aud):
    assert_401(call(make_app(), mint_token(aud)))


@pytest.mark.parametrize("missing", ["iss", "aud", "exp", "iat", "jti"])
def test_required_claims(make_app, mint_token, missing):
    assert_401(call(make_app(), mint_token(AUD, drop=(missing,))))


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_expiry_leeway_both_sides(make_app, mint_token, alg):
    now = time.time()
    app = make_app()
    # exp 55 s ago: inside the 60 s leeway
    assert call(app, mint_token(AUD, alg, now=now - 355, lifetime_s=300)).status_code == 200
    # exp 65 s ago: outside
    assert_401(call(app, mint_token(AUD, alg, now=now - 365, lifetime_s=300)))


def test_iat_in_future_leeway_both_sides(make_app, mint_token):
    now = time.time()
    app = make_app()
    assert call(app, mint_token(AUD, now=now + 55)).status_code == 200
    assert_401(call(app, mint_token(AUD, now=now + 65)))


def test_nbf_leeway_both_sides(make_app, mint_token):
    now = int(time.time())
    app = make_app()
    assert call(app, mint_token(AUD, claims={"nbf": now + 55})).status_code == 200
    assert_401(call(app, mint_token(AUD, claims={"nbf": now + 65})))
    assert (
        call(app, mint_token(AUD, claims={"nbf": now - 300, "sub": "epic-client"})).status_code == 200
    )  # Epic's form


def test_non_numeric_times_rejected(make_app, mint_token):
    assert_401(call(make_app(), mint_token(AUD, claims={"exp": "tomorrow"})))


def test_replayed_jti_rejected(make_app, mint_token):
    app = make_app()
    token = mint_token(AUD)
    assert call(app, token).status_code == 200
    assert_401(call(app, token))
    # another token with the same jti from the same issuer is a replay too
    jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))["jti"]
    assert_401(call(app, mint_token(AUD, jti=jti, alg="RS384")))


def test_public_url_builds_the_audience(make_app, mint_token):
    app = make_app(public_url="https://cds.example.org/nk")
    assert call(app, mint_token(f"https://cds.example.org/nk{URL}")).status_code == 200
    assert_401(call(app, mint_token(AUD)))  # the internal URL is not what the client called


def test_feedback_audience_is_the_feedback_url(make_app, mint_token):
    app = make_app()
    body = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]}
    fb = f"{URL}/feedback"
    assert (
        app.test_client()
        .post(fb, json=body, headers={"Authorization": f"Bearer {mint_token(AUD)}"})
        .status_code
        == 401
    )
    ok = app.test_client().post(
        fb, json=body, headers={"Authorization": f"Bearer {mint_token('http://localhost' + fb)}"}
    )
    assert ok.status_code == 200


def test_auth_off_skips_verification_with_warning(make_app, caplog):
    import logging

    caplog.set_level(logging.WARNING)
    app = make_app(auth="off")
    assert any("NK_CDS_AUTH=off" in r.getMessage() for r in caplog.records)
    assert call(app, None).status_code == 200


def test_auth_checked_before_body(make_app):
    """An unauthenticated client learns nothing about the body: 401, not 400/415."""
    client = make_app().test_client()
    assert_401(client.post(URL, data="{", content_type="application/json"))
    assert_401(client.post(URL, data="x", content_type="text/plain"))


def test_replay_cache_failure_denies_not_500(make_app, mint_token, monkeypatch):
    app = make_app()

    def broken(*_a):
        raise RuntimeError("db down")

    monkeypatch.setattr(app.extensions["nk_cds"].verifier, "remember_jti", broken)
    assert_401(call(app, mint_token(AUD)))


def test_rsa_key_of_other_size_still_verifies(make_app, tmp_path):
    """RS384 with a 3072-bit key listed in a second issuer's JWKS file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "big"
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    app = make_app(trusted_issuers={"https://ehr.example": str(path)})
    now = int(time.time())
    token = jwt.encode(
        {**claims(), "iss": "https://ehr.example", "iat": now}, key, algorithm="RS384", headers={"kid": "big"}
    )
    assert call(app, token).status_code == 200
