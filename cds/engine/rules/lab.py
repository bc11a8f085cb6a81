"""``lab``: the latest valid value within the window satisfies ``op`` against a limit.

The limit is ``value`` (a number, or ``{male, female}``), or ``uln`` x the observation's upper limit of
normal (``LabValue.ref_high``) plus an optional ``plus`` offset in the concept's unit. The ULN's origin
(``ref_source``: observation, ``fallback:<table>``, ``fallback-unverified:<table>``) is shown in
``limitSource`` and the reason. No ULN at all: unknown; a limit is never invented.

No usable value within the window (default ``config.screening_window_days``): unknown; older values are
shown as evidence. ``stale_on`` is the day the deciding value leaves its window.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import register
from cds.engine.rules._common import OP_WORDS, compare, label, num, unit_text, unmapped
from cds.engine.rules._labs import (
    latest,
    resolve_same_day,
    value_evidence,
)
from cds.facts import LabValue
from cds.results import Outcome, Result, make_outcome


def _has_value(item: LabValue) -> bool:
    return item.value is not None and item.problem is None


def _usable_for(context: dict[str, str]) -> Callable[[LabValue], bool]:
    """Usable: a value, no problem, and no recorded context that contradicts the rule's ``context``."""
    if not context:
        return _has_value

    def usable(item: LabValue) -> bool:
        if item.value is None or item.problem is not None:
            return False
        return all(item.context.get(key, wanted) == wanted for key, wanted in context.items())

    return usable


def _context_text(context: dict[str, str]) -> str:
    return f" ({', '.join(context.values())})" if context else ""


def _context_note(item: LabValue, context: dict[str, str]) -> str | None:
    if not context:  # most rules ask for no context
        return None
    missing = [f"{key} not recorded" for key in context if key not in item.context]
    return "; ".join(missing) or None


def _uln_source_text(source: str | None) -> str:
    if not source or source == "observation":
        return "ULN from the report"
    if source.startswith("fallback-unverified"):
        return f"unverified fallback ULN ({source.split(':', 1)[-1]})"
    if source.startswith("fallback"):
        return f"fallback ULN ({source.split(':', 1)[-1]})"
    return f"ULN from {source}"


@dataclass(frozen=True, slots=True)
class LabSpec:
    """A lab rule read once (``prepare``); ``rule`` keeps the limit fields (op, value / uln, plus)."""

    rule: dict[str, Any]
    concept: str
    name: str
    window_days: int | None  # None: the configured screening window
    context: dict[str, str]
    context_text: str
    usable: Callable[[LabValue], bool]
    usable_key: Hashable


def prepare_lab(rule: dict[str, Any]) -> LabSpec:
    context = dict(rule.get("context", {}))
    return LabSpec(
        rule=rule,
        concept=rule["concept"],
        name=label(rule["concept"]),
        window_days=int(rule["windowDays"]) if "windowDays" in rule else None,
        context=context,
        context_text=_context_text(context),
        usable=_usable_for(context),
        usable_key=("lab", frozenset(context.items())),
    )


@register("lab", prepare=prepare_lab)
def evaluate_lab(spec: LabSpec, ctx: Context) -> Outcome:
    if (review := unmapped(ctx, "lab", (spec.concept,))) is not None:
        return review
    window = spec.window_days if spec.window_days is not None else int(ctx.config.screening_window_days)
    found = latest(ctx, spec.concept, window, spec.usable, spec.usable_key)
    pick, extra = found.pick, found.context
    item = pick.value
    if item is None:
        return make_outcome(
            Result.UNKNOWN,
            found.missing,
            extra,
            needs=(f"{spec.name}{spec.context_text} within {window} days",),
        )
    outcomes = [_judge_value(spec, ctx, v, window, extra) for v in (item, *pick.same_day)]
    return resolve_same_day(outcomes, spec.name, item, window)


def _judge_value(spec: LabSpec, ctx: Context, item: LabValue, window: int, extra: tuple) -> Outcome:
    """Compare one value with the rule's limit."""
    rule = spec.rule
    op = rule["op"]
    name = spec.name
    assert item.value is not None
    note = _context_note(item, spec.context)
    shown_value = f"{name} {num(item.value)}{unit_text(item.unit)} on {item.date}"
    stale = tr.stale_on(item.date, window)

    if "uln" in rule:
        if not item.ref_high:
            ev = (value_evidence(item, note="no upper limit of normal recorded"), *extra)
            return make_outcome(
                Result.UNKNOWN,
                f"{shown_value}: no upper limit of normal recorded, cannot compare with "
                f"{num(rule['uln'])} x ULN",
                ev,
                needs=(f"{name} reference range (ULN)",),
            )
        limit = rule["uln"] * item.ref_high + rule.get("plus", 0)
        limit_source = item.ref_source or "observation"
        plus = f" + {num(rule['plus'])}" if rule.get("plus") else ""
        limit_text = (
            f"{num(rule['uln'])} x ULN{plus} = {num(limit)}"
            f" (ULN {num(item.ref_high)}, {_uln_source_text(item.ref_source)})"
        )
        return _decide(item, op, limit, limit_source, limit_text, shown_value, stale, note=note)

    value = rule["value"]
    if isinstance(value, dict):
        sex = ctx.facts.demographics.sex
        if sex in ("male", "female"):
            return _decide(
                item, op, value[sex], "trial", f"{num(value[sex])} ({sex})", shown_value, stale, note=note
            )
        male, female = compare(item.value, op, value["male"]), compare(item.value, op, value["female"])
        if male == female:  # the same answer whichever limit applies
            limits = f"{num(value['male'])} (male) / {num(value['female'])} (female)"
            return _decide(
                item, op, value["male"], "trial", limits, shown_value, stale, force=male, note=note
            )
        return make_outcome(
            Result.UNKNOWN,
            f"{shown_value}: the limit depends on sex, which is not recorded",
            (value_evidence(item), *extra),
            needs=("administrative sex",),
        )
    return _decide(item, op, float(value), "trial", num(float(value)), shown_value, stale, note=note)


def _decide(
    item: LabValue,
    op: str,
    limit: float,
    limit_source: str,
    limit_text: str,
    shown_value: str,
    stale: Any,
    force: bool | None = None,
    note: str | None = None,
) -> Outcome:
    assert item.value is not None
    ok = compare(item.value, op, limit) if force is None else force
    word = OP_WORDS[op]
    reason = f"{shown_value} is {'' if ok else 'not '}{word} {limit_text}"
    evidence = (value_evidence(item, limit=round(limit, 6), limit_source=limit_source, note=note),)
    return make_outcome(Result.MET if ok else Result.NOT_MET, reason, evidence, stale_on=stale)
