"""CDS Hooks cards from trial results: ``render_cards(results, trials, facts, config) -> [card]``.

Jobs: ``select`` (which results, in what order, how many), ``summary`` / ``detail`` / ``suggestion``
(the parts of a card), ``card`` (assembly), ``templates`` (all wording, from ``cards/templates/``),
``markdown`` (escaping data into GitHub-flavoured Markdown). See ``docs/cards.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from cds.cards.card import EXTENSION_KEY, OVERRIDE_SYSTEM, build_card
from cds.cards.detail import EscapeMemo
from cds.cards.select import select_results
from cds.cards.templates import load_templates
from cds.config import Config
from cds.errors import DefinitionError
from cds.facts import PatientFacts
from cds.results import TrialResult
from cds.trials import Trial

__all__ = ["EXTENSION_KEY", "OVERRIDE_SYSTEM", "render_cards"]

log = logging.getLogger(__name__)


def render_cards(
    results: list[TrialResult],
    trials: Sequence[Trial],
    facts: PatientFacts,
    config: Config,
) -> list[dict[str, Any]]:
    """The cards for one hook call, best first; ``[]`` when no trial matches.

    A card that cannot be rendered (a data problem in one trial) is left out and logged by trial id; it
    never fails the whole response. A broken template file is a definition error and is raised.
    """
    templates = load_templates()
    escaped: EscapeMemo = {}  # this call's escaped data strings; dropped when the call returns
    cards = []
    for item in select_results(results, trials, config):
        try:
            cards.append(build_card(item, facts, config, templates, escaped))
        except DefinitionError:
            raise
        except Exception as exc:  # one bad trial must not cost the clinician the other cards
            # Only the trial id and the error type: the message could carry patient data.
            log.error("could not render the card for %s (%s); left out", item.trial.id, type(exc).__name__)
    return cards
