"""The project's CDS Hooks JSON Schema (``cds/schemas/cds-hooks.schema.json``) and validators by definition name."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from cds.paths import SCHEMA_DIR

SCHEMA_FILE = SCHEMA_DIR / "cds-hooks.schema.json"


@cache
def schema_document() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@cache
def validator(definition: str) -> Draft202012Validator:
    """A validator for ``#/$defs/<definition>`` (e.g. ``HookRequest``, ``ServiceResponse``)."""
    doc = schema_document()
    if definition not in doc["$defs"]:
        raise KeyError(definition)
    registry = Registry().with_resource(doc["$id"], Resource.from_contents(doc))
    return Draft202012Validator(
        {"$ref": f"{doc['$id']}#/$defs/{definition}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def first_error(definition: str, instance: Any) -> str | None:
    """A short description of the first schema violation, or ``None`` when ``instance`` is valid."""
    errors = sorted(
        validator(definition).iter_errors(instance),
        key=lambda e: (len(e.absolute_path), str(e.absolute_path)),
    )
    if not errors:
        return None
    err = errors[0]
    where = "/".join(str(p) for p in err.absolute_path) or "(body)"
    return f"{where}: {err.message}"[:500]
