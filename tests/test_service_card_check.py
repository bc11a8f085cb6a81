"""``cds.http.schemas.card_is_valid`` (the hook's per-response safety net) gives the same answer as the Card JSON
Schema, on real cards and on every single-field mutation of them."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from cds.config import Config
from cds.demo.patients import demo_patients
from cds.http.schemas import card_is_valid, first_error
from cds.pipeline import load_catalogue, run_patient_view

TODAY = dt.date(2026, 11, 27)
BAD_VALUES: tuple[Any, ...] = (
    "",
    "x",
    "x" * 139,
    "x" * 140,
    None,
    0,
    1.5,
    True,
    [],
    [{}],
    {},
    {"a": 1},
    "create",
    "delete",
    "absolute",
    "smart",
    "info",
    "any",
    "not a uri",
    "urn:x",
)


@cache
def real_cards() -> tuple[dict[str, Any], ...]:
    config = Config()
    catalogue = load_catalogue(config)
    now = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    cards: list[dict[str, Any]] = []
    for demo in demo_patients(TODAY)[:6]:
        cards += run_patient_view(
            json.loads(json.dumps(demo.builder.hook_request())), catalogue, config, now
        )["cards"]
    return tuple(cards)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if path and path[-1] in ("extension", "resource"):
        return  # free-form objects (only "an object" / "not empty" in the schema)
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _mutations(card: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each path set to each bad value, deleted, and (for objects) given an extra or a required-looking key."""
    for path in _paths(card):
        if not path:
            continue
        for value in (*BAD_VALUES, "__delete__", "__extra__", "__appcontext__", "__empty__"):
            mutated = copy.deepcopy(card)
            holder = mutated
            for step in path[:-1]:
                holder = holder[step]
            last = path[-1]
            target = holder[last]
            if value == "__delete__":
                del holder[last]
            elif value == "__extra__":
                if not isinstance(target, dict):
                    continue
                target["unexpected"] = "x"
            elif value == "__appcontext__":
                if not isinstance(target, dict):
                    continue
                target["appContext"] = "ctx"
            elif value == "__empty__":
                if not isinstance(target, list | dict):
                    continue
                target.clear()
            else:
                holder[last] = value
            yield mutated


def test_real_cards_exist_and_are_valid() -> None:
    cards = real_cards()
    assert len(cards) >= 3
    assert any("suggestions" in c for c in cards) and any("links" in c for c in cards)
    for card in cards:
        assert first_error("Card", card) is None
        assert card_is_valid(card)


@pytest.mark.parametrize("index", range(3))
def test_every_mutation_gets_the_schema_answer(index: int) -> None:
    card = real_cards()[index]
    checked = rejected = 0
    for mutated in _mutations(card):
        expected = first_error("Card", mutated) is None
        assert card_is_valid(mutated) == expected, json.dumps(mutated)[:400]
        checked += 1
        rejected += not expected
    assert checked > 200 and 0 < rejected < checked  # both answers occur


@pytest.mark.parametrize(
    "card",
    [
        None,
        [],
        "card",
        {},
        {"summary": "s", "indicator": "info", "source": {"label": "l"}},
        {"summary": "s", "indicator": "info", "source": {"label": "l"}, "suggestions": [{"label": "x"}]},
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "suggestions": [{"label": "x"}],
            "selectionBehavior": "any",
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "suggestions": [{"label": "x", "actions": [{"type": "create", "description": "d"}]}],
            "selectionBehavior": "any",
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "suggestions": [{"label": "x", "actions": [{"type": "delete", "description": "d"}]}],
            "selectionBehavior": "any",
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l", "topic": {"code": "c", "system": "s"}},
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "overrideReasons": [{"code": "c", "system": "s"}],
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "overrideReasons": [{"code": "c", "system": "s", "display": "d"}],
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "links": [
                {
                    "label": "l",
                    "url": "https://x",
                    "type": "smart",
                    "appContext": "a",
                    "autolaunchable": False,
                }
            ],
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "links": [{"label": "l", "url": "https://x", "type": "absolute", "appContext": "a"}],
        },
        {
            "summary": "s",
            "indicator": "info",
            "source": {"label": "l"},
            "links": [{"label": "l", "url": "1x:", "type": "smart"}],
        },
    ],
)
def test_hand_made_edge_cases(card: Any) -> None:
    assert card_is_valid(card) == (first_error("Card", card) is None)
