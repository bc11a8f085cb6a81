"""JWT minting fixtures (pytest plugin listed in ``tests/conftest.py``).

Tokens look exactly like the ones the CDS Hooks Sandbox sends (SPEC-NOTES 3.1): header
``{alg, typ: "JWT", kid, jku: "https://sandbox.cds-hooks.org/.well-known/jwks.json"}``, payload
``{iss: "https://sandbox.cds-hooks.org", aud: <exact URL called>, exp: now + 300, iat: now, jti: uuid4}``
(no ``tenant``, no ``sub``), but are signed with keys generated here: a P-384 key (ES384) and an RSA
key (RS384), published in a JWKS file (``jwks_file``) that the service is configured to trust.

- ``token_keys`` (session): ``{"ES384": TestKey, "RS384": TestKey}``.
- ``jwks_file`` (session): path of the public JWK Set for both keys.
- ``mint_token`` (session): ``mint_token(aud, alg="ES384", **options) -> str``; see ``mint``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


@dataclass(frozen=True)
class TestKey:
    __test__ = False  # not a test class
    alg: str
    kid: str
    private_key: Any

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(
            jwt.algorithms.get_default_algorithms()[self.alg].to_jwk(self.private_key.public_key())
        )
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return jwk


def generate_keys() -> dict[str, TestKey]:
    return {
        "ES384": TestKey("ES384", f"es384-{uuid.uuid4()}", ec.generate_private_key(ec.SECP384R1())),
        "RS384": TestKey(
            "RS384", f"rs384-{uuid.uuid4()}", rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
    }


def jwks_document(keys: Mapping[str, TestKey]) -> dict[str, Any]:
    return {"keys": [key.public_jwk() for key in keys.values()]}


def mint(
    keys: Mapping[str, TestKey],
    aud: str | list[str],
    alg: str = "ES384",
    *,
    iss: str = SANDBOX_ISS,
    now: float | None = None,
    lifetime_s: int = 300,
    jti: str | None = None,
    header: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    signing_key: Any = None,
) -> str:
    """A Sandbox-shaped token. ``header``/``claims`` override or add members; ``drop`` removes claims or
    header members (``"kid"``, ``"jku"``, ``"typ"``); ``signing_key`` signs with another key (wrong-key tests)."""
    key = keys[alg]
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "exp": issued + lifetime_s,
        "iat": issued,
        "jti": jti or str(uuid.uuid4()),
    }
    payload.update(claims or {})
    headers: dict[str, Any] = {"typ": "JWT", "kid": key.kid, "jku": SANDBOX_JKU}
    headers.update(header or {})
    for name in drop:
        payload.pop(name, None)
        headers.pop(name, None)
    return jwt.encode(payload, signing_key or key.private_key, algorithm=alg, headers=headers)


@pytest.fixture(scope="session")
def token_keys() -> dict[str, TestKey]:
    return generate_keys()


@pytest.fixture(scope="session")
def jwks_file(token_keys: dict[str, TestKey], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jwks") / "client-jwks.json"
    path.write_text(json.dumps(jwks_document(token_keys)))
    return path


@pytest.fixture(scope="session")
def mint_token(token_keys: dict[str, TestKey]) -> Callable[..., str]:
    def _mint(aud: str | list[str], alg: str = "ES384", **options: Any) -> str:
        return mint(token_keys, aud, alg, **options)

    return _mint
