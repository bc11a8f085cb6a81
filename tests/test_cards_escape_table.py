"""``markdown._escape_plain`` / ``_escape_url`` (str.translate tables) equal the per-character rules they replaced."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cds.cards.markdown import _escape_plain, _escape_url, escape

HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
PUNCT = set("\\`*_[]|~")


def reference_plain(text: str) -> str:
    return "".join(HTML[ch] if ch in HTML else "\\" + ch if ch in PUNCT else ch for ch in text)


TEXT = st.text(
    alphabet=st.sampled_from(list("ab <>&\\`*_[]|~#-+1.)(:/é\u00a0\n")) | st.characters(), max_size=60
)


@settings(derandomize=True, max_examples=300)
@given(TEXT)
def test_escape_plain_matches_the_character_rules(text: str) -> None:
    assert _escape_plain(text) == reference_plain(text)
    assert _escape_url(text) == "".join(HTML.get(ch, ch) for ch in text)


def test_escape_examples() -> None:
    assert _escape_plain("a<b>&c*_[]|~\\`") == "a&lt;b&gt;&amp;c\\*\\_\\[\\]\\|\\~\\\\\\`"
    assert escape("see https://x.org/a_b?c=1&d=2.") == "see https://x.org/a_b?c=1&amp;d=2."
    assert escape("- item") == "\\- item"
