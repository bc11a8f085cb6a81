"""The trial-file JSON Schema (cds/schemas/trial.schema.json) accepts the documented format, rejects the rest."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from cds.errors import DefinitionError
from cds.trials import parse_trial

BASE = {
    "id": "NCT06631391",
    "shortTitle": "UCB NK cells for R/R neuroblastoma",
    "title": "Phase I Study",
    "phase": "PHASE1",
    "status": "RECRUITING",
    "statusVerified": dt.date(2025, 2, 20),  # as YAML loads an unquoted date
    "registryUrl": "https://clinicaltrials.gov/study/NCT06631391",
    "seedFile": "001_3674636d8dd06494.txt",
    "conditions": ["neuroblastoma"],
    "ages": {"min": {"value": 1, "unit": "d"}, "max": {"value": 18, "unit": "a"}},
    "sex": "all",
    "sites": [{"name": "SYSUCC", "city": "Guangzhou", "country": "China", "status": "RECRUITING"}],
    "contacts": [{"name": "A", "role": "CONTACT", "phone": "1"}],
    "criteriaComplete": True,
    "criteria": [
        {
            "id": "inc-07-chemo-washout",
            "type": "inclusion",
            "text": "At least 21 days after chemotherapy",
            "source": {"file": "001_3674636d8dd06494.txt", "quote": "Bone marrow suppressive chemotherapy"},
            "rule": {
                "kind": "not",
                "rule": {
                    "kind": "exposure",
                    "drugClasses": ["myelosuppressive-chemotherapy"],
                    "within": {"value": 21, "unit": "d"},
                },
            },
        },
        {
            "id": "exc-01",
            "type": "exclusion",
            "text": "pregnancy test",
            "source": "registry",
            "appliesWhen": {"kind": "sex", "in": ["female"]},
            "rule": {"kind": "coded", "concept": "pregnancy-test", "in": ["negative"]},
            "curatorReview": True,
            "note": "why",
        },
    ],
}


def doc_with(rule: dict | None = None, **criterion_changes) -> dict:  # noqa: ANN003
    doc = copy.deepcopy(BASE)
    if rule is not None:
        doc["criteria"][0]["rule"] = rule
    doc["criteria"][0].update(criterion_changes)
    return doc


def test_documented_format_is_valid() -> None:
    trial = parse_trial(copy.deepcopy(BASE))
    assert trial.status_verified == dt.date(2025, 2, 20)
    assert trial.criteria[1].applies_when == {"kind": "sex", "in": ["female"]}


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "lab", "concept": "pt", "op": ">", "uln": 1, "plus": 4},
        {
            "kind": "lab",
            "concept": "qtc",
            "op": ">=",
            "value": {"male": 450, "female": 470},
            "windowDays": 28,
        },
        {"kind": "lab", "concept": "spo2", "op": ">=", "value": 94, "context": {"oxygen": "room-air"}},
        {"kind": "performance", "scale": "karnofsky-lansky", "op": ">=", "value": 50, "switchAge": 16},
        {
            "kind": "other-malignancy",
            "except": ["basal-cell-carcinoma-skin"],
            "diseaseFree": {"value": 5, "unit": "a"},
        },
        {"kind": "steroid-dose", "mgPerKgPerDay": 0.5, "minDays": 7, "within": {"value": 4, "unit": "wk"}},
        {"kind": "any", "of": [{"kind": "research"}, {"kind": "allergy", "groups": ["biologics"]}]},
        {
            "kind": "not",
            "rule": {
                "kind": "condition",
                "groups": ["brain-metastasis"],
                "ifTrue": "review",
                "reviewReason": "x",
            },
        },
        {"kind": "review", "reason": "consent", "needs": "signed consent"},
    ],
)
def test_rule_kinds_accepted(rule: dict) -> None:
    parse_trial(doc_with(rule))


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "telepathy"},
        {"kind": "lab", "concept": "anc", "op": "=>", "value": 1},
        {"kind": "lab", "concept": "anc", "op": ">=", "value": 1, "uln": 2},  # both limits
        {"kind": "lab", "concept": "anc", "op": ">=", "value": 1, "plus": 2},  # plus without uln
        {"kind": "lab", "concept": "anc", "op": ">="},  # no limit
        {"kind": "exposure", "within": {"value": 21, "unit": "d"}},  # nothing to be exposed to
        {"kind": "exposure", "drugClasses": ["x"], "within": {"value": 21, "unit": "days"}},
        {"kind": "exposure", "drugClasses": ["x"], "within": {"value": 21, "unit": "d"}, "current": True},
        {"kind": "condition", "groups": []},
        {"kind": "condition", "groups": ["Bad Name"]},
        {"kind": "all", "of": []},
        {"kind": "age"},
        {"kind": "sex", "in": ["m"]},
        {"kind": "coded", "concept": "hbsag", "in": ["pos"]},
        {"kind": "condition", "groups": ["hiv"], "ifTrue": "unknown"},
        {"kind": "condition", "groups": ["hiv"], "typo": 1},
    ],
)
def test_bad_rules_rejected(rule: dict) -> None:
    with pytest.raises(DefinitionError):
        parse_trial(doc_with(rule))


def test_criterion_level_rules() -> None:
    with pytest.raises(DefinitionError):
        parse_trial(doc_with(curatorReview=True))  # curatorReview needs a note
    with pytest.raises(DefinitionError):
        parse_trial(doc_with(type="optional"))
    with pytest.raises(DefinitionError):
        parse_trial(doc_with(source={"file": "x.txt"}))
    long_title = copy.deepcopy(BASE)
    long_title["shortTitle"] = "x" * 61
    with pytest.raises(DefinitionError):
        parse_trial(long_title)
    missing = copy.deepcopy(BASE)
    del missing["criteriaComplete"]
    with pytest.raises(DefinitionError):
        parse_trial(missing)
