"""Upload transaction Bundles to any FHIR R4 server (``nk-cds load-demo``, the demo, the tests)."""

from __future__ import annotations

import json
from typing import Any

import requests

FHIR_JSON = "application/fhir+json"


class UploadError(RuntimeError):
    """The server refused or could not be reached; the message carries the HTTP status and a short excerpt."""


def fhir_headers(token: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def post_transaction(
    base_url: str,
    bundle: dict[str, Any],
    *,
    token: str | None = None,
    timeout_s: float = 60.0,
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """POST one transaction Bundle to the server's base URL; return the response Bundle.

    Raises ``UploadError`` for a network failure, a non-2xx answer, or an answer that is not a Bundle.
    """
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        raise UploadError("only transaction Bundles are uploaded")
    http = session or requests
    try:
        response = http.post(
            base_url.rstrip("/"), data=json.dumps(bundle), headers=fhir_headers(token), timeout=timeout_s
        )
    except requests.RequestException as exc:
        raise UploadError(f"could not reach {base_url}: {type(exc).__name__}") from exc
    if not response.ok:
        raise UploadError(f"HTTP {response.status_code}: {response_excerpt(response)}")
    try:
        body = response.json()
    except ValueError as exc:
        raise UploadError(f"HTTP {response.status_code} but the answer is not JSON") from exc
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise UploadError("the answer is not a Bundle")
    return body


def response_excerpt(response: requests.Response) -> str:
    """The OperationOutcome's diagnostics if there is one, else the first 300 characters."""
    try:
        body = response.json()
        issues = body.get("issue", []) if isinstance(body, dict) else []
        texts = [i.get("diagnostics") or i.get("details", {}).get("text", "") for i in issues]
        joined = "; ".join(t for t in texts if t)
        if joined:
            return joined[:300]
    except ValueError:
        pass
    return response.text[:300]
