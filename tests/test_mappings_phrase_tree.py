"""The phrase regexes written as prefix trees (``cds.mappings.codes.alternation``) match exactly what the flat
longest-first alternation matched: same starts, same matched text, for every vocabulary of the catalogue."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds.mappings import load_mappings
from cds.mappings.codes import alternation, flat_alternation, overlapping_regex, phrase_regex

M = load_mappings()


def _string_lists(value: object, path: str, out: dict[str, list[str]]) -> None:
    """Every list of strings in the mapping files (phrase lists among them), by its path."""
    if isinstance(value, dict):
        for key, child in value.items():
            _string_lists(child, f"{path}.{key}", out)
    elif isinstance(value, list):
        if value and all(isinstance(item, str) for item in value):
            out[path] = value
        for index, child in enumerate(value):
            _string_lists(child, f"{path}[{index}]", out)


def _vocabularies() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    _string_lists(M.raw, "raw", out)
    for name in ("conditions", "procedures", "vaccines", "allergies", "body_sites"):  # assembled in code
        out[f"{name}.text"] = sorted(getattr(M, name).text_groups)
    out["drugs.names"] = sorted(M.drugs.by_name)
    out["drugs.routes"] = sorted(M.drugs.route_by_text)
    return out


VOCABULARIES = _vocabularies()


def _old_and_new(phrases: list[str]) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    flat = flat_alternation(phrases)
    assert flat is not None
    old = [
        re.compile(rf"(?<![\w])(?=({flat})(?![\w]))", re.IGNORECASE),
        re.compile(rf"(?<![\w]){'(?:' + flat + ')'}(?![\w])", re.IGNORECASE),
    ]
    new = [overlapping_regex(phrases), phrase_regex(phrases)]
    assert None not in new
    return old, new  # type: ignore[return-value]


def _hits(overlapping: re.Pattern[str], plain: re.Pattern[str], text: str) -> tuple[object, ...]:
    return (
        [(h.start(), h.group(1)) for h in overlapping.finditer(text)],
        [h.span() for h in plain.finditer(text)],
        None if plain.search(text) is None else plain.search(text).span(),  # type: ignore[union-attr]
    )


def _variants(phrase: str) -> list[str]:
    """The phrase alone, in other cases, cut short, run into letters on either side, inside a sentence."""
    return [
        phrase,
        phrase.upper(),
        phrase.title(),
        phrase[:-1],
        phrase + "s",
        "x" + phrase,
        f"history of {phrase} (disorder)",
        f"{phrase}-{phrase}/{phrase[: len(phrase) // 2]}",
        f"{phrase}{phrase}",
        phrase.replace("s", "ſ").replace("k", "\u212a").replace("i", "ı"),
    ]


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_every_vocabulary_matches_as_the_flat_alternation(name: str) -> None:
    phrases = VOCABULARIES[name]
    (old_over, old_plain), (new_over, new_plain) = _old_and_new(phrases)
    texts = [v for p in phrases for v in _variants(p)] + [" ".join(phrases), "", "   "]
    for text in texts:
        assert _hits(new_over, new_plain, text) == _hits(old_over, old_plain, text), text


def test_the_vocabularies_are_read_back() -> None:  # the comparisons above are not vacuous
    assert len(VOCABULARIES["conditions.text"]) > 100
    assert len(VOCABULARIES["drugs.names"]) > 100
    assert "sézary" in VOCABULARIES["conditions.text"]  # a non-ASCII phrase, checked node by node


_PIECES = st.sampled_from(
    ["heart", "heart failure", "failure", "hepatic", "hepatic failure", "b", "b cell", "t-cell", "t cell"]
)
_CHARS = st.sampled_from(list("abcdefhilrtu -/()'.,0é\u00c9ſ\u212aıİSsKk_\n"))


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    phrases=st.lists(st.one_of(_PIECES, st.text(_CHARS, min_size=1, max_size=8)), min_size=1, max_size=12),
    text=st.lists(st.one_of(_PIECES, st.text(_CHARS, max_size=6)), max_size=8).map("".join),
)
def test_any_phrases_match_as_the_flat_alternation(phrases: list[str], text: str) -> None:
    if flat_alternation(phrases) is None:
        assert alternation(phrases) is None
        return
    (old_over, old_plain), (new_over, new_plain) = _old_and_new(phrases)
    assert _hits(new_over, new_plain, text) == _hits(old_over, old_plain, text)


def test_a_tree_is_built_for_ascii_phrases_and_prefers_the_longest_phrase() -> None:
    body = alternation(["heart", "heart failure", "hepatic failure"])
    assert body == r"he(?:art(?:\ failure|)|patic\ failure)"
    rx = overlapping_regex(["heart", "heart failure"])
    assert rx is not None
    assert [h.group(1) for h in rx.finditer("Heart failure")] == ["Heart failure"]
    assert [h.group(1) for h in rx.finditer("Heart failures")] == ["Heart"]  # the longer one runs on: shorter


def test_next_characters_that_fold_together_fall_back_to_the_flat_alternation() -> None:
    # "ſ" (long s) and "s" both match "S": the text would not pick one path, so no tree
    assert alternation(["ſa", "sab"]) == flat_alternation(["ſa", "sab"])
    # A tree would take "sa" for "SA B" (its "s" branch comes first and ends at a boundary); the flat
    # alternation takes the longer "ſa b".
    (old_over, old_plain), (new_over, new_plain) = _old_and_new(["sa", "ſa b"])
    assert [h.group(1) for h in new_over.finditer("SA B")][0] == "SA B"
    for text in ("SAB", "Sa", "ſab", "sa b", "SA B"):
        assert _hits(new_over, new_plain, text) == _hits(old_over, old_plain, text)
    assert alternation(["éa", "eab"]) != flat_alternation(["éa", "eab"])  # "é" and "e" do not fold together
