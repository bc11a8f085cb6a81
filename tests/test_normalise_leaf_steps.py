"""A leaf's path is split once, when the table is built: its name and the steps to its holder."""

from __future__ import annotations

from cds.normalise.validation import SPLITS, Leaf


def test_steps_and_name_follow_the_path() -> None:
    nested = Leaf(("dosage", "dose", "value"), ("quantity", "Quantity"), (int, float), 1)
    assert nested.name == "value"
    assert nested.steps == (("dosage", ("dosage",)), ("dose", ("dosage", "dose")))
    top = Leaf(("id",), ("observation", "Observation"), (str,), "x")
    assert top.name == "id"
    assert top.steps == ()


def test_every_table_leaf_is_split_consistently() -> None:
    for split in SPLITS.values():
        for leaf in split.leaves:
            assert (*[key for key, _prefix in leaf.steps], leaf.name) == leaf.path
            assert all(prefix == leaf.path[: len(prefix)] and prefix[-1] == key for key, prefix in leaf.steps)
