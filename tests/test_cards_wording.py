"""What card rendering works out once (issue 7): compiled wording, criterion labels per trial, the study check.

Each shortcut must give the same text as working it out per call, must be rebuilt from a new wording file or
a new trial object, and must never hold patient data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml
from fhir.resources.R4B.researchsubject import ResearchSubject
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cds.cards import render_cards
from cds.cards.card import build_card
from cds.cards.detail import render_detail
from cds.cards.select import Selected
from cds.cards.suggestion import research_subject
from cds.cards.templates import TEMPLATE_FILE, Templates, format_string, load_templates
from cds.cards.wording import criterion_wording, trial_wording
from cds.errors import DefinitionError
from cds.paths import templates_dir
from cds.results import CriterionResult, Evidence, Result
from cds.trials import CriterionDef, Trial, load_trials
from tests.cards_factory import make_config, make_facts, make_result, make_trial

TRIALS = load_trials()
MARK = "PATIENTMARK"  # stands for patient data: must never reach a memo


# --- compiled wording -------------------------------------------------------------------------------------


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    st.lists(
        st.sampled_from(["$a", "${b}", "$$", "$", "{", "}", "{a}", "x", " ", "$ab", "${a}b", "$1", "é"]),
        max_size=8,
    ).map("".join)
)
def test_format_string_renders_like_string_template(template: str) -> None:
    values = {"a": "A{0}", "ab": "AB", "b": "$b"}
    try:
        expected = Template(template).substitute(values)
    except ValueError:  # a lone "$": the wording file is broken
        expected = "<bad placeholder>"
    except KeyError as exc:
        expected = f"<missing {exc}>"
    compiled = format_string(template)
    try:
        got = "<bad placeholder>" if compiled is None else compiled.format(**values)
    except KeyError as exc:
        got = f"<missing {exc}>"
    assert got == expected


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["$a", "${b}", "$$", "$", "{", "}", "{0}", "{a}", "x", " ", "$ab", "${a}b", "$1", "é"]
        ),
        max_size=8,
    ).map("".join)
)
def test_positional_format_string_renders_like_the_keyword_one(template: str) -> None:
    """``Templates.positional`` entries (``format_string(t, names)``) give the keyword entry's text."""
    values = {"a": "A{0}", "ab": "AB", "b": "$b"}
    names = ("b", "a", "ab")
    keyword, positional = format_string(template), format_string(template, names)
    if keyword is None:
        assert positional is None
        return
    try:
        expected = keyword.format(**values)
    except KeyError:  # a placeholder not among the values: not among the names either
        assert positional is None
        return
    assert positional is not None
    assert positional.format(*(values[n] for n in names)) == expected


def test_positional_entries_name_their_placeholders(tmp_path: Path) -> None:
    data = _shipped()
    data["detail"]["evidence_value_unit"] = "$unit: $value ($$)"
    data["detail"]["evidence_date"] = "on $date and $when"
    templates = load_templates(_write(tmp_path, data))
    assert templates.positional("detail.evidence_value_unit", "value", "unit") == "{1}: {0} ($)"
    with pytest.raises(DefinitionError, match="detail.evidence_date"):
        templates.positional("detail.evidence_date", "date")
    with pytest.raises(DefinitionError, match="'months': not a string"):
        templates.positional("months")  # a list


def test_format_string_examples() -> None:
    assert format_string("- $text: ${reason}s, $$5 {x}") == "- {text}: {reason}s, $5 {{x}}"
    assert format_string("cost $") is None


def _write(folder: Path, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TEMPLATE_FILE).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def _shipped() -> dict:
    return yaml.safe_load((templates_dir() / TEMPLATE_FILE).read_text(encoding="utf-8"))


def test_a_lone_dollar_is_a_definition_error_when_used(tmp_path: Path) -> None:
    data = _shipped()
    data["detail"]["met_item"] = "- $text costs $"
    templates = load_templates(_write(tmp_path, data))
    with pytest.raises(DefinitionError, match="detail.met_item"):
        templates.fmt("detail.met_item")


# --- criterion labels, memoised per trial -------------------------------------------------------------------


def _as_result(c: CriterionDef, result: Result, reason: str = "because") -> CriterionResult:
    return CriterionResult(
        id=c.id, type=c.type, text=c.text, result=result, reason=reason, curator_review=c.curator_review
    )


