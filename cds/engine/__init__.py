"""The criteria engine: trial definition + patient facts -> per-criterion results and a verdict.

``evaluate_trial`` is the only entry point other layers use. Rule kinds live in ``cds.engine.rules`` (one
module per kind, registered in ``cds.engine.registry``); combinators in ``cds.engine.combinators``; every date
rule in ``cds.engine.timerules``; the verdict in ``cds.engine.verdict``.
"""

from __future__ import annotations

from cds.config import Config
from cds.engine.context import Context, MappingsView, default_mappings
from cds.engine.criterion import evaluate_criterion
from cds.engine.verdict import decide
from cds.facts import PatientFacts
from cds.results import TrialResult
from cds.trials import Trial

__all__ = ["evaluate_trial"]


def evaluate_trial(
    trial: Trial,
    facts: PatientFacts,
    config: Config,
    definitions_version: str,
    mappings: MappingsView | None = None,
) -> TrialResult:
    """Evaluate every criterion of ``trial`` for ``facts`` and decide the verdict.

    ``mappings`` defaults to the packaged catalogue (``cds.mappings.load_mappings()``, loaded once); tests pass
    a stub.
    """
    ctx = Context(facts=facts, config=config, trial=trial, mappings=mappings or default_mappings())
    criteria = tuple(evaluate_criterion(criterion, ctx) for criterion in trial.criteria)
    return decide(trial, facts, criteria, definitions_version)
