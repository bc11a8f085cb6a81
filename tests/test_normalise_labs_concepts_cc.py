"""``_concepts_for_cc`` reads a CodeableConcept's codings itself (round 7): the same concepts, in the same order,
as looking up every pair :func:`codings` gives, with and without the per-call memo, also for malformed codings."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cds.mappings import load_mappings
from cds.normalise.common import codings
from cds.normalise.labs import _concepts_for, _concepts_for_cc

M = load_mappings()
LOINC = "http://loinc.org"
SYSTEMS = st.sampled_from(
    [LOINC, "http://loinc.org/", "http://snomed.info/sct", None, "", 7, ["x"], {"a": 1}]
)
CODES = st.sampled_from(["751-8", "26499-4", "718-7", "2160-0", "x", "", None, 751, 7.5, True, ["751-8"]])
CODING = st.one_of(
    st.fixed_dictionaries({"system": SYSTEMS, "code": CODES}),
    st.fixed_dictionaries({"code": CODES}),
    st.just("not a coding"),
    st.just({}),
)
CC = st.one_of(
    st.fixed_dictionaries({"coding": st.lists(CODING, max_size=4)}),
    st.fixed_dictionaries({"coding": CODING}),
    st.just({"text": "no codings"}),
    st.none(),
    st.just(["not", "a", "dict"]),
)


def _reference(cc: Any, memo: dict[tuple[Any, Any], tuple[str, ...]] | None) -> list[str]:
    found: list[str] = []
    for system, code in codings(cc):
        for concept in _concepts_for(system, code, M, memo):
            if concept not in found:
                found.append(concept)
    return found


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(CC, min_size=1, max_size=4))
def test_same_concepts_as_looking_up_every_pair(ccs: list[Any]) -> None:
    memo: dict[tuple[Any, Any], tuple[str, ...]] = {}
    reference_memo: dict[tuple[Any, Any], tuple[str, ...]] = {}
    for cc in ccs:  # (a later record finds the earlier ones' pairs in the memo)
        expected = _reference(cc, reference_memo)
        assert _concepts_for_cc(cc, M, memo) == expected
        assert _concepts_for_cc(cc, M) == expected
    assert memo == reference_memo


def test_known_codes_find_their_concepts() -> None:
    cc = {"coding": [{"system": LOINC, "code": "751-8"}, {"system": LOINC, "code": "751-8"}]}
    assert _concepts_for_cc(cc, M, {}) == ["anc"]
    assert _concepts_for_cc({"coding": [{"system": LOINC, "code": "no-such-code"}]}, M, {}) == []
