"""What every rule evaluator may read: the patient facts, the trial, the configuration and the mappings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from cds.config import Config
from cds.facts import PatientFacts
from cds.results import Outcome
from cds.trials import Trial


class MappingsView(Protocol):
    """The part of ``cds.mappings.Mappings`` the engine uses."""

    def defines(self, kind: str, name: str) -> bool: ...

    def is_unmapped(self, kind: str, name: str) -> bool: ...


class NoMappings:
    """Stand-in when no mapping catalogue is available: nothing is declared unmapped."""

    def defines(self, kind: str, name: str) -> bool:
        return False

    def is_unmapped(self, kind: str, name: str) -> bool:
        return False


@lru_cache(maxsize=1)
def default_mappings() -> MappingsView:
    """The packaged mappings (``cds.mappings.load_mappings()``), loaded once."""
    try:
        from cds.mappings import load_mappings
    except ImportError:  # pragma: no cover - only while the mappings module does not exist yet
        return NoMappings()
    return load_mappings()


@dataclass(frozen=True)
class Context:
    facts: PatientFacts
    config: Config
    trial: Trial
    mappings: MappingsView

    @property
    def today(self) -> dt.date:
        return self.facts.evaluation_date

    def evaluate(self, rule: dict[str, Any]) -> Outcome:
        """Evaluate a nested rule (used by the combinators)."""
        from cds.engine.evaluate import evaluate_rule

        return evaluate_rule(rule, self)
