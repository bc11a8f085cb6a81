"""Which mapping names a trial references: ``(kind, name)`` pairs for ``nk-cds check``.

Kinds are the mapping kinds of ``cds.mappings``: lab, coded, condition, drug, procedure, vaccine, allergy,
bodysite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cds.trials import Trial

_LIST_FIELDS: dict[str, dict[str, str]] = {
    "condition": {"groups": "condition", "bodySites": "bodysite"},
    "other-malignancy": {"except": "condition"},
    "exposure": {
        "drugClasses": "drug",
        "procedureGroups": "procedure",
        "vaccineGroups": "vaccine",
        "bodySites": "bodysite",
    },
    "allergy": {"groups": "allergy"},
}
_FIXED: dict[str, tuple[tuple[str, str], ...]] = {
    "other-malignancy": (("condition", "malignancy"),),
    "steroid-dose": (("drug", "corticosteroid-systemic"), ("lab", "body-weight")),
}
_PERFORMANCE = {"karnofsky-lansky": ("karnofsky", "lansky"), "ecog": ("ecog",)}


def rule_references(rule: dict[str, Any]) -> Iterator[tuple[str, str]]:
    kind = rule.get("kind")
    for part in rule.get("of", ()):
        yield from rule_references(part)
    if isinstance(rule.get("rule"), dict):
        yield from rule_references(rule["rule"])
    if kind in ("lab", "coded"):
        yield (kind, rule["concept"])
    if kind == "performance":
        for concept in _PERFORMANCE.get(rule.get("scale", ""), ()):
            yield ("lab", concept)
    for field, mapping_kind in _LIST_FIELDS.get(str(kind), {}).items():
        for name in rule.get(field, ()):
            yield (mapping_kind, name)
    yield from _FIXED.get(str(kind), ())


def trial_references(trial: Trial) -> Iterator[tuple[str, str, str]]:
    """``(criterion id, kind, name)`` for every name the trial uses (its target conditions under ``conditions``)."""
    for group in trial.conditions:
        yield ("conditions", "condition", group)
    for criterion in trial.criteria:
        for rule in (criterion.rule, criterion.applies_when):
            if rule:
                for kind, name in rule_references(rule):
                    yield (criterion.id, kind, name)
