"""``all`` / ``any`` / ``not`` and the ``ifTrue``/``ifFalse`` review overrides (docs/CONTRACTS.md).

Time propagation:

- ``all`` not-met clears on the latest ``clears_on`` of its not-met parts (never if one never clears, or if a
  met part expires on or before that day); its ``expires_on`` is the earliest expiry of its parts.
- ``any`` not-met clears on the earliest clearing part; a met ``any`` expires on the latest expiry of its met
  parts (never if one of them never expires).
- ``not`` swaps met/not-met and with them ``expires_on``/``clears_on``.

``stale_on`` (a deciding lab leaves its window) propagates as the earliest ``stale_on`` of the parts that
decided the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cds.results import MET, NOT_APPLICABLE, NOT_MET, REVIEW, UNKNOWN, Evidence, Outcome, Result, make_outcome

_ALL_PRIORITY = (NOT_MET, UNKNOWN, REVIEW, MET)  # ``all``: the worst result first
_ANY_PRIORITY = (MET, REVIEW, UNKNOWN, NOT_MET)  # ``any``: the best result first


def _norm(result: Result) -> Result:
    return MET if result == NOT_APPLICABLE else result


def _results(parts: Sequence[Outcome]) -> list[Result]:
    """Each part's result, not-applicable counted as met."""
    return [MET if p.result == NOT_APPLICABLE else p.result for p in parts]


def _first_present(priority: tuple[Result, ...], results: list[Result]) -> Result:
    """The first result in ``priority`` order that some part has."""
    for result in priority:
        if result in results:
            return result
    raise ValueError(f"unexpected results {results}")


def _min_date(dates: Iterable[dt.date | None]) -> dt.date | None:
    present = [d for d in dates if d is not None]
    return min(present) if present else None


def _evidence(parts: Iterable[Outcome]) -> tuple[Evidence, ...]:
    """The parts' evidence without repeats (first occurrence wins, order kept).

    ``Evidence`` hashes like it compares, so a dict drops the same items a pairwise comparison would, in
    linear rather than quadratic time; an unhashable field (no rule kind makes one) falls back to comparing.
    A single item has nothing to drop (and is not hashed).
    """
    items = [item for part in parts for item in part.evidence]
    if len(items) < 2:
        return tuple(items)
    try:
        return tuple(dict.fromkeys(items))
    except TypeError:
        seen: list[Evidence] = []
        for item in items:
            if item not in seen:
                seen.append(item)
        return tuple(seen)


def _needs(parts: Iterable[Outcome]) -> tuple[str, ...]:
    """The parts' needs without repeats (first occurrence wins, order kept)."""
    return tuple(dict.fromkeys([need for part in parts for need in part.needs]))


def _reason(parts: Sequence[Outcome], joiner: str = "; ") -> str:
    reasons: list[str] = []
    for part in parts:
        if part.reason and part.reason not in reasons:
            reasons.append(part.reason)
    return joiner.join(reasons)


def _summary(
    deciding: list[Outcome], joiner: str, with_needs: bool
) -> tuple[str, tuple[Evidence, ...], tuple[str, ...]]:
    """The deciding parts' reason, evidence and (``with_needs``) needs, as :func:`_reason`, :func:`_evidence`
    and :func:`_needs` give them.

    A single deciding part (the usual case: one part of two fails) gives its own reason (an empty one joins to
    ``""`` as well), its evidence and its needs, still without repeats, so nothing is rebuilt from lists.
    """
    if len(deciding) == 1:
        part = deciding[0]
        evidence = part.evidence
        needs = part.needs if with_needs else ()
        return (
            part.reason,
            tuple(evidence) if len(evidence) < 2 else _evidence(deciding),
            tuple(needs) if len(needs) < 2 else _needs(deciding),
        )
    return _reason(deciding, joiner), _evidence(deciding), _needs(deciding) if with_needs else ()


