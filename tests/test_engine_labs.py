"""lab / coded / performance rules: both sides of thresholds, window edges, ULN sources, sex-specific limits."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.engine.rules._labs import context_evidence, pick_latest, resolve_same_day
from cds.results import Result, make_outcome
from tests.engine_support import StubMappings, run_rule
from tests.facts_factory import lab, make_facts

TODAY = dt.date(2026, 3, 1)
ANC = {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0}


@pytest.mark.parametrize(
    ("value", "expected"), [(0.99, Result.NOT_MET), (1.0, Result.MET), (1.01, Result.MET)]
)
def test_absolute_threshold_both_sides(value: float, expected: Result) -> None:
    out = run_rule(ANC, make_facts(TODAY, labs={"anc": value}))
    assert out.result == expected
    assert out.evidence[0].limit == 1.0 and out.evidence[0].limitSource == "trial"
    assert "ANC" in out.reason


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 1.0, False),
        ("<", 0.9, True),
        ("<=", 1.0, True),
        (">", 1.0, False),
        (">", 1.1, True),
        ("==", 1.0, True),
    ],
)
def test_operators(op: str, value: float, expected: bool) -> None:
    out = run_rule(
        {"kind": "lab", "concept": "anc", "op": op, "value": 1.0}, make_facts(TODAY, labs={"anc": value})
    )
    assert (out.result == Result.MET) is expected


def test_window_edges_default_14_days() -> None:
    inside = make_facts(TODAY, labs={"anc": lab("anc", 2.0, on="2026-02-15")})  # 14 days old
    out = run_rule(ANC, inside)
    assert out.result == Result.MET
    assert out.stale_on == dt.date(2026, 3, 2)
    outside = make_facts(TODAY, labs={"anc": lab("anc", 2.0, on="2026-02-14")})  # 15 days old
    out = run_rule(ANC, outside)
    assert out.result == Result.UNKNOWN
    assert out.needs == ("ANC within 14 days",)
    assert out.evidence and out.evidence[0].note == "older than the 14-day window"
    assert "last 2" in out.reason


def test_per_rule_window_days() -> None:
    rule = {**ANC, "windowDays": 7}
    assert (
        run_rule(rule, make_facts(TODAY, labs={"anc": lab("anc", 2.0, on="2026-02-22")})).result == Result.MET
    )
    assert (
        run_rule(rule, make_facts(TODAY, labs={"anc": lab("anc", 2.0, on="2026-02-21")})).result
        == Result.UNKNOWN
    )


def test_latest_value_in_window_decides() -> None:
    facts = make_facts(
        TODAY, labs={"anc": [lab("anc", 2.0, on="2026-02-20"), lab("anc", 0.5, on="2026-02-27")]}
    )
    out = run_rule(ANC, facts)
    assert out.result == Result.NOT_MET
    assert out.evidence[0].value == 0.5


def test_missing_and_unusable_values_are_unknown_never_not_met() -> None:
    assert run_rule(ANC, make_facts(TODAY)).result == Result.UNKNOWN
    bad = make_facts(TODAY, labs={"anc": lab("anc", None, on=TODAY, problem="unknown unit 'bananas'")})
    out = run_rule(ANC, bad)
    assert out.result == Result.UNKNOWN
    assert "bananas" in out.reason
    assert out.evidence[0].note.startswith("not usable")


def test_unusable_newer_value_does_not_hide_usable_older_one() -> None:
    facts = make_facts(
        TODAY, labs={"anc": [lab("anc", None, on=TODAY, problem="NaN"), lab("anc", 1.5, on="2026-02-25")]}
    )
    assert run_rule(ANC, facts).result == Result.MET


def test_future_dated_value_is_ignored() -> None:
    facts = make_facts(TODAY, labs={"anc": lab("anc", 0.2, on="2026-03-05")})
    assert run_rule(ANC, facts).result == Result.UNKNOWN


ALT = {"kind": "lab", "concept": "alt", "op": "<=", "uln": 3}


@pytest.mark.parametrize(
    ("value", "expected"), [(120, Result.MET), (120.5, Result.NOT_MET), (119, Result.MET)]
)
def test_uln_multiple(value: float, expected: Result) -> None:
    facts = make_facts(TODAY, labs={"alt": lab("alt", value, on=TODAY, ref_high=40)})
    out = run_rule(ALT, facts)
    assert out.result == expected
    assert out.evidence[0].limit == 120
    assert out.evidence[0].limitSource == "observation"


def test_uln_float_boundary_is_inclusive() -> None:
    rule = {"kind": "lab", "concept": "creatinine", "op": "<=", "uln": 1.5}
    facts = make_facts(TODAY, labs={"creatinine": lab("creatinine", 1.05, on=TODAY, ref_high=0.7)})
    assert run_rule(rule, facts).result == Result.MET


def test_uln_fallback_sources_are_surfaced() -> None:
    facts = make_facts(
        TODAY, labs={"alt": lab("alt", 50, on=TODAY, ref_high=40, ref_source="fallback:paediatric")}
    )
    out = run_rule(ALT, facts)
    assert out.evidence[0].limitSource == "fallback:paediatric"
    assert "fallback ULN" in out.reason
    facts = make_facts(
        TODAY,
        labs={"alt": lab("alt", 50, on=TODAY, ref_high=40, ref_source="fallback-unverified:paediatric")},
    )
    out = run_rule(ALT, facts)
    assert out.evidence[0].limitSource == "fallback-unverified:paediatric"
    assert "unverified fallback ULN" in out.reason


def test_no_uln_is_unknown_never_an_invented_limit() -> None:
    out = run_rule(ALT, make_facts(TODAY, labs={"alt": lab("alt", 500, on=TODAY)}))
    assert out.result == Result.UNKNOWN
    assert out.needs == ("ALT reference range (ULN)",)
    assert all(e.limit is None for e in out.evidence)


def test_uln_plus_offset() -> None:
    rule = {"kind": "lab", "concept": "pt", "op": ">", "uln": 1, "plus": 4}
    at = make_facts(TODAY, labs={"pt": lab("pt", 17, on=TODAY, ref_high=13)})
    above = make_facts(TODAY, labs={"pt": lab("pt", 17.1, on=TODAY, ref_high=13)})
    assert run_rule(rule, at).result == Result.NOT_MET
    out = run_rule(rule, above)
    assert out.result == Result.MET
    assert "ULN + 4" in out.reason and out.evidence[0].limit == 17


QTC = {"kind": "lab", "concept": "qtc", "op": ">=", "value": {"male": 450, "female": 470}}


@pytest.mark.parametrize(
    ("sex", "value", "expected"),
    [
        ("male", 449, Result.NOT_MET),
        ("male", 450, Result.MET),
        ("female", 469, Result.NOT_MET),
        ("female", 470, Result.MET),
        (None, 460, Result.UNKNOWN),  # depends on sex
        (None, 440, Result.NOT_MET),  # below both limits
        (None, 480, Result.MET),  # above both limits
    ],
)
def test_sex_specific_limits(sex: str | None, value: float, expected: Result) -> None:
    out = run_rule(QTC, make_facts(TODAY, sex=sex, labs={"qtc": value}))
    assert out.result == expected
    if expected == Result.UNKNOWN:
        assert out.needs == ("administrative sex",)


def test_unmapped_concept_is_review() -> None:
    out = run_rule(
        ANC, make_facts(TODAY, labs={"anc": 2.0}), mappings=StubMappings(unmapped={("lab", "anc")})
    )
    assert out.result == Result.REVIEW
    assert "no verified codes" in out.reason


CODED = {"kind": "coded", "concept": "hbsag", "in": ["negative"]}


def test_coded_both_sides_and_window() -> None:
    neg = make_facts(TODAY, labs={"hbsag": lab("hbsag", coded="negative", on="2026-02-20")})
    pos = make_facts(TODAY, labs={"hbsag": lab("hbsag", coded="positive", on="2026-02-20")})
    old = make_facts(TODAY, labs={"hbsag": lab("hbsag", coded="negative", on="2026-01-01")})
    assert run_rule(CODED, neg).result == Result.MET
    assert run_rule(CODED, pos).result == Result.NOT_MET
    out = run_rule(CODED, old)
    assert out.result == Result.UNKNOWN and out.needs == ("HBsAg within 14 days",)
    assert run_rule({**CODED, "windowDays": 90}, old).result == Result.MET
    assert run_rule(CODED, neg, mappings=StubMappings(unmapped={("coded", "hbsag")})).result == Result.REVIEW


PERF = {"kind": "performance", "scale": "karnofsky-lansky", "op": ">=", "value": 50}


def test_performance_lansky_below_16_karnofsky_from_16() -> None:
    child = make_facts(TODAY, age_years=15, labs={"lansky": 50, "karnofsky": 30})
    assert run_rule(PERF, child).result == Result.MET
    child_low = make_facts(TODAY, age_years=15, labs={"lansky": 40})
    assert run_rule(PERF, child_low).result == Result.NOT_MET
    teen = make_facts(TODAY, age_years=16, labs={"lansky": 90, "karnofsky": 40})
    assert run_rule(PERF, teen).result == Result.NOT_MET
    only_lansky = make_facts(TODAY, age_years=16, labs={"lansky": 90})
    out = run_rule(PERF, only_lansky)
    assert out.result == Result.UNKNOWN and out.needs == ("Karnofsky score within 30 days",)


def test_performance_window_30_days_and_switch_age() -> None:
    edge = make_facts(TODAY, age_years=30, labs={"karnofsky": lab("karnofsky", 60, on="2026-01-30")})
    assert run_rule(PERF, edge).result == Result.MET
    old = make_facts(TODAY, age_years=30, labs={"karnofsky": lab("karnofsky", 60, on="2026-01-29")})
    assert run_rule(PERF, old).result == Result.UNKNOWN
    twelve = make_facts(TODAY, age_years=12, labs={"karnofsky": 70})
    assert run_rule({**PERF, "switchAge": 12}, twelve).result == Result.MET
    assert run_rule(PERF, make_facts(TODAY, labs={"karnofsky": 70})).result == Result.UNKNOWN  # age unknown


def test_ecog() -> None:
    rule = {"kind": "performance", "scale": "ecog", "op": "<=", "value": 2}
    assert run_rule(rule, make_facts(TODAY, age_years=50, labs={"ecog": 2})).result == Result.MET
    assert run_rule(rule, make_facts(TODAY, age_years=50, labs={"ecog": 3})).result == Result.NOT_MET


def test_contradictory_same_day_values_are_unknown() -> None:
    facts = make_facts(TODAY, labs={"anc": [lab("anc", 1.5, on=TODAY), lab("anc", 0.3, on=TODAY)]})
    out = run_rule(ANC, facts)
    assert out.result == Result.UNKNOWN
    assert out.needs == (f"ANC repeated (conflicting results on {TODAY})",)
    assert len(out.evidence) == 2


def test_same_day_values_that_agree_decide() -> None:
    facts = make_facts(TODAY, labs={"anc": [lab("anc", 1.5, on=TODAY), lab("anc", 1.2, on=TODAY)]})
    assert run_rule(ANC, facts).result == Result.MET
    # a newer day wins over an older contradicting value
    facts = make_facts(
        TODAY, labs={"anc": [lab("anc", 0.3, on="2026-02-25"), lab("anc", 1.2, on="2026-02-28")]}
    )
    assert run_rule(ANC, facts).result == Result.MET


def test_same_day_value_without_uln_does_not_block_one_with_uln() -> None:
    facts = make_facts(TODAY, labs={"alt": [lab("alt", 50, on=TODAY), lab("alt", 50, on=TODAY, ref_high=40)]})
    assert run_rule(ALT, facts).result == Result.MET


def test_contradictory_same_day_coded_and_performance() -> None:
    coded = make_facts(
        TODAY,
        labs={"hbsag": [lab("hbsag", coded="negative", on=TODAY), lab("hbsag", coded="positive", on=TODAY)]},
    )
    assert run_rule(CODED, coded).result == Result.UNKNOWN
    perf = make_facts(
        TODAY, age_years=10, labs={"lansky": [lab("lansky", 80, on=TODAY), lab("lansky", 30, on=TODAY)]}
    )
    assert run_rule(PERF, perf).result == Result.UNKNOWN


def test_unconverted_value_evidence_keeps_its_own_unit_only() -> None:
    """A value that could not be converted is shown as recorded, without the concept's canonical unit.

    Found end to end (tests/test_pipeline_units.py): HBV DNA "10 {copies}/mL" was shown with unit "[IU]/mL"."""
    from dataclasses import replace

    item = replace(lab("anc", None, on=TODAY, problem="unknown unit 'bananas'"), original_value="2 bananas")
    out = run_rule(ANC, make_facts(TODAY, labs={"anc": item}))
    assert out.evidence[0].value == "2 bananas"
    assert out.evidence[0].unit is None


@pytest.mark.parametrize("result", list(Result))
def test_a_lone_same_day_result_is_the_answer(result: Result) -> None:
    """One value on the deciding day: its outcome, whatever it is (decided or not)."""
    item = lab("anc", 1.5, on=TODAY)
    alone = make_outcome(result, "ANC 1.5")
    assert resolve_same_day([alone], "ANC", item, 14) is alone


def test_context_evidence_is_empty_without_older_or_unusable_values() -> None:
    fresh = pick_latest([lab("anc", 1.5, on=TODAY)], 14, TODAY, lambda v: True)
    assert context_evidence(fresh, 14) == ()
    old = pick_latest(
        [lab("anc", 1.5, on=TODAY), lab("anc", 1.1, on="2025-01-01")], 14, TODAY, lambda v: True
    )
    (shown,) = context_evidence(old, 14)
    assert shown.value == 1.1
    assert shown.note == "older than the 14-day window"
