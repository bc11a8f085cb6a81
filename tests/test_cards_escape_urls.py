"""``escape_and_find_urls`` = (``escape``, ``find_urls`` of the one-line text), in one pass (issue 7)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cds.cards.markdown import (
    _BLOCK_START,
    _URL,
    _escape_plain,
    _escape_url,
    _trim_url,
    escape,
    escape_and_find_urls,
    find_urls,
)

PIECES = [
    "http://a.b/c",
    "https://x.org/p?q=1&r=<2>",
    "HTTPS://X.ORG)",
    "https://",
    "http://e.f/g).",
    "(see ",
    "a*b_c",
    "# ",
    "1. ",
    "- ",
    "<b>",
    "&",
    "\n",
    "  ",
    "ftp://no",
    "://",
    "https://t.co/x.",
    "`",
    "é",
]


def _find_urls_reference(value: object) -> list[str]:
    return find_urls(" ".join(str(value).split()))


def _escape_reference(value: object) -> str:
    """``escape`` as it was before the one-pass version (two regex passes, no fast path)."""
    text = " ".join(str(value).split())
    parts: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        url = _trim_url(match.group(0))
        parts.append(_escape_plain(text[pos : match.start()]))
        parts.append(_escape_url(url))
        pos = match.start() + len(url)
    parts.append(_escape_plain(text[pos:]))
    escaped = "".join(parts)
    block = _BLOCK_START.match(escaped)
    if block:
        marker = block.group(1)
        escaped = (marker[:-1] + "\\" + marker[-1]) + escaped[len(marker) :]
    return escaped


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=8).map("".join))
def test_same_as_escape_and_find_urls(text: str) -> None:
    escaped, urls = escape_and_find_urls(text)
    assert escaped == _escape_reference(text) == escape(text)
    assert urls == _find_urls_reference(text)


def test_both_branches_are_exercised() -> None:
    """With and without '://' (the fast path skips the URL regex), and a match too short to count as a URL."""
    assert escape_and_find_urls("a *b*") == ("a \\*b\\*", [])
    assert escape_and_find_urls("see https://x.org/a_b.") == (
        "see https://x.org/a_b.",
        ["https://x.org/a_b"],
    )
    assert escape_and_find_urls("https://.") == ("https://.", [])
    assert _URL.search("https://.") is not None and _trim_url("https://.") == "https://"
    assert escape_and_find_urls(12.5) == ("12.5", [])
    assert escape_and_find_urls("- x https://a.b") == ("\\- x https://a.b", ["https://a.b"])
    assert escape_and_find_urls("- x") == ("\\- x", [])
