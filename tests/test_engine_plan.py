"""Compiled rules, the per-call memo and the fact indexes (cds.engine.plan / cds.engine.scratch).

Speed machinery must never change a result: trials evaluated together give what each gives alone, a memo
never outlives its call, rules that read the trial are never shared between trials, and an index only
narrows down records (in the facts' order).
"""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import weakref
from dataclasses import replace

import pytest

from cds.engine import catalogue_memo, evaluate_trial, evaluate_trials, plan
from cds.engine import timerules as tr
from cds.engine.context import Context
from cds.engine.registry import REGISTRY, TRIAL_KINDS
from cds.engine.scratch import Scratch
from cds.results import Result
from tests.engine_support import CONFIG, StubMappings, criterion, make_trial, run_rule
from tests.facts_factory import condition, drug, make_facts, procedure, research

TODAY = dt.date(2026, 3, 1)
ANC = {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0}
CHEMO_21D = {
    "kind": "exposure",
    "drugClasses": ["myelosuppressive-chemotherapy"],
    "within": {"value": 21, "unit": "d"},
}
RESEARCH = {"kind": "research"}
OTHER_MALIGNANCY = {"kind": "other-malignancy"}


def _two_trials(rule: dict, conditions_b: tuple[str, ...] = ("neuroblastoma",)) -> tuple:
    a = make_trial(
        criteria=[criterion(rule, "inc-01"), criterion({"kind": "not", "rule": rule}, "exc-01", "exclusion")],
        trial_id="NCT00000001",
    )
    b = make_trial(rule=rule, trial_id="NCT00000002", conditions=conditions_b)
    return a, b


def _json(results) -> list[dict]:  # noqa: ANN001
    return [r.to_json() for r in results]


@pytest.mark.parametrize("rule", [ANC, CHEMO_21D, RESEARCH, OTHER_MALIGNANCY])
def test_trials_together_give_what_each_gives_alone(rule: dict) -> None:
    facts = make_facts(
        TODAY,
        age_years=10,
        labs={"anc": 1.2},
        drugs=[drug("myelosuppressive-chemotherapy", end=TODAY - dt.timedelta(days=3))],
        conditions=[condition("malignancy", "osteosarcoma")],
        research_subjects=[research("NCT00000001")],
    )
    trials = _two_trials(rule, conditions_b=("osteosarcoma",))
    mappings = StubMappings()
    together = evaluate_trials(trials, facts, CONFIG, "v", mappings=mappings)
    alone = [evaluate_trial(t, facts, CONFIG, "v", mappings=mappings) for t in trials]
    assert _json(together) == _json(alone)


def test_a_shared_rule_is_evaluated_once_per_call_and_both_trials_get_its_outcome(monkeypatch) -> None:  # noqa: ANN001
    calls: list[str] = []
    original = REGISTRY["lab"]

    def counting(spec, ctx):  # noqa: ANN001, ANN202
        calls.append(spec.concept)
        return original(spec, ctx)

    monkeypatch.setitem(REGISTRY, "lab", counting)
    a, b = _two_trials(dict(ANC))  # equal rules, distinct dict objects
    facts = make_facts(TODAY, labs={"anc": 1.2})
    results = evaluate_trials((a, b), facts, CONFIG, "v", mappings=StubMappings())
    assert calls == ["anc"]
    assert results[0].criteria[0].result == results[1].criteria[0].result == Result.MET
    assert results[0].criteria[0].reason == results[1].criteria[0].reason
    assert results[0].criteria[1].result == Result.NOT_MET  # the negation reuses the memoised part
    evaluate_trials((a, b), facts, CONFIG, "v", mappings=StubMappings())
    assert calls == ["anc", "anc"]  # a new call evaluates afresh: the memo does not outlive its call


def test_the_memo_never_crosses_calls() -> None:
    trial = make_trial(rule=ANC)
    low, high = make_facts(TODAY, labs={"anc": 0.4}), make_facts(TODAY, labs={"anc": 2.0})
    first = evaluate_trials((trial,), low, CONFIG, "v", mappings=StubMappings())
    second = evaluate_trials((trial,), high, CONFIG, "v", mappings=StubMappings())
    assert first[0].criteria[0].result == Result.NOT_MET
    assert second[0].criteria[0].result == Result.MET


