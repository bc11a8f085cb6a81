"""``POST /cds-services/<id>``: the patient-view hook.

404 unknown id -> 413 too large -> 401 token -> 415 content type -> 400 JSON / envelope / wrong hook ->
``hook_runner(request)`` (412 on ``PreconditionFailed``) -> 200 ``{"cards": [...]}``. Cards that fail the
project schema (a bug in a lower layer) are dropped and logged rather than sent to the EHR. Each returned
card's uuid -> trial id is written to the database (one transaction) before the response; a failing write
is logged and does not withhold the cards.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, g, jsonify

from cds.errors import BadRequest, PreconditionFailed
from cds.http import guards
from cds.http.collector import gc_paused
from cds.http.discovery import HOOK
from cds.http.schemas import card_is_valid, envelope_is_plainly_valid, first_error
from cds.http.state import state

log = logging.getLogger("cds.http")
bp = Blueprint("hooks", __name__)

TRIAL_EXTENSION = "org.nktrials.eligibility"


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Any:
    with gc_paused():  # the whole call: cds.http.collector explains why
        return _answer(service_id)


def _answer(service_id: str) -> Any:
    guards.check_service(service_id)
    g.service_id = service_id
    guards.check_size()
    guards.authenticate()
    guards.check_content_type()
    body = guards.read_json_object()
    hook_instance = body.get("hookInstance")
    if isinstance(hook_instance, str):
        g.hook_instance = hook_instance
    problem = None if envelope_is_plainly_valid(body) else first_error("HookRequest", body)
    if problem:
        raise guards.ClientError(400, f"invalid CDS Hooks request: {problem}")
    if body["hook"] != HOOK:
        raise guards.ClientError(400, f"this service answers the {HOOK} hook only")
    st = state()
    try:
        response = st.hook_runner(body)
    except PreconditionFailed as exc:
        raise guards.ClientError(412, str(exc) or "required patient data could not be obtained") from None
    except BadRequest as exc:
        raise guards.ClientError(400, str(exc) or "bad request") from None
    cards = _conformant_cards(response)
    g.cards = len(cards)
    _record(hook_instance, cards)
    return jsonify({"cards": cards})


def _conformant_cards(response: Any) -> list[dict[str, Any]]:
    raw_cards = response.get("cards") if isinstance(response, Mapping) else None
    if not isinstance(raw_cards, list):
        log.error("hook runner returned no cards list")
        return []
    cards = []
    for card in raw_cards:
        if card_is_valid(
            card
        ):  # the Card schema, hand-written (cds.http.schemas): jsonschema cost 0.7 ms a card
            cards.append(card)
        else:
            log.error("dropped a card that does not conform to the CDS Hooks schema")
    return cards


def trial_of(card: Mapping[str, Any]) -> str | None:
    ext = card.get("extension")
    info = ext.get(TRIAL_EXTENSION) if isinstance(ext, Mapping) else None
    trial = info.get("trial") if isinstance(info, Mapping) else None
    return trial if isinstance(trial, str) and trial else None


def _record(hook_instance: str, cards: list[dict[str, Any]]) -> None:
    pairs = [
        (card["uuid"], trial)
        for card in cards
        if isinstance(card.get("uuid"), str) and (trial := trial_of(card))
    ]
    if not pairs:
        return
    try:
        state().db.record_cards(hook_instance, pairs)
    except Exception:  # noqa: BLE001 - bookkeeping must not withhold guidance
        log.exception("could not record card -> trial ids")
