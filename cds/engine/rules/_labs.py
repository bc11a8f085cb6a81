"""Choosing the deciding observation: the latest usable value within the window (labs, coded, performance)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from operator import attrgetter
from typing import NamedTuple

from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.rules._common import label, num, ref, unit_text
from cds.facts import LabValue
from cds.results import Evidence, Outcome, Result, make_evidence, make_outcome

MAX_OLD_EVIDENCE = 3


class Pick(NamedTuple):
    """The deciding value (or None) and the other values worth showing.

    This and :class:`Latest` are named tuples, not frozen dataclasses: as immutable, and several times cheaper
    to build (they are built for every lab rule of every call)."""

    value: LabValue | None
    older: tuple[LabValue, ...]  # usable values outside the window, newest first
    unusable: tuple[LabValue, ...]  # values in the window that could not be used (problem / no value)
    same_day: tuple[LabValue, ...] = ()  # other usable values dated the same day as ``value``


_BY_DATE = attrgetter("date.latest", "date.earliest")  # a value's (date.latest, date.earliest)


def pick_latest(
    values: Iterable[LabValue], window_days: int, today: dt.date, usable: Callable[[LabValue], bool]
) -> Pick:
    ordered = sorted(values, key=_BY_DATE, reverse=True)
    chosen = None
    older: list[LabValue] = []
    unusable: list[LabValue] = []
    same_day: list[LabValue] = []
    # ``tr.in_window(date, window_days, today)`` for a value not dated in the future (those are skipped first)
    # is ``date.earliest >= start``; a window reaching back before the first day a date can hold has every
    # day in it. The comparison is done inline: it runs for every value of every lab concept a rule reads.
    start = _window_start(window_days, today)
    for item in ordered:
        day = item.date
        if day.latest > today:
            continue  # dated in the future: ignored (clock skew or a planned result)
        if len(older) == MAX_OLD_EVIDENCE and day.latest < start:
            # Newest first: this value and every later one ended before the window, so none can be chosen,
            # shown beside it (same day / unusable in the window) or kept as older (three are kept already).
            break
        if not usable(item):
            if day.earliest >= start:
                unusable.append(item)
            continue
        if day.earliest >= start:
            if chosen is None:
                chosen = item
            elif item.date == chosen.date and item.date.exact:
                same_day.append(item)
        elif len(older) < MAX_OLD_EVIDENCE:
            older.append(item)
    return Pick(chosen, tuple(older), tuple(unusable), tuple(same_day))


def _window_start(window_days: int, today: dt.date) -> dt.date:
    """The first day of a ``window_days`` window ending ``today``: a day ``d`` no later than ``today`` has
    ``(today - d).days <= window_days`` exactly when ``d >= _window_start(window_days, today)``."""
    try:
        return today - dt.timedelta(days=window_days)
    except OverflowError:
        # the window starts before 0001-01-01 (every day is in it) or, for a negative window, after 9999-12-31
        return dt.date.min if window_days > 0 else dt.date.max


class Latest(NamedTuple):
    """A :class:`Pick` with what every rule on it shows: ``context`` (older / unusable values as evidence)
    and, when no value decides, ``missing`` (the reason; empty otherwise)."""

    pick: Pick
    context: tuple[Evidence, ...]
    missing: str


def latest(
    ctx: Context, concept: str, window_days: int, usable: Callable[[LabValue], bool], usable_key: Hashable
) -> Latest:
    """:func:`pick_latest` over the patient's ``concept`` values, computed once per call for each
    ``(concept, window_days, usable_key)``; ``usable_key`` names the ``usable`` test (equal keys must mean
    the same test)."""
    key = (concept, window_days, usable_key)
    cache = ctx.scratch.picks
    found = cache.get(key)
    if found is None:
        pick = pick_latest(ctx.facts.lab_values(concept), window_days, ctx.today, usable)
        missing = missing_reason(concept, pick, window_days) if pick.value is None else ""
        found = cache[key] = Latest(pick, context_evidence(pick, window_days), missing)
    return found


def resolve_same_day(outcomes: list[Outcome], name: str, item: LabValue, window_days: int) -> Outcome:
    """The answer from the deciding day's results (``outcomes[0]`` is the first-picked value's).

    Results that decide (met / not-met) win over ones that cannot (no ULN); deciding results that disagree
    mean the data contradicts itself: unknown, asking for a repeat. A lone result (no other value that day,
    the common case) is the answer.
    """
    if len(outcomes) == 1:
        return outcomes[0]
    decided = [o for o in outcomes if o.result in (Result.MET, Result.NOT_MET)]
    if len({o.result for o in decided}) <= 1:
        return decided[0] if decided else outcomes[0]
    evidence = tuple(e for o in decided for e in o.evidence)
    return make_outcome(
        Result.UNKNOWN,
        f"conflicting {name} results on {item.date}: " + "; ".join(o.reason for o in decided[:3]),
        evidence,
        needs=(f"{name} repeated (conflicting results on {item.date})",),
        stale_on=tr.stale_on(item.date, window_days),
    )


def shown(item: LabValue) -> object:
    return (
        item.coded
        if item.coded is not None
        else (item.value if item.value is not None else item.original_value)
    )


def value_evidence(
    item: LabValue, limit: object = None, limit_source: str | None = None, note: str | None = None
) -> Evidence:
    if item.status == "preliminary":
        note = f"{note}; preliminary result" if note else "preliminary result"
    return make_evidence(
        resource=ref("Observation", item.resource_id),
        value=shown(item),
        # an unconverted value is shown as recorded ("10 {copies}/mL"): the canonical unit would mislabel it
        unit=item.unit if item.value is not None else None,
        date=str(item.date),
        limit=limit,
        limitSource=limit_source,
        note=note or None,
    )


def context_evidence(pick: Pick, window_days: int) -> tuple[Evidence, ...]:
    if not pick.older and not pick.unusable:
        return ()
    older = f"older than the {window_days}-day window"
    out = [value_evidence(v, note=older) for v in pick.older]
    out += [value_evidence(v, note=f"not usable: {_why_unusable(v)}") for v in pick.unusable]
    return tuple(out)


def missing_reason(concept: str, pick: Pick, window_days: int) -> str:
    name = label(concept)
    if pick.older:
        last = pick.older[0]
        return f"no {name} within {window_days} days (last {num_or_code(last)} on {last.date})"
    if pick.unusable:
        return f"no usable {name} within {window_days} days ({_why_unusable(pick.unusable[0])})"
    return f"no {name} recorded within {window_days} days"


def num_or_code(item: LabValue) -> str:
    if item.coded is not None:
        return item.coded
    if item.value is not None:
        return f"{num(item.value)}{unit_text(item.unit)}"
    return item.original_value or "?"


def _why_unusable(item: LabValue) -> str:
    if item.problem:
        return item.problem
    if item.value is None and item.coded is None:
        return "no value"
    context = ", ".join(f"{k} {v}" for k, v in sorted(item.context.items()))
    return f"measured under other conditions ({context})" if context else "not a usable result"
