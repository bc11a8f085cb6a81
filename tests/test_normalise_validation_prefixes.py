"""The key prefixes ``SplitValidator.valid`` builds its keys from are those of :func:`key` (issue 7, round 7):
the shape and leaf keys it looks up in the per-call ``seen`` and the process memo are the same bytes as before."""

from __future__ import annotations

import marshal
from typing import Any

import pytest

from cds.normalise.validation import SPLITS, VALIDATORS, VerdictMemo
from cds.normalise.validation import key as key_of

VALUES: list[Any] = ["x", "2026-10-27", "", "ü", 0, 1, -1, 2**40, 0.0, -0.0, 1.5, 1e300]


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_leaf_and_shape_prefixes_give_the_keys_of_key(name: str) -> None:
    split = SPLITS[name]
    shape = {"resourceType": name, "id": "x", "code": {"text": "t"}}
    assert split.prefix + marshal.dumps(shape, 2) == key_of(split.model[1], shape)
    for leaf in split.leaves:
        for value in VALUES:
            assert leaf.prefix + marshal.dumps(value, 2) == key_of(leaf.tag, value)


def test_a_verdict_already_seen_is_answered_from_seen() -> None:
    """A wrong verdict planted in ``seen`` under the shape's key is what ``valid`` answers: the key is the one
    ``seen`` is filled with (and a planted True under a leaf key, over an invalid date, is answered too)."""
    record = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "ANC"}}
    validator = VALIDATORS["Observation"]
    seen: dict[bytes, bool] = {}
    assert validator.valid(record, seen)
    shape = {**record, "id": "x"}
    shape_key = key_of("Observation", shape)
    assert seen[shape_key] is True
    seen[shape_key] = False
    assert not validator.valid(record, seen)

    dated = {**record, "effectiveDateTime": "2026-13-45"}
    fresh = type(validator)(validator.split, VerdictMemo())
    assert not fresh.valid(dated, {})
    planted = {key_of("Observation.effectiveDateTime", "2026-13-45"): True}
    assert fresh.valid(dated, planted)
