"""ResearchSubject -> research participation facts.

Every record is kept with its status; :attr:`cds.facts.ResearchFact.on_study` decides participation, so
our own ``candidate`` flags (and withdrawn / off-study / not-registered records) are never "participation in
another trial". The study is the ResearchStudy identifier value (an NCT id when given), else the reference.
"""

from __future__ import annotations

from typing import Any

from cds.facts import ResearchFact
from cds.normalise.common import Build, as_dict, text_of
from cds.normalise.dates import period_bounds


def study_of(res: dict[str, Any]) -> str:
    study = as_dict(res.get("study"))
    identifier = as_dict(study.get("identifier"))
    return (
        text_of(identifier.get("value"))
        or text_of(study.get("reference"))
        or text_of(study.get("display"))
        or "unknown study"
    )


def normalise_research(resources: list[Any], build: Build) -> tuple[ResearchFact, ...]:
    out: list[ResearchFact] = []
    for res in resources:
        if not isinstance(res, dict):
            build.count("ResearchSubject: malformed resource skipped")
            continue
        status = res.get("status")
        if not isinstance(status, str) or not build.valid(res, "ResearchSubject"):
            continue
        start, end = period_bounds(res.get("period"), build.tz)
        out.append(
            ResearchFact(
                resource_id=f"ResearchSubject/{res.get('id')}",
                study=study_of(res),
                status=status,
                start=start,
                end=end,
            )
        )
    return tuple(out)
