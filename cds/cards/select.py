"""Which trial results become cards, and in what order.

A result is shown when its verdict is eligible, possibly-eligible or not-yet-eligible, its trial is known
and enabled (``config.trials``; empty = all), the trial's registry status is in ``config.suggest_statuses``
and, when ``config.countries`` is set, the trial lists a site in one of those countries (compared without
regard to case; a trial that lists no sites is then not shown, since no site can be confirmed).

A not-yet-eligible result whose ``eligibleFrom`` lies more than ``config.not_yet_horizon_days`` after the
evaluation date gets no card: a child who reaches an adult trial's minimum age in ten years is not a
candidate today.

Order: recruiting trials first, then eligible < not-yet-eligible < possibly-eligible, then the earliest
``eligibleFrom`` (results without one sort as "now"), then NCT id; at most ``config.max_cards`` results.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cds.config import Config
from cds.results import TrialResult, Verdict
from cds.trials import Trial

log = logging.getLogger(__name__)

SHOWN_VERDICTS: dict[Verdict, int] = {
    Verdict.ELIGIBLE: 0,
    Verdict.NOT_YET_ELIGIBLE: 1,
    Verdict.POSSIBLY_ELIGIBLE: 2,
}


@dataclass(frozen=True)
class Selected:
    """A result worth a card, with the trial definition it belongs to."""

    result: TrialResult
    trial: Trial


def status_allowed(trial: Trial, config: Config) -> bool:
    allowed = {s.upper() for s in config.suggest_statuses}
    return trial.status.upper() in allowed


def country_allowed(trial: Trial, config: Config) -> bool:
    if not config.countries:
        return True
    wanted = {c.casefold() for c in config.countries}
    return any(country.casefold() in wanted for country in trial.countries)


def within_horizon(result: TrialResult, config: Config) -> bool:
    if result.status != Verdict.NOT_YET_ELIGIBLE or result.eligible_from is None:
        return True
    return (result.eligible_from - result.evaluated_on).days <= config.not_yet_horizon_days


def sort_key(item: Selected) -> tuple[int, int, dt.date, str]:
    result, trial = item.result, item.trial
    return (
        0 if trial.status.upper() == "RECRUITING" else 1,
        SHOWN_VERDICTS[result.status],
        result.eligible_from or dt.date.min,
        result.trial,
    )


def select_results(results: Sequence[TrialResult], trials: Sequence[Trial], config: Config) -> list[Selected]:
    """Filter, sort and cap the results that become cards."""
    by_id = {t.id: t for t in trials}
    chosen: list[Selected] = []
    for result in results:
        if result.status not in SHOWN_VERDICTS:
            continue
        trial = by_id.get(result.trial)
        if trial is None:
            log.warning("no trial definition for result %s; no card", result.trial)
            continue
        if config.trials and trial.id not in config.trials:
            continue
        if not status_allowed(trial, config) or not country_allowed(trial, config):
            continue
        if not within_horizon(result, config):
            continue
        chosen.append(Selected(result, trial))
    chosen.sort(key=sort_key)
    return chosen[: max(config.max_cards, 0)]
