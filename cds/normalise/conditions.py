"""Conditions -> groups, with clinical/verification status, onset/abatement and body sites.

Refuted and entered-in-error records never count (dropped). "History of X" records are read as inactive. Any ``abatement[x]`` without a clinical status
(also ``abatementString``/``Age``/``Range``, which carry no date) is read as ``resolved``. Records that match no group are dropped (the engine only asks by group).
Pre-filter: the raw codes/texts are matched first; only matching records are validated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cds.facts import ConditionFact, FuzzyDate
from cds.mappings import phrase_regex
from cds.normalise.common import (
    Build,
    as_dict,
    as_list,
    code_strings,
    codings,
    display_of,
    status_code,
    texts,
)
from cds.normalise.dates import add_months, effective
from cds.normalise.units import number

NEVER = frozenset({"refuted", "entered-in-error"})
# A record that itself says "history of X" (ICD-10-CM Z85/Z86/Z87/Z92 personal-history codes, SNOMED
# "History of ... (situation)", or such text) asserts a past condition: it is read as inactive even when the
# record's clinicalStatus is active (the status then describes the history entry, not the disease).
HISTORY_TEXT = phrase_regex(["history of", "personal history", "h/o", "past history"])
HISTORY_ICD_PREFIXES = ("Z85", "Z86", "Z87", "Z92")


def is_history_record(cc: Any, build: Build) -> bool:
    for system, code in codings(cc):
        if build.mappings.aliases.alias(system) == "icd10cm" and str(code).replace(
            ".", ""
        ).upper().startswith(HISTORY_ICD_PREFIXES):
            return True
    # each distinct text once (a CodeableConcept's text and its coding display are usually the same string)
    return HISTORY_TEXT is not None and any(HISTORY_TEXT.search(t) for t in dict.fromkeys(texts(cc)))


def age_to_date(age: Any, birth: FuzzyDate | None) -> FuzzyDate | None:
    """``onsetAge`` / ``abatementAge`` (an Age quantity) -> the days it could denote, given the birth date.

    "5 years" means from the 5th birthday to the day before the 6th (completed units); unknown units,
    negative or non-numeric ages, or no birth date give None.
    """
    q = as_dict(age)
    value = number(q.get("value"))
    unit = q.get("code") or q.get("unit")
    if birth is None or value is None or value < 0 or value > 150 or value != int(value):
        return None
    months = {"a": 12, "year": 12, "years": 12, "mo": 1, "month": 1, "months": 1}.get(str(unit).lower())
    try:
        if months is not None:
            first = add_months(birth.earliest, int(value) * months)
            last = add_months(birth.latest, (int(value) + 1) * months) - dt.timedelta(days=1)
        elif str(unit).lower() in ("d", "day", "days", "wk", "week", "weeks"):
            days = int(value) * (7 if str(unit).lower().startswith("w") else 1)
            span = 6 if str(unit).lower().startswith("w") else 0
            first = birth.earliest + dt.timedelta(days=days)
            last = birth.latest + dt.timedelta(days=days + span)
        else:
            return None
    except (OverflowError, ValueError):
        return None
    return FuzzyDate(first, last, f"age {int(value)} {unit}")


def body_sites(sites: Any, build: Build) -> frozenset[str]:
    pairs: list[tuple[Any, Any]] = []
    strings: list[str] = []
    for cc in as_list(sites):
        pairs += codings(cc)
        strings += texts(cc)
    return build.mappings.body_sites.match(pairs, strings) if pairs or strings else frozenset()


def normalise_conditions(resources: list[Any], build: Build) -> tuple[ConditionFact, ...]:
    m = build.mappings
    out: list[ConditionFact] = []
    for res in resources:
        if not isinstance(res, dict):
            build.count("Condition: malformed resource skipped")
            continue
        verification = status_code(res.get("verificationStatus"))
        if verification in NEVER:
            continue
        groups = build.remembered(
            "condition-groups", res.get("code"), lambda cc: m.conditions.match(codings(cc), texts(cc))
        )
        if not groups or not build.valid(res, "Condition"):
            continue
        clinical = status_code(res.get("clinicalStatus"))
        onset, _ = effective(res, "onset", build.tz, build.dates)
        onset = onset or age_to_date(res.get("onsetAge"), build.birth_date)
        abate_start, abate_end = effective(res, "abatement", build.tz, build.dates)
        if abate_start is None and abate_end is None:
            abate_end = age_to_date(res.get("abatementAge"), build.birth_date)
        if clinical is None and any(k.startswith("abatement") for k in res):
            clinical = "resolved"  # abated (also abatementString / Age / Range, which carry no date)
        if clinical in (None, "active", "recurrence", "relapse") and is_history_record(
            res.get("code"), build
        ):
            clinical = "inactive"
        sites = set(build.remembered("body-sites", res.get("bodySite"), lambda s: body_sites(s, build)))
        for group in groups:
            sites |= m.condition_body_sites.get(group, frozenset())
        out.append(
            ConditionFact(
                groups=groups,
                resource_id=f"Condition/{res.get('id')}",
                display=display_of(res.get("code"), "condition"),
                codes=code_strings(res.get("code")),
                clinical_status=clinical,
                verification_status=verification,
                onset=onset,
                abatement=abate_end or abate_start,
                recorded=build.dates(res.get("recordedDate"), build.tz),
                body_sites=frozenset(sites),
            )
        )
    return tuple(out)
