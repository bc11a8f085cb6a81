"""Helpers shared by the per-trial tests (``tests/test_trial_nct*.py``): load a trial file, build the eligible
baseline patient with one change, evaluate with stubbed or packaged mappings, and read the result.

The two umbilical-cord-blood NK-cell protocols (NCT06631391 neuroblastoma, NCT06848582 soft tissue sarcoma)
share their wash-out lines 7-10 and their organ-function line 12 word for word (the rules are identical in both
trial files); ``UCB_*`` holds the rows both test files pin, each file adds its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds.config import Config
from cds.engine import evaluate_trial
from cds.engine.context import NoMappings
from cds.facts import ConditionFact, DrugExposure, PatientFacts
from cds.results import Result, TrialResult
from cds.trials import Trial, parse_trial
from tests.facts_factory import condition, drug, lab, make_facts, procedure

TRIALS_DIR = Path(__file__).resolve().parent.parent / "cards" / "trials"
EVAL = dt.date(2026, 3, 1)
NOT_MET = "not-met"

Change = Callable[[dt.date], dict[str, Any]]


def load_trial(nct: str) -> Trial:
    path = TRIALS_DIR / f"{nct}.yaml"
    return parse_trial(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)


def trial_fixture(nct: str):
    """A module-scoped ``trial`` fixture for one trial file (assign it to ``trial`` in the test module)."""
    return pytest.fixture(scope="module", name="trial")(lambda: load_trial(nct))


def days_ago(n: int, *, on: dt.date = EVAL) -> dt.date:
    return on - dt.timedelta(days=n)


def shifted(days: int) -> dt.date:
    """The evaluation date shifted by ``days``."""
    return EVAL + dt.timedelta(days=days)


def eligible_patient(
    defaults: dict[str, Any],
    base_labs: dict[str, Any],
    *,
    labs: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    evaluation_date: dt.date = EVAL,
    **changes: Any,
) -> PatientFacts:
    """The baseline patient (``defaults`` for ``make_facts``, ``base_labs``) with changes: ``labs`` entries
    replace baseline labs (``None`` removes one), ``drop`` removes concepts, other keywords replace defaults."""
    merged = dict(base_labs)
    for concept, value in (labs or {}).items():
        if value is None:
            merged.pop(concept, None)
        else:
            merged[concept] = value
    for concept in drop:
        merged.pop(concept, None)
    return make_facts(evaluation_date, labs=merged, **(defaults | changes))


def run(trial: Trial, facts: PatientFacts, mappings: Any = None) -> TrialResult:
    """Evaluate with stubbed mappings (nothing unmapped) unless ``mappings`` is given."""
    return evaluate_trial(trial, facts, Config(), "test", mappings=mappings or NoMappings())


def packaged_mappings() -> Any:
    from cds.mappings import load_mappings

    return load_mappings()


def run_packaged(trial: Trial, facts: PatientFacts) -> TrialResult:
    """With the real mapping catalogue: groups without verified codes evaluate to review."""
    return run(trial, facts, packaged_mappings())


def res(result: TrialResult) -> dict[str, Result]:
    return {c.id: c.result for c in result.criteria}


def crit(result: TrialResult, cid: str) -> Any:
    return next(c for c in result.criteria if c.id == cid)


def not_met_ids(result: TrialResult) -> set[str]:
    return {c.id for c in result.criteria if c.result == Result.NOT_MET}


class Baseline:
    """One trial and its eligible baseline patient: ``patient(**changes)`` builds it with changes,
    ``evaluate(facts)`` runs the trial with stubbed mappings and ``changes(result)`` lists the criteria whose
    result moved away from the baseline's (id -> new result), so "fails only this one" is an exact check."""

    def __init__(self, trial: Trial, patient: Callable[..., PatientFacts]) -> None:
        self.trial = trial
        self.patient = patient
        self.baseline = res(self.evaluate(patient()))

    def evaluate(self, facts: PatientFacts) -> TrialResult:
        return run(self.trial, facts)

    def changes(self, result: TrialResult) -> dict[str, str]:
        return {c.id: c.result.value for c in result.criteria if c.result != self.baseline[c.id]}


