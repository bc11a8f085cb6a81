"""Per-call scratch space: the rule-outcome memo and fact indexes that the contexts of one call share.

One :class:`Scratch` belongs to one evaluation call (one ``PatientFacts``, configuration and mapping
catalogue, which it keeps so that a context can check it was given the right one); ``evaluate_trials`` creates it and drops it on return, so nothing about a patient outlives the
call. Indexes are built lazily, on first use, from that call's facts.

Indexes return records in the order of the facts they index (a rule's evidence and reasons list records in
that order), and only narrow down which records a rule looks at: every evaluator still applies its own
tests to each record it gets.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING

from cds.config import Config
from cds.engine.catalogue_memo import memo_for
from cds.facts import DrugExposure, PatientFacts, SourceState
from cds.results import Evidence, Outcome

if TYPE_CHECKING:
    from cds.engine.rules._labs import Latest


def _positions(groups_of: Iterable[frozenset[str]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for position, groups in enumerate(groups_of):
        for group in groups:
            out.setdefault(group, []).append(position)
    return out


class Scratch:
    """The memo (rule key -> outcome, see ``cds.engine.plan``) and lazily built indexes of ``facts``."""

    def __init__(self, facts: PatientFacts, config: Config, mappings: object) -> None:
        self.facts = facts
        self.config = config
        self.mappings = mappings  # the call's MappingsView
        # checks of rules against the mappings, kept across calls (see cds.engine.catalogue_memo)
        self.mappings_memo: dict[Hashable, Outcome | None] = memo_for(mappings)
        self.memo: dict[str, Outcome] = {}
        # the resource types ``facts.source_ok`` accepts (retrieved), for rules that ask about several
        self.retrieved = frozenset(t for t, state in facts.sources.items() if state == SourceState.RETRIEVED)
        self.drug_evidence: dict[int, Evidence] = {}  # position in facts.drugs -> its evidence
        self.age: tuple[str, tuple[Evidence, ...]] | None = None  # age text and evidence (age rules)
        # (concept, window, usable test) -> the deciding lab value and the values shown beside it
        self.picks: dict[tuple[str, int, Hashable], Latest] = {}
        # drug class -> positions in facts.drugs; positions of unclassified drugs that look anticancer
        self._drug_index: tuple[dict[str, list[int]], list[int]] | None = None
        # (classes, unclassified_anticancer) -> what drugs_in found for them
        self._drugs_found: dict[tuple[frozenset[str], bool], tuple[tuple[int, DrugExposure], ...]] = {}

    def _drugs_indexed(self) -> tuple[dict[str, list[int]], list[int]]:
        drugs = self.facts.drugs
        self._drug_index = (
            _positions(d.classes for d in drugs),
            [i for i, d in enumerate(drugs) if d.looks_anticancer_unclassified and not d.classes],
        )
        return self._drug_index

    def drugs_in(
        self, classes: Iterable[str], unclassified_anticancer: bool
    ) -> tuple[tuple[int, DrugExposure], ...]:
        """``(position, drug)`` of the drugs in any of ``classes`` (and, if asked, of the drugs that look
        anticancer but have no class), in ``facts.drugs`` order; found once per call for each question."""
        key = (frozenset(classes), unclassified_anticancer)
        found = self._drugs_found.get(key)
        if found is None:
            found = self._drugs_found[key] = self._find_drugs(key[0], unclassified_anticancer)
        return found

    def _find_drugs(
        self, classes: frozenset[str], unclassified_anticancer: bool
    ) -> tuple[tuple[int, DrugExposure], ...]:
        by_class, unclassified = self._drug_index or self._drugs_indexed()
        positions: set[int] = set(unclassified) if unclassified_anticancer else set()
        for name in classes:
            found = by_class.get(name)
            if found:
                positions.update(found)
        if not positions:
            return ()
        drugs = self.facts.drugs
        return tuple([(i, drugs[i]) for i in sorted(positions)])
