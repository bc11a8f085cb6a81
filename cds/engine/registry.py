"""The rule-kind registry: ``kind`` -> evaluator. Each module in ``cds.engine.rules`` registers one kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cds.results import Outcome

if TYPE_CHECKING:
    from cds.engine.context import Context

Evaluator = Callable[[dict[str, Any], "Context"], Outcome]

REGISTRY: dict[str, Evaluator] = {}


def register(kind: str) -> Callable[[Evaluator], Evaluator]:
    """Decorator: make ``fn`` the evaluator of rules with ``kind``."""

    def decorate(fn: Evaluator) -> Evaluator:
        if kind in REGISTRY:
            raise ValueError(f"rule kind {kind!r} registered twice")
        REGISTRY[kind] = fn
        return fn

    return decorate
