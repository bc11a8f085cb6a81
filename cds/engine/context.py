"""What every rule evaluator may read: the patient facts, the trial, the configuration and the mappings.

``scratch`` (``cds.engine.scratch``) holds what one evaluation call shares between its contexts: the memo of
rule outcomes and lazily built fact indexes. ``evaluate_trials`` passes one per call; a context made without
one gets its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from cds.config import Config
from cds.engine.scratch import Scratch
from cds.facts import PatientFacts
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
    scratch: Scratch = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.scratch is None:
            object.__setattr__(self, "scratch", Scratch(self.facts, self.config, self.mappings))
        elif not (
            self.scratch.facts is self.facts
            and self.scratch.config is self.config
            and self.scratch.mappings is self.mappings
        ):
            raise ValueError("a scratch belongs to one call: its facts, configuration and mappings")

    @property
    def today(self) -> dt.date:
        return self.facts.evaluation_date
