"""Lab concepts: unit tables, answer sets, ULN fallback tables, and the code -> concept index."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cds.errors import DefinitionError
from cds.mappings.codes import SystemAliases, norm_code


@dataclass(frozen=True)
class UnitTable:
    name: str
    canonical: str
    factors: dict[str, float]  # normalised unit string -> factor to canonical
    not_convertible: dict[str, str]
    unitless_ok: bool = False
    keep_recorded_unit_for_uln: bool = False


def unit_key(unit: Any) -> str:
    """Comparison form of a unit string: no spaces, micro sign -> u, case-folded."""
    if not isinstance(unit, str):
        return ""
    return unit.strip().replace(" ", "").replace("µ", "u").replace("μ", "u").lower()


@dataclass(frozen=True)
class UlnRow:
    min_days: int | None
    max_days: int | None  # exclusive
    min_age: tuple[float, str] | None
    max_age: tuple[float, str] | None
    male: float
    female: float
    verified: bool


@dataclass(frozen=True)
class UlnTable:
    name: str
    unit: str
    rows: tuple[UlnRow, ...]
    values_are_uln_multiple: float = 1.0  # a table of maximum allowed values: ULN = value / this


@dataclass(frozen=True)
class LabConcept:
    """What the normaliser and engine need to know about one lab / score concept."""

    name: str
    type: str  # quantity | score | coded
    unit: str | None  # canonical unit (None for coded)
    units: UnitTable | None
    uln_fallback: UlnTable | None = None
    answers: str | None = None  # answer-set name for coded concepts
    unmapped: bool = False
    oxygen_context: bool = False
    score_range: tuple[float, float] | None = None
    answer_scores: dict[tuple[str, str], float] = field(default_factory=dict)
    text_redirect: tuple[re.Pattern[str], str] | None = None
    quantity_positive_above: float | None = None
    code_context: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerSet:
    name: str
    tokens: tuple[str, ...]
    by_code: dict[tuple[str, str], str]
    by_string: dict[str, str]
    by_interpretation: dict[str, str]
    integers: dict[int, str]
    grades: tuple[tuple[float | None, str], ...] = ()
    grade_units: UnitTable | None = None
    grades_verified: bool = False


def _duration_days(d: Mapping[str, Any] | None) -> tuple[float, str] | None:
    return None if d is None else (float(d["value"]), str(d["unit"]))


def _unit_table(name: str, spec: Mapping[str, Any]) -> UnitTable:
    factors: dict[str, float] = {}
    for row in spec["units"]:
        key = unit_key(row["unit"])
        if key in factors and factors[key] != float(row["factor"]):
            raise DefinitionError(
                f"labs.yaml: unit table {name}: {row['unit']!r} listed twice with different factors"
            )
        factors[key] = float(row["factor"])
    if unit_key(spec["canonical"]) not in factors or factors[unit_key(spec["canonical"])] != 1.0:
        raise DefinitionError(f"labs.yaml: unit table {name}: canonical unit must be listed with factor 1")
    return UnitTable(
        name=name,
        canonical=spec["canonical"],
        factors=factors,
        not_convertible={unit_key(r["unit"]): r["reason"] for r in spec.get("not_convertible", ())},
        unitless_ok=bool(spec.get("unitless_ok", False)),
        keep_recorded_unit_for_uln=bool(spec.get("keep_recorded_unit_for_uln", False)),
    )


def _answer_set(
    name: str, spec: Mapping[str, Any], aliases: SystemAliases, grade_tables: Mapping[str, UnitTable]
) -> AnswerSet:
    tokens = tuple(spec["tokens"])

    def check(token: str) -> str:
        if token not in tokens:
            raise DefinitionError(f"labs.yaml: answer set {name}: {token!r} is not one of its tokens")
        return token

    by_code = {}
    for row in spec.get("codes", ()):
        alias = aliases.resolve(row["system"])
        by_code[(alias, norm_code(alias, row["code"]))] = check(row["token"])
    by_string = {
        s.strip().lower(): check(tok) for tok, strings in spec.get("strings", {}).items() for s in strings
    }
    by_interp = {
        s.strip().upper(): check(tok)
        for tok, strings in spec.get("interpretation", {}).items()
        for s in strings
    }
    integers = {int(k): check(v) for k, v in spec.get("integers", {}).items()}
    grades_spec = spec.get("quantity_grades")
    grades: tuple[tuple[float | None, str], ...] = ()
    grade_units = None
    verified = False
    if grades_spec:
        grades = tuple((s["below"], check(s["token"])) for s in grades_spec["steps"])
        grade_units = grade_tables.get(grades_spec["unit_table"])
        if grade_units is None:
            raise DefinitionError(
                f"labs.yaml: answer set {name}: unknown grade unit table {grades_spec['unit_table']!r}"
            )
        verified = grades_spec["ver"] != "U"
    return AnswerSet(name, tokens, by_code, by_string, by_interp, integers, grades, grade_units, verified)


def _uln_table(name: str, spec: Mapping[str, Any]) -> UlnTable:
    rows = tuple(
        UlnRow(
            min_days=None,
            max_days=None,
            min_age=_duration_days(r["min_age"]),
            max_age=_duration_days(r["max_age"]),
            male=float(r["male"]),
            female=float(r["female"]),
            verified=r["ver"] != "U",
        )
        for r in spec["rows"]
    )
    return UlnTable(
        name=name,
        unit=spec["unit"],
        rows=rows,
        values_are_uln_multiple=float(spec.get("values_are_uln_multiple", 1.0)),
    )


def _all_verified(rows: Iterable[Mapping[str, Any]]) -> bool:
    rows = list(rows)
    return bool(rows) and any(r.get("ver") in ("V1", "V2") for r in rows)


def _build_labs(
    data: dict[str, Any], aliases: SystemAliases, unverified: list[str]
) -> tuple[
    dict[str, LabConcept], dict[tuple[str, str], tuple[str, ...]], dict[str, AnswerSet], set[str], set[str]
]:
    tables = {n: _unit_table(n, s) for n, s in data["unit_tables"].items()}
    for name, spec in data["unit_tables"].items():
        unverified.extend(f"unit {name}: {row['unit']}" for row in spec["units"] if row["ver"] == "U")
    grade_tables = {n: _unit_table(n, s) for n, s in data.get("grade_unit_tables", {}).items()}
    answer_sets = {n: _answer_set(n, s, aliases, grade_tables) for n, s in data["answer_sets"].items()}
    uln = {n: _uln_table(n, s) for n, s in data.get("uln_fallbacks", {}).items()}
    concepts: dict[str, LabConcept] = {}
    index: dict[tuple[str, str], list[str]] = {}
    unmapped_lab: set[str] = set()
    unmapped_coded: set[str] = set()

    def index_codes(
        name: str, rows: list[dict[str, Any]], kind: str
    ) -> dict[tuple[str, str], dict[str, str]]:
        contexts = {}
        for row in rows:
            alias = aliases.resolve(row["system"])
            key = (alias, norm_code(alias, row["code"]))
            index.setdefault(key, []).append(name)
            if row.get("context"):
                contexts[key] = dict(row["context"])
            if row["ver"] == "U":
                unverified.append(f"{kind} {name}: {row['system']}|{row['code']}")
        return contexts

    for name, spec in data["concepts"].items():
        if spec["units"] not in tables:
            raise DefinitionError(f"labs.yaml: concept {name}: unknown unit table {spec['units']!r}")
        fallback = None
        if spec.get("uln_fallback"):
            fallback = uln.get(spec["uln_fallback"])
            if fallback is None:
                raise DefinitionError(
                    f"labs.yaml: concept {name}: unknown ULN fallback {spec['uln_fallback']!r}"
                )
        contexts = index_codes(name, spec.get("codes", []), "lab")
        redirect = None
        if spec.get("text_redirect"):
            redirect = (
                re.compile(re.escape(spec["text_redirect"]["pattern"]), re.IGNORECASE),
                spec["text_redirect"]["concept"],
            )
        scores = {}
        for row in spec.get("answer_scores", ()):
            alias = aliases.resolve(row["system"])
            scores[(alias, norm_code(alias, row["code"]))] = float(row["score"])
        table = tables[spec["units"]]
        rng = spec.get("range")
        concepts[name] = LabConcept(
            name=name,
            type=spec["type"],
            unit=table.canonical,
            units=table,
            uln_fallback=fallback,
            unmapped=bool(spec.get("unmapped")) or not _all_verified(spec.get("codes", [])),
            oxygen_context=bool(spec.get("oxygen_context")),
            score_range=(float(rng[0]), float(rng[1])) if rng else None,
            answer_scores=scores,
            text_redirect=redirect,
            code_context=contexts,
        )
        if concepts[name].unmapped:
            unmapped_lab.add(name)
    for name, spec in data["coded"].items():
        if spec["answers"] not in answer_sets:
            raise DefinitionError(f"labs.yaml: coded concept {name}: unknown answer set {spec['answers']!r}")
        if name in concepts:
            raise DefinitionError(f"labs.yaml: {name} is both a quantity and a coded concept")
        index_codes(name, spec.get("codes", []), "coded")
        concepts[name] = LabConcept(
            name=name,
            type="coded",
            unit=None,
            units=None,
            answers=spec["answers"],
            unmapped=bool(spec.get("unmapped")) or not _all_verified(spec.get("codes", [])),
            quantity_positive_above=spec.get("quantity_positive_above"),
        )
        if concepts[name].unmapped:
            unmapped_coded.add(name)
    for name, c in concepts.items():
        if c.text_redirect and c.text_redirect[1] not in concepts:
            raise DefinitionError(
                f"labs.yaml: concept {name}: text_redirect to unknown concept {c.text_redirect[1]!r}"
            )
    return (
        concepts,
        {k: tuple(dict.fromkeys(v)) for k, v in index.items()},
        answer_sets,
        unmapped_lab,
        unmapped_coded,
    )
