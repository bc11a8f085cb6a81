"""Error responses: OperationOutcome-style JSON bodies for every 4xx/5xx except 401 (empty body)."""

from __future__ import annotations

import json

from flask import Response

# HTTP status -> FHIR issue-type code
ISSUE_CODES: dict[int, str] = {
    400: "invalid",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    412: "incomplete",
    413: "too-long",
    415: "not-supported",
    500: "exception",
    503: "transient",
}


def operation_outcome(status: int, diagnostics: str, severity: str = "error") -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": ISSUE_CODES.get(status, "processing"),
                "diagnostics": diagnostics or "error",
            }
        ],
    }
    return Response(json.dumps(body), status=status, mimetype="application/json")


def unauthorized() -> Response:
    """401 with no detail in the body (CDS Hooks best practice)."""
    return Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})
