"""``nk-cds trials``: per trial, how many criteria are encoded, computable and need review.

Computable = the criterion's rule is not a plain ``review`` rule. Criteria a curator must re-read
(``curatorReview: true``: the source text reads garbled and the evident intent was encoded) are listed
with their notes.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from cds.errors import DefinitionError
from cds.trials import Trial, load_trials

NAME = "trials"
HELP = "list the trial catalogue: criteria encoded, computable, needing review, curator notes"


@dataclass(frozen=True)
class TrialSummary:
    id: str
    short_title: str
    encoded: int
    computable: int
    review: int
    informational: int
    criteria_complete: bool
    curator: tuple[tuple[str, str], ...]  # (criterion id, note)

    def lines(self) -> list[str]:
        head = (
            f"{self.id}  {self.short_title}: {self.encoded} criteria encoded, {self.computable} computable, "
            f"{self.review} need review ({self.informational} informational)"
        )
        out = [head]
        if not self.criteria_complete:
            out.append("    criteria incomplete: exclusion criteria must be checked on the registry")
        out += [f"    curator review {cid}: {note}" for cid, note in self.curator]
        return out


def summarise(trial: Trial) -> TrialSummary:
    review = sum(1 for c in trial.criteria if c.rule.get("kind") == "review")
    return TrialSummary(
        id=trial.id,
        short_title=trial.short_title,
        encoded=len(trial.criteria),
        computable=len(trial.criteria) - review,
        review=review,
        informational=sum(1 for c in trial.criteria if c.type == "informational"),
        criteria_complete=trial.criteria_complete,
        curator=tuple((c.id, c.note or "") for c in trial.criteria if c.curator_review),
    )


def register(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    try:
        trials = load_trials()
    except DefinitionError as exc:
        print(f"error: {exc} (run `nk-cds check`)")
        return 1
    summaries = [summarise(t) for t in trials]
    for summary in summaries:
        print("\n".join(summary.lines()))
    total = sum(s.encoded for s in summaries)
    computable = sum(s.computable for s in summaries)
    curator = sum(len(s.curator) for s in summaries)
    print(
        f"{len(summaries)} trials, {total} criteria, {computable} computable, {total - computable} review, "
        f"{curator} flagged for curator review"
    )
    return 0
