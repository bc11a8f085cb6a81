"""The labs reader takes the concepts of a record's code from the pre-filter instead of looking them up again:
the lab values are the same as when the reader finds them itself."""

from __future__ import annotations

from typing import Any

import pytest

import cds.normalise.labs as labs_module
from cds.config import Config
from cds.mappings import load_mappings
from cds.normalise import build_facts
from cds.raw import RawPatient
from cds.synthetic import PatientBuilder
from tests.normalise_support import TODAY, patient, raw_of

LOINC = "http://loinc.org"


def _builder() -> PatientBuilder:
    comp = PatientBuilder.component
    b = patient()
    b.lab("anc", 1.2, "10*9/L", days_ago=1)
    b.lab("platelets", 150, "10*9/L", days_ago=2, low=150, high=400)
    b.lab(
        "58410-2",
        display="CBC panel",
        components=[comp("wbc", 5.0, "10*9/L"), comp("hemoglobin", 12.5, "g/dL")],
    )
    b.lab("spo2", 95, "%", components=[comp("3150-0", 40, "%")], days_ago=1)  # code and a component
    b.lab("karnofsky", 80, "{score}", display="Lansky play-performance", days_ago=3)  # a redirected concept
    b.lab("alt", 50, "U/L", days_ago=4)
    b.lab("12345-6", 3, "mg", days_ago=1)  # no concept
    return b


def _with_two_codings(raw: RawPatient) -> None:
    """The ANC record also coded with a repeated coding and a code of another concept (26515-7: platelets)."""
    for res in raw.resources["Observation"]:
        if res["code"]["coding"][0].get("code") == "751-8":
            res["code"]["coding"] += [dict(res["code"]["coding"][0]), {"system": LOINC, "code": "26515-7"}]


@pytest.mark.parametrize("two_codings", [False, True])
def test_values_equal_those_the_reader_finds_itself(
    monkeypatch: pytest.MonkeyPatch, two_codings: bool
) -> None:
    raw = raw_of(_builder())
    if two_codings:
        _with_two_codings(raw)
    handed = build_facts(raw, TODAY, load_mappings(), Config())
    calls: list[Any] = []
    reader = labs_module.read_observation

    def finds_itself(obs: dict[str, Any], build: Any, when: Any = None, code_concepts: Any = None) -> Any:
        calls.append(code_concepts)
        return reader(obs, build, when)

    monkeypatch.setattr(labs_module, "read_observation", finds_itself)
    alone = build_facts(raw, TODAY, load_mappings(), Config())
    assert calls and all(c is not None for c in calls)  # the pre-filter handed them over
    assert handed.labs == alone.labs
    assert {"anc", "wbc", "hemoglobin", "spo2", "alt"} <= set(handed.labs)
    assert len(handed.labs["platelets"]) == (2 if two_codings else 1)
