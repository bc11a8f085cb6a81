"""``nk-cds check``: validate every trial and mapping file and the links between them.

Fails (exit 1, one line per problem) when a trial file breaks its schema, when two criteria share an id,
when a rule names a concept, group or class that no mapping defines, or when a source quote does not occur
in its seed text (``cards/seeds/``). Prints a one-line OK summary otherwise.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cds.engine.references import trial_references
from cds.engine.sources import quote_found
from cds.errors import DefinitionError
from cds.paths import mappings_dir, trials_dir
from cds.trials import Trial, parse_trial

NAME = "check"
HELP = "validate trial and mapping files (schema, mapping names, source quotes)"


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    trials: int = 0
    criteria: int = 0
    quotes: int = 0
    mapping_files: int = 0
    unmapped: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (
            f"OK: {self.trials} trials, {self.criteria} criteria, {self.quotes} source quotes, "
            f"{self.mapping_files} mapping files; {self.unmapped} rule names declared unmapped (evaluate to review)"
        )


def _load_trials(directory: Path, report: CheckReport) -> list[Trial]:
    trials: list[Trial] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict):
                raise DefinitionError(f"{path.name}: expected a mapping at the top level")
            trial = parse_trial(doc, path.name)
        except yaml.YAMLError as exc:
            report.errors.append(f"{path.name}: not valid YAML: {exc}")
            continue
        except DefinitionError as exc:
            report.errors.append(str(exc))
            continue
        if path.stem != trial.id:
            report.errors.append(f"{path.name}: file name does not match trial id {trial.id}")
        trials.append(trial)
    if not trials and not report.errors:
        report.errors.append(f"no trial files in {directory}")
    return trials


def _check_trial(trial: Trial, mappings: object | None, report: CheckReport) -> None:
    ids = [c.id for c in trial.criteria]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        report.errors.append(f"{trial.id}: criterion id {dup} is used twice")
    for criterion in trial.criteria:
        source = criterion.source
        if isinstance(source, dict):
            report.quotes += 1
            found = quote_found(source["file"], source["quote"])
            if found is None:
                report.errors.append(
                    f"{trial.id} {criterion.id}: seed file {source['file']} not found in cards/seeds/"
                )
            elif not found:
                report.errors.append(
                    f"{trial.id} {criterion.id}: quote not found in {source['file']}: {source['quote']!r}"
                )
    if mappings is None:
        return
    seen: set[tuple[str, str]] = set()
    for where, kind, name in trial_references(trial):
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        if not mappings.defines(kind, name):  # type: ignore[attr-defined]
            report.errors.append(f"{trial.id} {where}: no mapping defines {kind} {name!r}")
        elif mappings.is_unmapped(kind, name):  # type: ignore[attr-defined]
            report.unmapped += 1


def _load_mappings(report: CheckReport) -> object | None:
    report.mapping_files = len(list(mappings_dir().glob("*.yaml")))
    try:
        from cds.mappings import load_mappings
    except ImportError as exc:
        report.errors.append(f"mappings: cannot import cds.mappings ({exc})")
        return None
    try:
        return load_mappings()
    except DefinitionError as exc:
        report.errors.append(f"mappings: {exc}")
    except (OSError, ValueError, yaml.YAMLError) as exc:
        report.errors.append(f"mappings: could not be loaded: {exc}")
    return None


def check_card_wording(report: CheckReport, directory: Path | None = None) -> None:
    """The card wording file loads and every list and evidence entry compiles (the renderer compiles them on
    the first card, so a broken entry would otherwise surface only then, on every card)."""
    from cds.cards.detail import list_wording
    from cds.cards.templates import load_templates

    try:
        list_wording(load_templates(directory))
    except DefinitionError as exc:
        report.errors.append(f"card wording: {exc}")


def run_checks(directory: Path | None = None) -> CheckReport:
    report = CheckReport()
    check_card_wording(report)
    mappings = _load_mappings(report)
    trials = _load_trials(directory or trials_dir(), report)
    ids = [t.id for t in trials]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        report.errors.append(f"trial id {dup} is defined twice")
    for trial in trials:
        report.trials += 1
        report.criteria += len(trial.criteria)
        _check_trial(trial, mappings, report)
    return report


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trials-dir", type=Path, default=None, help="check this folder instead of cards/trials"
    )


def run(args: argparse.Namespace) -> int:
    report = run_checks(args.trials_dir)
    if report.ok:
        print(report.summary())
        return 0
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"check failed: {len(report.errors)} problem(s)", file=sys.stderr)
    return 1
