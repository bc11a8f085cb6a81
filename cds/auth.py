"""Verification of CDS client JWTs (CDS Hooks 2.0.1, "Trusting CDS Clients").

Checks, in order; any failure raises ``AuthError`` and the HTTP layer answers 401 with an empty body:

1. ``Authorization: Bearer <JWT>`` is present.
2. Header: ``alg`` is ES384 or RS384 (``none``, HMAC and everything else are refused before any key is
   looked at), ``kid`` is present, ``typ`` (when sent) is ``JWT``.
3. ``iss`` is one of ``NK_CDS_TRUSTED_ISSUERS``. Its value is a JWKS *file* (keys exchanged out of band) or
   an *https URL* (``http://`` only for loopback hosts, for tests). For a URL issuer a ``jku`` header must be absent or equal to that URL (a foreign ``jku``
   is refused; we never fetch from a URL the token names). For a file issuer ``jku`` is ignored: the keys
   come from the file only (the CDS Hooks Sandbox always sends its ``jku``; operators install its JWKS file).
4. The key is the issuer's JWK with that ``kid`` and a type matching ``alg``. The JWKS is cached (1 h);
   an unknown ``kid`` triggers one refresh (key rotation), at most once per ``refresh_interval_s``. The key
   object built from a JWK is kept with that JWK (rebuilt when the JWKS is reloaded); the signature itself
   is verified on every call.
5. Signature, then claims: ``iss``, ``aud``, ``exp``, ``iat``, ``jti`` required; ``aud`` (string or array)
   must contain the exact URL called, built from ``NK_CDS_PUBLIC_URL`` + the request path when that is set;
   ``exp``/``nbf``/``iat`` with 60 s leeway. (No cap on the lifetime exp - iat: the spec's own example token
   lives for years; the replay cache simply keeps such a jti until its exp.)
6. ``(iss, jti)`` has not been seen before (``Database.remember_jti``; shared by all workers).

Nothing here logs the token or its claims beyond the issuer and the failure reason.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

log = logging.getLogger("cds.auth")

ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"ES384", "RS384"})
KEY_TYPES: dict[str, str] = {"ES384": "EC", "RS384": "RSA"}
LEEWAY_S = 60
JWKS_TTL_S = 3600.0
JWKS_FETCH_TIMEOUT_S = 5.0
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class AuthError(Exception):
    """The request is not authenticated. The message is for the log only, never for the client."""


@dataclass
class JwksSource:
    """Where one issuer's keys come from, and the cached key set."""

    location: str
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched_at: float = -1e18
    last_refresh: float = -1e18

    @property
    def is_url(self) -> bool:
        return self.location.startswith("https://") or self.location.startswith("http://")


