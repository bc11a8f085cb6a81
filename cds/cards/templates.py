"""Card wording: loads ``cards/templates/card.yaml`` and fills its ``string.Template`` placeholders.

The file is written in ``string.Template`` syntax (``$name``); each entry is compiled once into the
equivalent ``str.format`` string (:func:`format_string`), which renders the same text faster.

All text a clinician reads lives in that file; Python code only names keys (``"detail.waiting_item"``).
A missing key or placeholder is a definition error, raised when the file is loaded or rendered in tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, TypeVar

import yaml

from cds.config import data_dir_override
from cds.errors import DefinitionError
from cds.paths import templates_dir

TEMPLATE_FILE = "card.yaml"
T = TypeVar("T")
_MISSING = object()

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
    """The parsed wording file; ``text`` renders one entry, ``fmt`` gives it as a ``str.format`` string.

    ``memo`` holds what is derived from this wording alone (and from catalogue objects such as trials):
    compiled entries, the detail's fixed lines, escaped criterion texts. It never holds patient data.
    """

    data: dict[str, Any]
    # key -> str.format string, filled on first use (the wording file does not change after loading).
    _formats: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _memo: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def raw(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise DefinitionError(f"card template {key!r} missing from {TEMPLATE_FILE}")
            node = node[part]
        return node

    def fmt(self, key: str) -> str:
        """Entry ``key`` as a ``str.format`` string (``$name`` -> ``{name}``), compiled once."""
        compiled = self._formats.get(key)
        if compiled is None:
            template = self.raw(key)
            if not isinstance(template, str):
                raise DefinitionError(f"card template {key!r} is not a string")
            compiled = format_string(template)
            if compiled is None:
                raise DefinitionError(f"card template {key!r}: bad placeholder (a lone '$'; write $$)")
            self._formats[key] = compiled
        return compiled

    def positional(self, key: str, *names: str) -> str:
        """Entry ``key`` as a ``str.format`` string taking the values of ``names`` by position, in that order.

        ``positional(key, "a", "b").format(x, y) == fmt(key).format(a=x, b=y)``, about twice as fast (no
        keyword dict): for the entries used per criterion and per evidence item. Not memoised (the caller
        keeps it); a placeholder not in ``names`` is a definition error.
        """
        template = self.raw(key)
        compiled = format_string(template, names) if isinstance(template, str) else None
        if compiled is None:
            raise DefinitionError(
                f"card template {key!r}: not a string, or a placeholder other than {', '.join(names)} "
                "(or a lone '$'; write $$)"
            )
        return compiled

    def text(self, key: str, **values: object) -> str:
        try:
            return self.fmt(key).format_map({k: str(v) for k, v in values.items()})
        except KeyError as exc:
            raise DefinitionError(f"card template {key!r}: bad or missing placeholder {exc}") from exc

    def memo(
        self, key: Hashable, build: Callable[[], T], still_valid: Callable[[T], bool] | None = None
    ) -> T:
        """``build()``, computed once per wording file and kept under ``key`` (rebuilt when ``still_valid``
        says no). ``build`` must depend only on this wording and catalogue data, never on a patient."""
        value = self._memo.get(key, _MISSING)
        if value is _MISSING or (still_valid is not None and not still_valid(value)):
            value = self._memo[key] = build()
        return value  # type: ignore[no-any-return]

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
        return self.fmt(key).format(day=day.day, month=month, year=day.year)


def format_string(template: str, names: Sequence[str] | None = None) -> str | None:
    """A ``string.Template`` text as the equivalent ``str.format`` string; None if it has a bad placeholder.

    ``$name`` / ``${name}`` become ``{name}``, ``$$`` becomes ``$`` and literal braces are doubled, so
    ``format_string(t).format(**v) == Template(t).substitute(v)`` for string values.

    With ``names``, ``$name`` becomes its position in ``names`` instead (``{0}``, ``{1}``, ...), so
    ``format_string(t, names).format(*(v[n] for n in names))`` gives the same text; a placeholder that is
    not one of ``names`` is then a bad placeholder too.
    """
    parts: list[str] = []
    pos = 0
    for match in Template.pattern.finditer(template):
        parts.append(_literal(template[pos : match.start()]))
        name = match.group("named") or match.group("braced")
        if name is not None:
            if names is None:
                parts.append("{" + name + "}")
            elif name in names:
                parts.append("{" + str(names.index(name)) + "}")
            else:
                return None
        elif match.group("escaped") is not None:
            parts.append("$")
        else:
            return None
        pos = match.end()
    parts.append(_literal(template[pos:]))
    return "".join(parts)


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def load_templates(directory: Path | None = None) -> Templates:
    """Load (and cache, per folder) the wording file from ``cards/templates/``."""
    if directory is None:
        return _load_default(data_dir_override())
    return _load(_resolved(str(directory)))


@lru_cache(maxsize=8)
def _load_default(override: str | None) -> Templates:
    """The wording under the data folder; keyed on ``NK_CDS_DATA_DIR`` (``templates_dir`` stats the disk)."""
    return _load(_resolved(str(templates_dir())))


@lru_cache(maxsize=16)
def _resolved(directory: str) -> str:
    """The canonical folder name (``Path.resolve`` costs a system call per path part; once is enough)."""
    return str(Path(directory).resolve())


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
