"""Drug ingredients and classes: RxNorm / ATC / names -> ingredients -> classes; routes; anticancer look."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cds.errors import DefinitionError
from cds.mappings.codes import SystemAliases, norm_code, overlapping_regex, phrase_regex
from cds.mappings.groups import _parents


@dataclass(frozen=True)
class Ingredient:
    name: str
    classes: frozenset[str]
    prednisone_factor: float | None
    verified: bool


@dataclass
class DrugMatcher:
    """Ingredient codes, ATC codes/prefixes and names -> ingredients and classes."""

    aliases: SystemAliases
    ingredients: dict[str, Ingredient]
    by_rxcui: dict[str, set[str]]
    by_atc: dict[str, set[str]]
    class_atc_prefixes: dict[str, set[str]]  # prefix -> classes
    name_regex: re.Pattern[str] | None
    by_name: dict[str, set[str]]
    class_text_regex: dict[str, re.Pattern[str]]
    class_parents: dict[str, set[str]]
    class_excludes: dict[str, set[str]]
    anticancer_atc: tuple[str, ...]
    anticancer_fragments: re.Pattern[str] | None
    anticancer_words: re.Pattern[str] | None
    route_by_code: dict[tuple[str, str], str]
    route_regex: re.Pattern[str] | None
    route_by_text: dict[str, str]
    systemic_routes: frozenset[str]
    systemic_only_classes: frozenset[str]
    rules: dict[str, dict[str, Any]]

    def match(
        self, codings: Iterable[tuple[Any, Any]], texts: Iterable[str]
    ) -> tuple[frozenset[str], frozenset[str]]:
        """(ingredients, classes) matched by codings and texts."""
        # Each distinct text once (a record's text and its coding displays are often the same string): every
        # text adds to sets or decides an ``any``, so a repeat adds nothing.
        text_list = list(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))
        ingredients: set[str] = set()
        classes: set[str] = set()
        # (a look-up that finds nothing adds nothing: no empty set is built for it)
        for system, code in codings:
            alias = self.aliases.alias(system)
            if alias == "rxnorm":
                found = self.by_rxcui.get(norm_code(alias, code))
                if found:
                    ingredients |= found
            elif alias == "atc":
                atc = norm_code(alias, code)
                found = self.by_atc.get(atc)
                if found:
                    ingredients |= found
                prefixes = self.class_atc_prefixes
                for end in range(1, len(atc) + 1):
                    found = prefixes.get(atc[:end])
                    if found:
                        classes |= found
        if self.name_regex is not None:
            for text in text_list:
                for hit in self.name_regex.finditer(text):
                    ingredients |= self.by_name.get(hit.group(1).lower(), set())
        for cls, rx in self.class_text_regex.items():
            if any(rx.search(t) for t in text_list):
                classes.add(cls)
        return frozenset(ingredients), self.classes_of(ingredients, classes)

    def classes_of(self, ingredients: Iterable[str], extra: Iterable[str] = ()) -> frozenset[str]:
        """Classes of the ingredients plus ``extra``, with ``includes`` parents and ``excludes`` applied."""
        classes = set(extra)
        for name in ingredients:
            classes |= self.ingredients[name].classes
        for cls in list(classes):
            parents = self.class_parents.get(cls)
            if parents:
                classes |= parents
        for cls, excluders in self.class_excludes.items():
            if cls in classes and classes & excluders:
                classes.discard(cls)
        return frozenset(classes)

    def looks_anticancer(self, codings: Iterable[tuple[Any, Any]], texts: Iterable[str]) -> bool:
        for system, code in codings:
            if self.aliases.alias(system) == "atc" and norm_code("atc", code).startswith(self.anticancer_atc):
                return True
        for text in dict.fromkeys(t for t in texts if isinstance(t, str)):  # each distinct text once
            if self.anticancer_fragments is not None and self.anticancer_fragments.search(text):
                return True
            if self.anticancer_words is not None and self.anticancer_words.search(text):
                return True
        return False

    def route(self, codings: Iterable[tuple[Any, Any]], texts: Iterable[str]) -> str | None:
        for system, code in codings:
            alias = self.aliases.alias(system)
            hit = self.route_by_code.get((alias or "", str(code)))
            if hit:
                return hit
        if self.route_regex is not None:
            for text in dict.fromkeys(t for t in texts if isinstance(t, str)):  # each distinct text once
                m = self.route_regex.search(text)
                if m:
                    return self.route_by_text[m.group(0).lower()]
        return None

    def prednisone_factor(self, ingredients: Iterable[str]) -> float | None:
        factors = [
            self.ingredients[i].prednisone_factor
            for i in ingredients
            if self.ingredients[i].prednisone_factor
        ]
        return max(factors) if factors else None


def _build_drugs(
    data: dict[str, Any], aliases: SystemAliases, unverified: list[str]
) -> tuple[DrugMatcher, set[str]]:
    classes_of: dict[str, set[str]] = {name: set() for name in data["ingredients"]}
    for cls, spec in data["classes"].items():
        for ing in spec.get("ingredients", ()) or ():
            if ing not in classes_of:
                raise DefinitionError(f"drugs.yaml: class {cls} names unknown ingredient {ing!r}")
            classes_of[ing].add(cls)
        for other in [*spec.get("includes", ()), *spec.get("excludes", ())]:
            if other not in data["classes"]:
                raise DefinitionError(f"drugs.yaml: class {cls} refers to unknown class {other!r}")
    ingredients: dict[str, Ingredient] = {}
    by_rxcui: dict[str, set[str]] = {}
    by_atc: dict[str, set[str]] = {}
    by_name: dict[str, set[str]] = {}
    for name, spec in data["ingredients"].items():
        ingredients[name] = Ingredient(
            name, frozenset(classes_of[name]), spec.get("prednisone_factor"), spec["ver"] != "U"
        )
        if spec["ver"] == "U":
            unverified.append(f"drug ingredient {name}")
        for rx in spec.get("rxcui", ()):
            by_rxcui.setdefault(rx, set()).add(name)
        for atc in spec.get("atc", ()):
            by_atc.setdefault(atc.upper(), set()).add(name)
        for label in [name, *spec.get("brands", ()), *spec.get("names", ())]:
            by_name.setdefault(label.strip().lower(), set()).add(name)
    class_atc: dict[str, set[str]] = {}
    class_text: dict[str, re.Pattern[str]] = {}
    unmapped: set[str] = set()
    for cls, spec in data["classes"].items():
        for row in spec.get("atc_prefixes", ()) or ():
            class_atc.setdefault(row["prefix"].upper(), set()).add(cls)
        rx = phrase_regex(spec.get("text", ()) or ())
        if rx is not None:
            class_text[cls] = rx
        verified = any(ingredients[i].verified for i in spec.get("ingredients", ()) or ()) or any(
            r["ver"] != "U" for r in spec.get("atc_prefixes", ()) or ()
        )
        if spec.get("unmapped") or not verified:
            unmapped.add(cls)
    parents = _parents(data["classes"])
    excludes = {
        cls: set(spec.get("excludes", ())) for cls, spec in data["classes"].items() if spec.get("excludes")
    }
    la = data["looks_anticancer"]
    fragments = la.get("name_fragments", ())
    frag_rx = re.compile("|".join(re.escape(f) for f in fragments), re.IGNORECASE) if fragments else None
    routes = data["routes"]
    route_by_code = {}
    for row in routes.get("codes", ()):
        route_by_code[(aliases.resolve(row["system"]), row["code"])] = row["route"]
    route_by_text = {p.strip().lower(): route for route, phrases in routes["text"].items() for p in phrases}
    systemic_only = frozenset(c for c, s in data["classes"].items() if s.get("systemic_routes_only"))
    matcher = DrugMatcher(
        aliases=aliases,
        ingredients=ingredients,
        by_rxcui=by_rxcui,
        by_atc=by_atc,
        class_atc_prefixes=class_atc,
        name_regex=overlapping_regex(by_name),
        by_name=by_name,
        class_text_regex=class_text,
        class_parents=parents,
        class_excludes=excludes,
        anticancer_atc=tuple(p.upper() for p in la.get("atc_prefixes", ())),
        anticancer_fragments=frag_rx,
        anticancer_words=phrase_regex(la.get("words", ())),
        route_by_code=route_by_code,
        route_regex=phrase_regex(route_by_text),
        route_by_text=route_by_text,
        systemic_routes=frozenset(routes["systemic"]),
        systemic_only_classes=systemic_only,
        rules=dict(data.get("drug_rules", {})),
    )
    return matcher, unmapped
