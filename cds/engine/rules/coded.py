"""``coded``: the latest qualitative result within the window is one of the tokens in ``in``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import label, unmapped
from cds.engine.rules._labs import (
    latest,
    resolve_same_day,
    value_evidence,
)
from cds.facts import LabValue
from cds.results import Outcome, Result, make_outcome


def _usable(item: LabValue) -> bool:
    return item.coded is not None and item.problem is None


@dataclass(frozen=True, slots=True)
class CodedSpec:
    """A coded rule read once (``prepare``)."""

    concept: str
    name: str
    window_days: int | None  # None: the configured screening window
    tokens: list[str]


def prepare_coded(rule: dict[str, Any]) -> CodedSpec:
    return CodedSpec(
        concept=rule["concept"],
        name=label(rule["concept"]),
        window_days=int(rule["windowDays"]) if "windowDays" in rule else None,
        tokens=list(rule["in"]),
    )


@register("coded", prepare=prepare_coded)
def evaluate_coded(spec: CodedSpec, ctx: Context) -> Outcome:
    concept, name, tokens = spec.concept, spec.name, spec.tokens
    if (review := unmapped(ctx, "coded", [concept])) is not None:
        return review
    window = spec.window_days if spec.window_days is not None else int(ctx.config.screening_window_days)
    found = latest(ctx, concept, window, _usable, "coded")
    pick, extra = found.pick, found.context
    item = pick.value
    if item is None:
        return make_outcome(
            Result.UNKNOWN,
            found.missing,
            extra,
            needs=(f"{name} within {window} days",),
        )
    outcomes = [_judge(v, tokens, name, window) for v in (item, *pick.same_day)]
    return resolve_same_day(outcomes, name, item, window)


def _judge(item: LabValue, tokens: list[str], name: str, window: int) -> Outcome:
    ok = item.coded in tokens
    reason = f"{name} {item.coded} on {item.date}" + ("" if ok else f" (not {' / '.join(tokens)})")
    evidence = (value_evidence(item, limit=" / ".join(tokens), limit_source="trial"),)
    return make_outcome(
        Result.MET if ok else Result.NOT_MET, reason, evidence, stale_on=tr.stale_on(item.date, window)
    )
