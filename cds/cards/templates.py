"""Card wording: loads ``cards/templates/card.yaml`` and fills its ``string.Template`` placeholders.

All text a clinician reads lives in that file; Python code only names keys (``"detail.waiting_item"``).
A missing key or placeholder is a definition error, raised when the file is loaded or rendered in tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

import yaml

from cds.errors import DefinitionError
from cds.paths import templates_dir

TEMPLATE_FILE = "card.yaml"

# Keys the renderer uses; checked at load time so a broken template file fails fast.
REQUIRED_KEYS: tuple[str, ...] = (
    "summary.eligible",
    "summary.possibly-eligible",
    "summary.not-yet-eligible",
    "summary_note_unverified",
    "ellipsis",
    "months",
    "date_short",
    "date_long",
    "source_label",
    "link_registry",
    "link_mentioned",
    "override_reasons",
    "suggestion_label",
    "action_description",
    "detail.heading",
    "detail.disclaimer",
    "statuses",
)


@dataclass(frozen=True)
class Templates:
    """The parsed wording file; ``text`` renders one entry."""

    data: dict[str, Any]
    # key -> compiled template, filled on first use (the wording file does not change after loading).
    _texts: dict[str, Template] = field(default_factory=dict, compare=False, repr=False)

    def raw(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise DefinitionError(f"card template {key!r} missing from {TEMPLATE_FILE}")
            node = node[part]
        return node

    def text(self, key: str, **values: object) -> str:
        compiled = self._texts.get(key)
        if compiled is None:
            template = self.raw(key)
            if not isinstance(template, str):
                raise DefinitionError(f"card template {key!r} is not a string")
            compiled = self._texts[key] = _compiled(template)
        try:
            return compiled.substitute({k: str(v) for k, v in values.items()})
        except (KeyError, ValueError) as exc:
            raise DefinitionError(f"card template {key!r}: bad or missing placeholder {exc}") from exc

    def status(self, registry_status: str) -> str:
        """Display text of a registry overall status (the raw code if the file has none)."""
        statuses = self.raw("statuses")
        return str(statuses.get(registry_status, registry_status.replace("_", " ").capitalize()))

    def override_reasons(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.raw("override_reasons").items()}

    def date(self, day: dt.date, today: dt.date | None = None) -> str:
        """``5 Dec`` within the year of ``today``, ``5 Dec 2027`` otherwise."""
        month = self.raw("months")[day.month - 1]
        key = "date_short" if today is not None and today.year == day.year else "date_long"
        return self.text(key, day=day.day, month=month, year=day.year)


@lru_cache(maxsize=512)
def _compiled(template: str) -> Template:
    """One ``string.Template`` per wording text, compiled once (a card renders hundreds of lines)."""
    return Template(template)


def load_templates(directory: Path | None = None) -> Templates:
    """Load (and cache) the wording file from ``cards/templates/``."""
    return _load(str((directory or templates_dir()).resolve()))


@lru_cache(maxsize=4)
def _load(directory: str) -> Templates:
    path = Path(directory) / TEMPLATE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{path}: cannot read card templates: {exc}") from exc
    if not isinstance(data, dict):
        raise DefinitionError(f"{path}: expected a mapping at the top level")
    templates = Templates(data)
    for key in REQUIRED_KEYS:
        templates.raw(key)
    if len(templates.raw("months")) != 12:
        raise DefinitionError(f"{path}: 'months' needs 12 entries")
    return templates