def test_rules_reading_the_trial_are_not_shared_between_trials() -> None:
    facts = make_facts(
        TODAY,
        research_subjects=[research("NCT00000001")],
        conditions=[condition("malignancy", "osteosarcoma")],
    )
    a, b = _two_trials(RESEARCH)
    together = evaluate_trials((a, b), facts, CONFIG, "v", mappings=StubMappings())
    assert together[0].criteria[0].result == Result.NOT_MET  # its own study does not count
    assert together[1].criteria[0].result == Result.MET  # another trial's study does
    a, b = _two_trials(OTHER_MALIGNANCY, conditions_b=("osteosarcoma",))
    together = evaluate_trials((a, b), facts, CONFIG, "v", mappings=StubMappings())
    assert together[0].criteria[0].result == Result.MET  # osteosarcoma is another malignancy for trial a
    assert together[1].criteria[0].result == Result.NOT_MET  # but trial b's own target


def test_every_kind_that_reads_the_trial_is_declared() -> None:
    readers = {
        kind for kind, fn in REGISTRY.items() if "ctx.trial" in inspect.getsource(inspect.getmodule(fn))
    }
    assert readers == TRIAL_KINDS == {"research", "other-malignancy"}


def test_memo_keys_keep_distinct_rules_apart() -> None:
    keys = {
        plan.compile_rule(r).key
        for r in (
            {"kind": "lab", "concept": "anc", "op": ">=", "value": 1},
            {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0},
            {"kind": "lab", "concept": "anc", "op": ">=", "value": True},
            {"kind": "lab", "concept": "anc", "value": 1, "op": ">="},
        )
    }
    assert len(keys) == 4
    assert plan.compile_rule(dict(ANC)).key == plan.compile_rule(dict(ANC)).key
    assert (
        plan.compile_rule({"kind": "not", "rule": RESEARCH}).key is None
    )  # above a trial reader: not shared


def test_malformed_and_unknown_rules_still_degrade_gracefully() -> None:
    facts, trial = make_facts(TODAY), make_trial()
    missing_part = run_rule({"kind": "not"}, facts, trial=trial)
    assert missing_part.result == Result.UNKNOWN
    assert missing_part.reason == "could not evaluate this not rule (internal error)"
    assert run_rule({"kind": "all", "of": 5}, facts, trial=trial).result == Result.UNKNOWN
    unknown = run_rule({"kind": "all", "of": [{"kind": "telepathy"}], "ifTrue": "review"}, facts, trial=trial)
    assert unknown.result == Result.REVIEW
    assert unknown.reason == "rule kind 'telepathy' is not known to this engine; check by hand"


def test_compiled_trial_is_cached_per_trial_object_and_dropped_with_it() -> None:
    trial = make_trial(rule=ANC)
    assert plan.compiled_trial(trial) is plan.compiled_trial(trial)
    twin = make_trial(rule=ANC)
    assert plan.compiled_trial(twin) is not plan.compiled_trial(trial)
    key, ref = id(twin), weakref.ref(twin)
    del twin
    gc.collect()
    assert ref() is None
    tables = catalogue_memo._TABLES  # noqa: SLF001
    assert key not in tables or tables[key][0]() is not None  # a dead trial leaves no entry


def test_a_scratch_belongs_to_one_call() -> None:
    facts, other = make_facts(TODAY), make_facts(TODAY)
    mappings = StubMappings()
    scratch = Scratch(facts, CONFIG, mappings)
    trial = make_trial()
    Context(facts=facts, config=CONFIG, trial=trial, mappings=mappings, scratch=scratch)
    with pytest.raises(ValueError, match="one call"):
        Context(facts=other, config=CONFIG, trial=trial, mappings=mappings, scratch=scratch)
    with pytest.raises(ValueError, match="one call"):
        Context(facts=facts, config=CONFIG, trial=trial, mappings=StubMappings(), scratch=scratch)


def test_drug_index_keeps_facts_order_and_lists_each_drug_once() -> None:
    drugs = [
        drug("anticoagulant", end="2026-01-01"),
        drug("nitrosourea", "myelosuppressive-chemotherapy", end="2026-01-02"),
        drug(end="2026-01-03", looks_anticancer_unclassified=True),
        drug("myelosuppressive-chemotherapy", end="2026-01-04"),
    ]
    scratch = Scratch(make_facts(TODAY, drugs=drugs), CONFIG, StubMappings())
    found = scratch.drugs_in(["myelosuppressive-chemotherapy", "nitrosourea"], unclassified_anticancer=True)
    assert [position for position, _ in found] == [1, 2, 3]
    assert [d for _, d in found] == drugs[1:]
    assert [p for p, _ in scratch.drugs_in(["nitrosourea"], unclassified_anticancer=False)] == [1]
    assert scratch.drugs_in(["vaccine-live"], unclassified_anticancer=False) == ()
    again = scratch.drugs_in(["nitrosourea", "myelosuppressive-chemotherapy"], unclassified_anticancer=True)
    assert again is found  # the same question (classes in any order) is answered once per call
    assert [p for p, _ in scratch.drugs_in(["nitrosourea"], unclassified_anticancer=True)] == [1, 2]


