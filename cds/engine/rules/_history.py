"""Closed-world history matching shared by condition, other-malignancy, exposure, research and allergy.

Each matching record is judged TRUE (counts now), UNKNOWN (might count: imprecise date, missing route or
site) or FALSE (matches but is outside the period). The predicate is met when some record counts; its
``expires_on`` is the day every counting record has certainly left its period (never, if one has no end).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from cds.engine import timerules as tr
from cds.facts import FuzzyDate
from cds.results import Evidence, Outcome, Result, make_outcome

SHOWN = 3  # records named in a reason (and shown as evidence) when none of them counts


class Judged(NamedTuple):
    """One matching record, judged (a named tuple: immutable and cheap to build, one per record per rule)."""

    state: tr.Tri
    evidence: Evidence
    text: str  # "carboplatin on 2026-02-10"
    expires_on: dt.date | None = None  # for TRUE: first day it no longer counts (None = never by time)
    need: str | None = None  # for UNKNOWN: what would decide it


def judge_within(
    anchor: FuzzyDate | None, within: tr.Duration, today: dt.date, evidence: Evidence, text: str, what: str
) -> Judged:
    """A dated record counts while ``anchor + within`` has not been reached (see timerules.reached)."""
    if anchor is None:
        return Judged(tr.Tri.UNKNOWN, evidence, f"{text} (no date)", need=f"date of {what}")
    reach = tr.reached(anchor, within, today)
    if reach.state == tr.Tri.FALSE:
        return Judged(tr.Tri.TRUE, evidence, text, expires_on=reach.certain)
    if reach.state == tr.Tri.UNKNOWN:
        return Judged(
            tr.Tri.UNKNOWN,
            evidence,
            f"{text} (date {anchor} too imprecise for the {within} window)",
            need=f"exact date of {what}",
        )
    return Judged(tr.Tri.FALSE, evidence, text)


def nothing_recorded(none: str) -> Outcome:
    """What :func:`conclude` answers when no record matches: not met, with ``none`` as the reason."""
    return make_outcome(Result.NOT_MET, none)


def conclude(
    judged: Sequence[Judged], found: str, none: str, outside: str, nothing: Outcome | None = None
) -> Outcome:
    """Combine judged records into one predicate outcome.

    ``found``: prefix when a record counts ("interstitial lung disease recorded"); ``none``: reason when no record
    matches at all ("no interstitial lung disease recorded"); ``outside``: prefix when records match but none
    counts ("last myelosuppressive chemotherapy more than 21 days ago"). ``nothing``: ``nothing_recorded(none)``
    built once, when the rule's texts are prepared (the most common answer: outcomes are immutable, so one object
    serves every call).
    """
    if not judged:
        return nothing if nothing is not None else nothing_recorded(none)
    true = [j for j in judged if j.state == tr.Tri.TRUE]
    maybe = [j for j in judged if j.state == tr.Tri.UNKNOWN]
    if true:
        expires: dt.date | None = None
        if all(j.expires_on is not None for j in true):
            candidates = [j.expires_on for j in true if j.expires_on is not None]
            # an imprecise record might keep it true longer: it is certainly over only when both are
            candidates += [j.expires_on or dt.date.max for j in maybe]
            expires = max(candidates)
            if expires == dt.date.max:
                expires = None
        latest = sorted(true, key=lambda j: j.expires_on or dt.date.max, reverse=True)
        return make_outcome(
            Result.MET,
            f"{found}: {'; '.join(j.text for j in latest[:SHOWN])}",
            tuple(j.evidence for j in latest),
            expires_on=expires,
        )
    if maybe:
        return make_outcome(
            Result.UNKNOWN,
            f"{found}?: {'; '.join(j.text for j in maybe[:SHOWN])}",
            tuple(j.evidence for j in maybe),
            needs=tuple(dict.fromkeys(j.need for j in maybe if j.need)),
        )
    return make_outcome(
        Result.NOT_MET,
        f"{outside}: {'; '.join(j.text for j in judged[:SHOWN])}",
        tuple(j.evidence for j in judged[:SHOWN]),
    )
