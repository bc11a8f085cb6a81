"""``url_matches`` finds exactly the matches of ``_URL.finditer`` (it only skips text without ``://``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cds.cards.markdown import _URL, url_matches

PIECES = [
    "http",
    "https",
    "HTTP",
    "hTtPs",
    "httpſ",  # LATIN SMALL LETTER LONG S: the case-insensitive pattern takes it for "s"
    "://",
    ":/",
    "/",
    "x",
    " ",
    "\n",
    "<",
    "`",
    "ftp",
    ")",
    ".",
    "https://a.b",
    "hhttps://",
]


def _spans(matches) -> list[tuple[int, int]]:
    return [m.span() for m in matches]


@settings(max_examples=1000, derandomize=True, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=12).map("".join))
def test_same_matches_as_finditer(text: str) -> None:
    assert _spans(url_matches(text)) == _spans(_URL.finditer(text))


def test_examples() -> None:
    text = "see https://a.b/c and http://d.e, ftp://f.g, xhttps://h.i https://https://j.k HTTPſ://l.m"
    assert [m.group(0) for m in url_matches(text)] == [m.group(0) for m in _URL.finditer(text)]
    assert [m.group(0) for m in url_matches(text)] == [
        "https://a.b/c",
        "http://d.e,",
        "https://h.i",
        "https://https://j.k",
        "HTTPſ://l.m",
    ]
    assert list(url_matches("no links here")) == []
