"""Every card validates against the CDS Hooks Card schema and carries the fields the issue asks for."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from cds.cards import render_cards
from cds.results import Verdict
from tests.cards_factory import (
    card_validator,
    make_config,
    make_facts,
    make_result,
    make_trial,
    response_validator,
    waiting_result,
)

TRIALS = [
    make_trial("NCT06631391", "UCB NK cells for R/R neuroblastoma"),
    make_trial(
        "NCT03619954", "NK cells for advanced malignancies", status="UNKNOWN", criteria_complete=False
    ),
    make_trial("NCT05952310", "Haplo NK cells for refractory sarcoma", countries=("Spain",)),
]
RESULTS = [
    waiting_result("NCT06631391"),
    make_result("NCT03619954", criteria_complete=False, notes=("exclusions not listed",)),
    make_result("NCT05952310", Verdict.ELIGIBLE),
]


@pytest.fixture
def cards() -> list[dict]:
    return render_cards(RESULTS, TRIALS, make_facts(), make_config())


def test_every_card_and_the_response_validate(cards: list[dict]) -> None:
    assert len(cards) == 3
    validator = card_validator()
    for card in cards:
        errors = [e.message for e in validator.iter_errors(card)]
        assert errors == [], errors
    assert list(response_validator().iter_errors({"cards": cards})) == []


def test_schema_catches_a_broken_card(cards: list[dict]) -> None:
    """The validator used above is not vacuous: an over-long summary and a bad indicator fail."""
    broken = dict(cards[0], summary="x" * 140, indicator="hint")
    assert len(list(card_validator().iter_errors(broken))) == 2


def test_no_matching_trial_gives_an_empty_list() -> None:
    results = [make_result(verdict=Verdict.INELIGIBLE)]
    cards = render_cards(results, TRIALS, make_facts(), make_config())
    assert cards == []
    assert list(response_validator().iter_errors({"cards": cards})) == []


def test_uuids_are_fresh_uuid4_on_cards_and_suggestions(cards: list[dict]) -> None:
    again = render_cards(RESULTS, TRIALS, make_facts(), make_config())
    ids = [c["uuid"] for c in cards + again] + [s["uuid"] for c in cards + again for s in c["suggestions"]]
    assert len(ids) == len(set(ids)) == 12
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_indicator_source_and_topic(cards: list[dict]) -> None:
    for card in cards:
        nct = card["extension"]["org.nktrials.eligibility"]["trial"]
        assert card["indicator"] == "info"
        assert card["source"]["url"] == f"https://clinicaltrials.gov/study/{nct}"
        assert card["source"]["label"]
        topic = card["source"]["topic"]
        assert topic["system"] == "https://clinicaltrials.gov"
        assert topic["code"] == nct
        assert topic["display"] == next(t.short_title for t in TRIALS if t.id == nct)


def test_override_reasons(cards: list[dict]) -> None:
    for card in cards:
        reasons = card["overrideReasons"]
        assert [r["code"] for r in reasons] == [
            "already-screened",
            "not-interested",
            "not-appropriate-now",
            "other",
        ]
        assert {r["system"] for r in reasons} == {"https://nktrials.org/CodeSystem/override-reason"}
        assert all(r["display"].strip() for r in reasons)


def test_links_hold_the_registry_page_and_every_url_in_detail(cards: list[dict]) -> None:
    from cds.cards.markdown import find_urls

    for card in cards:
        urls = [link["url"] for link in card["links"]]
        assert urls[0] == card["source"]["url"]
        assert all(link["type"] == "absolute" and "appContext" not in link for link in card["links"])
        assert set(find_urls(card["detail"])) <= set(urls)


def test_a_url_in_trial_data_is_repeated_in_links() -> None:
    trial = make_trial()
    site = {"name": "Info at https://example.org/site_info?a=1&b=2.", "country": "China"}
    trial = dataclasses.replace(trial, sites=(site,))
    card = render_cards([make_result()], [trial], make_facts(), make_config())[0]
    urls = [link["url"] for link in card["links"]]
    assert "https://example.org/site_info?a=1&b=2" in urls
    assert len(urls) == 2


def test_eligible_from_in_a_later_year_names_the_year() -> None:
    result = waiting_result(clears=dt.date(2027, 1, 4))
    card = render_cards([result], TRIALS, make_facts(), make_config())[0]
    assert card["summary"].startswith("May be eligible from 4 Jan 2027: ")
    same_year = render_cards(
        [waiting_result(clears=dt.date(2026, 12, 31))], TRIALS, make_facts(), make_config()
    )
    assert same_year[0]["summary"].startswith("May be eligible from 31 Dec: ")
