"""The criteria engine: trial definition + patient facts -> per-criterion results and a verdict.

``evaluate_trials`` (all trials for one patient) and ``evaluate_trial`` (one trial) are the entry points other
layers use; ``evaluate_trials`` shares one memo between the trials, so a rule several trials use is evaluated
once per call (``cds.engine.plan``). Rule kinds live in ``cds.engine.rules`` (one
module per kind, registered in ``cds.engine.registry``); combinators in ``cds.engine.combinators``; every date
rule in ``cds.engine.timerules``; the verdict in ``cds.engine.verdict``.
"""

from __future__ import annotations

from collections.abc import Iterable

from cds.config import Config
from cds.engine.context import Context, MappingsView, default_mappings
from cds.engine.criterion import evaluate_criterion
from cds.engine.plan import compiled_trial
from cds.engine.scratch import Scratch
from cds.engine.verdict import decide
from cds.facts import PatientFacts
from cds.results import TrialResult
from cds.trials import Trial

__all__ = ["evaluate_trial", "evaluate_trials"]


def evaluate_trials(
    trials: Iterable[Trial],
    facts: PatientFacts,
    config: Config,
    definitions_version: str,
    mappings: MappingsView | None = None,
) -> tuple[TrialResult, ...]:
    """Evaluate every trial for ``facts`` (the same results as ``evaluate_trial`` on each, sooner).

    The trials share one scratch space (memo of rule outcomes, fact indexes) for this call only; it is dropped
    on return.
    """
    mappings = mappings or default_mappings()
    scratch = Scratch(facts, config, mappings)
    results = []
    for trial in trials:
        ctx = Context(facts=facts, config=config, trial=trial, mappings=mappings, scratch=scratch)
        criteria = tuple([evaluate_criterion(c, ctx) for c in compiled_trial(trial)])
        results.append(decide(trial, facts, criteria, definitions_version))
    return tuple(results)


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
    return evaluate_trials((trial,), facts, config, definitions_version, mappings)[0]