def rule_names(rule: Any) -> set[tuple[str, str]]:
    """(mapping kind, name) of every concept, group and class a rule names."""
    fields = {
        "groups": "condition",
        "except": "condition",
        "drugClasses": "drug",
        "procedureGroups": "procedure",
        "vaccineGroups": "vaccine",
        "bodySites": "bodysite",
    }
    out: set[tuple[str, str]] = set()
    if isinstance(rule, dict):
        if rule.get("kind") in ("lab", "coded"):
            out.add((rule["kind"], rule["concept"]))
        for key, kind in fields.items():
            out |= {(kind, name) for name in rule.get(key, ())}
        for value in rule.values():
            out |= rule_names(value)
    elif isinstance(rule, list):
        for value in rule:
            out |= rule_names(value)
    return out


def undefined_names(trial: Trial) -> list[tuple[str, str]]:
    """Names the trial's rules, applicability conditions and condition list use that the mappings lack."""
    mappings = packaged_mappings()
    names = set().union(*(rule_names(c.rule) | rule_names(c.applies_when) for c in trial.criteria))
    names |= {("condition", g) for g in trial.conditions}
    assert names
    return sorted(n for n in names if not mappings.defines(*n))


def ended_drug(*classes: str, **kw: Any) -> Change:
    """Patient changes: one drug exposure of ``classes`` ending on the given day."""
    return lambda day: {"drugs": (drug(*classes, end=day, **kw),)}


def ended_procedure(*groups: str, **kw: Any) -> Change:
    """Patient changes: one procedure of ``groups`` ending on the given day."""
    return lambda day: {"procedures": (procedure(*groups, end=day, **kw),)}


def ucb_base_labs() -> dict[str, Any]:
    """The labs both UCB baseline patients share: line 12 (organ function) and Lansky met."""
    return {
        "anc": 1.5,
        "platelets": 150,
        "bilirubin-total": lab("bilirubin-total", 0.5, ref_high=1.0),
        "creatinine": lab("creatinine", 0.4, ref_high=0.5),
        "alt": lab("alt", 30, ref_high=40),
        "ast": lab("ast", 30, ref_high=40),
        "lansky": 80,
    }


def ucb_baseline(
    trial: Trial,
    defaults: dict[str, Any],
    base_labs: Callable[[], dict[str, Any]],
    disease: Callable[[], ConditionFact],
    old_chemo: Callable[[], DrugExposure],
) -> Baseline:
    """A UCB trial's baseline patient; its changes (``eligible_patient``) also take ``conditions`` (added to
    the diagnosis, ``disease``), ``diagnosis`` (replaces it) and ``drugs`` (added to ``old_chemo``)."""

    def patient(
        *, conditions: tuple = (), diagnosis: tuple | None = None, drugs: tuple = (), **changes: Any
    ) -> PatientFacts:
        return eligible_patient(
            defaults,
            base_labs(),
            conditions=(*(diagnosis if diagnosis is not None else (disease(),)), *conditions),
            drugs=(old_chemo(), *drugs),
            **changes,
        )

    return Baseline(trial, patient)


def _marrow() -> tuple:
    return (condition("bone-marrow-involvement"),)


def _liver() -> tuple:
    return (condition("liver-metastasis"),)


