"""Card summaries: under 140 characters, the verdict and NCT id always whole, the title shortened to fit."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from cds.cards import render_cards
from cds.cards.summary import MAX_SUMMARY, render_summary, shorten
from cds.cards.templates import load_templates
from cds.results import Verdict
from tests.cards_factory import make_config, make_facts, make_result, make_trial, waiting_result

NCT = "NCT06631391"


def _summary(title: str, verdict: Verdict = Verdict.NOT_YET_ELIGIBLE) -> str:
    result = waiting_result(NCT) if verdict == Verdict.NOT_YET_ELIGIBLE else make_result(NCT, verdict)
    card = render_cards([result], [make_trial(NCT, title)], make_facts(), make_config())[0]
    return card["summary"]


def test_issue_example_is_reproduced() -> None:
    assert _summary("UCB NK cells for R/R neuroblastoma") == (
        "May be eligible from 5 Dec: UCB NK cells for R/R neuroblastoma (NCT06631391)"
    )


def test_each_verdict_is_named() -> None:
    assert _summary("T", Verdict.ELIGIBLE) == "Meets the recorded criteria: T (NCT06631391)"
    assert _summary("T", Verdict.POSSIBLY_ELIGIBLE) == "May be eligible, data missing: T (NCT06631391)"


def test_very_long_title_is_cut_with_an_ellipsis_never_the_nct_id() -> None:
    title = "Phase I study of umbilical cord blood derived natural killer cells " * 6
    summary = _summary(title)
    assert len(summary) <= MAX_SUMMARY
    assert summary.endswith("… (NCT06631391)")
    assert summary.startswith("May be eligible from 5 Dec: Phase I study of umbilical cord")


def test_title_that_exactly_fits_is_not_cut_and_one_more_character_is() -> None:
    frame = len("May be eligible from 5 Dec:  (NCT06631391)")
    fits = "x" * (MAX_SUMMARY - frame)
    assert _summary(fits) == f"May be eligible from 5 Dec: {fits} (NCT06631391)"
    assert len(_summary(fits)) == MAX_SUMMARY
    too_long = _summary(fits + "y")
    assert "…" in too_long
    assert len(too_long) <= MAX_SUMMARY


def test_whitespace_and_newlines_in_the_title_collapse() -> None:
    assert (
        _summary("UCB  NK\ncells", Verdict.ELIGIBLE)
        == "Meets the recorded criteria: UCB NK cells (NCT06631391)"
    )


def test_shorten_prefers_a_word_boundary() -> None:
    assert shorten("alpha beta gamma", 12, "…") == "alpha beta…"
    assert shorten("alpha beta gamma", 16, "…") == "alpha beta gamma"
    assert shorten("abcdefghijklmnop", 8, "…") == "abcdefg…"
    assert shorten("abc", 0, "…") == ""


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    title=st.text(min_size=1, max_size=400),
    verdict=st.sampled_from([Verdict.ELIGIBLE, Verdict.POSSIBLY_ELIGIBLE, Verdict.NOT_YET_ELIGIBLE]),
    year=st.sampled_from([2026, 2027]),
    unverified=st.booleans(),
)
def test_summary_always_fits_and_keeps_the_nct_id(
    title: str, verdict: Verdict, year: int, unverified: bool
) -> None:
    eligible_from = dt.date(year, 12, 5) if verdict == Verdict.NOT_YET_ELIGIBLE else None
    result = make_result(NCT, verdict, eligible_from=eligible_from)
    summary = render_summary(result, title, load_templates(), status_unverified=unverified)
    assert 0 < len(summary) <= MAX_SUMMARY
    tail = f"({NCT}); recruitment unverified" if unverified else f"({NCT})"
    assert summary.endswith(tail)
    assert "\n" not in summary


def test_unknown_registry_status_is_named_in_the_summary() -> None:
    trial = make_trial(NCT, "Long title " * 20, status="UNKNOWN")
    card = render_cards([make_result(NCT)], [trial], make_facts(), make_config())[0]
    assert card["summary"].endswith(f"… ({NCT}); recruitment unverified")
    assert len(card["summary"]) <= MAX_SUMMARY
    assert "unverified" not in _summary("Short", Verdict.POSSIBLY_ELIGIBLE)
