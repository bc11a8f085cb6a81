"""Observations -> LabValue: status filters, latest-first order, units, ranges, ULN fallback, coded answers."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.synthetic import LOINC, NCIT, SCT, PatientBuilder
from tests.normalise_support import TODAY, facts_of, patient


def labs(builder: PatientBuilder, concept: str):  # type: ignore[no-untyped-def]
    return facts_of(builder).lab_values(concept)


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_counted_statuses(status: str) -> None:
    (v,) = labs(patient().lab("anc", 1.5, "10*9/L", status=status, days_ago=1), "anc")
    assert v.value == 1.5 and v.problem is None and v.status == status


def test_preliminary_is_evidence_only() -> None:
    (v,) = labs(patient().lab("anc", 1.5, "10*9/L", status="preliminary", days_ago=1), "anc")
    assert v.value == 1.5 and v.status == "preliminary"
    assert v.problem and "preliminary" in v.problem


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "registered", "unknown", "bogus"])
def test_dropped_statuses(status: str) -> None:
    assert labs(patient().lab("anc", 1.5, "10*9/L", status=status, days_ago=1), "anc") == ()


def test_newest_first_and_latest_wins_within_the_same_day() -> None:
    b = (
        patient()
        .lab("anc", 1.0, "10*9/L", days_ago=10)
        .lab("anc", 3.0, "10*9/L", days_ago=1)
        .lab("anc", 2.0, "10*9/L", days_ago=5)
    )
    b.lab("anc", 4.0, "10*9/L", days_ago="2026-11-26T08:00:00Z").lab(
        "anc", 5.0, "10*9/L", days_ago="2026-11-26T18:00:00Z"
    )
    values = [v.value for v in labs(b, "anc")]
    assert values == [5.0, 4.0, 3.0, 2.0, 1.0]


def test_future_and_very_old_results_are_ignored() -> None:
    b = (
        patient()
        .lab("anc", 1.0, "10*9/L", days_ago=-2)
        .lab("anc", 2.0, "10*9/L", days_ago=900)
        .lab("anc", 3.0, "10*9/L", days_ago=0)
    )
    f = facts_of(b)
    assert [v.value for v in f.lab_values("anc")] == [3.0]
    assert any("after the evaluation date" in n for n in f.notes)


def test_partial_date_result_is_kept_with_its_interval() -> None:
    (v,) = labs(patient().lab("platelets", 150, "10*9/L", days_ago="2026-11"), "platelets")
    assert v.date.earliest == dt.date(2026, 11, 1) and v.date.latest == dt.date(2026, 11, 30)


def test_unit_conversion_and_reference_range_in_canonical_unit() -> None:
    (v,) = labs(
        patient().lab("bilirubin-total-molar", 34.2, "umol/L", low=3.4, high=17.1, days_ago=1),
        "bilirubin-total",
    )
    assert v.value == pytest.approx(2.0, rel=1e-3)
    assert v.ref_high == pytest.approx(1.0, rel=1e-3) and v.ref_low == pytest.approx(0.2, rel=1e-2)
    assert v.uln_ratio == pytest.approx(2.0, rel=1e-3) and v.ref_source == "observation"
    assert v.unit == "mg/dL" and v.original_value == "34.2 umol/L"


def test_non_ucum_unit_string_without_code() -> None:
    (v,) = labs(patient().lab("anc", 1.3, None, unit_text="K/uL", days_ago=1), "anc")
    assert v.value == pytest.approx(1.3)


def test_unknown_unit_gives_no_value_and_a_problem() -> None:
    (v,) = labs(patient().lab("platelets", 150, "bananas", high=400, days_ago=1), "platelets")
    assert v.value is None and v.problem == "unknown unit 'bananas'"


def test_wrong_dimension_unit_is_unknown() -> None:
    (v,) = labs(patient().lab("hemoglobin", 9, "10*9/L", days_ago=1), "hemoglobin")
    assert v.value is None and "unknown unit" in (v.problem or "")


def test_data_absent_and_string_values() -> None:
    b = (
        patient()
        .lab("anc", data_absent="not-performed", days_ago=1)
        .lab("platelets", value_string="clumped", days_ago=1)
    )
    f = facts_of(b)
    assert f.lab_values("anc")[0].value is None and "not-performed" in (f.lab_values("anc")[0].problem or "")
    assert f.lab_values("platelets")[0].problem == "no numeric value"


def test_creatinine_uln_fallback_for_children_is_marked() -> None:
    child = PatientBuilder("c1", TODAY, age=(7, 0), sex="male").lab("creatinine", 0.9, "mg/dL", days_ago=1)
    (v,) = labs(child, "creatinine")
    assert v.ref_high == pytest.approx(1.0 / 1.5) and v.ref_source == "fallback:cog-creatinine-max"
    teen = PatientBuilder("c2", TODAY, age=(14, 0), sex="female").lab("creatinine", 0.9, "mg/dL", days_ago=1)
    (v,) = labs(teen, "creatinine")
    assert v.ref_high == pytest.approx(1.4 / 1.5) and v.ref_source == "fallback-unverified:cog-creatinine-max"


def test_fallback_age_row_edges() -> None:
    # exactly 10 years old on the result date -> the 10-<13 row (COG 1.2 = 1.5 x ULN); one day younger -> 6-<10 (1.0)
    at_ten = PatientBuilder("c3", TODAY, age=(10, 1), sex="male").lab("creatinine", 0.5, "mg/dL", days_ago=1)
    below = PatientBuilder("c4", TODAY, age=(10, 0), sex="male").lab("creatinine", 0.5, "mg/dL", days_ago=1)
    assert labs(at_ten, "creatinine")[0].ref_high == pytest.approx(1.2 / 1.5)
    assert labs(below, "creatinine")[0].ref_high == pytest.approx(1.0 / 1.5)


def test_observation_range_wins_and_no_fallback_without_sex_or_for_adult_alt() -> None:
    assert (
        labs(
            PatientBuilder("c5", TODAY, age=(7, 0), sex="male").lab(
                "creatinine", 0.5, "mg/dL", high=0.7, days_ago=1
            ),
            "creatinine",
        )[0].ref_high
        == 0.7
    )
    assert (
        labs(
            PatientBuilder("c6", TODAY, age=(7, 0), sex=None).lab("creatinine", 0.5, "mg/dL", days_ago=1),
            "creatinine",
        )[0].ref_high
        is None
    )
    assert (
        labs(PatientBuilder("c7", TODAY, age=(30, 0), sex="male").lab("alt", 50, "U/L", days_ago=1), "alt")[
            0
        ].ref_high
        is None
    )
    child_alt = labs(
        PatientBuilder("c8", TODAY, age=(8, 0), sex="male").lab("alt", 50, "U/L", days_ago=1), "alt"
    )[0]
    assert child_alt.ref_high == 45 and child_alt.ref_source == "fallback-unverified:cog-alt-uln"


def test_components_are_read() -> None:
    comp = PatientBuilder.component
    b = patient().lab(
        "58410-2",
        display="CBC panel",
        components=[
            comp("wbc", 5.0, "10*9/L"),
            comp("platelets", 210, "10*9/L"),
            comp("hemoglobin", 12.5, "g/dL"),
        ],
        days_ago=1,
    )
    f = facts_of(b)
    assert f.lab_values("wbc")[0].value == 5.0
    assert f.lab_values("platelets")[0].value == 210
    assert f.lab_values("hemoglobin")[0].value == 125.0


def test_spo2_oxygen_context() -> None:
    comp = PatientBuilder.component
    room = labs(patient().lab("59410-1", 97, "%", days_ago=1), "spo2")[0]
    assert room.context == {"oxygen": "room-air"}
    supp = labs(patient().lab("spo2", 95, "%", components=[comp("3150-0", 40, "%")], days_ago=1), "spo2")[0]
    assert supp.context == {"oxygen": "supplemental"}
    flow0 = labs(patient().lab("spo2", 95, "%", components=[comp("3151-8", 0, "L/min")], days_ago=1), "spo2")[
        0
    ]
    assert flow0.context == {"oxygen": "room-air"}
    plain = labs(patient().lab("spo2", 95, "%", days_ago=1), "spo2")[0]
    assert plain.context == {}


@pytest.mark.parametrize(
    ("kwargs", "token"),
    [
        ({"coded": "positive"}, "positive"),
        ({"coded": "negative"}, "negative"),
        ({"coded": (LOINC, "LA6576-8", "Positive")}, "positive"),
        ({"coded": ("http://example.org/local", "X1", "Non-reactive")}, "negative"),
        ({"value_string": "Not detected"}, "negative"),
        ({"value_string": "REACTIVE"}, "positive"),
    ],
)
def test_qualitative_presence_answers(kwargs: dict, token: str) -> None:  # type: ignore[type-arg]
    (v,) = labs(patient().lab("hbsag", days_ago=1, **kwargs), "hbsag")
    assert v.coded == token and v.problem is None


def test_interpretation_fallback_and_unrecognised_answer() -> None:
    b = patient().lab("anti-hcv", value_string="see comment", days_ago=1)
    b.last()["interpretation"] = [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    "code": "POS",
                }
            ]
        }
    ]
    assert labs(b, "anti-hcv")[0].coded == "positive"
    (v,) = labs(patient().lab("anti-hcv", value_string="see comment", days_ago=1), "anti-hcv")
    assert v.coded is None and "unrecognised" in (v.problem or "")


@pytest.mark.parametrize(
    ("kwargs", "token"),
    [
        ({"value_string": "neg"}, "negative"),
        ({"value_string": "Trace"}, "trace"),
        ({"value_string": "+"}, "1+"),
        ({"value_string": "++"}, "2+"),
        ({"value_string": "3+"}, "3+"),
        ({"value_string": "++++"}, "4+"),
        ({"coded": "trace"}, "trace"),
        ({"coded": (SCT, "260348001", "++")}, "2+"),
    ],
)
def test_dipstick_grades(kwargs: dict, token: str) -> None:  # type: ignore[type-arg]
    (v,) = labs(patient().lab("urine-protein-dipstick", days_ago=1, **kwargs), "urine-protein-dipstick")
    assert v.coded == token


@pytest.mark.parametrize(
    ("mg_dl", "token"),
    [
        (0, "negative"),
        (14.9, "negative"),
        (15, "trace"),
        (30, "1+"),
        (100, "2+"),
        (299, "2+"),
        (300, "3+"),
        (2000, "4+"),
    ],
)
def test_quantitative_strip_protein_is_graded(mg_dl: float, token: str) -> None:
    (v,) = labs(patient().lab("5804-0", mg_dl, "mg/dL", days_ago=1), "urine-protein-dipstick")
    assert v.coded == token


def test_viral_load_quantity_reads_as_presence_and_copies_stay_unconverted() -> None:
    f = facts_of(patient().lab("hbv-dna", 250, "[IU]/mL", days_ago=1))
    assert f.lab_values("hbv-dna")[0].value == 250 and f.lab_values("hbv-dna-detected")[0].coded == "positive"
    f = facts_of(patient().lab("hbv-dna", 0, "[IU]/mL", days_ago=1))
    assert f.lab_values("hbv-dna-detected")[0].coded == "negative"
    b = patient().lab("hbv-dna", 20, "[IU]/mL", days_ago=1)
    b.last()["valueQuantity"]["comparator"] = "<"
    f = facts_of(b)
    assert (
        f.lab_values("hbv-dna-detected")[0].coded == "negative" and f.lab_values("hbv-dna")[0].value is None
    )
    f = facts_of(patient().lab("hbv-dna", 500, "{copies}/mL", days_ago=1))
    assert f.lab_values("hbv-dna")[0].value is None and "not converted" in (
        f.lab_values("hbv-dna")[0].problem or ""
    )


@pytest.mark.parametrize(
    ("kwargs", "token"),
    [({"coded": (SCT, "420913000", "NYHA class III")}, "III"), ({"value_string": "Class II"}, "II")],
)
def test_nyha(kwargs: dict, token: str) -> None:  # type: ignore[type-arg]
    (v,) = labs(patient().lab("88020-3", days_ago=1, **kwargs), "nyha-class")
    assert v.coded == token


def test_nyha_integer() -> None:
    b = patient().lab("88020-3", days_ago=1)
    b.last()["valueInteger"] = 4
    assert labs(b, "nyha-class")[0].coded == "IV"


def test_performance_scores_integers_and_answer_codes() -> None:
    b = patient().karnofsky(80, days_ago=2).lansky(60, days_ago=1).ecog(1, days_ago=3)
    f = facts_of(b)
    assert f.lab_values("karnofsky")[0].value == 80
    assert f.lab_values("lansky")[0].value == 60
    assert f.lab_values("ecog")[0].value == 1
    b = patient().lab("89247-1", coded=(LOINC, "LA9624-3", "ECOG 2"), days_ago=1)
    assert labs(b, "ecog")[0].value == 2
    b = patient().lab("C38144", system=NCIT, coded=(NCIT, "C69423", "70"), days_ago=1)
    assert labs(b, "lansky")[0].value == 70
    b = patient().lab("89243-0", coded=(LOINC, "LA29180-9", "Requires considerable assistance"), days_ago=1)
    assert labs(b, "karnofsky")[0].value == 50


def test_lansky_recorded_under_karnofsky_code() -> None:
    b = patient().lab("89243-0", display="Lansky play performance score", days_ago=1)
    b.last()["valueInteger"] = 70
    f = facts_of(b)
    assert f.lab_values("lansky")[0].value == 70 and f.lab_values("karnofsky") == ()


def test_score_out_of_range_is_a_problem() -> None:
    (v,) = labs(patient().karnofsky(150, days_ago=1), "karnofsky")
    assert v.value is None and "outside" in (v.problem or "")
    (v,) = labs(patient().ecog(7, days_ago=1), "ecog")
    assert v.value is None


def test_invalid_observation_is_skipped_and_counted() -> None:
    b = patient().lab("anc", 1.0, "10*9/L", days_ago=1)
    b.last()["effectiveDateTime"] = "2026-11-26"
    b.last()["valueQuantity"]["value"] = "lots"
    f = facts_of(b)
    assert f.lab_values("anc") == ()
    assert any("invalid resource skipped" in n for n in f.notes)


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("70", 70),
        ("Karnofsky 70%", 70),
        ("ECOG 1 - restricted", 1),
        ("ECOG 2 (0-5)", None),
        ("unable to assess", None),
    ],
)
def test_scores_from_text(text: str, score: float | None) -> None:
    concept = "ecog" if "ECOG" in text else "karnofsky"
    b = patient().lab("89247-1" if concept == "ecog" else "89243-0", value_string=text, days_ago=1)
    (v,) = labs(b, concept)
    assert v.value == score
    assert (v.problem is None) == (score is not None)


def test_labelled_answer_strings() -> None:
    assert (
        labs(patient().lab("hbsag", value_string="HBsAg: Negative", days_ago=1), "hbsag")[0].coded
        == "negative"
    )


def test_ratio_to_uln_concept_keeps_an_unlisted_unit_when_the_range_shares_it() -> None:
    (v,) = labs(patient().lab("vma-urine", 30, "mg/g{Cre}", high=10, days_ago=1), "vma-urine")
    assert v.value == 30 and v.ref_high == 10 and v.uln_ratio == 3 and v.unit == "mg/g{Cre}"
    (v,) = labs(patient().lab("vma-urine", 30, "umol/mmol{creat}", days_ago=1), "vma-urine")
    assert v.value is None and "unknown unit" in (v.problem or "")


def test_only_the_newest_candidates_per_concept_are_validated_and_kept() -> None:
    from cds.normalise.labs import LOOKBACK_DAYS, MAX_PER_CONCEPT

    b = patient()
    for day in range(MAX_PER_CONCEPT + 8):
        b.lab("platelets", 100 + day, "10*9/L", days_ago=day)
    b.lab("platelets", 5, "10*9/L", days_ago=LOOKBACK_DAYS + 1)  # beyond the look-back: never read
    values = labs(b, "platelets")
    assert len(values) == MAX_PER_CONCEPT
    assert [v.value for v in values] == [100 + d for d in range(MAX_PER_CONCEPT)]
    edge = labs(patient().lab("platelets", 7, "10*9/L", days_ago=LOOKBACK_DAYS), "platelets")
    assert [v.value for v in edge] == [7]


def test_only_future_results_of_a_known_concept_are_counted_and_old_ones_silently_dropped() -> None:
    b = patient().lab("anc", 1.0, "10*9/L", days_ago=-2).lab("anc", 2.0, "10*9/L", days_ago=900)
    b.lab("anc", 5.0, "10*9/L", days_ago=-3)
    b.last()["code"] = {
        "coding": [{"system": "http://loinc.org", "code": "0000-0"}]
    }  # no concept: not counted
    b.lab("anc", 6.0, "10*9/L", days_ago=901)
    b.last()["code"] = {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]}
    f = facts_of(b)
    assert f.lab_values("anc") == ()
    assert [n for n in f.notes if "Observation" in n] == [
        "Observation dated after the evaluation date ignored"
    ]


@pytest.mark.parametrize(
    ("dates", "day"),
    [
        ({"effectiveDateTime": "2026-11-20T10:00:00Z"}, "2026-11-20"),
        # two choice values: invalid R4B, skipped after the pre-filter
        ({"effectiveDateTime": "2026-11-20", "effectiveInstant": "2026-11-01T00:00:00Z"}, None),
        ({"effectiveInstant": "2026-11-19T10:00:00Z"}, "2026-11-19"),
        ({"effectivePeriod": {"start": "2026-11-01", "end": "2026-11-18"}}, "2026-11-18"),
        ({"effectivePeriod": {"start": "2026-11-17"}}, "2026-11-17"),
        ({"effectiveDateTime": "not a date", "issued": "2026-11-16T10:00:00Z"}, None),  # invalid: skipped
        ({"effectiveDateTime": 20261115, "issued": "2026-11-15T10:00:00Z"}, "2026-11-15"),
        ({"issued": "2026-11-14T10:00:00Z"}, "2026-11-14"),
        ({"effectiveDateTime": "2026-11-28"}, None),  # after the evaluation date
        ({"effectiveDateTime": "2020-01-01"}, None),  # beyond the look-back
        ({"effectiveDateTime": "not a date"}, None),  # undated
    ],
)
def test_every_effective_form_dates_the_result(dates: dict, day: str | None) -> None:  # type: ignore[type-arg]
    """The pre-filter reads effectiveDateTime directly (most records) and every other form through ``effective``:
    the same date either way, and ``issued`` when the effective date is missing or unusable."""
    b = patient().lab("platelets", 120, "10*9/L", days_ago=1)
    obs = b.last()
    for name in [k for k in obs if k.startswith("effective")]:
        del obs[name]
    obs.update(dates)
    values = labs(b, "platelets")
    assert [str(v.date) for v in values] == ([] if day is None else [day])


def test_newest_first_across_effective_forms() -> None:
    """Candidates are ordered by their raw date text whatever the form: the newest are validated and kept."""
    from cds.normalise.labs import MAX_PER_CONCEPT

    b = patient()
    forms = [
        lambda d: {"effectiveDateTime": d},
        lambda d: {"effectiveInstant": d + "T08:00:00Z"},
        lambda d: {"effectivePeriod": {"start": "2026-01-01", "end": d}},
    ]
    for n in range(MAX_PER_CONCEPT + 6):
        b.lab("platelets", 100 + n, "10*9/L", days_ago=1)
        obs = b.last()
        for name in [k for k in obs if k.startswith("effective")]:
            del obs[name]
        obs.update(forms[n % 3](f"2026-10-{n + 1:02d}"))
    values = labs(b, "platelets")
    assert [v.value for v in values] == [100 + n for n in reversed(range(6, MAX_PER_CONCEPT + 6))]
