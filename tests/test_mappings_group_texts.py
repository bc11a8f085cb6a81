"""``GroupMatcher.match`` reads each distinct text once: repeating a text (a CodeableConcept's text and its coding
display are often the same string) or reordering texts changes nothing."""

from __future__ import annotations

import itertools

import pytest

from cds.mappings import load_mappings

M = load_mappings()
SCT = "http://snomed.info/sct"
TEXTS = [
    "Adrenal neuroblastoma (disorder)",
    "History of malignant melanoma",
    "Secondary malignant neoplasm of bone marrow (disorder)",
    "Radiation oncology AND/OR radiotherapy (procedure)",
    "Whole brain radiotherapy",
    "",
    "  ",
]
MATCHERS = ["conditions", "procedures", "body_sites", "vaccines", "allergies"]


@pytest.mark.parametrize("matcher", MATCHERS)
@pytest.mark.parametrize("texts", [list(t) for t in itertools.combinations(TEXTS, 2)] + [[t] for t in TEXTS])
def test_repeated_and_reordered_texts_match_the_same(matcher: str, texts: list[str]) -> None:
    groups = getattr(M, matcher)
    pairs = [(SCT, "432328008")]
    once = groups.match(pairs, texts)
    assert groups.match(pairs, texts + texts[::-1] + texts) == once
    assert groups.match(pairs, texts[::-1]) == once
    assert groups.match([], texts * 3) == groups.match([], texts)


def test_text_matches_are_found() -> None:  # the cases above are not all empty
    assert "neuroblastoma" in M.conditions.match([], ["Adrenal neuroblastoma (disorder)"] * 2)
    assert "radiotherapy" in M.procedures.match(
        [], ["Radiation oncology AND/OR radiotherapy (procedure)"] * 2
    )
    assert M.body_sites.match([], ["Whole brain radiotherapy"] * 2)
