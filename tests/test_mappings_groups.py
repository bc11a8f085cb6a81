"""Every mapping group matches its own codes; prefixes, patterns, text, exclusions and includes behave."""

from __future__ import annotations

from typing import Any

import pytest

from cds.mappings import load_mappings

M = load_mappings()
SYSTEMS = {alias: uris[0] for alias, uris in M.raw["systems"]["systems"].items()}


def _rows(file: str, section: str = "groups") -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for group, spec in M.raw[file][section].items():
        for row in spec.get("codes", ()) or ():
            out.append((group, "code", row))
        for row in spec.get("prefixes", ()) or ():
            out.append((group, "prefix", row))
    return out


def _example(kind: str, row: dict[str, Any]) -> str:
    if kind == "code":
        return row["code"]
    prefix = row["prefix"]
    return (
        prefix + ("9" if prefix[-1].isalpha() or prefix.endswith(".") else ".9")
        if len(prefix) <= 3
        else prefix + "9"
    )


@pytest.mark.parametrize(
    ("group", "kind", "row"), _rows("conditions"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_condition_code_and_prefix_matches_its_group(
    group: str, kind: str, row: dict[str, Any]
) -> None:
    code = _example(kind, row)
    if row.get("except") and any(code.replace(".", "").startswith(e.replace(".", "")) for e in row["except"]):
        pytest.skip("example falls in an exception")
    found = M.conditions.match([(SYSTEMS[row["system"]], code)], [])
    assert group in found


@pytest.mark.parametrize(
    ("group", "kind", "row"), _rows("procedures"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_procedure_code_matches_its_group(group: str, kind: str, row: dict[str, Any]) -> None:
    texts = row.get("requires_text", [])[:1]
    found = M.procedures.match([(SYSTEMS[row["system"]], _example(kind, row))], texts)
    assert group in found


@pytest.mark.parametrize(
    ("group", "kind", "row"), _rows("vaccines"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_vaccine_code_matches_its_group(group: str, kind: str, row: dict[str, Any]) -> None:
    assert group in M.vaccines.match([(SYSTEMS[row["system"]], row["code"])], [])


@pytest.mark.parametrize("group", sorted(M.raw["conditions"]["groups"]))
def test_every_condition_group_has_a_text_or_code_that_matches(group: str) -> None:
    spec = M.raw["conditions"]["groups"][group]
    if spec.get("text"):
        assert group in M.conditions.match(
            [], [f"History: {spec['text'][0]}"]
        ) or group in M.conditions.match([], [spec["text"][0]])
    else:
        assert spec.get("codes") or spec.get("prefixes") or spec.get("includes")


def test_lab_codes_index_every_concept() -> None:
    for name, spec in {**M.raw["labs"]["concepts"], **M.raw["labs"]["coded"]}.items():
        for row in spec.get("codes", ()):
            assert name in M.lab_concepts_for(SYSTEMS[row["system"]], row["code"])


@pytest.mark.parametrize("cls", sorted(M.raw["drugs"]["classes"]))
def test_every_drug_class_matches_one_of_its_ingredients_by_name(cls: str) -> None:
    spec = M.raw["drugs"]["classes"][cls]
    names = spec.get("ingredients") or []
    if not names:
        pytest.skip("class has no ingredients (text/includes only)")
    _, classes = M.drugs.match([], [f"{names[0]} 10 MG Injection"])
    excluded = set(spec.get("excludes", ())) & classes
    assert cls in classes or excluded


def test_rxnorm_and_atc_codes_match() -> None:
    rx, atc = SYSTEMS["rxnorm"], SYSTEMS["atc"]
    assert M.drugs.match([(rx, "2105")], [])[1] >= {"nitrosourea", "myelosuppressive-chemotherapy"}
    assert "nitrosourea" in M.drugs.match([(atc, "L01AD99")], [])[1]  # prefix rule
    assert M.drugs.match([(atc, "L01XX99")], [])[1] == {"anticancer-other"}
    assert "anticancer-other" not in M.drugs.match([(atc, "L01AA01")], [])[1]  # chemo is not "other"


def test_icd_codes_match_with_or_without_dot_and_in_lower_case() -> None:
    icd = SYSTEMS["icd10cm"]
    for code in ("C49.9", "C499", "c49.9"):
        assert "soft-tissue-sarcoma" in M.conditions.match([(icd, code)], [])
    assert "soft-tissue-sarcoma" not in M.conditions.match([(icd, "C49.A0")], [])  # GIST excluded
    assert "malignancy" in M.conditions.match([(icd, "C49.A0")], [])


def test_cvx_leading_zero_is_optional() -> None:
    cvx = SYSTEMS["cvx"]
    assert "live-vaccine" in M.vaccines.match([(cvx, "3")], [])
    assert "live-vaccine" in M.vaccines.match([(cvx, "03")], [])
    assert "live-vaccine" not in M.vaccines.match([(cvx, "206")], [])


def test_unknown_system_never_matches_by_code() -> None:
    assert M.conditions.match([("http://example.org/local", "432328008")], []) == frozenset()


def test_includes_expand_to_parents() -> None:
    sct = SYSTEMS["sct"]
    found = M.conditions.match([(sct, "307576001")], [])  # osteosarcoma
    assert {"bone-sarcoma", "sarcoma", "malignancy"} <= found
    assert "soft-tissue-sarcoma" not in found


def test_exclusions_by_code_and_text() -> None:
    sct = SYSTEMS["sct"]
    assert "neuroblastoma" not in M.conditions.match(
        [(sct, "422886007")], ["Olfactory neuroblastoma (disorder)"]
    )
    assert "neuroblastoma" not in M.conditions.match([], ["olfactory neuroblastoma"])
    assert "neuroblastoma" in M.conditions.match([], ["Neuroblastoma of left adrenal gland"])
    assert "sarcoma" not in M.conditions.match([], ["Kaposi sarcoma"])
    assert M.conditions.match([], ["Family history of neuroblastoma"]) == frozenset()
    assert "malignancy" not in M.conditions.match([], ["Carcinoma in situ of cervix"])
    assert "cervical-carcinoma-in-situ" in M.conditions.match([(SYSTEMS["icd10cm"], "D06.9")], [])


def test_site_codes_alone_are_not_neuroblastoma() -> None:
    found = M.conditions.match(
        [(SYSTEMS["icd10cm"], "C74.90")],
        ["Malignant neoplasm of unspecified part of unspecified adrenal gland"],
    )
    assert "neuroblastoma" not in found
    assert {"neuroblastoma-site-code", "malignancy"} <= found


def test_basal_cell_pattern_and_icdo3_behaviour() -> None:
    icd, icdo = SYSTEMS["icd10cm"], SYSTEMS["icdo3"]
    assert "basal-cell-carcinoma-skin" in M.conditions.match([(icd, "C44.311")], [])
    assert "basal-cell-carcinoma-skin" not in M.conditions.match([(icd, "C44.321")], [])  # squamous
    assert "malignancy" in M.conditions.match([(icdo, "8140/3")], [])
    assert "malignancy" not in M.conditions.match([(icdo, "8140/0")], [])


def test_mibg_generic_codes_need_mibg_in_text() -> None:
    cpt = SYSTEMS["cpt"]
    assert "mibg-therapy" not in M.procedures.match([(cpt, "79101")], ["Radiopharmaceutical therapy"])
    assert "mibg-therapy" in M.procedures.match([(cpt, "79101")], ["131I-MIBG infusion"])
    assert "mibg-therapy" not in M.procedures.match([], ["123I MIBG scan"])


def test_body_sites() -> None:
    assert M.body_sites.match([], ["Right lung structure"]) == {"lung"}
    assert M.body_sites.match([(SYSTEMS["sct"], "10200004")], []) == {"liver"}


def test_system_uri_variants() -> None:
    for system in (
        "http://loinc.org",
        "http://loinc.org/",
        "HTTP://LOINC.ORG",
        "urn:oid:2.16.840.1.113883.6.1",
    ):
        assert M.lab_concepts_for(system, "751-8") == ("anc",)
    assert M.lab_concepts_for(None, "751-8") == ()
