"""Cards for the real trial files in ``cards/trials/``: valid, short, HTML-free for every verdict."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from cds.cards import render_cards
from cds.cards.summary import MAX_SUMMARY
from cds.results import Verdict
from cds.trials import load_trials
from tests.cards_factory import card_validator, make_config, make_facts, make_result, waiting_result

TRIALS = load_trials()


def _has_raw_html(markdown: str) -> bool:
    md = MarkdownIt("commonmark", {"html": True})
    for token in md.parse(markdown):
        if token.type == "html_block" or any(c.type == "html_inline" for c in token.children or []):
            return True
    return False


def test_catalogue_is_loaded() -> None:
    assert len(TRIALS) == 5


@pytest.mark.parametrize("trial", TRIALS, ids=lambda t: t.id)
@pytest.mark.parametrize("verdict", [Verdict.ELIGIBLE, Verdict.NOT_YET_ELIGIBLE, Verdict.POSSIBLY_ELIGIBLE])
def test_every_trial_renders_a_valid_card(trial, verdict: Verdict) -> None:
    result = (
        waiting_result(trial.id) if verdict == Verdict.NOT_YET_ELIGIBLE else make_result(trial.id, verdict)
    )
    cards = render_cards([result], TRIALS, make_facts(), make_config())
    assert len(cards) == 1, f"{trial.id} ({trial.status}) not suggested"
    card = cards[0]
    assert [e.message for e in card_validator().iter_errors(card)] == []
    assert len(card["summary"]) <= MAX_SUMMARY
    assert card["summary"].count(trial.id) == 1
    assert not _has_raw_html(card["detail"])
    assert card["links"][0]["url"] == trial.registry_url
    if trial.status == "UNKNOWN":
        note = "not verified since" if trial.status_verified else "not verified; confirm with the site"
        assert note in card["detail"]
    if not trial.criteria_complete:
        assert "Exclusion criteria not checked" in card["detail"]