def _all_results(trial: Trial, reason: str = "because") -> tuple[CriterionResult, ...]:
    """Every criterion of ``trial`` in every list of the detail, so every label is used."""
    kinds = [Result.MET, Result.NOT_MET, Result.UNKNOWN, Result.REVIEW, Result.NOT_APPLICABLE]
    return tuple(_as_result(c, kinds[i % len(kinds)], reason) for i, c in enumerate(trial.criteria))


@pytest.mark.parametrize("trial", TRIALS, ids=lambda t: t.id)
def test_memoised_labels_equal_labels_worked_out_per_call(trial: Trial) -> None:
    templates = load_templates()
    memo = trial_wording(templates, trial)
    assert len(memo.criteria) == len({(c.text, c.type, c.curator_review) for c in trial.criteria})
    for c in trial.criteria:
        assert memo.criteria[(c.text, c.type, c.curator_review)] == criterion_wording(
            templates, c.text, c.type, c.curator_review
        )


@pytest.mark.parametrize("trial", TRIALS, ids=lambda t: t.id)
def test_detail_is_the_same_with_and_without_the_trials_criteria(trial: Trial) -> None:
    """Without criterion definitions on the trial every label is worked out per call: same markdown, links."""
    templates = load_templates()
    result = make_result(trial.id, criteria=_all_results(trial))
    memoised = render_detail(result, trial, make_config(), templates)
    per_call = render_detail(result, dataclasses.replace(trial, criteria=()), make_config(), templates)
    assert memoised == per_call
    assert "(registry wording unclear" in memoised.markdown or not any(
        c.curator_review for c in trial.criteria
    )


@pytest.mark.parametrize("trial", TRIALS, ids=lambda t: t.id)
def test_reasons_written_in_the_rules_render_the_same_from_the_memo(trial: Trial) -> None:
    """Reasons and needs that are texts of the trial's rules (escaped once per trial) give the same detail."""
    texts = list(trial_wording(load_templates(), trial).texts)
    assert any("study team" in t or "clinician" in t or "judge" in t for t in texts)
    odd = "A *rule* text <b> https://rule.example/x_(1) and # more"
    rule = {"kind": "review", "reason": odd, "needs": [odd + " 2"]}
    extra = dataclasses.replace(trial.criteria[0], id="extra", rule=rule)
    with_extra = dataclasses.replace(trial, criteria=(*trial.criteria, extra))
    kinds = [Result.UNKNOWN, Result.NOT_MET, Result.REVIEW]
    criteria = tuple(
        dataclasses.replace(
            _as_result(c, kinds[i % len(kinds)], reason=texts[i % len(texts)]),
            needs=(texts[(i + 1) % len(texts)], odd + " 2"),
            evidence=(Evidence(value=texts[(i + 2) % len(texts)], note=odd),),
        )
        for i, c in enumerate(with_extra.criteria)
    ) + (_as_result(extra, Result.UNKNOWN, reason=odd),)
    result = make_result(trial.id, criteria=criteria)
    templates = load_templates()
    memoised = render_detail(result, with_extra, make_config(), templates)
    per_call = render_detail(result, dataclasses.replace(with_extra, criteria=()), make_config(), templates)
    assert memoised == per_call
    assert odd in trial_wording(templates, with_extra).texts
    assert "https://rule.example/x_(1)" in memoised.urls


def test_a_result_text_the_trial_does_not_have_is_worked_out_not_memoised() -> None:
    trial = TRIALS[0]
    templates = load_templates()
    changed = dataclasses.replace(_as_result(trial.criteria[0], Result.MET), text="A *new* text")
    detail = render_detail(make_result(trial.id, criteria=(changed,)), trial, make_config(), templates)
    assert "A \\*new\\* text" in detail.markdown
    assert all(key[0] != "A *new* text" for key in trial_wording(templates, trial).criteria)


def test_a_new_trial_object_replaces_the_memo_entry() -> None:
    templates = load_templates()
    old = TRIALS[0]
    first = trial_wording(templates, old)
    assert trial_wording(templates, old) is first
    new_criteria = (dataclasses.replace(old.criteria[0], text="Reworded criterion"), *old.criteria[1:])
    new = dataclasses.replace(old, criteria=new_criteria)
    second = trial_wording(templates, new)
    assert second is not first and second.trial is new
    assert ("Reworded criterion", old.criteria[0].type, old.criteria[0].curator_review) in second.criteria
    entries = [k for k in templates._memo if k == ("trial-wording", old.id)]
    assert len(entries) == 1  # one entry per NCT id, whatever the number of catalogues


