"""Derived lab values: ANC from WBC x (neutrophils% + bands%), Cockcroft-Gault creatinine clearance.

* ANC is derived for a WBC result when a neutrophil % result exists for the same day and no direct ANC
  exists for that day. Bands % from the same day is added when present (missing bands count as 0, which can
  only under-estimate the ANC). ``derived_from`` lists the input resource ids.
* CrCl (Cockcroft-Gault, mL/min, not BSA-normalised) is derived only for adults (>= 18 completed years at the
  creatinine date, exact birth date needed), with administrative sex male/female, for each creatinine result
  without a measured CrCl the same day, using the body weight nearest in time (at most ``WEIGHT_MAX_DAYS``
  away). ``(140 - age) x weight / (72 x creatinine[mg/dL])``, x 0.85 for females. Children get no derived
  CrCl (Cockcroft-Gault is not valid for them; Schwartz eGFR is the separate concept ``egfr``).
"""

from __future__ import annotations

import datetime as dt

from cds.facts import LabValue
from cds.normalise.common import Build
from cds.normalise.patient import exact_age_years

WEIGHT_MAX_DAYS = 30


def _usable(v: LabValue) -> bool:
    return v.value is not None and v.problem is None and v.date.exact


def _by_day(values: tuple[LabValue, ...]) -> dict[dt.date, LabValue]:
    """First (newest) usable value per exact day."""
    out: dict[dt.date, LabValue] = {}
    for v in values:
        if _usable(v) and v.date.earliest not in out:
            out[v.date.earliest] = v
    return out


def derive_anc(labs: dict[str, tuple[LabValue, ...]]) -> list[LabValue]:
    direct_days = {v.date.earliest for v in labs.get("anc", ()) if _usable(v)}
    neut = _by_day(labs.get("neutrophils-pct", ()))
    bands = _by_day(labs.get("bands-pct", ()))
    out: list[LabValue] = []
    for day, wbc in _by_day(labs.get("wbc", ())).items():
        pct = neut.get(day)
        if pct is None or day in direct_days or pct.value is None or wbc.value is None:
            continue
        band = bands.get(day)
        total = pct.value + (band.value if band is not None and band.value is not None else 0.0)
        if not 0 <= total <= 100:
            continue
        inputs = [wbc.resource_id, pct.resource_id] + ([band.resource_id] if band is not None else [])
        out.append(
            LabValue(
                concept="anc",
                date=wbc.date,
                resource_id=f"derived:anc:{wbc.resource_id}",
                status="final",
                value=round(wbc.value * total / 100.0, 4),
                unit="10*9/L",
                original_value=f"WBC {wbc.value:g} x {total:g}%",
                derived_from=tuple(inputs),
                context={
                    "method": "wbc x (neutrophils% + bands%)" if band is not None else "wbc x neutrophils%"
                },
            )
        )
    return out


def derive_crcl(labs: dict[str, tuple[LabValue, ...]], build: Build) -> list[LabValue]:
    if build.sex not in ("male", "female") or build.birth_date is None:
        return []
    measured_days = {v.date.earliest for v in labs.get("crcl", ()) if _usable(v)}
    weights = [w for w in labs.get("body-weight", ()) if _usable(w) and w.value and w.value > 0]
    out: list[LabValue] = []
    for day, scr in _by_day(labs.get("creatinine", ())).items():
        if day in measured_days or scr.value is None or scr.value <= 0:
            continue
        age = exact_age_years(build.birth_date, day)
        if age is None or age < 18:
            continue
        weight = _nearest(weights, day)
        if weight is None or weight.value is None:
            continue
        crcl = (140 - age) * weight.value / (72.0 * scr.value)
        if build.sex == "female":
            crcl *= 0.85
        if crcl <= 0:
            continue
        out.append(
            LabValue(
                concept="crcl",
                date=scr.date,
                resource_id=f"derived:crcl:{scr.resource_id}",
                status="final",
                value=round(crcl, 1),
                unit="mL/min",
                original_value=f"Cockcroft-Gault: age {age}, {weight.value:g} kg, creatinine {scr.value:g} mg/dL, {build.sex}",
                derived_from=(scr.resource_id, weight.resource_id),
                context={"method": "cockcroft-gault", "weight_date": weight.date.earliest.isoformat()},
            )
        )
    return out


def _nearest(weights: list[LabValue], day: dt.date) -> LabValue | None:
    best: LabValue | None = None
    best_gap = WEIGHT_MAX_DAYS + 1
    for w in weights:
        gap = abs((w.date.earliest - day).days)
        if gap < best_gap:
            best, best_gap = w, gap
    return best


def add_derived(labs: dict[str, tuple[LabValue, ...]], build: Build) -> dict[str, tuple[LabValue, ...]]:
    """The lab dict with derived ANC and CrCl merged in (newest first per concept)."""
    out = dict(labs)
    for concept, extra in (("anc", derive_anc(labs)), ("crcl", derive_crcl(labs, build))):
        if extra:
            merged = list(out.get(concept, ())) + extra
            merged.sort(
                key=lambda v: (v.date.latest, v.date.earliest, not v.resource_id.startswith("derived:")),
                reverse=True,
            )
            out[concept] = tuple(merged)
    return out
