"""The rule-kind registry: ``kind`` -> evaluator. Each module in ``cds.engine.rules`` registers one kind.

A kind whose evaluator reads ``ctx.trial`` registers with ``reads_trial=True``: its outcome differs between
trials for the same patient, so it is never shared through the per-call memo (``cds.engine.plan``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cds.results import Outcome

if TYPE_CHECKING:
    from cds.engine.context import Context

Evaluator = Callable[[dict[str, Any], "Context"], Outcome]

REGISTRY: dict[str, Evaluator] = {}
TRIAL_KINDS: set[str] = set()  # kinds whose outcome depends on the trial (its id, its conditions)


def register(kind: str, *, reads_trial: bool = False) -> Callable[[Evaluator], Evaluator]:
    """Decorator: make ``fn`` the evaluator of rules with ``kind``."""

    def decorate(fn: Evaluator) -> Evaluator:
        if kind in REGISTRY:
            raise ValueError(f"rule kind {kind!r} registered twice")
        REGISTRY[kind] = fn
        if reads_trial:
            TRIAL_KINDS.add(kind)
        return fn

    return decorate
