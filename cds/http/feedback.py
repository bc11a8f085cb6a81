"""``POST /cds-services/<id>/feedback``: clinician feedback on cards, stored durably before the 200.

Validated per CDS Hooks 2.0.1: ``card`` (the card uuid), ``outcome`` accepted|overridden,
``acceptedSuggestions`` required for accepted, optional ``overrideReason`` (``reason`` Coding, ``display``
optional because the Sandbox omits it, and/or ``userComment``), ``outcomeTimestamp`` an RFC 3339 date-time
with a time zone. One bad item rejects the whole POST (400), so a client never has to guess what was kept.
Answer: 200 ``{"stored": n}`` once the transaction is committed; 503 if the database is unavailable.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, g, jsonify

from cds.http import guards
from cds.http.schemas import first_error
from cds.http.state import state

log = logging.getLogger("cds.http")
bp = Blueprint("feedback", __name__)


def _timestamp_problem(value: Any) -> str | None:
    if not isinstance(value, str) or "T" not in value.upper():
        return "outcomeTimestamp must be an RFC 3339 date-time"
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return "outcomeTimestamp must be an RFC 3339 date-time"
    if parsed.tzinfo is None:
        return "outcomeTimestamp needs a time zone (e.g. Z)"
    return None


def _item_problem(index: int, item: dict[str, Any]) -> str | None:
    problem = _timestamp_problem(item.get("outcomeTimestamp"))
    if problem:
        return f"feedback/{index}: {problem}"
    override = item.get("overrideReason")
    if isinstance(override, dict) and not (override.get("reason") or override.get("userComment")):
        return f"feedback/{index}: overrideReason needs reason or userComment"
    return None


@bp.post("/cds-services/<service_id>/feedback")
def post_feedback(service_id: str) -> Any:
    guards.check_service(service_id)
    g.service_id = service_id
    guards.check_size()
    guards.authenticate()
    guards.check_content_type()
    body = guards.read_json_object()
    problem = first_error("FeedbackRequest", body)
    if problem:
        raise guards.ClientError(400, f"invalid feedback: {problem}")
    items = body["feedback"]
    for index, item in enumerate(items):
        problem = _item_problem(index, item)
        if problem:
            raise guards.ClientError(400, f"invalid feedback: {problem}")
    try:
        stored = state().db.store_feedback(service_id, items)
    except Exception:  # noqa: BLE001 - the client may retry; nothing was acknowledged
        log.exception("could not store feedback")
        raise guards.ClientError(503, "feedback could not be stored; retry later") from None
    return jsonify({"stored": stored})
