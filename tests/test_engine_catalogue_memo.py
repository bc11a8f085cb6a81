"""The per-catalogue memo (cds/engine/catalogue_memo.py) and the unmapped check kept in it."""

from __future__ import annotations

import datetime as dt
import gc

from cds.engine.catalogue_memo import _TABLES, memo_for
from cds.results import Result
from tests.engine_support import StubMappings, run_rule
from tests.facts_factory import make_facts

TODAY = dt.date(2026, 11, 27)
ANC = {"kind": "lab", "concept": "anc", "op": ">=", "value": 1.0}


class Catalogue:
    pass


def test_one_table_per_object_while_it_lives() -> None:
    a, b = Catalogue(), Catalogue()
    memo_for(a)["x"] = 1
    assert memo_for(a) == {"x": 1}
    assert memo_for(b) == {}
    key = id(a)
    del a
    gc.collect()
    assert key not in _TABLES


def test_an_object_without_weak_references_keeps_nothing() -> None:
    memo_for(3)["x"] = 1
    assert memo_for(3) == {}


def test_unmapped_answers_belong_to_their_mappings() -> None:
    facts = make_facts(TODAY, labs={"anc": 2.0})
    declared = StubMappings(unmapped={("lab", "anc")})
    plain = StubMappings()
    for _ in range(2):  # the second round reads the memo
        assert run_rule(ANC, facts, mappings=declared).result == Result.REVIEW
        assert run_rule(ANC, facts, mappings=plain).result == Result.MET
