"""One patient-view hook call, end to end, below the HTTP layer.

gather (prefetch + FHIR) -> normalise (PatientFacts) -> engine (TrialResult per trial) -> cards.
The HTTP layer validates and authenticates the request, then calls ``run_patient_view``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cds.config import Config
from cds.trials import Trial


@dataclass(frozen=True)
class Catalogue:
    """Everything loaded once at start-up and shared read-only by every request."""

    trials: tuple[Trial, ...]
    mappings: Any  # cds.mappings.Mappings
    definitions_version: str


def load_catalogue(config: Config) -> Catalogue:
    from cds.mappings import load_mappings
    from cds.trials import definitions_version, load_trials

    trials = load_trials()
    if config.trials:
        trials = tuple(t for t in trials if t.id in config.trials)
    return Catalogue(trials=trials, mappings=load_mappings(), definitions_version=definitions_version())


def evaluate_patient(
    raw: Any, catalogue: Catalogue, config: Config, evaluation_date: dt.date
) -> tuple[Any, list[Any]]:
    """Raw resources -> (PatientFacts, [TrialResult]) for every enabled trial."""
    from cds.engine import evaluate_trials
    from cds.normalise import build_facts

    facts = build_facts(raw, evaluation_date, catalogue.mappings, config)
    results = list(
        evaluate_trials(
            catalogue.trials, facts, config, catalogue.definitions_version, mappings=catalogue.mappings
        )
    )
    return facts, results


def run_patient_view(
    request: dict[str, Any], catalogue: Catalogue, config: Config, now: dt.datetime
) -> dict[str, Any]:
    """A validated patient-view request -> the CDS Hooks response body ``{"cards": [...]}``.

    Raises ``cds.errors.PreconditionFailed`` when Patient or Condition data cannot be obtained.
    """
    from zoneinfo import ZoneInfo

    from cds.cards import render_cards
    from cds.gather import gather

    evaluation_date = now.astimezone(ZoneInfo(config.timezone)).date()
    raw = gather(request, config)
    facts, results = evaluate_patient(raw, catalogue, config, evaluation_date)
    cards = render_cards(results, catalogue.trials, facts, config)
    return {"cards": cards}
