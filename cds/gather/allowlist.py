"""Which URLs the service may contact: the FHIR allowlist (SSRF guard) and "under this base" checks.

- ``is_allowed(url, allowlist)``: ``fhirServer`` must start with one of the ``NK_CDS_FHIR_ALLOWLIST``
  prefixes, compared by parsed parts (scheme, host, port, then path on a segment boundary), so that
  ``https://ehr.example.org/fhir`` allows neither ``https://ehr.example.org/fhir-other`` nor
  ``https://ehr.example.org.evil.net/fhir``. ``http://`` is allowed only through an ``http://`` entry.
  An empty allowlist allows nothing.
- ``under_base(url, base)``: a next link or reference may be requested only when it stays under the
  ``fhirServer`` base. The loopback names ``127.0.0.1``, ``localhost`` and ``[::1]`` are the same host
  (a local server configured as one and called as the other); nothing else is aliased.
- ``redact(url)``: scheme, host and path for logs; never the query (it carries ``patient=...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")


@dataclass(frozen=True)
class _Parts:
    scheme: str
    host: str
    port: int
    path: str  # without trailing slash


def _parts(url: str) -> _Parts | None:
    """Parsed, normalised parts of an absolute http(s) URL; None for anything unsafe or malformed."""
    if not isinstance(url, str) or any(ch in url for ch in "\\\r\n\t ") or len(url) > 8192:
        return None
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    scheme = split.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not split.hostname or split.username or split.password:
        return None
    path = split.path.rstrip("/")
    if _DOT_SEGMENT.search(unquote(path)):
        return None
    return _Parts(scheme, split.hostname.lower(), port or _DEFAULT_PORTS[scheme], path)


def _path_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def is_allowed(url: str, allowlist: Iterable[str]) -> bool:
    """True when ``url`` (a ``fhirServer`` base) lies under an allowlist entry."""
    target = _parts(url)
    if target is None:
        return False
    for entry in allowlist:
        allowed = _parts(entry.strip())
        if allowed is None:
            continue
        if (target.scheme, target.host, target.port) == (allowed.scheme, allowed.host, allowed.port) and (
            _path_under(target.path, allowed.path)
        ):
            return True
    return False


def _same_host(a: str, b: str) -> bool:
    return a == b or (a in LOOPBACK and b in LOOPBACK)


def under_base(url: str, base: str) -> bool:
    """True when ``url`` is the base itself or below it, on the same origin (loopback names aliased)."""
    target, root = _parts(url), _parts(base)
    if target is None or root is None:
        return False
    return (
        target.scheme == root.scheme
        and _same_host(target.host, root.host)
        and target.port == root.port
        and _path_under(target.path, root.path)
    )


def onto_base(url: str, base: str) -> str:
    """Rewrite a URL that ``under_base`` accepted onto the exact base string (same request, same origin)."""
    target, root = _parts(url), _parts(base)
    if target is None or root is None or not under_base(url, base):
        raise ValueError("URL is not under the FHIR base")
    split = urlsplit(url)
    tail = split.path[len(root.path) :]
    query = f"?{split.query}" if split.query else ""
    return base.rstrip("/") + tail + query


def redact(url: object) -> str:
    """Scheme, host, port and path only (no query, fragment or credentials), for log lines."""
    if not isinstance(url, str):
        return "<not a URL>"
    try:
        split = urlsplit(url)
        host = split.hostname or ""
        port = f":{split.port}" if split.port else ""
    except ValueError:
        return "<malformed URL>"
    return f"{split.scheme}://{host}{port}{split.path}"[:200]
