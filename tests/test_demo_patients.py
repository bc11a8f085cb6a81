"""The demo patient generator: enough patients, the required kinds, deterministic, valid, relative dates."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fhir.resources.R4B import get_fhir_model_class

from cds.demo.patients import (
    ADULT_CN,
    ELIGIBLE,
    INELIGIBLE,
    NB_CN,
    NB_IR,
    NOT_YET,
    POSSIBLY,
    PREFIX,
    SARCOMA_ES,
    STS_CN,
    TRIALS,
    Expect,
    demo_patients,
    transaction_bundles,
)
from cds.synthetic import LABS

DAY = dt.date(2026, 11, 27)
MALIGNANT_SNOMED = {"432328008", "281562007", "424413001", "302847003", "404051002", "302851001", "307608006",
                    "307576001", "363346000", "128462008", "94217008", "94381002", "94225005"}  # fmt: skip


@pytest.fixture(scope="module")
def patients():
    return demo_patients(DAY)


def test_at_least_15_patients_with_unique_prefixed_ids(patients) -> None:
    assert len(patients) >= 15
    ids = [p.patient_id for p in patients]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(PREFIX) for i in ids)
    for _, bundle in transaction_bundles(DAY):
        for entry in bundle["entry"]:
            rid = entry["resource"]["id"]
            assert rid.startswith(PREFIX) and re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", rid)
            assert entry["request"] == {"method": "PUT", "url": f"{entry['resource']['resourceType']}/{rid}"}


def test_every_patient_declares_every_trial(patients) -> None:
    for p in patients:
        assert set(p.expected) == set(TRIALS), p.patient_id
        for exp in p.expected.values():
            assert exp.verdict in (ELIGIBLE, NOT_YET, POSSIBLY, INELIGIBLE)
            assert (exp.verdict == NOT_YET) == (exp.in_days is not None or exp.at_age is not None)


def test_every_resource_is_valid_fhir_r4(patients) -> None:
    for _, bundle in transaction_bundles(DAY):
        get_fhir_model_class("Bundle").model_validate(bundle)
        for entry in bundle["entry"]:
            res = entry["resource"]
            get_fhir_model_class(res["resourceType"]).model_validate(res)


def test_deterministic_for_a_given_day() -> None:
    assert json.dumps(transaction_bundles(DAY)) == json.dumps(transaction_bundles(DAY))


def _dates(obj, out):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
                out.append((k, v))
            else:
                _dates(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _dates(v, out)
    return out


def test_dates_move_with_the_day_and_nothing_else_changes() -> None:
    later = DAY + dt.timedelta(days=40)
    a = [b for _, b in transaction_bundles(DAY)]
    b = [b for _, b in transaction_bundles(later)]
    da, db = _dates(a, []), _dates(b, [])
    assert len(da) == len(db) > 100
    for (ka, va), (kb, vb) in zip(da, db, strict=True):
        assert ka == kb
        shift = (dt.date.fromisoformat(vb) - dt.date.fromisoformat(va)).days
        if ka == "birthDate":
            assert 39 <= shift <= 41  # calendar-year ages: a leap day may move a birthday by one
        else:
            assert shift == 40, (ka, va, vb)
    strip = re.compile(r"\d{4}-\d{2}-\d{2}")
    assert strip.sub("D", json.dumps(a)) == strip.sub("D", json.dumps(b))


def _count(patients, trial, verdicts):
    return [p.patient_id for p in patients if p.expected[trial].verdict in verdicts]


@pytest.mark.parametrize("trial", TRIALS)
def test_each_trial_has_a_best_case_and_a_failing_patient(patients, trial) -> None:
    best = (POSSIBLY,) if trial == STS_CN else (ELIGIBLE,)  # NCT06848582 lists inclusion criteria only
    assert _count(patients, trial, best), f"no {best} patient for {trial}"
    # a patient with the trial's disease and age who fails a typical criterion (not just the wrong disease)
    failing = {
        NB_CN: "nk-demo-nb-low-anc",
        NB_IR: "nk-demo-nb-age-17",
        STS_CN: "nk-demo-sts-low-lansky",
        SARCOMA_ES: "nk-demo-sarcoma-low-lvef",
        ADULT_CN: "nk-demo-adult-hbv",
    }[trial]
    by_id = {p.patient_id: p for p in patients}
    assert by_id[failing].expected[trial].verdict == INELIGIBLE


def test_one_not_yet_eligible_patient_per_kind_of_waiting_period(patients) -> None:
    waiting = {p.patient_id: p.expected[NB_CN] for p in patients if p.expected[NB_CN].verdict == NOT_YET}
    kinds = {"chemo", "nitrosourea", "gcsf", "transplant", "mibg"}
    assert {k for k in kinds for pid in waiting if f"-{k}-wait" in pid} == kinds
    offsets = [e.in_days for e in waiting.values()]
    assert all(o is not None and o > 0 for o in offsets)
    assert len(set(offsets)) == len(offsets)  # each waiting period ends on its own day


def test_waiting_offsets_match_the_exposures(patients) -> None:
    """The declared offset = washout - days since the exposure ended (read back from the resources)."""
    washout = {"chemo": 21, "nitrosourea": 42, "gcsf": 14, "transplant": 56, "mibg": 42}
    for p in patients:
        for kind, days in washout.items():
            if f"-{kind}-wait" not in p.patient_id:
                continue
            ends = []
            for r in p.builder.resources():
                period = r.get("effectivePeriod") or {}
                when = period.get("end") or r.get("performedDateTime")
                if when and r["resourceType"] in ("MedicationAdministration", "Procedure"):
                    ends.append(dt.date.fromisoformat(when))
            last = max(ends)
            assert p.expected[NB_CN].in_days == (last + dt.timedelta(days=days) - DAY).days, p.patient_id


def test_labs_come_in_mixed_units(patients) -> None:
    units: dict[str, set[str]] = {}
    code_to_name = {code: name.removesuffix("-molar") for name, (code, _) in LABS.items()}
    for p in patients:
        for r in p.builder.resources_of("Observation"):
            q = r.get("valueQuantity")
            name = code_to_name.get(r["code"]["coding"][0]["code"])
            if q and name:
                units.setdefault(name, set()).add(q.get("code") or q.get("unit"))
    assert {"10*9/L", "10*3/uL", "/uL"} <= units["anc"]
    assert {"g/L", "g/dL", "mmol/L"} <= units["hemoglobin"]
    assert {"mg/dL", "umol/L"} <= units["creatinine"]
    assert {"mg/dL", "umol/L"} <= units["bilirubin-total"]


def test_a_patient_without_cancer(patients) -> None:
    no_cancer = [p for p in patients if "no-cancer" in p.patient_id]
    assert len(no_cancer) == 1
    codes = {c["code"] for r in no_cancer[0].builder.resources_of("Condition") for c in r["code"]["coding"]}
    assert codes and not codes & MALIGNANT_SNOMED
    assert all(e.verdict == INELIGIBLE for e in no_cancer[0].expected.values())


def test_eligible_from_by_days_and_by_birthday() -> None:
    assert Expect(NOT_YET, in_days=11).eligible_from(DAY, None) == dt.date(2026, 12, 8)
    assert Expect(NOT_YET, at_age=18).eligible_from(DAY, "2010-02-28") == dt.date(2028, 2, 28)
    assert Expect(NOT_YET, at_age=18).eligible_from(DAY, "2008-02-29") == dt.date(2026, 2, 28)
    assert Expect(ELIGIBLE).eligible_from(DAY, "2010-01-01") is None


def test_some_patients_use_prefetch_and_some_fhir(patients) -> None:
    flags = {p.use_prefetch for p in patients}
    assert flags == {True, False}
    for p in patients:
        req = p.builder.hook_request(fhir_server="http://127.0.0.1:1/fhir", prefetch=p.use_prefetch)
        assert ("prefetch" in req) == p.use_prefetch
