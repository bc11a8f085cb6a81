"""Patient demographics and age arithmetic (exact, in days and completed years)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cds.facts import Demographics, FuzzyDate
from cds.normalise.common import Build, status_code
from cds.normalise.dates import parse_fuzzy

SEXES = ("male", "female", "other", "unknown")


def pick_patient(patients: list[Any], patient_id: str) -> dict[str, Any] | None:
    """The Patient resource with the requested id, else the first one."""
    dicts = [p for p in patients if isinstance(p, dict) and p.get("resourceType") == "Patient"]
    for p in dicts:
        if p.get("id") == patient_id:
            return p
    return dicts[0] if dicts else None


def demographics(patients: list[Any], patient_id: str, build: Build) -> Demographics:
    """Birth date, administrative gender and deceased flag; unknown fields stay None."""
    patient = pick_patient(patients, patient_id)
    if patient is None:
        return Demographics(birth_date=None, sex=None)
    if not build.valid(patient, "Patient"):
        return Demographics(birth_date=None, sex=None, resource_id=_rid(patient))
    birth = parse_fuzzy(patient.get("birthDate"), build.tz)
    sex = status_code(patient.get("gender"))
    deceased = (
        patient.get("deceasedBoolean") is True
        or parse_fuzzy(patient.get("deceasedDateTime"), build.tz) is not None
    )
    return Demographics(
        birth_date=birth, sex=sex if sex in SEXES else None, deceased=deceased, resource_id=_rid(patient)
    )


def _rid(patient: dict[str, Any]) -> str | None:
    rid = patient.get("id")
    return f"Patient/{rid}" if isinstance(rid, str) else None


def completed_years(birth: dt.date, on: dt.date) -> int:
    """Completed years of age on ``on`` (a 29 February birthday counts on 28 February in other years)."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def age_days(birth: dt.date, on: dt.date) -> int:
    return (on - birth).days


def age_years_range(birth: FuzzyDate | None, on: dt.date) -> tuple[int, int] | None:
    """(youngest, oldest) completed years compatible with a possibly partial birth date; None if unknown."""
    if birth is None or birth.earliest > on:
        return None
    return completed_years(birth.latest, on) if birth.latest <= on else 0, completed_years(birth.earliest, on)


def exact_age_years(birth: FuzzyDate | None, on: dt.date) -> int | None:
    """Completed years when the birth date is exact enough to decide it, else None."""
    rng = age_years_range(birth, on)
    if rng is None or rng[0] != rng[1]:
        return None
    return rng[0]


def age_in_duration(birth: dt.date, on: dt.date, value: float, unit: str) -> bool:
    """True when the age on ``on`` is at least ``value`` ``unit`` (d, wk, mo, a)."""
    from cds.normalise.dates import add_months

    if unit == "d":
        return (on - birth).days >= value
    if unit == "wk":
        return (on - birth).days >= value * 7
    months = int(value * 12) if unit == "a" else int(value)
    return add_months(birth, months) <= on
