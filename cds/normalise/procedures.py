"""Procedures -> procedure groups with dates, radiotherapy intent and body sites.

``completed``, ``in-progress``, ``stopped`` (terminated early: partly performed, e.g. a radiotherapy course cut
short) and ``on-hold`` (paused, expected to resume) procedures count; preparation, not-done, entered-in-error and
unknown are dropped. An in-progress or on-hold procedure without a ``performedPeriod.end`` is ongoing (``end`` None). Radiotherapy intent comes from the mCODE procedure-intent extension
(valueCodeableConcept), else from reasonCode / code text / notes naming palliative or curative intent; a
radiotherapy record then also carries exactly one of ``radiotherapy-palliative``,
``radiotherapy-non-palliative`` or ``radiotherapy-intent-unknown``.
"""

from __future__ import annotations

import re
from typing import Any

from cds.facts import ProcedureFact
from cds.mappings import Mappings, norm_code, phrase_regex
from cds.normalise.common import Build, as_dict, as_list, code_strings, codings, display_of, texts
from cds.normalise.conditions import body_sites
from cds.normalise.dates import effective

COUNTED = frozenset({"completed", "in-progress", "stopped", "on-hold"})
ONGOING = frozenset({"in-progress", "on-hold"})  # without a period end: still going on


def _intent_from_cc(cc: Any, m: Mappings) -> str | None:
    for intent in ("palliative", "curative"):
        spec = m.intent.get(intent, {})
        wanted = {
            (m.aliases.resolve(r["system"]), norm_code(m.aliases.resolve(r["system"]), r["code"]))
            for r in spec.get("codes", ())
        }
        for system, code in codings(cc):
            alias = m.aliases.alias(system)
            if alias and (alias, norm_code(alias, code)) in wanted:
                return intent
    return _intent_from_text(texts(cc), m)


def _intent_from_text(strings: list[str], m: Mappings) -> str | None:
    for intent in ("palliative", "curative"):
        rx: re.Pattern[str] | None = phrase_regex(m.intent.get(intent, {}).get("text", ()))
        if rx is not None and any(rx.search(s) for s in strings if isinstance(s, str)):
            return intent
    return None


def intent_of(res: dict[str, Any], m: Mappings) -> str | None:
    urls = set(m.intent.get("extension_urls", ()))
    for ext in as_list(res.get("extension")):
        ext = as_dict(ext)
        if ext.get("url") in urls:
            found = _intent_from_cc(ext.get("valueCodeableConcept"), m)
            if found:
                return found
    strings: list[str] = []
    for cc in as_list(res.get("reasonCode")):
        found = _intent_from_cc(cc, m)
        if found:
            return found
    strings += texts(res.get("code"))
    strings += [as_dict(n).get("text", "") for n in as_list(res.get("note"))]
    return _intent_from_text(strings, m)


def normalise_procedures(resources: list[Any], build: Build) -> tuple[ProcedureFact, ...]:
    m = build.mappings
    out: list[ProcedureFact] = []
    for res in resources:
        if not isinstance(res, dict):
            build.count("Procedure: malformed resource skipped")
            continue
        status = res.get("status")
        if status not in COUNTED:
            continue
        code = res.get("code")
        groups = set(
            build.remembered("procedure-groups", code, lambda cc: m.procedures.match(codings(cc), texts(cc)))
        )
        if not groups or not build.valid(res, "Procedure"):
            continue
        intent = None
        if "radiotherapy" in groups:
            intent = intent_of(res, m)
            groups.add(
                {"palliative": "radiotherapy-palliative", "curative": "radiotherapy-non-palliative"}.get(
                    intent or "", "radiotherapy-intent-unknown"
                )
            )
        start, end = effective(res, "performed", build.tz, build.dates)
        if status in ONGOING and not as_dict(res.get("performedPeriod")).get("end"):
            end = None  # still going on (a course of radiotherapy): ongoing, never "ended on its start day"
        elif end is None:
            end = start
        sites = set(build.remembered("body-sites", res.get("bodySite"), lambda s: body_sites(s, build)))
        if not sites:
            sites |= build.remembered("body-sites-named", code, lambda cc: m.body_sites.match([], texts(cc)))
        out.append(
            ProcedureFact(
                groups=frozenset(groups),
                resource_id=f"Procedure/{res.get('id')}",
                display=display_of(res.get("code"), "procedure"),
                codes=code_strings(res.get("code")),
                status=status,
                start=start,
                end=end,
                intent=intent,
                body_sites=frozenset(sites),
            )
        )
    return tuple(out)