def test_a_changed_wording_file_is_used_by_the_next_load(tmp_path: Path) -> None:
    """Memoised labels live on the ``Templates`` object: new wording, new labels (same ``Trial`` object)."""
    trial = next(t for t in TRIALS if any(c.type == "exclusion" for c in t.criteria))
    result = make_result(trial.id, criteria=_all_results(trial))
    data = _shipped()
    before = render_detail(result, trial, make_config(), load_templates(_write(tmp_path / "a", data)))
    assert "Exclusion: " in before.markdown
    data["detail"]["criterion_label"]["exclusion"] = "Ausschluss: $text"
    data["detail"]["met_label"]["exclusion"] = "Kein Ausschluss: $text"
    after = render_detail(result, trial, make_config(), load_templates(_write(tmp_path / "b", data)))
    assert "Exclusion: " not in after.markdown and "Exclusion not present: " not in after.markdown
    assert "Ausschluss: " in after.markdown and "Kein Ausschluss: " in after.markdown


def test_the_default_wording_follows_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _shipped()
    data["detail"]["met_heading"] = "### Erfüllt"
    _write(tmp_path / "cards" / "templates", data)
    trial = TRIALS[0]
    result = make_result(trial.id, criteria=_all_results(trial))
    shipped = render_cards([result], TRIALS, make_facts(), make_config())[0]["detail"]
    monkeypatch.setenv("NK_CDS_DATA_DIR", str(tmp_path))
    changed = render_cards([result], TRIALS, make_facts(), make_config())[0]["detail"]
    monkeypatch.delenv("NK_CDS_DATA_DIR")
    again = render_cards([result], TRIALS, make_facts(), make_config())[0]["detail"]
    assert "### Met" in shipped and "### Erfüllt" not in shipped
    assert "### Erfüllt" in changed and "### Met" not in changed
    assert again == shipped


# --- no patient data in any memo ----------------------------------------------------------------------------


def _strings(value: Any, seen: set[int] | None = None) -> list[str]:
    """Every string reachable from ``value`` (dataclass fields, mapping keys and values, sequence items)."""
    seen = set() if seen is None else seen
    if isinstance(value, str):
        return [value]
    if id(value) in seen:
        return []
    seen.add(id(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name), seen)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k, seen) + _strings(v, seen)]
    if isinstance(value, list | tuple | set | frozenset):
        return [s for item in value for s in _strings(item, seen)]
    return []


def test_the_memos_never_hold_patient_data(tmp_path: Path) -> None:
    templates = load_templates(_write(tmp_path, _shipped()))  # a Templates object of this test's own
    trial = TRIALS[0]
    criteria = tuple(
        dataclasses.replace(
            c,
            reason=f"{MARK} reason https://{MARK.lower()}.example/r",
            needs=(f"{MARK} needs",),
            evidence=(
                Evidence(value=f"{MARK} 1", unit=f"{MARK}/L", date=f"{MARK}-date", limit=2.5, note=MARK),
            ),
            clears_on=dt.date(2026, 12, 5) if c.result == Result.NOT_MET else None,
            stale_on=dt.date(2026, 12, 9),
        )
        for c in _all_results(trial)
    ) + (_as_result(dataclasses.replace(trial.criteria[0], text=f"{MARK} text"), Result.UNKNOWN),)
    result = make_result(trial.id, criteria=criteria, notes=(f"{MARK} note",))
    detail = render_detail(result, trial, make_config(), templates)
    assert detail.markdown.count(MARK) > len(trial.criteria)  # the data did go through the renderer
    assert f"https://{MARK.lower()}.example/r" in detail.urls
    memo_strings = _strings(templates._memo) + _strings(templates._formats)
    assert memo_strings  # the memo is in use
    assert [s for s in memo_strings if MARK.casefold() in s.casefold()] == []


def test_templates_memo_is_per_object() -> None:
    one, two = Templates({"a": "x"}), Templates({"a": "x"})
    assert one.memo("k", lambda: [1]) is one.memo("k", lambda: [2])
    assert two.memo("k", lambda: [2]) == [2]


# --- the suggestion's R4B check, once per trial --------------------------------------------------------------

