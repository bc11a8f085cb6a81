"""Builders for card-rendering tests: trials, results and facts made directly (no engine, no FHIR)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from cds.config import Config
from cds.facts import Demographics, FuzzyDate, PatientFacts, ResearchFact, SourceState
from cds.results import CriterionResult, Evidence, Result, TrialResult, Verdict
from cds.trials import Trial

TODAY = dt.date(2026, 11, 27)
ROOT = Path(__file__).resolve().parent.parent


def cds_hooks_schema() -> dict[str, Any]:
    """The project's CDS Hooks 2.0 schema (``cds/schemas/cds-hooks.schema.json``)."""
    return json.loads((ROOT / "cds" / "schemas" / "cds-hooks.schema.json").read_text(encoding="utf-8"))


def card_validator() -> Draft202012Validator:
    return Draft202012Validator({"$ref": "#/$defs/Card", "$defs": cds_hooks_schema()["$defs"]})


def response_validator() -> Draft202012Validator:
    return Draft202012Validator({"$ref": "#/$defs/ServiceResponse", "$defs": cds_hooks_schema()["$defs"]})


def make_trial(
    nct: str = "NCT06631391",
    short_title: str = "UCB NK cells for R/R neuroblastoma",
    status: str = "RECRUITING",
    countries: tuple[str, ...] = ("China",),
    criteria_complete: bool = True,
    status_verified: dt.date | None = dt.date(2025, 2, 20),
) -> Trial:
    return Trial(
        id=nct,
        short_title=short_title,
        title=f"Full title of {short_title}",
        status=status,
        registry_url=f"https://clinicaltrials.gov/study/{nct}",
        criteria=(),
        status_verified=status_verified,
        sites=tuple(
            {"name": f"Hospital {i}", "city": f"City {i}", "country": c, "status": "RECRUITING"}
            for i, c in enumerate(countries)
        ),
        contacts=({"name": "Dr. Contact", "role": "CONTACT", "phone": "+00 000"},),
        criteria_complete=criteria_complete,
    )


def criterion(
    cid: str,
    result: Result,
    text: str | None = None,
    reason: str = "because",
    **kwargs: Any,
) -> CriterionResult:
    return CriterionResult(
        id=cid,
        type=kwargs.pop("type", "inclusion"),
        text=text or f"Criterion {cid}",
        result=result,
        reason=reason,
        **kwargs,
    )


def default_criteria() -> tuple[CriterionResult, ...]:
    return (
        criterion(
            "inc-01-age",
            Result.MET,
            "Age 1 day to 18 years",
            evidence=(Evidence(value=7, unit="a", date="2019-05-01"),),
        ),
        criterion(
            "inc-05-anc",
            Result.UNKNOWN,
            "ANC >= 1.0 x 10^9/L",
            reason="no ANC within 14 days",
            needs=("ANC within 14 days",),
            evidence=(
                Evidence(
                    resource="Observation/o1",
                    value=0.9,
                    unit="10*9/L",
                    date="2026-10-01",
                    limit=1.0,
                    limitSource="trial",
                    note="older than the 14-day screening window",
                ),
            ),
        ),
        criterion("inc-09-consent", Result.REVIEW, "Informed consent", reason="needs the trial team"),
        criterion("exc-02-hiv", Result.NOT_APPLICABLE, "HIV infection", type="exclusion"),
    )


def make_result(
    nct: str = "NCT06631391",
    verdict: Verdict = Verdict.POSSIBLY_ELIGIBLE,
    eligible_from: dt.date | None = None,
    criteria: tuple[CriterionResult, ...] | None = None,
    criteria_complete: bool = True,
    notes: tuple[str, ...] = (),
) -> TrialResult:
    return TrialResult(
        trial=nct,
        status=verdict,
        evaluated_on=TODAY,
        definitions_version="abc123def456",
        criteria=default_criteria() if criteria is None else criteria,
        eligible_from=eligible_from,
        criteria_complete=criteria_complete,
        notes=notes,
    )


def waiting_result(nct: str = "NCT06631391", clears: dt.date = dt.date(2026, 12, 5)) -> TrialResult:
    crit = default_criteria() + (
        criterion(
            "inc-07-chemo-washout",
            Result.NOT_MET,
            "At least 21 days after the last myelosuppressive chemotherapy",
            reason="last dose 2026-11-14",
            clears_on=clears,
            evidence=(Evidence(value="cyclophosphamide", date="2026-11-14"),),
        ),
        criterion(
            "inc-06-platelets",
            Result.MET,
            "Platelets >= 75 x 10^9/L",
            evidence=(Evidence(value=120.0, unit="10*9/L", date="2026-11-25", limit=75),),
            stale_on=dt.date(2026, 12, 9),
        ),
    )
    return make_result(nct, Verdict.NOT_YET_ELIGIBLE, eligible_from=clears, criteria=crit)


def make_facts(
    patient_id: str = "pat-1",
    research: tuple[ResearchFact, ...] = (),
) -> PatientFacts:
    return PatientFacts(
        patient_id=patient_id,
        evaluation_date=TODAY,
        demographics=Demographics(birth_date=FuzzyDate.of(dt.date(2019, 5, 1)), sex="female"),
        sources={"Condition": SourceState.RETRIEVED, "ResearchSubject": SourceState.RETRIEVED},
        research=research,
    )


def make_config(**changes: Any) -> Config:
    return Config(auth="off").with_(**changes)
