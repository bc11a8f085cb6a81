"""``all_of`` / ``any_of`` (one pass over the parts, a single deciding part taken as is) against the former
list-per-field implementation, kept here as the reference: every field of every outcome must be equal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from cds.engine import combinators as cb
from cds.results import MET, NOT_APPLICABLE, NOT_MET, REVIEW, UNKNOWN, Outcome, make_evidence, make_outcome


def reference_all_of(parts: Sequence[Outcome]) -> Outcome:
    if not parts:
        return make_outcome(MET, "nothing to check")
    results = cb._results(parts)
    worst = cb._first_present(cb._ALL_PRIORITY, results)
    deciding = [p for r, p in zip(results, parts, strict=True) if r == worst]
    met = deciding if worst == MET else [p for r, p in zip(results, parts, strict=True) if r == MET]
    expires = cb._min_date([p.expires_on for p in met])
    clears = None
    if worst == NOT_MET:
        part_clears = [p.clears_on for p in deciding]
        if None not in part_clears:
            clears = max(part_clears)
            if expires is not None and expires <= clears:
                clears = None
    return make_outcome(
        result=worst,
        reason=cb._reason(deciding),
        evidence=cb._evidence(deciding),
        clears_on=clears,
        expires_on=expires,
        needs=cb._needs(deciding) if worst == UNKNOWN else (),
        stale_on=cb._min_date([p.stale_on for p in met]),
    )


def reference_any_of(parts: Sequence[Outcome]) -> Outcome:
    if not parts:
        return make_outcome(NOT_MET, "no alternative given")
    results = cb._results(parts)
    best = cb._first_present(cb._ANY_PRIORITY, results)
    deciding = [p for r, p in zip(results, parts, strict=True) if r == best]
    clears = expires = stale = None
    if best == NOT_MET:
        clears = cb._min_date([p.clears_on for p in deciding])
    if best == MET:
        part_expiry = [p.expires_on for p in deciding]
        expires = None if None in part_expiry else max(part_expiry)
        stale_days = [p.stale_on for p in deciding]
        stale = None if None in stale_days else max(stale_days)
    return make_outcome(
        result=best,
        reason=cb._reason(deciding, " / " if best != NOT_MET else "; "),
        evidence=cb._evidence(deciding),
        clears_on=clears,
        expires_on=expires,
        needs=cb._needs(deciding) if best == UNKNOWN else (),
        stale_on=stale,
    )


_days = st.one_of(st.none(), st.integers(0, 6).map(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n)))
_evidence = st.sampled_from(["Observation/a", "Observation/b", "Condition/c"]).map(
    lambda r: make_evidence(resource=r)
)
_outcomes = st.builds(
    make_outcome,
    result=st.sampled_from([MET, NOT_MET, UNKNOWN, REVIEW, NOT_APPLICABLE]),
    reason=st.sampled_from(["", "a", "b", "a; b"]),
    evidence=st.lists(_evidence, max_size=3).map(tuple),  # repeats within one part too
    clears_on=_days,
    expires_on=_days,
    needs=st.lists(st.sampled_from(["x", "y"]), max_size=3).map(tuple),
    stale_on=_days,
)


@settings(derandomize=True, max_examples=300)
@given(st.lists(_outcomes, max_size=5))
def test_all_of_equals_reference(parts: list[Outcome]) -> None:
    assert cb.all_of(parts) == reference_all_of(parts)


@settings(derandomize=True, max_examples=300)
@given(st.lists(_outcomes, max_size=5))
def test_any_of_equals_reference(parts: list[Outcome]) -> None:
    assert cb.any_of(parts) == reference_any_of(parts)


def test_single_deciding_part_keeps_repeats_out() -> None:
    """One deciding part whose own evidence and needs repeat: the repeats are dropped, as before."""
    ev = make_evidence(resource="Observation/a")
    failing = make_outcome(UNKNOWN, "r", (ev, ev), needs=("x", "x"))
    passing = make_outcome(MET, "ok")
    out = cb.all_of([passing, failing])
    assert out.evidence == (ev,) and out.needs == ("x",)
    assert out == reference_all_of([passing, failing])


def test_single_deciding_part_with_one_item_is_shared() -> None:
    """A lone deciding part's one-item evidence and needs are used as they are (not copied)."""
    ev = make_evidence(resource="Observation/a")
    failing = make_outcome(UNKNOWN, "r", (ev,), needs=("x",))
    out = cb.all_of([make_outcome(MET, "ok"), failing])
    assert out.evidence is failing.evidence and out.needs is failing.needs
    assert out.reason == "r" and out.result == UNKNOWN
