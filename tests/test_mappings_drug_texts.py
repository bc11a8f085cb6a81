"""``DrugMatcher.match`` / ``looks_anticancer`` / ``route`` read each distinct text once: repeating a text (a record's text
and its coding displays are often the same string) or reordering texts changes nothing."""

from __future__ import annotations

import itertools

import pytest

from cds.mappings import load_mappings

DRUGS = load_mappings().drugs
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TEXTS = [
    "cyclophosphamide",
    "Carboplatin 450 MG Injection",
    "study drug XY-12",
    "hydrocortisone 1 % Topical Cream",
    "heparin lock flush",
    "",
    "  ",
]


@pytest.mark.parametrize("texts", [list(t) for t in itertools.combinations(TEXTS, 2)] + [[t] for t in TEXTS])
def test_repeated_and_reordered_texts_match_the_same(texts: list[str]) -> None:
    pairs = [(RXNORM, "3002")]
    once = DRUGS.match(pairs, texts)
    assert DRUGS.match(pairs, texts + texts[::-1] + texts) == once
    assert DRUGS.match(pairs, texts[::-1]) == once
    assert DRUGS.looks_anticancer([], texts * 3) == DRUGS.looks_anticancer([], texts)
    assert DRUGS.route([], texts + texts[::-1] + texts) == DRUGS.route([], texts)


def test_text_matches_are_found() -> None:  # the cases above are not all empty
    ingredients, classes = DRUGS.match([], ["cyclophosphamide", "cyclophosphamide"])
    assert "cyclophosphamide" in ingredients and classes
    assert "investigational" in DRUGS.match([], ["study drug XY-12"] * 2)[1]
    assert DRUGS.looks_anticancer([], ["Carboplatin 450 MG Injection"] * 2)
    assert DRUGS.route([], ["hydrocortisone 1 % Topical Cream"] * 2) == DRUGS.route([], ["topical"])
    assert DRUGS.route([], ["hydrocortisone 1 % Topical Cream"]) is not None