class JwksCache:
    """Per-issuer JWK Sets loaded from a file or fetched from the configured URL, cached and refreshed."""

    def __init__(
        self,
        issuers: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        ttl_s: float = JWKS_TTL_S,
        refresh_interval_s: float = 10.0,
        fetch: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        self.sources = {iss: JwksSource(loc) for iss, loc in issuers.items()}
        self.clock = clock
        self.ttl_s = ttl_s
        self.refresh_interval_s = refresh_interval_s
        self._fetch = fetch or _fetch_jwks_url
        self._lock = threading.Lock()

    def source(self, iss: str) -> JwksSource | None:
        return self.sources.get(iss)

    def key_for(self, iss: str, kid: str) -> dict[str, Any]:
        src = self.sources[iss]
        with self._lock:
            now = self.clock()
            if now - src.fetched_at > self.ttl_s:
                self._load(src, now)
            if kid not in src.keys and now - src.last_refresh >= self.refresh_interval_s:
                self._load(src, now)  # one refresh on an unknown kid (key rotation)
            try:
                return src.keys[kid]
            except KeyError:
                raise AuthError("unknown kid") from None

    def _load(self, src: JwksSource, now: float) -> None:
        src.last_refresh = now
        if src.location.startswith("http://") and urlsplit(src.location).hostname not in LOOPBACK_HOSTS:
            log.warning("refusing a JWKS URL that is not https (only loopback hosts may use http)")
            raise AuthError("JWKS URL is not https")
        try:
            document = self._fetch(src.location) if src.is_url else json.loads(Path(src.location).read_text())
        except (OSError, ValueError, requests.RequestException) as exc:
            log.warning("could not load JWKS for a trusted issuer: %s", type(exc).__name__)
            if not src.keys:
                raise AuthError("JWKS unavailable") from None
            return  # keep serving the cached keys
        keys = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(keys, list):
            log.warning("JWKS for a trusted issuer has no 'keys' array")
            return
        src.keys = {k["kid"]: k for k in keys if isinstance(k, Mapping) and isinstance(k.get("kid"), str)}
        src.fetched_at = now


def _fetch_jwks_url(url: str) -> Mapping[str, Any]:
    response = requests.get(url, timeout=JWKS_FETCH_TIMEOUT_S, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()


@dataclass(frozen=True)
class VerifiedClient:
    """What a verified token tells us (safe to log: issuer only)."""

    iss: str
    jti: str
    expires_at: int
    tenant: str | None = None


class JwtVerifier:
    """Verifies bearer tokens against trusted issuers and records their ``jti`` in the replay cache.

    ``remember_jti(iss, jti, expires_at, now) -> bool`` is ``Database.remember_jti`` in the service.
    ``clock`` returns seconds since the epoch (tests freeze it to verify the spec's 2011 example token).
    """

    def __init__(
        self,
        issuers: Mapping[str, str],
        remember_jti: Callable[[str, str, int, float], bool],
        clock: Callable[[], float] = time.time,
        jwks: JwksCache | None = None,
        leeway_s: int = LEEWAY_S,
    ) -> None:
        self._clock = clock
        self.jwks = jwks or JwksCache(issuers, clock=lambda: self._clock())
        self.remember_jti = remember_jti
        self.leeway_s = leeway_s
        self._public_keys: dict[tuple[str, str, str], tuple[Mapping[str, Any], Any]] = {}

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self._clock = value

    def verify(self, authorization: str | None, audience: str) -> VerifiedClient:
        token = bearer_token(authorization)
        try:  # header and claims in one pass; nothing here is trusted until the signature is checked
            parts = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        header, unverified = parts["header"], parts["payload"]
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise AuthError("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("no kid")
        typ = header.get("typ")
        if typ is not None and str(typ).upper() != "JWT":
            raise AuthError("typ is not JWT")
        iss = unverified.get("iss")
        if not isinstance(iss, str) or (source := self.jwks.source(iss)) is None:
            raise AuthError("issuer not trusted")
        jku = header.get("jku")
        if jku is not None and source.is_url and jku != source.location:
            raise AuthError("jku not allowed for issuer")
        jwk = self.jwks.key_for(iss, kid)
        if jwk.get("kty") != KEY_TYPES[alg] or jwk.get("alg") not in (None, alg):
            raise AuthError("key type does not match alg")
        try:
            key = self._public_key(iss, kid, alg, jwk)
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthError("signature or claims invalid") from None
        self._check_times(claims)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise AuthError("jti missing")
        exp = int(claims["exp"])
        if not self.remember_jti(iss, jti, exp + self.leeway_s, self._clock()):
            raise AuthError("replayed jti")
        tenant = claims.get("tenant")
        return VerifiedClient(
            iss=iss, jti=jti, expires_at=exp, tenant=tenant if isinstance(tenant, str) else None
        )

    def _public_key(self, iss: str, kid: str, alg: str, jwk: Mapping[str, Any]) -> Any:
        """The key object of a JWK, built once per JWK (about 0.03 ms each time otherwise).

        Cached by ``(iss, kid, alg)`` together with the JWK it was built from; a reloaded JWKS brings new
        JWK objects, so a rotated or replaced key is never verified with the old key object.
        """
        cached = self._public_keys.get((iss, kid, alg))
        if cached is not None and cached[0] is jwk:
            return cached[1]
        key = jwt.PyJWK(dict(jwk), algorithm=alg).key
        self._public_keys[(iss, kid, alg)] = (jwk, key)
        return key

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        try:
            exp = float(claims["exp"])
            iat = float(claims["iat"])
            nbf = float(claims["nbf"]) if "nbf" in claims else None
        except (TypeError, ValueError):
            raise AuthError("time claims not numeric") from None
        if isinstance(claims["exp"], bool) or isinstance(claims["iat"], bool):
            raise AuthError("time claims not numeric")
        if exp + self.leeway_s < now:
            raise AuthError("expired")
        if iat - self.leeway_s > now:
            raise AuthError("issued in the future")
        if nbf is not None and nbf - self.leeway_s > now:
            raise AuthError("not yet valid")


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("not a bearer token")
    return token.strip()


def expected_audience(public_url: str, request_root: str, path: str) -> str:
    """The exact URL a client must put in ``aud``: the public base URL (or the request's) + the path."""
    base = (public_url or request_root).rstrip("/")
    return base + path
