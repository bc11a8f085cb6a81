"""The rule-kind registry: ``kind`` -> evaluator. Each module in ``cds.engine.rules`` registers one kind.

A kind whose evaluator reads ``ctx.trial`` registers with ``reads_trial=True``: its outcome differs between
trials for the same patient, so it is never shared through the per-call memo (``cds.engine.plan``).

A kind may register ``prepare``: a function that reads the rule dict once, when the trial is compiled, into a
typed spec (parsed durations, name sets, reason texts). Its evaluator then receives that spec instead of the
dict. Without ``prepare`` the evaluator receives the rule dict.

A kind registered with ``constant=True`` (it must also register ``prepare``) answers the same for every patient
and trial: its prepared spec *is* the outcome. ``cds.engine.plan`` compiles such a rule into a fixed outcome
and its evaluator is not called per patient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cds.results import Outcome

if TYPE_CHECKING:
    from cds.engine.context import Context

Evaluator = Callable[[Any, "Context"], Outcome]  # (rule dict or prepared spec, context)
Prepare = Callable[[dict[str, Any]], Any]

REGISTRY: dict[str, Evaluator] = {}
PREPARE: dict[str, Prepare] = {}  # kinds whose evaluator takes a spec prepared from the rule at compile time
TRIAL_KINDS: set[str] = set()  # kinds whose outcome depends on the trial (its id, its conditions)
CONSTANT_KINDS: set[str] = set()  # kinds whose prepared spec is the outcome (patient and trial never read)


def register(
    kind: str, *, reads_trial: bool = False, prepare: Prepare | None = None, constant: bool = False
) -> Callable[[Evaluator], Evaluator]:
    """Decorator: make ``fn`` the evaluator of rules with ``kind``."""

    def decorate(fn: Evaluator) -> Evaluator:
        if kind in REGISTRY:
            raise ValueError(f"rule kind {kind!r} registered twice")
        if constant and (prepare is None or reads_trial):
            raise ValueError(f"constant rule kind {kind!r} needs prepare and must not read the trial")
        REGISTRY[kind] = fn
        if reads_trial:
            TRIAL_KINDS.add(kind)
        if prepare is not None:
            PREPARE[kind] = prepare
        if constant:
            CONSTANT_KINDS.add(kind)
        return fn

    return decorate
