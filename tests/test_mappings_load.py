"""Loading, validating and querying mappings/*.yaml."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from cds.errors import DefinitionError
from cds.mappings import KINDS, clear_cache, load_mappings
from cds.paths import mappings_dir

CONTRACTS = Path(__file__).resolve().parents[1] / "docs" / "CONTRACTS.md"

SECTIONS = [
    ("lab", "Lab concepts", "Coded concepts"),
    ("coded", "Coded concepts", "Condition groups"),
    ("condition", "Condition groups", "Drug classes"),
    ("drug", "Drug classes", "Procedure groups"),
    ("procedure", "Procedure groups", "body-site groups"),
    ("bodysite", "body-site groups", "Vaccine groups"),
    ("vaccine", "Vaccine groups", "Allergy groups"),
    ("allergy", "Allergy groups", "Additional lab concepts"),
]


def contract_names(kind_start: str, kind_end: str) -> list[str]:
    text = CONTRACTS.read_text(encoding="utf-8")
    names = text[text.index("## Names") :]
    part = names[names.index(kind_start) : names.index(kind_end)]
    return re.findall(r"`([a-z0-9-]+)`", part)


@pytest.mark.parametrize(("kind", "start", "end"), SECTIONS)
def test_every_contract_name_is_defined(kind: str, start: str, end: str) -> None:
    m = load_mappings()
    names = contract_names(start, end)
    assert names, f"no names parsed for {kind}"
    missing = [n for n in names if not m.defines(kind, n)]
    assert missing == []


def test_every_defined_name_is_listed_in_contracts() -> None:
    m = load_mappings()
    text = CONTRACTS.read_text(encoding="utf-8")
    names_section = text[text.index("## Names") :]
    for kind in KINDS:
        for name in m.all_names(kind):
            assert f"`{name}`" in names_section, f"{kind} {name} not listed in CONTRACTS.md Names"


def test_defines_is_per_kind() -> None:
    m = load_mappings()
    assert m.defines("condition", "neuroblastoma")
    assert not m.defines("lab", "neuroblastoma")
    assert not m.defines("condition", "no-such-group")
    assert not m.defines("nonsense-kind", "neuroblastoma")


def test_unmapped_groups_are_declared_and_mapped_ones_are_not() -> None:
    m = load_mappings()
    assert m.is_unmapped("procedure", "tbi")
    assert m.is_unmapped("drug", "immunotherapy")
    assert not m.is_unmapped("drug", "checkpoint-inhibitor")
    assert not m.is_unmapped("bodysite", "lung")
    assert m.is_unmapped("allergy", "biologics")
    assert m.is_unmapped("lab", "bands-pct")
    assert not m.is_unmapped("condition", "neuroblastoma")
    assert not m.is_unmapped("drug", "nitrosourea")
    assert not m.is_unmapped("lab", "anc")
    assert not m.is_unmapped("coded", "hbsag")
    # derived radiotherapy-intent groups follow radiotherapy
    assert not m.is_unmapped("procedure", "radiotherapy-palliative")


def test_unmapped_names_are_defined() -> None:
    m = load_mappings()
    for kind in KINDS:
        for name in m.unmapped[kind]:
            assert m.defines(kind, name)


def test_unverified_rows_stay_visible() -> None:
    m = load_mappings()
    assert any("11259-9" in row for row in m.unverified_rows)  # HCV RNA presence, U in codes.yaml
    assert any("423740007" in row for row in m.unverified_rows)


def test_lab_info_has_canonical_units() -> None:
    m = load_mappings()
    expected = {
        "anc": "10*9/L",
        "hemoglobin": "g/L",
        "bilirubin-total": "mg/dL",
        "creatinine": "mg/dL",
        "crcl": "mL/min",
        "alt": "U/L",
        "inr": "{INR}",
        "pt": "s",
        "qtc": "ms",
        "lvef": "%",
        "body-weight": "kg",
        "body-height": "cm",
        "urine-protein-24h": "g/(24.h)",
        "hcg": "[IU]/L",
        "hbv-dna": "[IU]/mL",
        "tumor-size": "mm",
        "karnofsky": "{score}",
        "lansky": "{score}",
        "ecog": "{score}",
    }
    for concept, unit in expected.items():
        assert m.lab(concept).unit == unit, concept
    assert m.lab("creatinine").uln_fallback is not None
    assert m.lab("hbsag").type == "coded"
    with pytest.raises(KeyError):
        m.lab("no-such-concept")


def test_load_is_cached_and_versioned() -> None:
    first = load_mappings()
    assert load_mappings() is first
    assert re.match(r"^\d{4}-\d{2}-\d{2}\.\d+\+[0-9a-f]{10}$", first.version)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(mappings_dir(), target)
    clear_cache()
    return target


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_copy_of_mappings_loads(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    assert load_mappings(target).defines("condition", "gvhd")


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("labs.yaml", lambda d: d["concepts"]["anc"].update(units="no-table"), "unknown unit table"),
        ("labs.yaml", lambda d: d["concepts"]["anc"]["codes"][0].update(ver="V9"), "V9"),
        ("conditions.yaml", lambda d: d["groups"]["sarcoma"].update(includes=["nope"]), "unknown group"),
        (
            "conditions.yaml",
            lambda d: d["groups"]["gvhd"]["codes"][0].update(system="snomed"),
            "unknown code system",
        ),
        (
            "drugs.yaml",
            lambda d: d["classes"]["nitrosourea"]["ingredients"].append("unobtainium"),
            "unknown ingredient",
        ),
        ("drugs.yaml", lambda d: d.pop("routes"), "routes"),
        ("vaccines.yaml", lambda d: d.update(kind="labs"), "vaccines.yaml"),
        ("labs.yaml", lambda d: d["unit_tables"]["percent"]["units"][0].update(factor=2), "canonical"),
    ],
)
def test_invalid_mapping_raises_definition_error(tmp_path: Path, file: str, change, message: str) -> None:  # type: ignore[no-untyped-def]
    target = _copy(tmp_path)
    _edit(target / file, change)
    with pytest.raises(DefinitionError, match=re.escape(message)):
        load_mappings(target)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "allergies.yaml").unlink()
    with pytest.raises(DefinitionError, match="missing"):
        load_mappings(target)
    with pytest.raises(DefinitionError, match="not found"):
        load_mappings(tmp_path / "nowhere")


def test_broken_yaml(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "labs.yaml").write_text("concepts: [unclosed\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="labs.yaml"):
        load_mappings(target)
