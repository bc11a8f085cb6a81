"""Which results become cards: verdict, registry status, country and trial filters, order and the cap."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from cds.cards import render_cards
from cds.results import Verdict
from tests.cards_factory import make_config, make_facts, make_result, make_trial, waiting_result


def _ncts(cards: list[dict]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def test_order_recruiting_first_then_verdict_then_date_then_nct() -> None:
    trials = [
        make_trial("NCT00000001"),
        make_trial("NCT00000002"),
        make_trial("NCT00000003"),
        make_trial("NCT00000004"),
        make_trial("NCT00000005", status="NOT_YET_RECRUITING"),
        make_trial("NCT00000006"),
    ]
    results = [
        make_result("NCT00000001", Verdict.POSSIBLY_ELIGIBLE),
        waiting_result("NCT00000002", clears=dt.date(2026, 12, 20)),
        waiting_result("NCT00000003", clears=dt.date(2026, 12, 5)),
        make_result("NCT00000006", Verdict.ELIGIBLE),
        make_result("NCT00000005", Verdict.ELIGIBLE),
        make_result("NCT00000004", Verdict.ELIGIBLE),
    ]
    cards = render_cards(results, trials, make_facts(), make_config(max_cards=10))
    assert _ncts(cards) == [
        "NCT00000004",  # recruiting, eligible, NCT order
        "NCT00000006",
        "NCT00000003",  # recruiting, not yet eligible, earlier date first
        "NCT00000002",
        "NCT00000001",  # recruiting, possibly eligible
        "NCT00000005",  # not recruiting (yet) comes last even when eligible
    ]


@pytest.mark.parametrize(("max_cards", "expected"), [(0, 0), (2, 2), (3, 3), (4, 3)])
def test_max_cards_caps_after_sorting(max_cards: int, expected: int) -> None:
    trials = [make_trial(f"NCT0000000{i}") for i in range(1, 4)]
    results = [make_result(f"NCT0000000{i}", Verdict.ELIGIBLE) for i in (3, 1, 2)]
    cards = render_cards(results, trials, make_facts(), make_config(max_cards=max_cards))
    assert _ncts(cards) == ["NCT00000001", "NCT00000002", "NCT00000003"][:expected]


def test_default_cap_is_five() -> None:
    trials = [make_trial(f"NCT0000000{i}") for i in range(1, 8)]
    results = [make_result(t.id, Verdict.ELIGIBLE) for t in trials]
    assert len(render_cards(results, trials, make_facts(), make_config())) == 5


def test_ineligible_gets_no_card() -> None:
    trials = [make_trial("NCT00000001"), make_trial("NCT00000002")]
    results = [make_result("NCT00000001", Verdict.INELIGIBLE), make_result("NCT00000002", Verdict.ELIGIBLE)]
    assert _ncts(render_cards(results, trials, make_facts(), make_config())) == ["NCT00000002"]


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("RECRUITING", True),
        ("NOT_YET_RECRUITING", True),
        ("ENROLLING_BY_INVITATION", True),
        ("UNKNOWN", True),
        ("COMPLETED", False),
        ("TERMINATED", False),
        ("WITHDRAWN", False),
        ("SUSPENDED", False),
        ("ACTIVE_NOT_RECRUITING", False),
    ],
)
def test_registry_status_filter(status: str, shown: bool) -> None:
    trial = make_trial(status=status)
    cards = render_cards([make_result(verdict=Verdict.ELIGIBLE)], [trial], make_facts(), make_config())
    assert len(cards) == int(shown)


def test_suggested_statuses_are_configurable() -> None:
    trial = make_trial(status="UNKNOWN")
    config = make_config(suggest_statuses=("RECRUITING",))
    assert render_cards([make_result()], [trial], make_facts(), config) == []
    config = make_config(suggest_statuses=("RECRUITING", "COMPLETED"))
    completed = make_trial(status="COMPLETED")
    assert len(render_cards([make_result()], [completed], make_facts(), config)) == 1


def test_unknown_status_is_suggested_with_the_note() -> None:
    trial = make_trial("NCT03619954", status="UNKNOWN")
    cards = render_cards([make_result("NCT03619954")], [trial], make_facts(), make_config())
    assert len(cards) == 1
    assert "not verified since" in cards[0]["detail"]
    assert "suggestions" in cards[0]


@pytest.mark.parametrize(
    ("countries", "shown"),
    [((), True), (("China",), True), (("china", "Spain"), True), (("Spain",), False)],
)
def test_country_filter(countries: tuple[str, ...], shown: bool) -> None:
    trial = make_trial(countries=("China",))
    cards = render_cards([make_result()], [trial], make_facts(), make_config(countries=countries))
    assert len(cards) == int(shown)


def test_country_filter_excludes_trials_without_sites() -> None:
    trial = make_trial(countries=())
    assert len(render_cards([make_result()], [trial], make_facts(), make_config())) == 1
    assert render_cards([make_result()], [trial], make_facts(), make_config(countries=("China",))) == []


def test_enabled_trials_and_unknown_definitions() -> None:
    trials = [make_trial("NCT00000001"), make_trial("NCT00000002")]
    results = [make_result("NCT00000001"), make_result("NCT00000002"), make_result("NCT00000009")]
    assert _ncts(render_cards(results, trials, make_facts(), make_config())) == ["NCT00000001", "NCT00000002"]
    only = make_config(trials=("NCT00000002",))
    assert _ncts(render_cards(results, trials, make_facts(), only)) == ["NCT00000002"]


def test_a_card_that_cannot_be_rendered_is_left_out_and_logged_without_patient_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = dataclasses.replace(make_trial("NCT00000001"), sites=("not a mapping",))
    trials = [broken, make_trial("NCT00000002")]
    results = [make_result("NCT00000001", Verdict.ELIGIBLE), make_result("NCT00000002", Verdict.ELIGIBLE)]
    with caplog.at_level("ERROR", logger="cds.cards"):
        cards = render_cards(results, trials, make_facts("secret-patient-7"), make_config())
    assert _ncts(cards) == ["NCT00000002"]
    assert "NCT00000001" in caplog.text
    assert "secret-patient-7" not in caplog.text


@pytest.mark.parametrize(("days_away", "shown"), [(365, True), (366, False)])
def test_not_yet_eligible_beyond_the_horizon_gets_no_card(days_away: int, shown: bool) -> None:
    result = dataclasses.replace(
        waiting_result(), eligible_from=waiting_result().evaluated_on + dt.timedelta(days=days_away)
    )
    cards = render_cards([result], [make_trial()], make_facts(), make_config(not_yet_horizon_days=365))
    assert bool(cards) is shown
