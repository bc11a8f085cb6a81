"""Terminology mappings (``mappings/*.yaml``): loaded once, validated by JSON Schema, precompiled for matching.

``load_mappings()`` reads every mapping file, validates it against ``cds/schemas/mapping.schema.json`` and builds
lookup tables (code -> concepts/groups, one compiled regex per text vocabulary) so that matching a patient with
thousands of resources is a handful of dict lookups per coding. Any problem raises
:class:`cds.errors.DefinitionError` at load time, never during a request.

Kinds (the vocabulary of ``defines`` / ``is_unmapped``): ``lab`` (quantitative concepts and performance
scores), ``coded`` (qualitative concepts), ``condition``, ``drug`` (classes), ``procedure``, ``vaccine``,
``allergy``, ``bodysite``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cds.errors import DefinitionError
from cds.mappings.codes import SystemAliases, norm_code, norm_system, overlapping_regex, phrase_regex
from cds.mappings.drugs import DrugMatcher, Ingredient, _build_drugs
from cds.mappings.groups import GroupMatcher, _check_refs, _group_unmapped
from cds.mappings.labs import (
    AnswerSet,
    LabConcept,
    UlnRow,
    UlnTable,
    UnitTable,
    _build_labs,
    _unit_table,
    unit_key,
)
from cds.paths import SCHEMA_DIR, mappings_dir

__all__ = [
    "KINDS",
    "AnswerSet",
    "DrugMatcher",
    "GroupMatcher",
    "Ingredient",
    "LabConcept",
    "Mappings",
    "SystemAliases",
    "UlnRow",
    "UlnTable",
    "UnitTable",
    "clear_cache",
    "load_mappings",
    "norm_code",
    "norm_system",
    "overlapping_regex",
    "phrase_regex",
    "unit_key",
    "_unit_table",
]

KINDS = ("lab", "coded", "condition", "drug", "procedure", "vaccine", "allergy", "bodysite")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster
FILES = ("systems", "labs", "conditions", "drugs", "procedures", "vaccines", "allergies")


_NONE: frozenset[str] = frozenset()


@dataclass
class Mappings:
    """The loaded, precompiled mapping catalogue (read-only after load)."""

    version: str
    directory: Path
    aliases: SystemAliases
    names: dict[str, frozenset[str]]
    unmapped: dict[str, frozenset[str]]
    labs: dict[str, LabConcept]
    lab_index: dict[tuple[str, str], tuple[str, ...]]
    answer_sets: dict[str, AnswerSet]
    oxygen: dict[str, Any]
    conditions: GroupMatcher
    procedures: GroupMatcher
    vaccines: GroupMatcher
    allergies: GroupMatcher
    body_sites: GroupMatcher
    drugs: DrugMatcher
    condition_body_sites: dict[str, frozenset[str]]
    intent: dict[str, Any]
    unverified_rows: tuple[str, ...]
    raw: dict[str, dict[str, Any]] = field(repr=False, default_factory=dict)

    def defines(self, kind: str, name: str) -> bool:
        return name in self.names.get(kind, _NONE)

    def is_unmapped(self, kind: str, name: str) -> bool:
        return name in self.unmapped.get(kind, _NONE)

    def lab(self, concept: str) -> LabConcept:
        """Concept info (canonical unit, unit table, ULN fallback); KeyError when not defined."""
        return self.labs[concept]

    def lab_concepts_for(self, system: Any, code: Any) -> tuple[str, ...]:
        alias = self.aliases.alias(system)
        if alias is None:
            return ()
        return self.lab_index.get((alias, norm_code(alias, code)), ())

    def all_names(self, kind: str) -> list[str]:
        return sorted(self.names.get(kind, ()))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{path.name}: cannot read mapping file: {exc}") from exc
    if not isinstance(data, dict):
        raise DefinitionError(f"{path.name}: a mapping file must be a YAML mapping")
    return data


@lru_cache(maxsize=1)
def _schema_validator() -> Any:
    import jsonschema

    schema = json.loads((SCHEMA_DIR / "mapping.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _validate(name: str, data: dict[str, Any]) -> None:
    errors = sorted(_schema_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise DefinitionError(f"{name}.yaml: {where}: {first.message} ({len(errors)} schema error(s))")
    if data.get("kind") != name:
        raise DefinitionError(f"{name}.yaml: kind must be {name!r}, not {data.get('kind')!r}")


def _build(directory: Path) -> Mappings:
    if not directory.is_dir():
        raise DefinitionError(f"mappings folder not found: {directory}")
    raw: dict[str, dict[str, Any]] = {}
    digest = hashlib.sha256()
    for name in FILES:
        path = directory / f"{name}.yaml"
        if not path.is_file():
            raise DefinitionError(f"mapping file missing: {path.name}")
        digest.update(path.read_bytes())
        data = _read_yaml(path)
        _validate(name, data)
        raw[name] = data
    sys_data = raw["systems"]["systems"]
    by_uri = {norm_system(uri): alias for alias, uris in sys_data.items() for uri in uris}
    aliases = SystemAliases(by_uri=by_uri, uris={a: tuple(u) for a, u in sys_data.items()})
    known_systems = set(sys_data)
    _check_systems(raw, known_systems)
    unverified: list[str] = []
    labs, lab_index, answer_sets, unmapped_lab, unmapped_coded = _build_labs(raw["labs"], aliases, unverified)
    proc = raw["procedures"]
    site_names = set(proc["body_sites"])
    _check_refs("conditions.yaml", raw["conditions"]["groups"], site_names)
    _check_refs("procedures.yaml", proc["groups"], site_names)
    _check_refs("vaccines.yaml", raw["vaccines"]["groups"])
    _check_refs("allergies.yaml", raw["allergies"]["groups"])
    drugs, unmapped_drug = _build_drugs(raw["drugs"], aliases, unverified)
    names = {
        "lab": frozenset(n for n, c in labs.items() if c.type != "coded"),
        "coded": frozenset(n for n, c in labs.items() if c.type == "coded"),
        "condition": frozenset(raw["conditions"]["groups"]),
        "drug": frozenset(raw["drugs"]["classes"]),
        "procedure": frozenset(proc["groups"]),
        "vaccine": frozenset(raw["vaccines"]["groups"]),
        "allergy": frozenset(raw["allergies"]["groups"]),
        "bodysite": frozenset(site_names),
    }
    unmapped = {
        "lab": frozenset(unmapped_lab),
        "coded": frozenset(unmapped_coded),
        "condition": frozenset(_group_unmapped(raw["conditions"]["groups"], "condition", unverified)),
        "drug": frozenset(unmapped_drug),
        "procedure": frozenset(_procedure_unmapped(proc, unverified)),
        "vaccine": frozenset(_group_unmapped(raw["vaccines"]["groups"], "vaccine", unverified)),
        "allergy": frozenset(_group_unmapped(raw["allergies"]["groups"], "allergy", unverified)),
        "bodysite": frozenset(_group_unmapped(proc["body_sites"], "bodysite", unverified)),
    }
    versions = sorted({str(d["version"]) for d in raw.values()})
    version = f"{versions[-1]}+{digest.hexdigest()[:10]}"
    return Mappings(
        version=version,
        directory=directory,
        aliases=aliases,
        names=names,
        unmapped=unmapped,
        labs=labs,
        lab_index=lab_index,
        answer_sets=answer_sets,
        oxygen=dict(raw["labs"].get("oxygen_context", {})),
        conditions=GroupMatcher.build(
            raw["conditions"]["groups"], aliases, raw["conditions"].get("exclude_text_global", ())
        ),
        procedures=GroupMatcher.build(proc["groups"], aliases, proc.get("exclude_text_global", ())),
        vaccines=GroupMatcher.build(raw["vaccines"]["groups"], aliases),
        allergies=GroupMatcher.build(raw["allergies"]["groups"], aliases),
        body_sites=GroupMatcher.build(proc["body_sites"], aliases),
        drugs=drugs,
        condition_body_sites={
            n: frozenset(s.get("implies_body_sites", ())) for n, s in raw["conditions"]["groups"].items()
        },
        intent=dict(proc["intent"]),
        unverified_rows=tuple(unverified),
        raw=raw,
    )


def _procedure_unmapped(proc: Mapping[str, Any], unverified: list[str]) -> set[str]:
    out = _group_unmapped(proc["groups"], "procedure", unverified)
    # The intent subgroups are derived from radiotherapy: mapped exactly when radiotherapy is.
    if "radiotherapy" in out:
        out |= {n for n, s in proc["groups"].items() if s.get("derived")}
    return out


def _check_systems(raw: Mapping[str, Mapping[str, Any]], known: set[str]) -> None:
    """Every `system:` used in a mapping file must be a declared alias (catches typos like 'snomed')."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            system = node.get("system")
            if isinstance(system, str) and system not in known:
                raise DefinitionError(f"{where}: unknown code system {system!r} (declare it in systems.yaml)")
            for value in node.values():
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for name, data in raw.items():
        if name != "systems":
            walk(data, f"{name}.yaml")


_CACHE: dict[Path, Mappings] = {}


def load_mappings(directory: str | Path | None = None) -> Mappings:
    """Load, validate and precompile ``mappings/*.yaml`` (cached per folder). Raises DefinitionError."""
    path = Path(directory) if directory is not None else mappings_dir()
    key = path.resolve()
    cached = _CACHE.get(key)
    if cached is None:
        cached = _build(key)
        _CACHE[key] = cached
    return cached


def clear_cache() -> None:
    """Forget loaded catalogues (tests that edit mapping files)."""
    _CACHE.clear()
