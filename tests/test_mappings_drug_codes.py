"""``DrugMatcher.match`` by codes: a code that finds nothing adds nothing, one that finds something adds exactly
that (round 7 skips the empty sets it used to build for misses); ATC classes come from every prefix of the code."""

from __future__ import annotations

from typing import Any

import pytest

from cds.mappings import load_mappings

DRUGS = load_mappings().drugs
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CYCLO = frozenset({"cyclophosphamide"})
MYELO = frozenset({"myelosuppressive-chemotherapy"})


@pytest.mark.parametrize(
    ("pairs", "ingredients", "classes"),
    [
        ([(RXNORM, "3002")], CYCLO, MYELO),
        ([(RXNORM, "999999")], frozenset(), frozenset()),
        ([(ATC, "L01AA01")], CYCLO, MYELO),
        ([(ATC, "l01aa01")], CYCLO, MYELO),  # ATC codes compare upper-cased
        ([(ATC, "L01XX99")], frozenset(), frozenset({"anticancer-other"})),  # a class prefix, no ingredient
        ([(ATC, "J01CA04")], frozenset(), frozenset({"antibacterial"})),
        ([(ATC, "Z99")], frozenset(), frozenset()),
        ([(ATC, "")], frozenset(), frozenset()),
        ([(RXNORM, "3002"), (ATC, "L04AX")], CYCLO, MYELO | {"immunosuppressant"}),
        ([("http://example.org/drugs", "3002")], frozenset(), frozenset()),
    ],
)
def test_codes_give_their_ingredients_and_classes(
    pairs: list[tuple[Any, Any]], ingredients: frozenset[str], classes: frozenset[str]
) -> None:
    assert DRUGS.match(pairs, []) == (ingredients, classes)


def test_a_miss_leaves_the_catalogue_unchanged() -> None:
    before = (
        {k: set(v) for k, v in DRUGS.by_rxcui.items()},
        {k: set(v) for k, v in DRUGS.class_parents.items()},
    )
    DRUGS.match([(RXNORM, "999999"), (ATC, "L01XX99")], ["cyclophosphamide"])
    assert (
        {k: set(v) for k, v in DRUGS.by_rxcui.items()},
        {k: set(v) for k, v in DRUGS.class_parents.items()},
    ) == before