def test_exposure_with_index_matches_every_record_it_should() -> None:
    recent, old = TODAY - dt.timedelta(days=3), TODAY - dt.timedelta(days=60)
    facts = make_facts(
        TODAY,
        drugs=[
            drug("anticoagulant", end=recent, name="heparin"),
            drug("myelosuppressive-chemotherapy", end=old, name="etoposide"),
            drug("myelosuppressive-chemotherapy", end=recent, name="carboplatin"),
            drug(end=recent, name="mystery-mab", looks_anticancer_unclassified=True),
        ],
    )
    met = run_rule(CHEMO_21D, facts)
    assert met.result == Result.MET
    assert [e.value for e in met.evidence] == ["carboplatin"]
    heparin, etoposide, _, mystery = facts.drugs
    maybe = run_rule(CHEMO_21D, make_facts(TODAY, drugs=[heparin, etoposide, mystery]))
    assert maybe.result == Result.UNKNOWN  # an unclassified anticancer-looking drug leaves it open
    assert [e.value for e in maybe.evidence] == ["mystery-mab"]
    outside = run_rule(CHEMO_21D, make_facts(TODAY, drugs=[heparin, etoposide]))
    assert outside.result == Result.NOT_MET
    assert [e.value for e in outside.evidence] == ["etoposide"]


def _old_chemo(n: int, days_ago: int = 60) -> list:
    return [
        drug("myelosuppressive-chemotherapy", end=TODAY - dt.timedelta(days=days_ago + i), name=f"old-{i}")
        for i in range(n)
    ]


def test_many_records_outside_the_period_name_the_first_three_in_facts_order() -> None:
    outcome = run_rule(CHEMO_21D, make_facts(TODAY, drugs=_old_chemo(6)))
    assert outcome.result == Result.NOT_MET
    assert [e.value for e in outcome.evidence] == ["old-0", "old-1", "old-2"]
    assert outcome.reason.count("old-") == 3
    two = run_rule(CHEMO_21D, make_facts(TODAY, drugs=_old_chemo(2)))
    assert [e.value for e in two.evidence] == ["old-0", "old-1"]


def test_a_counting_record_after_many_outside_ones_still_decides() -> None:
    recent = drug("myelosuppressive-chemotherapy", end=TODAY - dt.timedelta(days=20), name="recent")
    outcome = run_rule(CHEMO_21D, make_facts(TODAY, drugs=[*_old_chemo(5), recent]))
    assert outcome.result == Result.MET
    assert [e.value for e in outcome.evidence] == ["recent"]
    assert outcome.expires_on == TODAY + dt.timedelta(days=1)  # 20 days ago + 21 days


@pytest.mark.parametrize(
    ("within", "today", "last_over"),
    [
        ({"value": 21, "unit": "d"}, dt.date(2026, 3, 1), dt.date(2026, 2, 8)),
        # 2025-01-29 ... 2025-01-31 + 1 month all end on 2025-02-28 (clamped): over on that day
        ({"value": 1, "unit": "mo"}, dt.date(2025, 2, 28), dt.date(2025, 1, 31)),
    ],
)
def test_after_three_outside_records_the_period_edge_is_unchanged(
    within: dict, today: dt.date, last_over: dt.date
) -> None:
    """Once three outside records are kept, later ones are checked against the period's last over day."""
    rule = {**CHEMO_21D, "within": within}
    old = [
        drug("myelosuppressive-chemotherapy", end=today - dt.timedelta(days=400 + i), name=f"old-{i}")
        for i in range(3)
    ]
    at_edge = drug("myelosuppressive-chemotherapy", end=last_over, name="edge")
    after = drug("myelosuppressive-chemotherapy", end=last_over + dt.timedelta(days=1), name="after")
    over = run_rule(rule, make_facts(today, drugs=[*old, at_edge]))
    assert over.result == Result.NOT_MET
    assert [e.value for e in over.evidence] == ["old-0", "old-1", "old-2"]
    counts = run_rule(rule, make_facts(today, drugs=[*old, at_edge, after]))
    assert counts.result == Result.MET
    assert [e.value for e in counts.evidence] == ["after"]