# label, patient changes, expected changes from the baseline (line 12: organ function)
UCB_LAB_FAILS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("anc-0.99", dict(labs={"anc": 0.99}), {"inc-12a-anc": NOT_MET}),
    ("anc-0.7-no-marrow", dict(labs={"anc": 0.7}), {"inc-12a-anc": NOT_MET}),
    ("anc-0.49-marrow", dict(labs={"anc": 0.49}, conditions=_marrow()), {"inc-12a-anc": NOT_MET}),
    ("plt-74", dict(labs={"platelets": 74}), {"inc-12b-platelets": NOT_MET}),
    ("plt-19-marrow", dict(labs={"platelets": 19}, conditions=_marrow()), {"inc-12b-platelets": NOT_MET}),
    (
        "bilirubin-1.51",
        dict(labs={"bilirubin-total": lab("bilirubin-total", 1.51, ref_high=1.0)}),
        {"inc-12c-bilirubin": NOT_MET},
    ),
    (
        "creatinine-0.76",
        dict(labs={"creatinine": lab("creatinine", 0.76, ref_high=0.5)}),
        {"inc-12d-creatinine": NOT_MET},
    ),
    ("alt-121", dict(labs={"alt": lab("alt", 121, ref_high=40)}), {"inc-12e-alt-ast": NOT_MET}),
    ("ast-121", dict(labs={"ast": lab("ast", 121, ref_high=40)}), {"inc-12e-alt-ast": NOT_MET}),
    (
        "alt-201-liver-mets",
        dict(labs={"alt": lab("alt", 201, ref_high=40)}, conditions=_liver()),
        {"inc-12e-alt-ast": NOT_MET},
    ),
    (
        "ast-201-liver-mets",
        dict(labs={"ast": lab("ast", 201, ref_high=40)}, conditions=_liver()),
        {"inc-12e-alt-ast": NOT_MET},
    ),
]

# label, patient changes, expected changes from the baseline: exactly on a line-12 limit is allowed
UCB_LAB_LIMITS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("anc-1.0", dict(labs={"anc": 1.0}), {}),
    ("anc-0.5-marrow", dict(labs={"anc": 0.5}, conditions=_marrow()), {}),
    ("plt-75", dict(labs={"platelets": 75}), {}),
    ("plt-20-marrow", dict(labs={"platelets": 20}, conditions=_marrow()), {}),
    ("bilirubin-1.5", dict(labs={"bilirubin-total": lab("bilirubin-total", 1.5, ref_high=1.0)}), {}),
    ("creatinine-0.75", dict(labs={"creatinine": lab("creatinine", 0.75, ref_high=0.5)}), {}),
    (
        "alt-ast-120",
        dict(labs={"alt": lab("alt", 120, ref_high=40), "ast": lab("ast", 120, ref_high=40)}),
        {},
    ),
    ("alt-200-liver-mets", dict(labs={"alt": lab("alt", 200, ref_high=40)}, conditions=_liver()), {}),
    ("ast-200-liver-mets", dict(labs={"ast": lab("ast", 200, ref_high=40)}, conditions=_liver()), {}),
]

# label, criterion, days N, exposure ending on a given day -> patient changes (lines 7-10: wash-outs)
UCB_WAITS: list[tuple[str, str, int, Change]] = [
    ("chemo", "inc-07-chemo-washout", 21, ended_drug("myelosuppressive-chemotherapy")),
    ("investigational", "inc-08-other-anticancer-washout", 28, ended_drug("investigational")),
    ("growth-factor-long", "inc-09-growth-factor-washout", 14, ended_drug("growth-factor-long")),
    ("growth-factor-short", "inc-09-growth-factor-washout", 3, ended_drug("growth-factor-short")),
    (
        "palliative-rt",
        "inc-10-radiotherapy-washout",
        14,
        ended_procedure("radiotherapy", "radiotherapy-palliative", intent="palliative"),
    ),
    (
        "rt-intent-unknown",
        "inc-10-radiotherapy-washout",
        42,
        ended_procedure("radiotherapy", "radiotherapy-intent-unknown"),
    ),
    ("tbi", "inc-10-radiotherapy-washout", 42, ended_procedure("radiotherapy", "tbi")),
    ("mibg-drug", "inc-10-radiotherapy-washout", 42, ended_drug("mibg-131i")),
]


def ids(rows: list[tuple]) -> list[str]:
    """Parametrize ids: the first item of each row (its label)."""
    return [row[0] for row in rows]
