"""AllergyIntolerance -> allergy groups. Refuted / entered-in-error and inactive / resolved records never count."""

from __future__ import annotations

from typing import Any

from cds.facts import AllergyFact
from cds.normalise.common import Build, as_dict, as_list, codings, display_of, status_code, texts

NEVER_VERIFICATION = frozenset({"refuted", "entered-in-error"})
NEVER_CLINICAL = frozenset({"inactive", "resolved"})


def normalise_allergies(resources: list[Any], build: Build) -> tuple[AllergyFact, ...]:
    out: list[AllergyFact] = []
    for res in resources:
        if not isinstance(res, dict):
            build.count("AllergyIntolerance: malformed resource skipped")
            continue
        if status_code(res.get("verificationStatus")) in NEVER_VERIFICATION:
            continue
        if status_code(res.get("clinicalStatus")) in NEVER_CLINICAL:
            continue
        pairs = codings(res.get("code"))
        strings = texts(res.get("code"))
        for reaction in as_list(res.get("reaction")):
            substance = as_dict(reaction).get("substance")
            pairs += codings(substance)
            strings += texts(substance)
        groups = build.mappings.allergies.match(pairs, strings)
        if not groups or not build.valid(res, "AllergyIntolerance"):
            continue
        out.append(
            AllergyFact(
                groups=groups,
                resource_id=f"AllergyIntolerance/{res.get('id')}",
                display=display_of(res.get("code"), "allergy"),
            )
        )
    return tuple(out)
