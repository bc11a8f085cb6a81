"""One CDS Hooks card for one selected trial result (wording from ``cards/templates/card.yaml``).

The card's texts that depend only on the trial and the wording file (its one-line title, the registry link and
source labels) and the override reasons are worked out once and kept on the ``Templates`` (``_CardTexts``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from cds.cards.detail import EscapeMemo, render_detail
from cds.cards.markdown import one_line
from cds.cards.select import Selected
from cds.cards.suggestion import REGISTRY_SYSTEM, build_suggestion, existing_flag
from cds.cards.summary import render_summary
from cds.cards.templates import Templates
from cds.config import Config
from cds.facts import PatientFacts
from cds.trials import Trial

EXTENSION_KEY = "org.nktrials.eligibility"
OVERRIDE_SYSTEM = "https://nktrials.org/CodeSystem/override-reason"


def override_reasons(templates: Templates) -> list[dict[str, str]]:
    """The card's override reasons: new dicts on every call (a card is the caller's to change)."""
    reasons = templates.memo("override-reasons", lambda: tuple(templates.override_reasons().items()))
    return [{"system": OVERRIDE_SYSTEM, "code": code, "display": display} for code, display in reasons]


@dataclass(frozen=True)
class _CardTexts:
    """The texts of a trial's card made from the trial and the wording alone."""

    trial: Trial  # the catalogue object they were made from
    title: str  # the short title on one line
    registry_label: str
    source_label: str


def _card_texts(templates: Templates, trial: Trial) -> _CardTexts:
    """Memoised per NCT id and rebuilt for a new ``Trial`` object (as ``wording.trial_wording``)."""

    def build() -> _CardTexts:
        title = one_line(trial.short_title)
        return _CardTexts(
            trial,
            title,
            registry_label=templates.text("link_registry", nct=trial.id),
            source_label=templates.text("source_label", nct=trial.id, title=title),
        )

    return templates.memo(("card-texts", trial.id), build, lambda cached: cached.trial is trial)


def build_card(
    item: Selected,
    facts: PatientFacts,
    config: Config,
    templates: Templates,
    escaped: EscapeMemo | None = None,
) -> dict[str, Any]:
    """``escaped``: the hook call's memo of escaped data strings, shared by its cards (see ``detail``)."""
    result, trial = item.result, item.trial
    texts = _card_texts(templates, trial)
    title = texts.title
    flag = existing_flag(facts, trial.id)
    detail = render_detail(result, trial, config, templates, flag, escaped)
    links = [{"label": texts.registry_label, "url": trial.registry_url, "type": "absolute"}]
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
            "label": texts.source_label,
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
