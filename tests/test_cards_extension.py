"""The machine-readable result on every card: ``extension["org.nktrials.eligibility"]``."""

from __future__ import annotations

import datetime as dt
import json
import re

from jsonschema import Draft202012Validator

from cds.cards import EXTENSION_KEY, render_cards
from cds.results import RESULT_SCHEMA_VERSION, Verdict
from tests.cards_factory import ROOT, make_config, make_facts, make_result, make_trial, waiting_result

RESULT_SCHEMA = ROOT / "cds" / "schemas" / "result.schema.json"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _cards() -> list[dict]:
    trials = [make_trial("NCT00000001"), make_trial("NCT00000002"), make_trial("NCT00000003")]
    results = [
        waiting_result("NCT00000001"),
        make_result("NCT00000002", Verdict.POSSIBLY_ELIGIBLE),
        make_result("NCT00000003", Verdict.ELIGIBLE),
    ]
    return render_cards(results, trials, make_facts(), make_config())


def test_extension_key_is_the_contract() -> None:
    assert EXTENSION_KEY == "org.nktrials.eligibility"


def test_extension_equals_the_result_json_and_survives_json() -> None:
    result = waiting_result("NCT00000001")
    card = render_cards([result], [make_trial("NCT00000001")], make_facts(), make_config())[0]
    assert card["extension"] == {EXTENSION_KEY: result.to_json()}
    assert json.loads(json.dumps(card))["extension"][EXTENSION_KEY] == result.to_json()


def test_extension_fields() -> None:
    for card in _cards():
        ext = card["extension"][EXTENSION_KEY]
        assert ext["schemaVersion"] == RESULT_SCHEMA_VERSION
        assert ext["trial"] == card["source"]["topic"]["code"]
        assert ext["status"] in {"eligible", "possibly-eligible", "not-yet-eligible"}
        assert DATE.match(ext["evaluatedOn"])
        assert ext["definitionsVersion"] == "abc123def456"
        assert ("eligibleFrom" in ext) == (ext["status"] == "not-yet-eligible")
        for crit in ext["criteria"]:
            assert {"id", "type", "text", "result", "reason", "evidence"} <= set(crit)
            assert crit["result"] in {"met", "not-met", "unknown", "review", "not-applicable"}
    waiting = next(
        c["extension"][EXTENSION_KEY] for c in _cards() if c["source"]["topic"]["code"] == "NCT00000001"
    )
    assert waiting["eligibleFrom"] == "2026-12-05"
    washout = next(c for c in waiting["criteria"] if c["id"] == "inc-07-chemo-washout")
    assert washout["clearsOn"] == "2026-12-05"
    platelets = next(c for c in waiting["criteria"] if c["id"] == "inc-06-platelets")
    assert platelets["repeatBefore"] == "2026-12-09"


def test_eligible_from_is_dropped_unless_not_yet_eligible() -> None:
    stray = make_result(verdict=Verdict.POSSIBLY_ELIGIBLE, eligible_from=dt.date(2026, 12, 5))
    card = render_cards([stray], [make_trial()], make_facts(), make_config())[0]
    assert "eligibleFrom" not in card["extension"][EXTENSION_KEY]


def test_extension_validates_against_the_published_result_schema() -> None:
    validator = Draft202012Validator(json.loads(RESULT_SCHEMA.read_text(encoding="utf-8")))
    for card in _cards():
        errors = [e.message for e in validator.iter_errors(card["extension"][EXTENSION_KEY])]
        assert errors == [], errors


def test_the_documented_example_validates() -> None:
    doc = (ROOT / "docs" / "result-schema.md").read_text(encoding="utf-8")
    example = json.loads(doc.split("```json", 1)[1].split("```", 1)[0])
    validator = Draft202012Validator(json.loads(RESULT_SCHEMA.read_text(encoding="utf-8")))
    assert [e.message for e in validator.iter_errors(example)] == []
    assert example["status"] == "not-yet-eligible" and "eligibleFrom" in example
