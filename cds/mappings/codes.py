"""Code-system aliases and the comparison forms of systems, codes and phrases used by every matcher."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def norm_system(system: Any) -> str:
    return str(system).strip().rstrip("/").lower() if isinstance(system, str) else ""


def norm_code(alias: str | None, code: Any) -> str:
    """Canonical form of a code for comparison: ICD without dots and upper-case, CVX without leading zeros."""
    if not isinstance(code, str | int) or isinstance(code, bool):
        return ""
    text = str(code).strip()
    if alias in ("icd10cm", "icd10pcs"):
        return text.replace(".", "").upper()
    if alias == "cvx":
        return text.lstrip("0") or "0"
    if alias in ("ncit", "loinc", "atc"):
        return text.upper()
    return text


def overlapping_regex(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Like :func:`phrase_regex`, but ``finditer`` reports the longest phrase at *every* start position
    (group 1), so "total body irradiation" also yields "irradiation"."""
    unique = sorted({p.strip().lower() for p in phrases if p and p.strip()}, key=len, reverse=True)
    if not unique:
        return None
    body = "|".join(re.escape(p) for p in unique)
    return re.compile(rf"(?<![\w])(?=({body})(?![\w]))", re.IGNORECASE)


def phrase_regex(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive whole-word alternation (longest first) of the phrases, or None when empty."""
    unique = sorted({p.strip().lower() for p in phrases if p and p.strip()}, key=len, reverse=True)
    if not unique:
        return None
    body = "|".join(re.escape(p) for p in unique)
    return re.compile(rf"(?<![\w]){'(?:' + body + ')'}(?![\w])", re.IGNORECASE)


@dataclass
class SystemAliases:
    """URI -> short alias (``loinc``, ``sct`` ...), from ``mappings/systems.yaml``."""

    by_uri: dict[str, str]
    uris: dict[str, tuple[str, ...]]

    def alias(self, system: Any) -> str | None:
        return self.by_uri.get(norm_system(system))

    def resolve(self, name: str) -> str:
        """A mapping file's system (alias or URI) -> alias; unknown URIs are kept as their normalised URI."""
        if name in self.uris:
            return name
        return self.by_uri.get(norm_system(name), norm_system(name))