FHIR_IDS = st.text(alphabet="ABCXYZabcxyz0129-.", min_size=1, max_size=64)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(FHIR_IDS)
def test_suggestion_is_offered_exactly_when_the_full_resource_validates(patient_id: str) -> None:
    for trial in TRIALS:
        offered = research_subject(trial, patient_id)
        assert offered is not None
        ResearchSubject.model_validate(offered)  # would raise if the once-per-trial verdict were wrong
        assert offered["individual"] == {"reference": f"Patient/{patient_id}"}


def test_a_trial_whose_resource_does_not_validate_gets_no_suggestion() -> None:
    trial = make_trial(short_title="   ")  # the study display would be an empty string: not a FHIR string
    resource = {
        "resourceType": "ResearchSubject",
        "status": "candidate",
        "study": {"type": "ResearchStudy", "display": ""},
        "individual": {"reference": "Patient/pat-1"},
    }
    with pytest.raises(ValidationError):
        ResearchSubject.model_validate(resource)
    assert research_subject(trial, "pat-1") is None
    assert research_subject(make_trial(), "pat-1") is not None


# --- a reason the wording does not show is not escaped, but its links still count ----------------------------


def test_a_met_reason_is_not_shown_but_its_links_are_kept() -> None:
    met = _as_result(TRIALS[0].criteria[0], Result.MET, reason="see https://met.example/x *zebra*")
    detail = render_detail(
        make_result(TRIALS[0].id, criteria=(met,)), TRIALS[0], make_config(), load_templates()
    )
    assert "met.example" not in detail.markdown and "zebra" not in detail.markdown
    assert "https://met.example/x" in detail.urls


def test_a_met_reason_is_escaped_when_the_wording_shows_it(tmp_path: Path) -> None:
    data = _shipped()
    data["detail"]["met_item"] = "- $text ($reason)"
    templates = load_templates(_write(tmp_path, data))
    met = _as_result(TRIALS[0].criteria[0], Result.MET, reason="a *b* <i>")
    detail = render_detail(make_result(TRIALS[0].id, criteria=(met,)), TRIALS[0], make_config(), templates)
    assert "(a \\*b\\* &lt;i&gt;)" in detail.markdown


# --- detail blocks made from the trial alone (heading, recruitment and sites, registry link) ---------------


def test_trial_blocks_follow_the_configured_countries_and_a_new_trial_object() -> None:
    templates = load_templates()
    trial = make_trial(countries=("China", "Spain"))
    result = make_result(trial.id)

    def detail(t: Trial, **config: Any) -> str:
        return render_detail(result, t, make_config(**config), templates).markdown

    everywhere, china, spain = (
        detail(trial),
        detail(trial, countries=("china",)),
        detail(trial, countries=("Spain",)),
    )
    assert "Hospital 0, City 0, China" in everywhere and "Hospital 1, City 1, Spain" in everywhere
    assert "Hospital 0" in china and "Hospital 1" not in china
    assert "Hospital 1" in spain and "Hospital 0" not in spain
    assert detail(trial) == everywhere
    renamed = dataclasses.replace(trial, short_title="Renamed *trial*")
    assert "**Renamed \\*trial\\***" in detail(renamed)
    assert "**Renamed" not in detail(trial)


def test_card_texts_follow_a_new_trial_object_and_wording(tmp_path: Path) -> None:
    """The title, registry link and source labels are kept per trial: a renamed trial or new wording shows."""
    trial = make_trial()
    result = make_result(trial.id)

    def card(t: Trial) -> dict[str, Any]:
        return render_cards([result], [t], make_facts(), make_config())[0]

    first = card(trial)
    assert first["source"]["topic"]["display"] == "UCB NK cells for R/R neuroblastoma"
    renamed = card(dataclasses.replace(trial, short_title="Renamed\n  trial"))
    assert renamed["source"]["topic"]["display"] == "Renamed trial"
    assert renamed["source"]["label"] == first["source"]["label"].replace(
        "UCB NK cells for R/R neuroblastoma", "Renamed trial"
    )
    data = _shipped()
    data["link_registry"] = "Registereintrag $nct"
    templates = load_templates(_write(tmp_path, data))
    built = build_card(Selected(result, trial), make_facts(), make_config(), templates)
    assert built["links"][0]["label"] == f"Registereintrag {trial.id}"
    assert card(trial)["links"][0]["label"] == f"ClinicalTrials.gov record {trial.id}"
    one, two = card(trial)["overrideReasons"], card(trial)["overrideReasons"]
    assert one == two and one[0] is not two[0]  # equal, but each card has its own dicts
