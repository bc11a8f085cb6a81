"""all / any / not truth tables, clears_on / expires_on propagation, ifTrue / ifFalse overrides; age, sex, review."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from cds.engine.combinators import all_of, any_of, apply_overrides, negate
from cds.results import Outcome, Result
from tests.engine_support import run_rule
from tests.facts_factory import birth_date_for, make_facts

D = dt.date
R = Result
VALUES = [R.MET, R.NOT_MET, R.UNKNOWN, R.REVIEW, R.NOT_APPLICABLE]
ALL_RANK = {R.NOT_MET: 0, R.UNKNOWN: 1, R.REVIEW: 2, R.MET: 3, R.NOT_APPLICABLE: 3}
ANY_RANK = {R.MET: 0, R.NOT_APPLICABLE: 0, R.REVIEW: 1, R.UNKNOWN: 2, R.NOT_MET: 3}


def o(result: Result, **kw) -> Outcome:  # noqa: ANN003
    return Outcome(result, f"part {result.value}", **kw)


def _met(r: Result) -> Result:
    return R.MET if r == R.NOT_APPLICABLE else r


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, VALUES)))
def test_all_truth_table(a: Result, b: Result) -> None:
    expected = _met(min((a, b), key=ALL_RANK.__getitem__))
    assert all_of([o(a), o(b)]).result == expected


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, VALUES)))
def test_any_truth_table(a: Result, b: Result) -> None:
    expected = _met(min((a, b), key=ANY_RANK.__getitem__))
    assert any_of([o(a), o(b)]).result == expected


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (R.MET, R.NOT_MET),
        (R.NOT_MET, R.MET),
        (R.UNKNOWN, R.UNKNOWN),
        (R.REVIEW, R.REVIEW),
        (R.NOT_APPLICABLE, R.NOT_MET),
    ],
)
def test_not_truth_table(part: Result, expected: Result) -> None:
    assert negate(o(part)).result == expected


def test_all_clears_on_latest_not_met_part_or_never() -> None:
    a, b = o(R.NOT_MET, clears_on=D(2026, 3, 5)), o(R.NOT_MET, clears_on=D(2026, 3, 9))
    assert all_of([a, b]).clears_on == D(2026, 3, 9)
    assert all_of([a, o(R.NOT_MET)]).clears_on is None
    assert all_of([a, o(R.MET)]).clears_on == D(2026, 3, 5)
    # a met part that expires before the waiting ends: never clears
    assert all_of([b, o(R.MET, expires_on=D(2026, 3, 9))]).clears_on is None
    assert all_of([b, o(R.MET, expires_on=D(2026, 3, 10))]).clears_on == D(2026, 3, 9)


def test_all_met_expires_on_earliest_part() -> None:
    out = all_of([o(R.MET, expires_on=D(2027, 1, 1)), o(R.MET, expires_on=D(2026, 6, 1)), o(R.MET)])
    assert out.result == R.MET and out.expires_on == D(2026, 6, 1)


def test_any_clears_on_earliest_part_and_expiry_latest() -> None:
    out = any_of([o(R.NOT_MET, clears_on=D(2026, 3, 9)), o(R.NOT_MET, clears_on=D(2026, 3, 5)), o(R.NOT_MET)])
    assert out.clears_on == D(2026, 3, 5)
    assert any_of([o(R.NOT_MET), o(R.NOT_MET)]).clears_on is None
    out = any_of([o(R.MET, expires_on=D(2026, 4, 1)), o(R.MET, expires_on=D(2026, 5, 1))])
    assert out.expires_on == D(2026, 5, 1)
    assert any_of([o(R.MET, expires_on=D(2026, 4, 1)), o(R.MET)]).expires_on is None


def test_not_swaps_dates() -> None:
    assert negate(o(R.MET, expires_on=D(2026, 3, 2))).clears_on == D(2026, 3, 2)
    assert negate(o(R.NOT_MET, clears_on=D(2026, 3, 2))).expires_on == D(2026, 3, 2)
    assert negate(negate(o(R.MET, expires_on=D(2026, 3, 2)))).expires_on == D(2026, 3, 2)


def test_unknown_needs_are_collected() -> None:
    out = all_of(
        [o(R.UNKNOWN, needs=("ANC within 14 days",)), o(R.UNKNOWN, needs=("ALT within 14 days",)), o(R.MET)]
    )
    assert out.needs == ("ANC within 14 days", "ALT within 14 days")
    assert all_of([o(R.NOT_MET), o(R.UNKNOWN, needs=("x",))]).needs == ()


def test_needs_and_evidence_drop_repeats_within_and_across_parts_first_one_kept() -> None:
    from cds.results import Evidence

    a, b = Evidence("Observation/1", 1.0), Evidence("Observation/2", 2.0)
    out = any_of(
        [
            o(R.UNKNOWN, needs=("y", "x", "y"), evidence=(b, a, b)),
            o(R.UNKNOWN, needs=("x", "z"), evidence=(Evidence("Observation/1", 1.0),)),
        ]
    )
    assert out.needs == ("y", "x", "z")
    assert out.evidence == (b, a)
    assert all_of([o(R.UNKNOWN, evidence=(a,)), o(R.MET, evidence=(b,))]).evidence == (a,)
    assert all_of([o(R.UNKNOWN, evidence=(a, a))]).evidence == (a,)  # a single part's repeats go too


def test_overrides() -> None:
    assert apply_overrides(o(R.MET), {"ifTrue": "review"}).result == R.REVIEW
    assert apply_overrides(o(R.NOT_MET), {"ifTrue": "review"}).result == R.NOT_MET
    assert apply_overrides(o(R.NOT_MET), {"ifFalse": "review"}).result == R.REVIEW
    assert apply_overrides(o(R.MET), {"ifFalse": "review"}).result == R.MET
    out = apply_overrides(o(R.MET), {"ifTrue": "review", "reviewReason": "grade it by CTCAE"})
    assert out.reason.endswith("grade it by CTCAE")
    assert apply_overrides(o(R.UNKNOWN), {"ifTrue": "review"}).result == R.UNKNOWN


def test_conditional_relaxation_anc() -> None:
    """ANC >= 1.0, or >= 0.5 with bone marrow involvement."""
    from tests.facts_factory import condition

    rule = {
        "kind": "any",
        "of": [
            {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0},
            {
                "kind": "all",
                "of": [
                    {"kind": "condition", "groups": ["bone-marrow-involvement"]},
                    {"kind": "lab", "concept": "anc", "op": ">=", "value": 0.5},
                ],
            },
        ],
    }
    today = D(2026, 3, 1)
    assert run_rule(rule, make_facts(today, labs={"anc": 0.7})).result == R.NOT_MET
    assert (
        run_rule(
            rule, make_facts(today, labs={"anc": 0.7}, conditions=[condition("bone-marrow-involvement")])
        ).result
        == R.MET
    )
    assert (
        run_rule(
            rule, make_facts(today, labs={"anc": 0.49}, conditions=[condition("bone-marrow-involvement")])
        ).result
        == R.NOT_MET
    )
    assert run_rule(rule, make_facts(today)).result == R.UNKNOWN


def test_unknown_rule_kind_is_review_not_a_crash() -> None:
    from tests.engine_support import make_trial

    trial = make_trial(rule={"kind": "review", "reason": "x"})
    assert run_rule({"kind": "telepathy"}, make_facts(), trial=trial).result == R.REVIEW


class TestAge:
    today = D(2026, 3, 1)
    rule = {"kind": "age", "min": {"value": 2, "unit": "a"}, "max": {"value": 18, "unit": "a"}}

    def test_max_inclusive_in_completed_years(self) -> None:
        eighteen = make_facts(
            self.today, birth_date=birth_date_for(self.today, 19, extra_days=-1)
        )  # 19 tomorrow
        out = run_rule(self.rule, eighteen)
        assert out.result == R.MET and out.expires_on == D(2026, 3, 2)
        nineteen = make_facts(self.today, age_years=19)  # 19th birthday today
        out = run_rule(self.rule, nineteen)
        assert out.result == R.NOT_MET and out.clears_on is None

    def test_below_minimum_clears_on_birthday(self) -> None:
        young = make_facts(self.today, birth_date=birth_date_for(self.today, 2, extra_days=-10))
        out = run_rule(self.rule, young)
        assert out.result == R.NOT_MET and out.clears_on == D(2026, 3, 11)
        exactly = make_facts(self.today, age_years=2)
        assert run_rule(self.rule, exactly).result == R.MET

    def test_min_days(self) -> None:
        rule = {"kind": "age", "min": {"value": 1, "unit": "d"}}
        assert run_rule(rule, make_facts(self.today, birth_date=self.today)).clears_on == D(2026, 3, 2)
        assert run_rule(rule, make_facts(self.today, birth_date=D(2026, 2, 28))).result == R.MET

    def test_unknown_and_imprecise_birth_date(self) -> None:
        assert run_rule(self.rule, make_facts(self.today)).result == R.UNKNOWN
        year_only = make_facts(self.today, birth_date="2007")  # 18 or 19 on 2026-03-01
        assert run_rule(self.rule, year_only).result == R.UNKNOWN
        clear = make_facts(self.today, birth_date="2015")
        out = run_rule(self.rule, clear)
        assert out.result == R.MET and out.expires_on == D(2034, 1, 1)

    def test_leap_day_birthday(self) -> None:
        rule = {"kind": "age", "max": {"value": 17, "unit": "a"}}
        born = D(2008, 2, 29)
        assert run_rule(rule, make_facts(D(2026, 2, 27), birth_date=born)).result == R.MET
        assert run_rule(rule, make_facts(D(2026, 2, 28), birth_date=born)).result == R.NOT_MET


def test_sex_rule() -> None:
    rule = {"kind": "sex", "in": ["female"]}
    assert run_rule(rule, make_facts(sex="female")).result == R.MET
    assert run_rule(rule, make_facts(sex="male")).result == R.NOT_MET
    out = run_rule(rule, make_facts(sex=None))
    assert out.result == R.UNKNOWN and out.needs == ("administrative sex",)
    assert run_rule(rule, make_facts(sex="unknown")).result == R.UNKNOWN


def test_review_rule() -> None:
    out = run_rule(
        {"kind": "review", "reason": "life expectancy >= 3 months", "needs": "investigator"}, make_facts()
    )
    assert (
        out.result == R.REVIEW
        and out.reason == "life expectancy >= 3 months"
        and out.needs == ("investigator",)
    )
