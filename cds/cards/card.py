"""One CDS Hooks card for one selected trial result (wording from ``cards/templates/card.yaml``)."""

from __future__ import annotations

import uuid
from typing import Any

from cds.cards.detail import EscapeMemo, render_detail
from cds.cards.markdown import one_line
from cds.cards.select import Selected
from cds.cards.suggestion import REGISTRY_SYSTEM, build_suggestion, existing_flag
from cds.cards.summary import render_summary
from cds.cards.templates import Templates
from cds.config import Config
from cds.facts import PatientFacts

EXTENSION_KEY = "org.nktrials.eligibility"
OVERRIDE_SYSTEM = "https://nktrials.org/CodeSystem/override-reason"


def override_reasons(templates: Templates) -> list[dict[str, str]]:
    return [
        {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
        for code, display in templates.override_reasons().items()
    ]


def build_card(
    item: Selected,
    facts: PatientFacts,
    config: Config,
    templates: Templates,
    escaped: EscapeMemo | None = None,
) -> dict[str, Any]:
    """``escaped``: the hook call's memo of escaped data strings, shared by its cards (see ``detail``)."""
    result, trial = item.result, item.trial
    title = one_line(trial.short_title)
    flag = existing_flag(facts, trial.id)
    detail = render_detail(result, trial, config, templates, flag, escaped)
    links = [
        {
            "label": templates.text("link_registry", nct=trial.id),
            "url": trial.registry_url,
            "type": "absolute",
        }
    ]
    links += [
        {"label": templates.text("link_mentioned"), "url": url, "type": "absolute"}
        for url in detail.urls
        if url != trial.registry_url
    ]
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": render_summary(result, title, templates, trial.status.upper() == "UNKNOWN"),
        "indicator": "info",
        "detail": detail.markdown,
        "source": {
            "label": templates.text("source_label", nct=trial.id, title=title),
            "url": trial.registry_url,
            "topic": {"system": REGISTRY_SYSTEM, "code": trial.id, "display": title},
        },
        "links": links,
        "overrideReasons": override_reasons(templates),
        "extension": {EXTENSION_KEY: result.to_json()},
    }
    suggestion = None if flag is not None else build_suggestion(trial, facts, templates)
    if suggestion is not None:
        card["suggestions"] = [suggestion]
        card["selectionBehavior"] = "at-most-one"
    return card
