"""Making data-derived text safe inside GitHub-flavoured Markdown, and finding the URLs a text mentions.

Text from trial files, criterion results and evidence is inserted into card ``detail`` only through
:func:`escape`: whitespace is collapsed to one line, ``<``, ``>`` and ``&`` become entities (so no raw HTML
can reach the EHR), and Markdown punctuation is backslash-escaped so data cannot add emphasis, links or
tables. URLs inside the text are kept intact (GFM autolinks them) so that the card can repeat them in ``links``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,:;!?*_~'\")]"
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN_PUNCTUATION = set("\\`*_[]|~")  # inline syntax, escaped anywhere
# Would start a heading or a (nested) list when the text opens a list item.
_BLOCK_START = re.compile(r"^(-|[#+](?=\s|$)|\d{1,9}[.)](?=\s|$))")


def _trim_url(url: str) -> str:
    """Drop trailing punctuation the way GFM's extended autolinks do (keeps balanced parentheses)."""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def url_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of ``_URL.finditer(text)``, found faster.

    Every match is ``http`` or ``https`` followed by ``://``, so it starts 4 or 5 characters before an
    occurrence of ``://``. ``str.find`` jumps between those occurrences (a C substring search), and the
    regex is tried only at those two starts: leftmost first, never before the end of the previous match,
    as ``finditer`` does. A card's detail is ~10 kB with a handful of URLs, which ``finditer`` (a
    case-insensitive pattern has no literal prefix to search for) scans character by character.
    """
    resume = 0  # matches may not start before the end of the previous one
    found = text.find("://")
    while found >= 0:
        match = None
        for start in (found - 5, found - 4):
            if start >= resume:
                match = _URL.match(text, start)
                if match:
                    break
        if match:
            yield match
            resume = match.end()
            found = text.find("://", resume)
        else:
            found = text.find("://", found + 1)


def find_urls(text: str) -> list[str]:
    """Absolute http(s) URLs in ``text``, in order of appearance, without duplicates."""
    seen: dict[str, None] = {}
    for match in url_matches(text):
        url = _trim_url(match.group(0))
        if "://" in url and len(url) > len("https://"):
            seen.setdefault(url, None)
    return list(seen)


def urls_in(value: object) -> list[str]:
    """``escape_and_find_urls(value)[1]``, without escaping (for text that is not shown)."""
    text = str(value)
    return find_urls(" ".join(text.split())) if "://" in text else []


# One translation table each, built once: str.translate is a C loop (the per-character Python loop it replaced
# cost about 7 % of a typical hook call).
_PLAIN_TABLE = str.maketrans({**{ch: "\\" + ch for ch in _MARKDOWN_PUNCTUATION}, **_HTML})
# Any character _PLAIN_TABLE changes: most data text has none, and a regex search is cheaper than translate.
_PLAIN_SPECIAL = re.compile("[" + re.escape("".join(sorted(_MARKDOWN_PUNCTUATION | set(_HTML)))) + "]")
_URL_TABLE = str.maketrans(_HTML)


def _escape_plain(text: str) -> str:
    return text.translate(_PLAIN_TABLE) if _PLAIN_SPECIAL.search(text) else text


def _escape_url(url: str) -> str:
    return url.translate(_URL_TABLE)


def escape(value: object) -> str:
    """One line of literal text for a Markdown paragraph or list item."""
    return escape_and_find_urls(value)[0]


def escape_and_find_urls(value: object) -> tuple[str, list[str]]:
    """``(escape(value), find_urls(<value on one line>))`` in one pass over the text (card detail needs both)."""
    text = " ".join(str(value).split())
    if "://" in text:
        escaped, found = _escape_with_urls(text)
        urls = list(found)
    else:  # every URL match contains "://": the common case needs no regex (and is _escape_plain inlined)
        escaped = text.translate(_PLAIN_TABLE) if _PLAIN_SPECIAL.search(text) else text
        urls = []
    first = escaped[:1]
    # _BLOCK_START can only match text opening with "-", "#", "+" or a decimal digit (\d: Unicode Nd).
    if first and (first in "-#+" or first.isdecimal()):
        block = _BLOCK_START.match(escaped)
        if block:
            marker = block.group(1)
            escaped = (marker[:-1] + "\\" + marker[-1]) + escaped[len(marker) :]
    return escaped, urls


def _escape_with_urls(text: str) -> tuple[str, dict[str, None]]:
    parts: list[str] = []
    urls: dict[str, None] = {}
    pos = 0
    for match in url_matches(text):
        url = _trim_url(match.group(0))
        if "://" in url and len(url) > len("https://"):
            urls.setdefault(url, None)
        parts.append(_escape_plain(text[pos : match.start()]))
        parts.append(_escape_url(url))
        pos = match.start() + len(url)
    parts.append(_escape_plain(text[pos:]))
    return "".join(parts), urls


def one_line(value: object) -> str:
    """Plain text (no Markdown) collapsed to one line, for the summary and labels."""
    return " ".join(str(value).split())
