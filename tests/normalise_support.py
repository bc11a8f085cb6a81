"""Helpers for the normaliser and mapping tests (not a test module)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cds.config import Config
from cds.facts import PatientFacts
from cds.mappings import load_mappings
from cds.normalise import build_facts
from cds.raw import RawPatient
from cds.synthetic import PatientBuilder

TODAY = dt.date(2026, 11, 27)


def raw_of(builder: PatientBuilder, unavailable: dict[str, str] | None = None) -> RawPatient:
    resources: dict[str, list[dict[str, Any]]] = {}
    for res in builder.resources():
        resources.setdefault(res["resourceType"], []).append(res)
    return RawPatient(builder.patient_id, resources, unavailable=dict(unavailable or {}))


def facts_of(
    builder: PatientBuilder,
    *,
    config: Config | None = None,
    today: dt.date = TODAY,
    unavailable: dict[str, str] | None = None,
) -> PatientFacts:
    return build_facts(raw_of(builder, unavailable), today, load_mappings(), config or Config())


def patient(pid: str = "p1", **kw: Any) -> PatientBuilder:
    kw.setdefault("age", (30, 0))
    kw.setdefault("sex", "female")
    return PatientBuilder(pid, TODAY, **kw)
