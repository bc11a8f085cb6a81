"""Helpers for engine tests: a mappings stub, a one-criterion trial builder and a rule runner."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cds.config import Config
from cds.engine import evaluate_trial
from cds.engine.context import Context
from cds.engine.evaluate import evaluate_rule
from cds.facts import PatientFacts
from cds.results import Outcome, TrialResult
from cds.trials import Trial, parse_trial
from tests.facts_factory import make_facts

CONFIG = Config()


@dataclass
class StubMappings:
    """``defines`` everything unless listed in ``undefined``; ``unmapped`` holds (kind, name) pairs."""

    unmapped: set[tuple[str, str]] = field(default_factory=set)
    undefined: set[tuple[str, str]] = field(default_factory=set)

    def defines(self, kind: str, name: str) -> bool:
        return (kind, name) not in self.undefined

    def is_unmapped(self, kind: str, name: str) -> bool:
        return (kind, name) in self.unmapped


def criterion(
    rule: dict[str, Any], cid: str = "inc-01", ctype: str = "inclusion", **extra: Any
) -> dict[str, Any]:
    return {
        "id": cid,
        "type": ctype,
        "text": extra.pop("text", cid),
        "source": "registry",
        "rule": rule,
        **extra,
    }


def make_trial(
    criteria: Iterable[dict[str, Any]] | None = None,
    rule: dict[str, Any] | None = None,
    conditions: Iterable[str] = ("neuroblastoma",),
    complete: bool = True,
    trial_id: str = "NCT00000042",
) -> Trial:
    """A schema-valid trial; ``rule`` alone makes a one-criterion trial."""
    items = list(criteria or [criterion(rule or {"kind": "review", "reason": "x"})])
    doc = {
        "id": trial_id,
        "shortTitle": "Test trial",
        "title": "A test trial",
        "status": "RECRUITING",
        "registryUrl": f"https://clinicaltrials.gov/study/{trial_id}",
        "conditions": list(conditions),
        "criteriaComplete": complete,
        "criteria": items,
    }
    return parse_trial(doc, "test")


def run_rule(
    rule: dict[str, Any],
    facts: PatientFacts,
    mappings: StubMappings | None = None,
    trial: Trial | None = None,
    config: Config = CONFIG,
) -> Outcome:
    ctx = Context(
        facts=facts, config=config, trial=trial or make_trial(rule=rule), mappings=mappings or StubMappings()
    )
    return evaluate_rule(rule, ctx)


def run_trial(trial: Trial, facts: PatientFacts, mappings: StubMappings | None = None) -> TrialResult:
    return evaluate_trial(trial, facts, CONFIG, "test-defs", mappings=mappings or StubMappings())


FEMALE_ONLY = {"kind": "sex", "in": ["female"]}


def results_by_sex(trial: Trial, today: Any) -> tuple[Any, Any]:
    """The first criterion's result for a 10-year-old boy and girl (for criteria gated by ``FEMALE_ONLY``)."""
    male = run_trial(trial, make_facts(today, age_years=10, sex="male")).criteria[0]
    female = run_trial(trial, make_facts(today, age_years=10, sex="female")).criteria[0]
    return male.result, female.result
