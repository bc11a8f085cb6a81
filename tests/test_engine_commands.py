"""``nk-cds check`` and ``nk-cds trials``; lab context filter; seed quote matching."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

import cds.mappings
from cds.cli import main
from cds.commands.check import run_checks
from cds.commands.trials import summarise
from cds.engine.sources import quote_found, unescape_markdown
from cds.results import Result
from tests.engine_support import StubMappings, criterion, make_trial, run_rule
from tests.facts_factory import lab, make_facts

SEED = "001_3674636d8dd06494.txt"


def _trial_doc(rule: dict, quote: str = "Bone marrow suppressive chemotherapy") -> dict:
    return {
        "id": "NCT00000042",
        "shortTitle": "Test",
        "title": "Test trial",
        "status": "RECRUITING",
        "registryUrl": "https://clinicaltrials.gov/study/NCT00000042",
        "criteriaComplete": True,
        "criteria": [
            {
                "id": "inc-01",
                "type": "inclusion",
                "text": "t",
                "source": {"file": SEED, "quote": quote},
                "rule": rule,
            }
        ],
    }


@pytest.fixture
def stub_mappings(monkeypatch: pytest.MonkeyPatch) -> StubMappings:
    stub = StubMappings(undefined={("lab", "no-such-concept")}, unmapped={("lab", "lvef")})
    monkeypatch.setattr(cds.mappings, "load_mappings", lambda *a, **k: stub)
    return stub


def _write(tmp_path: Path, doc: dict) -> Path:
    (tmp_path / f"{doc['id']}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return tmp_path


def test_check_passes_a_good_trial(tmp_path: Path, stub_mappings: StubMappings) -> None:
    report = run_checks(
        _write(tmp_path, _trial_doc({"kind": "lab", "concept": "lvef", "op": ">=", "value": 50}))
    )
    assert report.ok, report.errors
    assert report.summary().startswith("OK: 1 trials, 1 criteria, 1 source quotes")
    assert report.unmapped == 1


def test_check_fails_on_undefined_concept(tmp_path: Path, stub_mappings: StubMappings) -> None:
    report = run_checks(
        _write(tmp_path, _trial_doc({"kind": "lab", "concept": "no-such-concept", "op": ">=", "value": 1}))
    )
    assert not report.ok
    assert "no mapping defines lab 'no-such-concept'" in report.errors[0]


def test_check_fails_on_missing_quote_and_schema_error(tmp_path: Path, stub_mappings: StubMappings) -> None:
    report = run_checks(
        _write(tmp_path, _trial_doc({"kind": "review", "reason": "x"}, quote="not in the seed at all"))
    )
    assert any("quote not found" in e for e in report.errors)
    bad = _trial_doc({"kind": "lab", "concept": "anc", "op": "=>", "value": 1})
    report = run_checks(_write(tmp_path, bad))
    assert any("NCT00000042.yaml" in e for e in report.errors)


def test_check_cli_exit_codes(
    tmp_path: Path, stub_mappings: StubMappings, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path, _trial_doc({"kind": "review", "reason": "x"}))
    assert main(["check", "--trials-dir", str(good)]) == 0
    assert capsys.readouterr().out.startswith("OK:")
    _write(tmp_path, _trial_doc({"kind": "review", "reason": "x"}, quote="nowhere to be found"))
    assert main(["check", "--trials-dir", str(good)]) == 1
    assert "quote not found" in capsys.readouterr().err


def test_check_passes_on_the_real_catalogue() -> None:
    report = run_checks()
    assert report.ok, report.errors
    assert report.trials == 5


def test_quotes_compare_after_removing_markdown_escapes() -> None:
    assert unescape_markdown(r"ANC \>= 1.0 x 10\^9/L, age \<16") == "ANC >= 1.0 x 10^9/L, age <16"
    assert quote_found(SEED, "Bone marrow suppressive chemotherapy") is True
    assert quote_found(SEED, "Bone marrow suppressive chemotherapy: never") is False
    assert quote_found("no-such-file.txt", "x") is None


def test_trials_summary_counts_and_curator_notes(capsys: pytest.CaptureFixture[str]) -> None:
    trial = make_trial(
        criteria=[
            criterion({"kind": "review", "reason": "consent"}, cid="inc-01"),
            criterion({"kind": "lab", "concept": "anc", "op": ">=", "value": 1}, cid="inc-02"),
            criterion(
                {"kind": "sex", "in": ["female"]},
                cid="exc-01",
                ctype="exclusion",
                curatorReview=True,
                note="garbled",
            ),
        ],
        complete=False,
    )
    summary = summarise(trial)
    assert (summary.encoded, summary.computable, summary.review) == (3, 2, 1)
    assert summary.curator == (("exc-01", "garbled"),)
    text = "\n".join(summary.lines())
    assert "curator review exc-01: garbled" in text and "registry" in text
    assert main(["trials"]) == 0
    assert "computable" in capsys.readouterr().out


SPO2 = {"kind": "lab", "concept": "spo2", "op": ">=", "value": 94, "context": {"oxygen": "room-air"}}


def test_lab_context_filter() -> None:
    today = dt.date(2026, 3, 1)
    on_oxygen = lab("spo2", 98, on=today, context={"oxygen": "supplemental"})
    room_air = lab("spo2", 93, on="2026-02-27", context={"oxygen": "room-air"})
    out = run_rule(SPO2, make_facts(today, labs={"spo2": [on_oxygen, room_air]}))
    assert out.result == Result.NOT_MET and out.evidence[0].value == 93
    out = run_rule(SPO2, make_facts(today, labs={"spo2": [on_oxygen]}))
    assert out.result == Result.UNKNOWN and out.needs == ("SpO2 (room-air) within 14 days",)
    assert "other conditions" in out.reason
    unrecorded = run_rule(SPO2, make_facts(today, labs={"spo2": 95}))
    assert unrecorded.result == Result.MET and unrecorded.evidence[0].note == "oxygen not recorded"
    assert run_rule(SPO2, make_facts(today, labs={"spo2": 95}), mappings=StubMappings()).result == Result.MET