def test_the_three_shown_records_span_drugs_then_procedures() -> None:
    rule = {
        "kind": "exposure",
        "drugClasses": ["myelosuppressive-chemotherapy"],
        "procedureGroups": ["radiotherapy"],
        "within": {"value": 21, "unit": "d"},
    }
    old_rt = [
        procedure("radiotherapy", end=TODAY - dt.timedelta(days=90 + i), display=f"rt-{i}") for i in range(2)
    ]
    outcome = run_rule(rule, make_facts(TODAY, drugs=_old_chemo(2), procedures=old_rt))
    assert outcome.result == Result.NOT_MET
    assert [e.value for e in outcome.evidence] == ["old-0", "old-1", "rt-0"]
    ongoing = procedure(
        "radiotherapy", start=TODAY - dt.timedelta(days=5), status="in-progress", display="rt-now"
    )
    ongoing = replace(ongoing, end=None)
    current = run_rule(rule, make_facts(TODAY, drugs=_old_chemo(4), procedures=[*old_rt, ongoing]))
    assert current.result == Result.MET
    assert [e.value for e in current.evidence] == ["rt-now"]


def test_current_use_with_many_finished_records() -> None:
    rule = {"kind": "exposure", "drugClasses": ["myelosuppressive-chemotherapy"], "current": True}
    finished = run_rule(rule, make_facts(TODAY, drugs=_old_chemo(5)))
    assert finished.result == Result.NOT_MET
    assert [e.value for e in finished.evidence] == ["old-0", "old-1", "old-2"]
    running = drug(
        "myelosuppressive-chemotherapy", start=TODAY - dt.timedelta(days=2), ongoing=True, name="now"
    )
    assert run_rule(rule, make_facts(TODAY, drugs=[*_old_chemo(5), running])).result == Result.MET


def test_prepared_kinds_read_the_rule_once_at_compile_time() -> None:
    node = plan.compile_rule({"kind": "condition", "groups": ["ild"], "within": {"value": 6, "unit": "mo"}})
    assert node.spec.groups == frozenset({"ild"})
    assert node.spec.within == tr.Duration(6, "mo")
    exposure = plan.compile_rule({"kind": "exposure", "drugClasses": ["il2"], "current": True})
    assert exposure.spec.current and exposure.spec.within is None
    assert exposure.spec.sources == ("MedicationAdministration", "MedicationStatement", "MedicationRequest")
    lab = plan.compile_rule(ANC)
    assert (lab.spec.concept, lab.spec.window_days) == ("anc", None)  # None: the configured window
    sex = plan.compile_rule({"kind": "sex", "in": ["female"]})
    assert sex.spec is sex.rule  # a kind without ``prepare`` gets its rule dict


def test_a_rule_its_kind_cannot_prepare_is_unknown() -> None:
    outcome = run_rule({"kind": "condition"}, make_facts(TODAY), trial=make_trial())
    assert outcome.result == Result.UNKNOWN
    assert outcome.reason == "could not evaluate this condition rule (internal error)"
    assert outcome.needs == ("manual check",)


def test_age_text_is_shared_within_a_call_only() -> None:
    young = {"kind": "age", "max": {"value": 12, "unit": "a"}}
    older = {"kind": "age", "min": {"value": 12, "unit": "a"}}
    trial = make_trial(criteria=[criterion(young, "inc-01"), criterion(older, "inc-02")])
    ten = evaluate_trials((trial,), make_facts(TODAY, age_years=10), CONFIG, "v", mappings=StubMappings())
    assert [c.result for c in ten[0].criteria] == [Result.MET, Result.NOT_MET]
    assert [c.evidence[0].value for c in ten[0].criteria] == ["10 years", "10 years"]
    fifteen = evaluate_trials((trial,), make_facts(TODAY, age_years=15), CONFIG, "v", mappings=StubMappings())
    assert [c.result for c in fifteen[0].criteria] == [Result.NOT_MET, Result.MET]
    assert [c.evidence[0].value for c in fifteen[0].criteria] == ["15 years", "15 years"]
