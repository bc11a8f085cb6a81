"""Immunizations -> vaccine groups with dates. Only ``completed`` counts (not-done / entered-in-error never)."""

from __future__ import annotations

from typing import Any

from cds.facts import ImmunizationFact
from cds.normalise.common import Build, code_strings, codings, display_of, texts
from cds.normalise.dates import effective

COUNTED = frozenset({"completed"})


def normalise_immunizations(resources: list[Any], build: Build) -> tuple[ImmunizationFact, ...]:
    vaccines = build.mappings.vaccines
    out: list[ImmunizationFact] = []
    for res in resources:
        if not isinstance(res, dict):
            build.count("Immunization: malformed resource skipped")
            continue
        if res.get("status") not in COUNTED:
            continue
        groups = build.remembered(
            "vaccine-groups", res.get("vaccineCode"), lambda cc: vaccines.match(codings(cc), texts(cc))
        )
        if not groups or not build.valid(res, "Immunization"):
            continue
        when, _ = effective(res, "occurrence", build.tz, build.dates)
        out.append(
            ImmunizationFact(
                groups=groups,
                resource_id=f"Immunization/{res.get('id')}",
                display=display_of(res.get("vaccineCode"), "vaccine"),
                date=when,
                codes=code_strings(res.get("vaccineCode")),
            )
        )
    return tuple(out)
