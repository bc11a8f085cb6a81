"""The "flag as candidate" suggestion (FHIR R4 ResearchSubject, validated with R4B) and "already flagged"."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.researchsubject import ResearchSubject

from cds.cards import render_cards
from cds.facts import FuzzyDate, ResearchFact
from tests.cards_factory import card_validator, make_config, make_facts, make_result, make_trial

NCT = "NCT06631391"


def _card(facts=None) -> dict:
    cards = render_cards([make_result(NCT)], [make_trial(NCT)], facts or make_facts("pat-1"), make_config())
    assert len(cards) == 1
    assert list(card_validator().iter_errors(cards[0])) == []
    return cards[0]


def test_suggestion_creates_a_candidate_research_subject() -> None:
    card = _card()
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert suggestion["label"] == f"Flag as candidate for UCB NK cells for R/R neuroblastoma ({NCT})"
    [action] = suggestion["actions"]
    assert action["type"] == "create"
    assert action["description"]
    resource = action["resource"]
    model = ResearchSubject.model_validate(resource)
    assert model.status == "candidate"
    assert model.individual.reference == "Patient/pat-1"
    assert model.study.type == "ResearchStudy"
    assert model.study.identifier.system == "https://clinicaltrials.gov"
    assert model.study.identifier.value == NCT


def test_an_invalid_resource_is_rejected_by_r4b() -> None:
    """The validation the suggestion relies on is real: a missing individual or an unknown field fails."""
    resource = _card()["suggestions"][0]["actions"][0]["resource"]
    with pytest.raises(ValueError):
        ResearchSubject.model_validate({k: v for k, v in resource.items() if k != "individual"})
    with pytest.raises(ValueError):
        ResearchSubject.model_validate(dict(resource, candidate=True))


def test_unusable_patient_id_gives_no_suggestion_but_a_valid_card() -> None:
    card = _card(make_facts("not a valid/id"))
    assert "suggestions" not in card
    assert "selectionBehavior" not in card


@pytest.mark.parametrize(
    "study", [NCT, NCT.lower(), f"ResearchStudy/{NCT}", f"https://clinicaltrials.gov|{NCT}"]
)
def test_already_flagged_replaces_the_suggestion(study: str) -> None:
    flags = (
        ResearchFact("rs-2", study, "candidate", start=FuzzyDate.of(dt.date(2026, 11, 10))),
        ResearchFact("rs-1", study, "candidate", start=FuzzyDate.of(dt.date(2026, 10, 2))),
    )
    card = _card(make_facts(research=flags))
    assert "suggestions" not in card
    assert "selectionBehavior" not in card
    assert (
        "**Already flagged** as a candidate for this trial on 2026-10-02 (status candidate)."
        in card["detail"]
    )


def test_already_flagged_without_a_date() -> None:
    card = _card(make_facts(research=(ResearchFact("rs-1", NCT, "candidate"),)))
    assert "suggestions" not in card
    assert "(date not recorded; status candidate)" in card["detail"]


def test_a_flag_for_another_trial_does_not_count() -> None:
    other = ResearchFact("rs-1", "NCT06631392", "candidate", start=FuzzyDate.of(dt.date(2026, 10, 2)))
    card = _card(make_facts(research=(other,)))
    assert "suggestions" in card
    assert "Already flagged" not in card["detail"]
