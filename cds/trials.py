"""The trial catalogue: trial definitions loaded from ``cards/trials/*.yaml`` and validated by schema.

A ``Trial`` is data only; the engine (``cds.engine``) gives its rules meaning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from cds.errors import DefinitionError
from cds.paths import SCHEMA_DIR, trials_dir


@dataclass(frozen=True)
class CriterionDef:
    id: str
    type: str  # inclusion | exclusion | informational
    text: str
    rule: dict[str, Any]
    source: dict[str, str] | str  # {"file", "quote"} or "registry"
    applies_when: dict[str, Any] | None = None
    curator_review: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Trial:
    id: str  # NCT id
    short_title: str
    title: str
    status: str  # registry overall status
    registry_url: str
    criteria: tuple[CriterionDef, ...]
    conditions: tuple[str, ...] = ()  # target condition groups
    phase: str | None = None
    status_verified: dt.date | None = None
    sites: tuple[dict[str, Any], ...] = ()
    contacts: tuple[dict[str, Any], ...] = ()
    criteria_complete: bool = True
    seed_file: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def countries(self) -> frozenset[str]:
        return frozenset(s.get("country", "") for s in self.sites if s.get("country"))


@lru_cache(maxsize=1)
def trial_schema_validator() -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / "trial.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _jsonable(value: Any) -> Any:
    """YAML turns ``2025-02-20`` into a date; the schema (JSON) sees ISO strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def parse_trial(doc: dict[str, Any], origin: str = "<memory>") -> Trial:
    """Validate one trial document against the schema and build a ``Trial``."""
    doc = _jsonable(doc)
    errors = sorted(trial_schema_validator().iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        detail = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:5])
        raise DefinitionError(f"{origin}: {detail}")
    criteria = tuple(
        CriterionDef(
            id=c["id"],
            type=c["type"],
            text=c["text"],
            rule=c["rule"],
            source=c["source"],
            applies_when=c.get("appliesWhen"),
            curator_review=bool(c.get("curatorReview", False)),
            note=c.get("note"),
        )
        for c in doc["criteria"]
    )
    return Trial(
        id=doc["id"],
        short_title=doc["shortTitle"],
        title=doc["title"],
        status=doc["status"],
        registry_url=doc["registryUrl"],
        criteria=criteria,
        conditions=tuple(doc.get("conditions", ())),
        phase=doc.get("phase"),
        status_verified=_as_date(doc.get("statusVerified")),
        sites=tuple(doc.get("sites", ())),
        contacts=tuple(doc.get("contacts", ())),
        criteria_complete=bool(doc.get("criteriaComplete", True)),
        seed_file=doc.get("seedFile"),
        raw=doc,
    )


def load_trials(directory: Path | None = None) -> tuple[Trial, ...]:
    """Load and validate every ``*.yaml`` trial file, sorted by NCT id."""
    directory = directory or trials_dir()
    trials = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DefinitionError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise DefinitionError(f"{path.name}: expected a mapping at the top level")
        trials.append(parse_trial(doc, path.name))
    ids = [t.id for t in trials]
    if len(ids) != len(set(ids)):
        raise DefinitionError(f"duplicate trial ids in {directory}")
    return tuple(sorted(trials, key=lambda t: t.id))


def definitions_version(directory: Path | None = None) -> str:
    """A short content hash of all trial and mapping files: changes whenever a definition changes."""
    from cds.paths import mappings_dir

    digest = hashlib.sha256()
    for folder in (directory or trials_dir(), mappings_dir()):
        for path in sorted(folder.glob("*.yaml")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