def all_of(parts: Sequence[Outcome]) -> Outcome:
    """The worst part: not-met > unknown > review > met."""
    if not parts:
        return make_outcome(MET, "nothing to check")
    results = _results(parts)
    worst = _first_present(_ALL_PRIORITY, results)
    if worst == MET:
        deciding = met = parts
    else:  # the deciding (worst) parts and the met ones, in one pass
        deciding, met = [], []
        for result, part in zip(results, parts, strict=True):
            if result == worst:
                deciding.append(part)
            elif result == MET:
                met.append(part)
    expires = stale = None
    if met:
        expires = _min_date([p.expires_on for p in met])
        stale = _min_date([p.stale_on for p in met])
    clears: dt.date | None = None
    if worst == NOT_MET:
        part_clears = [p.clears_on for p in deciding]
        if None not in part_clears:
            clears = max(part_clears)  # type: ignore[type-var]
            if expires is not None and expires <= clears:
                clears = None  # a met part stops being met before the waiting ends
    reason, evidence, needs = _summary(deciding, "; ", worst == UNKNOWN)
    return make_outcome(worst, reason, evidence, clears, expires, needs, stale)


def any_of(parts: Sequence[Outcome]) -> Outcome:
    """The best part: met > review > unknown > not-met."""
    if not parts:
        return make_outcome(NOT_MET, "no alternative given")
    results = _results(parts)
    best = _first_present(_ANY_PRIORITY, results)
    deciding = [p for r, p in zip(results, parts, strict=True) if r == best]
    clears = expires = stale = None
    if best == NOT_MET:
        clears = _min_date([p.clears_on for p in deciding])
    if best == MET:
        part_expiry = [p.expires_on for p in deciding]
        expires = None if None in part_expiry else max(part_expiry)  # type: ignore[type-var]
        stale_days = [p.stale_on for p in deciding]
        stale = None if None in stale_days else max(stale_days)  # type: ignore[type-var]
    reason, evidence, needs = _summary(deciding, " / " if best != NOT_MET else "; ", best == UNKNOWN)
    return make_outcome(best, reason, evidence, clears, expires, needs, stale)


def negate(part: Outcome) -> Outcome:
    """Swap met and not-met (and with them expires_on / clears_on); unknown and review stay."""
    result = part.result
    if result in (MET, NOT_APPLICABLE):  # not-applicable counts as met
        return make_outcome(
            NOT_MET, part.reason, part.evidence, clears_on=part.expires_on, stale_on=part.stale_on
        )
    if result == NOT_MET:
        return make_outcome(
            MET, part.reason, part.evidence, expires_on=part.clears_on, stale_on=part.stale_on
        )
    return part


def review_override(outcome: Outcome, if_true: bool, if_false: bool, review_reason: str | None) -> Outcome:
    """``ifTrue: review`` turns a met predicate into review; ``ifFalse: review`` a not-met one."""
    result = _norm(outcome.result)
    if not ((if_true and result == MET) or (if_false and result == NOT_MET)):
        return outcome
    reason = (
        f"{outcome.reason}: {review_reason}" if review_reason else f"{outcome.reason}: needs clinical review"
    )
    return make_outcome(REVIEW, reason, outcome.evidence, needs=outcome.needs, stale_on=outcome.stale_on)


def apply_overrides(outcome: Outcome, rule: dict[str, Any]) -> Outcome:
    """:func:`review_override` with the flags read from ``rule``."""
    return review_override(
        outcome, rule.get("ifTrue") == "review", rule.get("ifFalse") == "review", rule.get("reviewReason")
    )


def _of(rule: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(rule.get("of", ()))


def _negated(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["rule"],)


def _negate_one(parts: Sequence[Outcome]) -> Outcome:
    return negate(parts[0])


# kind -> (combine the parts' outcomes, the part rules of a rule); see cds.engine.plan
COMBINATORS: dict[
    str, tuple[Callable[[Sequence[Outcome]], Outcome], Callable[[dict[str, Any]], tuple[Any, ...]]]
] = {
    "all": (all_of, _of),
    "any": (any_of, _of),
    "not": (_negate_one, _negated),
}
