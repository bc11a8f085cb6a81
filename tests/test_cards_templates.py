"""Card wording comes from ``cards/templates/card.yaml``; a broken file is a clear definition error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from cds.cards import render_cards
from cds.cards.templates import TEMPLATE_FILE, load_templates
from cds.errors import DefinitionError
from cds.paths import templates_dir
from tests.cards_factory import make_config, make_facts, make_result, make_trial


def _write(tmp_path: Path, data: dict) -> Path:
    folder = tmp_path / "cards" / "templates"
    folder.mkdir(parents=True)
    (folder / TEMPLATE_FILE).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def _shipped() -> dict:
    return yaml.safe_load((templates_dir() / TEMPLATE_FILE).read_text(encoding="utf-8"))


def test_wording_is_read_from_the_template_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _shipped()
    data["summary"]["possibly-eligible"] = "Mögliche Studie: $title ($nct)"
    data["detail"]["disclaimer"] = "_Nur Entscheidungshilfe._"
    data["override_reasons"]["other"] = "Anderer Grund"
    _write(tmp_path, data)
    monkeypatch.setenv("NK_CDS_DATA_DIR", str(tmp_path))
    card = render_cards([make_result()], [make_trial()], make_facts(), make_config())[0]
    assert card["summary"] == "Mögliche Studie: UCB NK cells for R/R neuroblastoma (NCT06631391)"
    assert card["detail"].endswith("_Nur Entscheidungshilfe._")
    assert card["overrideReasons"][-1]["display"] == "Anderer Grund"


def test_missing_key_is_a_definition_error(tmp_path: Path) -> None:
    data = _shipped()
    del data["summary"]["eligible"]
    with pytest.raises(DefinitionError, match="summary.eligible"):
        load_templates(_write(tmp_path, data))


def test_bad_placeholder_is_a_definition_error(tmp_path: Path) -> None:
    data = _shipped()
    data["suggestion_label"] = "Flag $nothing"
    templates = load_templates(_write(tmp_path, data))
    with pytest.raises(DefinitionError, match="suggestion_label"):
        templates.text("suggestion_label", title="t", nct="n")


def test_months_need_twelve_entries(tmp_path: Path) -> None:
    data = _shipped()
    data["months"] = data["months"][:11]
    with pytest.raises(DefinitionError, match="months"):
        load_templates(_write(tmp_path, data))


def test_dates_name_the_year_only_outside_the_current_year() -> None:
    templates = load_templates()
    assert templates.date(dt.date(2026, 12, 5), dt.date(2026, 11, 27)) == "5 Dec"
    assert templates.date(dt.date(2027, 1, 5), dt.date(2026, 11, 27)) == "5 Jan 2027"
    assert templates.date(dt.date(2026, 12, 5)) == "5 Dec 2026"


def test_every_registry_status_has_display_text() -> None:
    templates = load_templates()
    for status in ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "UNKNOWN", "COMPLETED"):
        assert templates.status(status) != status
    assert templates.status("SOMETHING_NEW") == "Something new"


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("evidence_value_unit", "$value $unit $nothing"),  # an entry with placeholders: an unknown one
        ("met_heading", "### Met ($count)"),  # a fixed line: any placeholder
        ("evidence_separator", "; $sep "),
    ],
)
def test_check_reports_a_broken_list_wording_entry(tmp_path: Path, key: str, text: str) -> None:
    from cds.commands.check import CheckReport, check_card_wording

    good = CheckReport()
    check_card_wording(good, _write(tmp_path / "good", _shipped()))
    assert good.errors == []
    data = _shipped()
    data["detail"][key] = text
    broken = CheckReport()
    check_card_wording(broken, _write(tmp_path / "broken", data))
    assert len(broken.errors) == 1
    assert key in broken.errors[0]
