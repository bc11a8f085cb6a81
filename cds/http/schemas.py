"""The project's CDS Hooks JSON Schema (``cds/schemas/cds-hooks.schema.json``) and validators by definition name."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from cds.paths import SCHEMA_DIR
from cds.raw import FHIR_ID

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


# --- Cards: a hand-written check equivalent to ``#/$defs/Card`` --------------------------------------------------
# jsonschema costs about 0.7 ms per card (a tenth of a typical hook call). Every response's cards are checked as a
# safety net against a bug in a lower layer, so this mirrors the Card definition exactly (accepts and rejects the
# same documents; tests/test_service_card_check.py compares it with the schema on real and mutated cards).

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CARD_KEYS = frozenset(
    {
        "uuid",
        "summary",
        "detail",
        "indicator",
        "source",
        "suggestions",
        "selectionBehavior",
        "overrideReasons",
        "links",
        "extension",
    }
)
_SOURCE_KEYS = frozenset({"label", "url", "icon", "topic", "extension"})
_SUGGESTION_KEYS = frozenset({"label", "uuid", "isRecommended", "actions", "extension"})
_LINK_KEYS = frozenset({"label", "url", "type", "appContext", "autolaunchable", "extension"})


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 1


def _uri(value: Any) -> bool:
    return _text(value) and _URI.search(value) is not None


def _optional(obj: dict[str, Any], key: str, check: Any) -> bool:
    return key not in obj or check(obj[key])


# The checks below run on every returned card (a typical response: 2 cards of about 10 objects each), so each
# object's optional members are tested inline (``key not in obj or <check>``) instead of through ``_optional``
# and a lambda: the same tests, about half the function calls.


def _extension(value: Any) -> bool:
    return isinstance(value, dict) and len(value) >= 1


def _coding(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "code" in value
        and "system" in value
        and _text(value["code"])
        and _text(value["system"])
        and ("display" not in value or _text(value["display"]))
    )


def _coding_with_display(value: Any) -> bool:
    return _coding(value) and "display" in value


def _array(value: Any, item: Any) -> bool:
    return isinstance(value, list) and len(value) >= 1 and all(map(item, value))


def _source(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "label" in value
        and value.keys() <= _SOURCE_KEYS
        and _text(value["label"])
        and ("url" not in value or _uri(value["url"]))
        and ("icon" not in value or _uri(value["icon"]))
        and ("topic" not in value or _coding(value["topic"]))
        and ("extension" not in value or _extension(value["extension"]))
    )


def _action(value: Any) -> bool:
    if not (isinstance(value, dict) and "type" in value and "description" in value):
        return False
    kind = value["type"]
    return (
        isinstance(kind, str)
        and kind in ("create", "update", "delete")
        and _text(value["description"])
        and (kind == "delete" or "resource" in value)
        and ("resource" not in value or isinstance(value["resource"], dict))
        and ("resourceId" not in value or _text(value["resourceId"]))
        and ("extension" not in value or _extension(value["extension"]))
    )


def _suggestion(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "label" in value
        and value.keys() <= _SUGGESTION_KEYS
        and _text(value["label"])
        and ("uuid" not in value or _text(value["uuid"]))
        and ("isRecommended" not in value or isinstance(value["isRecommended"], bool))
        and ("actions" not in value or _array(value["actions"], _action))
        and ("extension" not in value or _extension(value["extension"]))
    )


def _link(value: Any) -> bool:
    if not (
        isinstance(value, dict)
        and "label" in value
        and "url" in value
        and "type" in value
        and value.keys() <= _LINK_KEYS
    ):
        return False
    kind = value["type"]
    return (
        isinstance(kind, str)
        and kind in ("absolute", "smart")
        and _text(value["label"])
        and _uri(value["url"])
        and not (kind == "absolute" and "appContext" in value)
        and ("appContext" not in value or _text(value["appContext"]))
        and ("autolaunchable" not in value or isinstance(value["autolaunchable"], bool))
        and ("extension" not in value or _extension(value["extension"]))
    )


def card_is_valid(card: Any) -> bool:
    """True when ``card`` conforms to ``#/$defs/Card`` (same answer as the JSON Schema, about 100x faster)."""
    if not (
        isinstance(card, dict)
        and "summary" in card
        and "indicator" in card
        and "source" in card
        and card.keys() <= _CARD_KEYS
    ):
        return False
    summary, indicator = card["summary"], card["indicator"]
    return (
        isinstance(summary, str)
        and 1 <= len(summary) <= 139
        and isinstance(indicator, str)
        and indicator in ("info", "warning", "critical")
        and _source(card["source"])
        and ("uuid" not in card or _text(card["uuid"]))
        and ("detail" not in card or _text(card["detail"]))
        and (
            "suggestions" not in card
            or ("selectionBehavior" in card and _array(card["suggestions"], _suggestion))
        )
        and (
            "selectionBehavior" not in card
            or (
                isinstance(card["selectionBehavior"], str)
                and card["selectionBehavior"] in ("at-most-one", "any")
            )
        )
        and ("overrideReasons" not in card or _array(card["overrideReasons"], _coding_with_display))
        and ("links" not in card or _array(card["links"], _link))
        and ("extension" not in card or _extension(card["extension"]))
    )


# --- Hook request envelope: a fast "certainly valid" check in front of ``#/$defs/HookRequest`` --------------------
# jsonschema takes 0.1-0.3 ms on every hook call to accept the usual envelope. ``envelope_is_plainly_valid`` accepts
# only envelopes that certainly conform (a subset: it may send a valid one on to the full validator, never pass an
# invalid one); anything else, and every error message, comes from the schema (tests/test_service_envelope_check.py).


def _string_or_absent(obj: dict[str, Any], key: str) -> bool:
    return key not in obj or isinstance(obj[key], str)


def envelope_is_plainly_valid(body: Any) -> bool:
    """True only when ``body`` certainly conforms to ``#/$defs/HookRequest``."""
    if not isinstance(body, dict):
        return False
    hook, instance, context = body.get("hook"), body.get("hookInstance"), body.get("context")
    if not (
        _text(hook)
        and isinstance(instance, str)
        and 1 <= len(instance) <= 200
        and isinstance(context, dict)
        and isinstance(context.get("patientId"), str)
        and FHIR_ID.fullmatch(context["patientId"]) is not None
        and _string_or_absent(context, "userId")
        and _string_or_absent(context, "encounterId")
        and _optional(body, "fhirServer", _uri)
        and _optional(body, "prefetch", lambda v: v is None or isinstance(v, dict))
    ):
        return False
    if "fhirAuthorization" not in body:
        return True
    auth = body["fhirAuthorization"]
    return (
        "fhirServer" in body
        and isinstance(auth, dict)
        and _text(auth.get("access_token"))
        and _string_or_absent(auth, "token_type")
    )
