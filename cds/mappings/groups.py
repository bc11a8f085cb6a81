"""Condition / procedure / vaccine / allergy / body-site groups: codes, prefixes, patterns, text -> group names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cds.errors import DefinitionError
from cds.mappings.codes import SystemAliases, norm_code, overlapping_regex, phrase_regex


@dataclass
class GroupMatcher:
    """Codes / prefixes / patterns / text -> group names, with ``includes`` closure and exclusions."""

    aliases: SystemAliases
    exact: dict[tuple[str, str], list[tuple[str, re.Pattern[str] | None]]] = field(default_factory=dict)
    prefixes: dict[str, dict[str, list[tuple[str, tuple[str, ...]]]]] = field(default_factory=dict)
    patterns: list[tuple[str, re.Pattern[str], str]] = field(default_factory=list)
    excluded_codes: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    text_regex: re.Pattern[str] | None = None
    text_groups: dict[str, set[str]] = field(default_factory=dict)
    exclude_text: dict[str, re.Pattern[str]] = field(default_factory=dict)
    global_exclude: re.Pattern[str] | None = None
    parents: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        groups: Mapping[str, Mapping[str, Any]],
        aliases: SystemAliases,
        global_exclude: Iterable[str] = (),
    ) -> GroupMatcher:
        m = cls(aliases=aliases)
        phrases: dict[str, set[str]] = {}
        for name, spec in groups.items():
            for row in spec.get("codes", ()) or ():
                alias = aliases.resolve(row["system"])
                key = (alias, norm_code(alias, row["code"]))
                requires = phrase_regex(row.get("requires_text", ()))
                m.exact.setdefault(key, []).append((name, requires))
            for row in spec.get("prefixes", ()) or ():
                alias = aliases.resolve(row["system"])
                excepts = tuple(norm_code(alias, e) for e in row.get("except", ()))
                m.prefixes.setdefault(alias, {}).setdefault(norm_code(alias, row["prefix"]), []).append(
                    (name, excepts)
                )
            for row in spec.get("patterns", ()) or ():
                m.patterns.append(
                    (aliases.resolve(row["system"]), re.compile(row["regex"], re.IGNORECASE), name)
                )
            for row in spec.get("exclude_codes", ()) or ():
                alias = aliases.resolve(row["system"])
                m.excluded_codes.setdefault((alias, norm_code(alias, row["code"])), set()).add(name)
            for phrase in spec.get("text", ()) or ():
                phrases.setdefault(phrase.strip().lower(), set()).add(name)
            if spec.get("exclude_text"):
                rx = phrase_regex(spec["exclude_text"])
                if rx is not None:
                    m.exclude_text[name] = rx
        m.text_regex = overlapping_regex(phrases)
        m.text_groups = phrases
        m.global_exclude = phrase_regex(global_exclude)
        m.parents = _parents(groups)
        return m

    def match(self, codings: Iterable[tuple[Any, Any]], texts: Iterable[str]) -> frozenset[str]:
        """Groups matched by (system, code) pairs and free texts (displays, CodeableConcept.text)."""
        # Each distinct text once (a CodeableConcept's text and its coding display are often the same string):
        # every text only adds to sets or decides an ``any``, so a repeat adds nothing (as in DrugMatcher.match).
        text_list = list(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))
        found: set[str] = set()
        excluded: set[str] = set()
        for system, code in codings:
            alias = self.aliases.alias(system)
            if alias is None:
                continue
            key_code = norm_code(alias, code)
            if not key_code:
                continue
            key = (alias, key_code)
            for name, requires in self.exact.get(key, ()):
                if requires is None or any(requires.search(t) for t in text_list):
                    found.add(name)
            excluded |= self.excluded_codes.get(key, set())
            by_prefix = self.prefixes.get(alias)
            if by_prefix:
                for end in range(1, len(key_code) + 1):
                    for name, excepts in by_prefix.get(key_code[:end], ()):
                        if not any(key_code.startswith(e) for e in excepts):
                            found.add(name)
            for p_alias, rx, name in self.patterns:
                if p_alias == alias and rx.search(str(code).strip()):
                    found.add(name)
        found |= self.match_text(text_list)
        found -= excluded
        return self.expand(found)

    def match_text(self, texts: Iterable[str]) -> set[str]:
        found: set[str] = set()
        if self.text_regex is None:
            return found
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                continue
            if self.global_exclude is not None and self.global_exclude.search(text):
                continue
            for hit in self.text_regex.finditer(text):
                for name in self.text_groups.get(hit.group(1).lower(), ()):
                    rx = self.exclude_text.get(name)
                    if rx is None or not rx.search(text):
                        found.add(name)
        return found

    def expand(self, names: Iterable[str]) -> frozenset[str]:
        out = set(names)
        for name in list(out):
            out |= self.parents.get(name, set())
        return frozenset(out)


def _parents(groups: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """name -> every group that includes it, transitively."""
    direct: dict[str, set[str]] = {}
    for parent, spec in groups.items():
        for child in spec.get("includes", ()) or ():
            direct.setdefault(child, set()).add(parent)
    closure: dict[str, set[str]] = {}
    for name in groups:
        seen: set[str] = set()
        stack = list(direct.get(name, ()))
        while stack:
            p = stack.pop()
            if p not in seen:
                seen.add(p)
                stack.extend(direct.get(p, ()))
        closure[name] = seen
    return closure


def _group_unmapped(groups: Mapping[str, Mapping[str, Any]], kind: str, unverified: list[str]) -> set[str]:
    """Groups declared unmapped, or with no verified code of their own or through `includes`."""
    out: set[str] = set()
    own: dict[str, bool] = {}
    for name, spec in groups.items():
        rows = [*spec.get("codes", ()), *spec.get("prefixes", ()), *spec.get("patterns", ())]
        for row in rows:
            if row.get("ver") == "U":
                unverified.append(
                    f"{kind} {name}: {row.get('system')}|{row.get('code') or row.get('prefix') or row.get('regex')}"
                )
        own[name] = any(r.get("ver") in ("V1", "V2") for r in rows)
    for name, spec in groups.items():
        if spec.get("derived"):
            continue
        includes_ok = any(own.get(c, False) for c in spec.get("includes", ()))
        if spec.get("unmapped") or not (own[name] or includes_ok):
            out.add(name)
    return out


def _check_refs(kind: str, groups: Mapping[str, Mapping[str, Any]], known_sites: Iterable[str] = ()) -> None:
    sites = set(known_sites)
    for name, spec in groups.items():
        for child in spec.get("includes", ()) or ():
            if child not in groups:
                raise DefinitionError(f"{kind}: group {name} includes unknown group {child!r}")
        for site in spec.get("implies_body_sites", ()) or ():
            if site not in sites:
                raise DefinitionError(f"{kind}: group {name} implies unknown body site {site!r}")
