"""What every rule evaluator may read: the patient facts, the trial, the configuration and the mappings.

``memo`` holds the outcomes of rules already evaluated in this call (see ``cds.engine.plan``); contexts of
one call share it (``evaluate_trials``), and it is dropped with them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

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
    memo: dict[str, Outcome] = field(default_factory=dict, compare=False, repr=False)

    @property
    def today(self) -> dt.date:
        return self.facts.evaluation_date
