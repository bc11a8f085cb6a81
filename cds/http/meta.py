"""``GET /healthz`` (process up and database reachable) and ``GET /openapi.json`` (the API description)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify

from cds.http.problems import operation_outcome
from cds.http.state import state
from cds.paths import SCHEMA_DIR

bp = Blueprint("meta", __name__)


@cache
def _openapi_text() -> str:
    return (SCHEMA_DIR / "openapi.json").read_text(encoding="utf-8")


@bp.get("/healthz")
def healthz() -> Any:
    if not state().db.ping():
        return operation_outcome(503, "database unavailable")
    return jsonify({"status": "ok", "database": "ok"})


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(_openapi_text(), mimetype="application/json")
