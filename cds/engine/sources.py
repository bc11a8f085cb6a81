"""The trials' source texts (``cards/seeds/``) and the quote check of ``nk-cds check``.

A criterion's ``source.quote`` must occur in its seed file after removing markdown escapes (``\\<`` -> ``<``,
``\\^`` -> ``^``, ``\\>`` -> ``>``, any backslash before punctuation). Runs of whitespace (line breaks inside a
quoted passage) compare equal to one space; nothing else is normalised.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from cds.paths import data_root

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_SPACE = re.compile(r"\s+")


def seeds_dir() -> Path:
    return data_root() / "cards" / "seeds"


def unescape_markdown(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


def _normal(text: str) -> str:
    return _SPACE.sub(" ", unescape_markdown(text)).strip()


@lru_cache(maxsize=16)
def seed_text(file_name: str) -> str | None:
    """The display form of a seed file (escapes removed, whitespace collapsed); None when it does not exist."""
    path = seeds_dir() / file_name
    if "/" in file_name or not path.is_file():
        return None
    return _normal(path.read_text(encoding="utf-8"))


def quote_found(file_name: str, quote: str) -> bool | None:
    """True/False whether the quote occurs in the seed; None when the seed file is missing."""
    text = seed_text(file_name)
    if text is None:
        return None
    return _normal(quote) in text
