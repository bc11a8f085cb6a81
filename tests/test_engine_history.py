"""History predicates: condition, other-malignancy, exposure, steroid-dose, research, allergy (closed world)."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.results import Result
from tests.engine_support import StubMappings, make_trial, run_rule
from tests.facts_factory import allergy, condition, drug, immunization, lab, make_facts, procedure, research

TODAY = dt.date(2026, 3, 1)
ILD = {"kind": "condition", "groups": ["interstitial-lung-disease"]}


class TestCondition:
    def test_present_absent_unavailable(self) -> None:
        assert (
            run_rule(ILD, make_facts(TODAY, conditions=[condition("interstitial-lung-disease")])).result
            == Result.MET
        )
        out = run_rule(ILD, make_facts(TODAY))
        assert out.result == Result.NOT_MET and "no active" in out.reason
        out = run_rule(ILD, make_facts(TODAY, unavailable=["Condition"]))
        assert out.result == Result.UNKNOWN and out.reason == "source unavailable: Condition"

    def test_negated_absent_is_met_none_recorded(self) -> None:
        out = run_rule({"kind": "not", "rule": ILD}, make_facts(TODAY))
        assert out.result == Result.MET and "recorded" in out.reason

    @pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
    def test_refuted_and_entered_in_error_never_count(self, verification: str) -> None:
        facts = make_facts(
            TODAY, conditions=[condition("interstitial-lung-disease", verification=verification)]
        )
        assert run_rule(ILD, facts).result == Result.NOT_MET

    def test_inactive_counts_only_when_active_false(self) -> None:
        facts = make_facts(
            TODAY, conditions=[condition("interstitial-lung-disease", status="resolved", abatement="2025-01")]
        )
        assert run_rule(ILD, facts).result == Result.NOT_MET
        assert run_rule({**ILD, "active": False}, facts).result == Result.MET

    def test_within_edges(self) -> None:
        rule = {
            "kind": "condition",
            "groups": ["myocardial-infarction"],
            "active": False,
            "within": {"value": 6, "unit": "mo"},
        }
        recent = make_facts(TODAY, conditions=[condition("myocardial-infarction", onset="2025-09-02")])
        out = run_rule(rule, recent)
        assert out.result == Result.MET and out.expires_on == dt.date(2026, 3, 2)
        edge = make_facts(TODAY, conditions=[condition("myocardial-infarction", onset="2025-09-01")])
        assert run_rule(rule, edge).result == Result.NOT_MET
        fuzzy_month = make_facts(TODAY, conditions=[condition("myocardial-infarction", onset="2025-09")])
        out = run_rule(rule, fuzzy_month)
        assert out.result == Result.UNKNOWN and out.needs
        no_date = make_facts(TODAY, conditions=[condition("myocardial-infarction")])
        assert run_rule(rule, no_date).result == Result.UNKNOWN
        negated = run_rule({"kind": "not", "rule": rule}, recent)
        assert negated.result == Result.NOT_MET and negated.clears_on == dt.date(2026, 3, 2)

    def test_body_sites(self) -> None:
        rule = {"kind": "condition", "groups": ["malignancy"], "bodySites": ["brain"]}
        brain = make_facts(TODAY, conditions=[condition("malignancy", body_sites=["brain"])])
        liver = make_facts(TODAY, conditions=[condition("malignancy", body_sites=["liver"])])
        unsited = make_facts(TODAY, conditions=[condition("malignancy")])
        assert run_rule(rule, brain).result == Result.MET
        assert run_rule(rule, liver).result == Result.NOT_MET
        assert run_rule(rule, unsited).result == Result.UNKNOWN

    def test_unmapped_group_is_review(self) -> None:
        stub = StubMappings(unmapped={("condition", "interstitial-lung-disease")})
        out = run_rule(ILD, make_facts(TODAY), mappings=stub)
        assert out.result == Result.REVIEW and "no verified codes" in out.reason

    def test_if_true_review(self) -> None:
        rule = {
            "kind": "not",
            "rule": {"kind": "condition", "groups": ["brain-metastasis"], "ifTrue": "review"},
        }
        assert run_rule(rule, make_facts(TODAY)).result == Result.MET
        out = run_rule(rule, make_facts(TODAY, conditions=[condition("brain-metastasis")]))
        assert out.result == Result.REVIEW


class TestOtherMalignancy:
    rule = {
        "kind": "other-malignancy",
        "except": ["basal-cell-carcinoma-skin"],
        "diseaseFree": {"value": 5, "unit": "a"},
    }

    def run(self, *conds):  # noqa: ANN002, ANN201
        trial = make_trial(rule=self.rule, conditions=["neuroblastoma"])
        return run_rule(self.rule, make_facts(TODAY, conditions=list(conds)), trial=trial)

    def test_target_disease_and_exceptions_do_not_count(self) -> None:
        assert self.run(condition("neuroblastoma", "malignancy")).result == Result.NOT_MET
        assert self.run(condition("basal-cell-carcinoma-skin", "malignancy")).result == Result.NOT_MET

    def test_secondary_spread_is_not_another_malignancy(self) -> None:
        for group in ("liver-metastasis", "brain-metastasis", "bone-marrow-involvement", "metastasis"):
            assert self.run(condition(group, "malignancy")).result == Result.NOT_MET, group

    def test_unmapped_exception_matters_only_when_a_malignancy_would_count(self) -> None:
        stub = StubMappings(unmapped={("condition", "basal-cell-carcinoma-skin")})
        trial = make_trial(rule=self.rule, conditions=["neuroblastoma"])

        def run(*conds):  # noqa: ANN002, ANN202
            return run_rule(self.rule, make_facts(TODAY, conditions=list(conds)), stub, trial)

        assert run().result == Result.NOT_MET  # no cancer besides the target: decided
        assert run(condition("neuroblastoma", "malignancy")).result == Result.NOT_MET
        assert run(condition("malignancy", display="skin cancer")).result == Result.REVIEW

    def test_active_other_malignancy_counts(self) -> None:
        out = self.run(condition("malignancy", display="Hodgkin lymphoma"))
        assert out.result == Result.MET and out.expires_on is None

    def test_disease_free_edges(self) -> None:
        within = self.run(condition("malignancy", status="remission", abatement="2021-03-02"))
        assert within.result == Result.MET and within.expires_on == dt.date(2026, 3, 2)
        at = self.run(condition("malignancy", status="remission", abatement="2021-03-01"))
        assert at.result == Result.NOT_MET
        undated = self.run(condition("malignancy", status="resolved"))
        assert undated.result == Result.UNKNOWN

    def test_unavailable(self) -> None:
        trial = make_trial(rule=self.rule)
        out = run_rule(self.rule, make_facts(TODAY, unavailable=["Condition"]), trial=trial)
        assert out.result == Result.UNKNOWN


CHEMO21 = {
    "kind": "exposure",
    "drugClasses": ["myelosuppressive-chemotherapy"],
    "within": {"value": 21, "unit": "d"},
}


class TestExposure:
    def test_waiting_period_edges(self) -> None:
        running = make_facts(
            TODAY, drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-09")]
        )  # clears 03-02
        out = run_rule(CHEMO21, running)
        assert out.result == Result.MET and out.expires_on == dt.date(2026, 3, 2)
        done = make_facts(
            TODAY, drugs=[drug("myelosuppressive-chemotherapy", end="2026-02-08")]
        )  # clears 03-01
        out = run_rule(CHEMO21, done)
        assert out.result == Result.NOT_MET and "more than 21 days" in out.reason
        negated = run_rule({"kind": "not", "rule": CHEMO21}, running)
        assert negated.result == Result.NOT_MET and negated.clears_on == dt.date(2026, 3, 2)

    def test_end_of_period_is_the_anchor(self) -> None:
        facts = make_facts(
            TODAY, drugs=[drug("myelosuppressive-chemotherapy", start="2026-01-01", end="2026-02-20")]
        )
        assert run_rule(CHEMO21, facts).expires_on == dt.date(2026, 3, 13)

    def test_none_recorded_and_unavailable(self) -> None:
        out = run_rule(CHEMO21, make_facts(TODAY))
        assert out.result == Result.NOT_MET and out.reason.startswith("no ")
        out = run_rule(CHEMO21, make_facts(TODAY, unavailable=["MedicationStatement"]))
        assert out.result == Result.UNKNOWN and "MedicationStatement" in out.reason

    def test_several_exposures_latest_clearing_wins(self) -> None:
        rule = {
            "kind": "any",
            "of": [
                CHEMO21,
                {"kind": "exposure", "drugClasses": ["nitrosourea"], "within": {"value": 42, "unit": "d"}},
            ],
        }
        facts = make_facts(
            TODAY,
            drugs=[
                drug("myelosuppressive-chemotherapy", end="2026-02-20"),
                drug("nitrosourea", end="2026-02-01"),
            ],
        )
        out = run_rule({"kind": "not", "rule": rule}, facts)
        assert out.result == Result.NOT_MET and out.clears_on == dt.date(2026, 3, 15)
        two = make_facts(
            TODAY,
            drugs=[
                drug("myelosuppressive-chemotherapy", end="2026-02-20"),
                drug("myelosuppressive-chemotherapy", end="2026-02-01"),
            ],
        )
        assert run_rule(CHEMO21, two).expires_on == dt.date(2026, 3, 13)

    def test_partial_date_straddling_is_unknown(self) -> None:
        facts = make_facts(TODAY, drugs=[drug("myelosuppressive-chemotherapy", end="2026-02")])
        out = run_rule(CHEMO21, facts)
        assert out.result == Result.UNKNOWN and out.needs
        inside = make_facts(dt.date(2026, 2, 5), drugs=[drug("myelosuppressive-chemotherapy", end="2026-01")])
        assert run_rule(CHEMO21, inside).result == Result.UNKNOWN
        early = make_facts(dt.date(2026, 1, 20), drugs=[drug("myelosuppressive-chemotherapy", end="2026-01")])
        # 2026-01-20 is inside January itself: the exposure may still be in the future of the evaluation date,
        # but 2026-01-01 + 21 days = 2026-01-22 > 2026-01-20 so it is certainly within
        out = run_rule(CHEMO21, early)
        assert out.result == Result.MET and out.expires_on == dt.date(2026, 2, 21)

    def test_current_and_ongoing(self) -> None:
        rule = {"kind": "exposure", "drugClasses": ["immunosuppressant"], "current": True}
        ongoing = make_facts(TODAY, drugs=[drug("immunosuppressant", start="2025-01-01", ongoing=True)])
        out = run_rule(rule, ongoing)
        assert out.result == Result.MET and out.expires_on is None
        stopped = make_facts(TODAY, drugs=[drug("immunosuppressant", end="2026-02-28")])
        assert run_rule(rule, stopped).result == Result.NOT_MET
        within = {
            "kind": "exposure",
            "drugClasses": ["immunosuppressant"],
            "within": {"value": 7, "unit": "d"},
        }
        out = run_rule(within, ongoing)
        assert out.result == Result.MET and out.expires_on is None
        negated = run_rule({"kind": "not", "rule": rule}, ongoing)
        assert negated.result == Result.NOT_MET and negated.clears_on is None

    def test_medication_request_counts_only_as_current_use(self) -> None:
        finished = make_facts(
            TODAY, drugs=[drug("immunosuppressant", end="2026-02-28", source="MedicationRequest")]
        )
        assert (
            run_rule({"kind": "exposure", "drugClasses": ["immunosuppressant"]}, finished).result
            == Result.NOT_MET
        )
        active = make_facts(
            TODAY,
            drugs=[drug("immunosuppressant", start="2026-02-01", ongoing=True, source="MedicationRequest")],
        )
        assert (
            run_rule(
                {"kind": "exposure", "drugClasses": ["immunosuppressant"], "current": True}, active
            ).result
            == Result.MET
        )

    def test_routes(self) -> None:
        rule = {
            "kind": "exposure",
            "drugClasses": ["corticosteroid-systemic"],
            "routes": ["oral", "intravenous"],
            "within": {"value": 7, "unit": "d"},
        }
        oral = make_facts(TODAY, drugs=[drug("corticosteroid-systemic", end="2026-02-28", route="oral")])
        topical = make_facts(
            TODAY, drugs=[drug("corticosteroid-systemic", end="2026-02-28", route="topical")]
        )
        unknown = make_facts(TODAY, drugs=[drug("corticosteroid-systemic", end="2026-02-28")])
        assert run_rule(rule, oral).result == Result.MET
        assert run_rule(rule, topical).result == Result.NOT_MET
        assert run_rule(rule, unknown).result == Result.UNKNOWN

    def test_unclassified_anticancer_drug_is_unknown(self) -> None:
        facts = make_facts(
            TODAY, drugs=[drug(end="2026-02-25", name="novel-mab", looks_anticancer_unclassified=True)]
        )
        out = run_rule(CHEMO21, facts)
        assert out.result == Result.UNKNOWN and "novel-mab" in out.reason
        anticoag = {"kind": "exposure", "drugClasses": ["anticoagulant"], "within": {"value": 7, "unit": "d"}}
        assert run_rule(anticoag, facts).result == Result.NOT_MET

    def test_procedures_and_body_sites(self) -> None:
        rule = {"kind": "exposure", "procedureGroups": ["radiotherapy"], "bodySites": ["lung", "liver"]}
        lung = make_facts(
            TODAY, procedures=[procedure("radiotherapy", end="2025-01-01", body_sites=["lung"])]
        )
        brain = make_facts(
            TODAY, procedures=[procedure("radiotherapy", end="2025-01-01", body_sites=["brain"])]
        )
        unsited = make_facts(TODAY, procedures=[procedure("radiotherapy", end="2025-01-01")])
        assert run_rule(rule, lung).result == Result.MET
        assert run_rule(rule, brain).result == Result.NOT_MET
        assert run_rule(rule, unsited).result == Result.UNKNOWN
        assert run_rule(rule, make_facts(TODAY, unavailable=["Procedure"])).result == Result.UNKNOWN

    def test_procedure_waiting_weeks(self) -> None:
        rule = {
            "kind": "exposure",
            "procedureGroups": ["major-surgery"],
            "within": {"value": 4, "unit": "wk"},
        }
        running = make_facts(TODAY, procedures=[procedure("major-surgery", end="2026-02-02")])  # +28 = 03-02
        assert run_rule(rule, running).expires_on == dt.date(2026, 3, 2)
        done = make_facts(TODAY, procedures=[procedure("major-surgery", end="2026-02-01")])
        assert run_rule(rule, done).result == Result.NOT_MET

    def test_vaccines(self) -> None:
        rule = {"kind": "exposure", "vaccineGroups": ["live-vaccine"], "within": {"value": 30, "unit": "d"}}
        recent = make_facts(TODAY, immunizations=[immunization("live-vaccine", on="2026-02-01")])
        assert run_rule(rule, recent).expires_on == dt.date(2026, 3, 3)
        assert run_rule(rule, make_facts(TODAY, unavailable=["Immunization"])).result == Result.UNKNOWN

    def test_unmapped_class_is_review(self) -> None:
        stub = StubMappings(unmapped={("drug", "myelosuppressive-chemotherapy")})
        assert run_rule(CHEMO21, make_facts(TODAY), mappings=stub).result == Result.REVIEW


STEROID = {"kind": "steroid-dose", "mgPerKgPerDay": 0.5, "minDays": 7, "within": {"value": 28, "unit": "d"}}


class TestSteroidDose:
    def facts(self, per_day_mg: float, days: int, weight: float | None = 20.0, end: str = "2026-02-28"):  # noqa: ANN201
        end_d = dt.date.fromisoformat(end)
        start = end_d - dt.timedelta(days=days - 1)
        labs = {"body-weight": lab("body-weight", weight, on="2026-02-20")} if weight else {}
        return make_facts(
            TODAY,
            labs=labs,
            drugs=[
                drug(
                    "corticosteroid-systemic",
                    start=start,
                    end=end_d,
                    route="oral",
                    dose_per_day_mg=per_day_mg,
                    prednisone_factor=1.0,
                )
            ],
        )

    def test_threshold_both_sides(self) -> None:
        assert run_rule(STEROID, self.facts(10, 7)).result == Result.MET  # 10 mg / 20 kg = 0.5
        assert run_rule(STEROID, self.facts(9.9, 7)).result == Result.NOT_MET
        assert run_rule(STEROID, self.facts(10, 6)).result == Result.NOT_MET

    def test_expiry_and_missing_data(self) -> None:
        out = run_rule(STEROID, self.facts(10, 7))
        assert out.expires_on == dt.date(2026, 2, 22) + dt.timedelta(days=28)
        assert run_rule(STEROID, self.facts(10, 7, weight=None)).result == Result.UNKNOWN
        assert run_rule(STEROID, make_facts(TODAY)).result == Result.NOT_MET
        no_dose = make_facts(
            TODAY, drugs=[drug("corticosteroid-systemic", start="2026-02-20", end="2026-02-28", route="oral")]
        )
        assert run_rule(STEROID, no_dose).result == Result.UNKNOWN


class TestResearchAndAllergy:
    def test_research(self) -> None:
        rule = {"kind": "research"}
        assert (
            run_rule(rule, make_facts(TODAY, research_subjects=[research("NCT99999999")])).result
            == Result.MET
        )
        assert (
            run_rule(
                rule, make_facts(TODAY, research_subjects=[research("NCT99999999", status="candidate")])
            ).result
            == Result.NOT_MET
        )
        own = make_trial(rule=rule, trial_id="NCT00000042")
        own_flag = make_facts(TODAY, research_subjects=[research("NCT00000042", status="on-study")])
        assert run_rule(rule, own_flag, trial=own).result == Result.NOT_MET
        assert run_rule(rule, make_facts(TODAY, unavailable=["ResearchSubject"])).result == Result.UNKNOWN
        within = {"kind": "research", "within": {"value": 30, "unit": "d"}}
        ended = make_facts(TODAY, research_subjects=[research("NCT9", status="off-study", end="2026-02-01")])
        assert run_rule(within, ended).result == Result.MET
        long_ago = make_facts(
            TODAY, research_subjects=[research("NCT9", status="off-study", end="2026-01-30")]
        )
        assert run_rule(within, long_ago).result == Result.NOT_MET

    def test_allergy(self) -> None:
        rule = {"kind": "allergy", "groups": ["biologics"]}
        assert run_rule(rule, make_facts(TODAY, allergies=[allergy("biologics")])).result == Result.MET
        assert run_rule(rule, make_facts(TODAY)).result == Result.NOT_MET
        assert run_rule(rule, make_facts(TODAY, unavailable=["AllergyIntolerance"])).result == Result.UNKNOWN


def test_current_with_future_end_and_ignored_statuses() -> None:
    rule = {"kind": "exposure", "drugClasses": ["anticoagulant"], "current": True}
    until = make_facts(
        TODAY,
        drugs=[drug("anticoagulant", start="2026-02-01", end="2026-03-05", source="MedicationStatement")],
    )
    out = run_rule(rule, until)
    assert out.result == Result.MET and out.expires_on == dt.date(2026, 3, 6)
    ended_today = make_facts(TODAY, drugs=[drug("anticoagulant", start="2026-02-01", end=TODAY)])
    assert run_rule(rule, ended_today).expires_on == dt.date(2026, 3, 2)
    ended = make_facts(TODAY, drugs=[drug("anticoagulant", start="2026-02-01", end="2026-02-28")])
    assert run_rule(rule, ended).result == Result.NOT_MET
    error = make_facts(TODAY, drugs=[drug("anticoagulant", end="2026-02-28", status="entered-in-error")])
    assert run_rule({"kind": "exposure", "drugClasses": ["anticoagulant"]}, error).result == Result.NOT_MET


def test_on_hold_administration_still_counts_but_on_hold_order_is_not_current_use() -> None:
    """An on-hold administration/statement was given (docs/normalisation.md); a paused order is not current use.

    Found end to end (tests/test_pipeline_records.py): the engine skipped every on-hold record, so an on-hold
    chemotherapy administration 5 days ago read as "none recorded".
    """
    within = {
        "kind": "exposure",
        "drugClasses": ["myelosuppressive-chemotherapy"],
        "within": {"value": 21, "unit": "d"},
    }
    for source in ("MedicationAdministration", "MedicationStatement"):
        given = make_facts(
            TODAY,
            drugs=[
                drug(
                    "myelosuppressive-chemotherapy",
                    end=TODAY - dt.timedelta(days=5),
                    status="on-hold",
                    source=source,
                )
            ],
        )
        assert run_rule(within, given).result == Result.MET, source
    current = {"kind": "exposure", "drugClasses": ["anticoagulant"], "current": True}
    paused = make_facts(
        TODAY, drugs=[drug("anticoagulant", ongoing=True, status="on-hold", source="MedicationRequest")]
    )
    assert run_rule(current, paused).result == Result.NOT_MET


def test_incomplete_condition_source_still_lets_a_present_record_decide() -> None:
    """Condition marked unavailable because one relevant record was unreadable: a valid matching record still
    counts (true), and without one the answer is unknown, never "none recorded"."""
    rule = {"kind": "condition", "groups": ["neuroblastoma"]}
    present = make_facts(TODAY, conditions=[condition("neuroblastoma")], unavailable=["Condition"])
    assert run_rule(rule, present).result == Result.MET
    absent = make_facts(TODAY, conditions=[condition("gvhd")], unavailable=["Condition"])
    assert run_rule(rule, absent).result == Result.UNKNOWN


def test_on_hold_procedure_without_end_is_current() -> None:
    """A paused (on-hold) radiotherapy course with no end is still current, like an in-progress one."""
    from dataclasses import replace

    rule = {"kind": "exposure", "procedureGroups": ["radiotherapy"], "current": True}
    for status in ("in-progress", "on-hold"):
        running = replace(procedure("radiotherapy", start="2026-01-01", status=status), end=None)
        assert run_rule(rule, make_facts(TODAY, procedures=[running])).result == Result.MET, status
    stopped = procedure("radiotherapy", start="2026-01-01", end="2026-01-20", status="stopped")
    assert run_rule(rule, make_facts(TODAY, procedures=[stopped])).result == Result.NOT_MET
