"""End-to-end helpers: synthetic FHIR patients -> gather/normalise -> the REAL trial files and mappings.

``criterion(builder, trial, cid)`` runs a ``PatientBuilder`` patient through the whole chain, the way an EHR
sends it (``cds.gather.gather`` on a full-prefetch ``patient-view`` request), then ``cds.engine.evaluate_trial``
with the real catalogue, and returns one criterion's result. ``via="raw"`` skips the gatherer and feeds
``cds.normalise.build_facts`` a ``RawPatient`` directly (to mark resource types unavailable).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from cds.config import Config
from cds.engine import evaluate_trial
from cds.facts import PatientFacts
from cds.gather import gather
from cds.normalise import build_facts
from cds.pipeline import Catalogue, load_catalogue
from cds.raw import RawPatient
from cds.results import CriterionResult, Result, TrialResult
from cds.synthetic import PatientBuilder
from cds.trials import Trial

EVAL = dt.date(2026, 11, 27)  # a Friday; every relative date below is counted from here
CONFIG = Config()

# Trial ids (short names used in the tests).
ADULT = "NCT03619954"  # adults 18-75, any malignancy
SARCOMA_AYA = "NCT05952310"  # sarcoma up to 30
NB_UCB = "NCT06631391"  # neuroblastoma, 1 day to 18 years
NB_265 = "NCT06674265"  # neuroblastoma, 2 to 16 years
STS = "NCT06848582"  # soft tissue sarcoma, up to 18 years

MET, NOT_MET, UNKNOWN, REVIEW, NA = (
    Result.MET,
    Result.NOT_MET,
    Result.UNKNOWN,
    Result.REVIEW,
    Result.NOT_APPLICABLE,
)


@functools.cache
def catalogue() -> Catalogue:
    return load_catalogue(CONFIG)


def trial(nct: str) -> Trial:
    return next(t for t in catalogue().trials if t.id == nct)


def child(pid: str, *, age: tuple[int, int] | int = (8, 40), sex: str = "male", **kw: Any) -> PatientBuilder:
    """An 8-year-old with an active neuroblastoma (the paediatric trials' target)."""
    return PatientBuilder(pid, EVAL, age=age, sex=sex, **kw).condition("neuroblastoma", onset_days_ago=400)


def adult(
    pid: str, *, age: tuple[int, int] | int = (45, 100), sex: str = "female", **kw: Any
) -> PatientBuilder:
    """A 45-year-old with an active malignant neoplasm (NCT03619954's target)."""
    return PatientBuilder(pid, EVAL, age=age, sex=sex, **kw).condition(
        "malignant-neoplasm", onset_days_ago=300
    )


def raw_of(builder: PatientBuilder, unavailable: tuple[str, ...] = ()) -> RawPatient:
    """The builder's resources as the gatherer would hand them over (optionally with types unavailable)."""
    resources: dict[str, list[dict[str, Any]]] = {}
    for res in builder.resources():
        if res["resourceType"] in unavailable:
            continue
        resources.setdefault(res["resourceType"], []).append(res)
    return RawPatient(
        patient_id=builder.patient_id,
        resources=resources,
        unavailable={t: "source unavailable" for t in unavailable},
    )


def facts_of(
    builder: PatientBuilder,
    *,
    via: str = "prefetch",
    unavailable: tuple[str, ...] = (),
    config: Config = CONFIG,
    today: dt.date = EVAL,
) -> PatientFacts:
    if via == "prefetch":
        assert not unavailable, "use via='raw' to mark types unavailable"
        raw = gather(builder.hook_request(), config)
    elif via == "raw":
        raw = raw_of(builder, unavailable)
    else:
        raise ValueError(via)
    return build_facts(raw, today, catalogue().mappings, config)


def evaluate(builder: PatientBuilder, nct: str, **kw: Any) -> TrialResult:
    config = kw.get("config", CONFIG)
    facts = facts_of(builder, **kw)
    return evaluate_trial(
        trial(nct), facts, config, catalogue().definitions_version, mappings=catalogue().mappings
    )


def criterion(builder: PatientBuilder, nct: str, cid: str, **kw: Any) -> CriterionResult:
    result = evaluate(builder, nct, **kw)
    matches = [c for c in result.criteria if c.id == cid]
    assert matches, f"{nct} has no criterion {cid}"
    return matches[0]


def explain(c: CriterionResult) -> str:
    """Assertion message: the result, reason and evidence."""
    return f"{c.id}: {c.result} - {c.reason} - {[e.to_json() for e in c.evidence]}"
