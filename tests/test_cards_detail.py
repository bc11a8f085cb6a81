"""Card detail: GitHub-flavoured Markdown with no raw HTML, and the content a clinician needs."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from markdown_it import MarkdownIt

from cds.cards import render_cards
from cds.cards.markdown import escape
from cds.results import Evidence, Result, Verdict
from tests.cards_factory import criterion, make_config, make_facts, make_result, make_trial, waiting_result

SCRIPT = "<script>alert('x')</script>"


def _html_tokens(markdown: str) -> list[str]:
    """Raw HTML a GFM renderer (markdown-it with HTML enabled) would pass through."""
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    found = []
    for token in md.parse(markdown):
        if token.type == "html_block":
            found.append(token.content)
        for child in token.children or []:
            if child.type == "html_inline":
                found.append(child.content)
    return found


def _detail(result=None, trial=None, config=None, facts=None) -> str:
    result = result or make_result()
    trial = trial or make_trial(result.trial)
    cards = render_cards([result], [trial], facts or make_facts(), config or make_config())
    assert len(cards) == 1
    return cards[0]["detail"]


def test_the_html_check_detects_raw_html() -> None:
    assert _html_tokens(f"- a {SCRIPT} b") != []
    assert _html_tokens(f"- a {escape(SCRIPT)} b") == []


def test_injected_html_everywhere_is_escaped() -> None:
    evil = criterion(
        "inc-x",
        Result.UNKNOWN,
        f"ANC {SCRIPT} <b>bold</b> & more",
        reason=f"reason {SCRIPT}",
        needs=(f"needs {SCRIPT}",),
        evidence=(Evidence(value=f"v{SCRIPT}", unit="<u>", date="<d>", note=SCRIPT),),
    )
    result = make_result(criteria=(evil,), notes=(f"note {SCRIPT}",))
    trial = dataclasses.replace(
        make_trial(short_title=f"Title {SCRIPT}"),
        sites=({"name": f"Site {SCRIPT}", "country": "China", "status": "RECRUITING"},),
        contacts=({"name": f"Dr {SCRIPT}", "phone": "<1>"},),
    )
    detail = _detail(result, trial)
    assert _html_tokens(detail) == []
    assert "<" not in detail and ">" not in detail.replace("\n> ", "\n")
    assert "&lt;script&gt;" in detail
    assert "&amp; more" in detail


def test_markdown_syntax_in_data_is_escaped() -> None:
    assert (
        escape("*bold* _it_ [l](u) `c` |t| ~s~") == "\\*bold\\* \\_it\\_ \\[l\\](u) \\`c\\` \\|t\\| \\~s\\~"
    )
    assert escape("# heading") == "\\# heading"
    assert escape("- item") == "\\- item"
    assert escape("1. item") == "1\\. item"
    assert escape("1.5 mg") == "1.5 mg"
    assert escape("line\nbreak   here") == "line break here"
    assert escape("see https://a.org/x_y.") == "see https://a.org/x_y."


def test_waiting_periods_with_end_dates_and_repeat_labs() -> None:
    detail = _detail(waiting_result())
    assert "may be eligible from **5 Dec 2026**" in detail
    assert "### Waiting periods" in detail
    assert "At least 21 days after the last myelosuppressive chemotherapy: ends **5 Dec 2026**" in detail
    assert "### Repeat before enrolment" in detail
    assert "outside its screening window from **9 Dec 2026**" in detail


def test_unknown_criteria_name_the_deciding_data_and_evidence() -> None:
    detail = _detail(make_result())
    unknown = detail.split("### Cannot be decided from the record", 1)[1].split("###", 1)[0]
    assert "ANC &gt;= 1.0 x 10^9/L: no ANC within 14 days" in unknown
    assert "Would be decided by: ANC within 14 days" in unknown
    assert "0.9 10\\*9/L, on 2026-10-01, limit 1 10\\*9/L" in unknown
    assert "older than the 14-day screening window" in unknown
    assert "Observation/o1" not in detail


def test_review_met_and_not_applicable_sections() -> None:
    detail = _detail(make_result())
    assert "### Needs clinical review\n- Informed consent: needs the trial team" in detail
    assert "### Met\n- Age 1 day to 18 years\n  - 7 a, on 2019-05-01" in detail
    assert "- Exclusion: HIV infection (does not apply to this patient)" in detail
    assert "### Waiting periods" not in detail
    assert "### Repeat before enrolment" not in detail


def test_recruitment_status_and_sites() -> None:
    detail = _detail(make_result())
    assert "**Recruitment status:** Recruiting (registry, last verified 20 Feb 2025)." in detail
    assert "- Hospital 0, City 0, China (Recruiting)" in detail
    assert "not verified since" not in detail


def test_only_sites_in_configured_countries_are_listed() -> None:
    trial = make_trial(countries=("China", "Spain"))
    detail = _detail(make_result(), trial, make_config(countries=("spain",)))
    assert "Hospital 1, City 1, Spain" in detail
    assert "China" not in detail


def test_unknown_registry_status_carries_the_confirm_note() -> None:
    trial = make_trial("NCT03619954", status="UNKNOWN", status_verified=dt.date(2019, 8, 1))
    detail = _detail(make_result("NCT03619954"), trial)
    assert "recruitment status not verified since 1 Aug 2019; confirm with the site." in detail
    undated = dataclasses.replace(trial, status_verified=None)
    assert "recruitment status not verified; confirm with the site." in _detail(
        make_result("NCT03619954"), undated
    )


def test_incomplete_criteria_say_exclusions_must_be_checked_on_the_registry() -> None:
    detail = _detail(make_result(criteria_complete=False), make_trial(criteria_complete=False))
    assert "**Exclusion criteria not checked:**" in detail
    assert "https://clinicaltrials.gov/study/NCT06631391" in detail
    assert "Exclusion criteria not checked" not in _detail(make_result())


def test_a_not_met_criterion_without_clearing_date_is_listed_as_not_met() -> None:
    crit = (criterion("inc-z", Result.NOT_MET, "Something", reason="recorded", clears_on=None),)
    # ``possibly-eligible`` should not contain a hard failure; if the engine sends one, show it honestly.
    detail = _detail(make_result(criteria=crit))
    assert "### Not met\n- Something: recorded" in detail


def test_curator_flag_is_shown() -> None:
    crit = (criterion("inc-c", Result.MET, "Garbled line", curator_review=True),)
    assert "Garbled line (registry wording unclear; encoded as intended)" in _detail(
        make_result(criteria=crit)
    )


@pytest.mark.parametrize("verdict", [Verdict.ELIGIBLE, Verdict.POSSIBLY_ELIGIBLE, Verdict.NOT_YET_ELIGIBLE])
def test_detail_ends_with_the_disclaimer(verdict: Verdict) -> None:
    result = waiting_result() if verdict == Verdict.NOT_YET_ELIGIBLE else make_result(verdict=verdict)
    detail = _detail(result)
    assert detail.splitlines()[-1] == "_Decision support only: the trial team decides eligibility._"
    assert _html_tokens(detail) == []


def test_exclusions_are_labelled_so_met_is_not_misread() -> None:
    crit = (
        criterion("exc-1", Result.MET, "Brain metastases", type="exclusion"),
        criterion("exc-2", Result.UNKNOWN, "HIV positive", reason="no HIV test", type="exclusion"),
        criterion("inc-1", Result.MET, "Age 1 to 18", type="inclusion"),
    )
    detail = _detail(make_result(criteria=crit))
    assert "- Exclusion not present: Brain metastases" in detail
    assert "- Exclusion: HIV positive: no HIV test" in detail
    assert "- Age 1 to 18\n" in detail


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.502842, "0.503"),
        (1.79795, "1.8"),
        (449.96, "449.96"),
        (210.0, "210"),
        (1e6, "1000000"),
        (0.0412, "0.0412"),
    ],
)
def test_numbers_are_rounded_for_people_but_exact_in_the_extension(value: float, shown: str) -> None:
    from cds.results import display_number

    assert display_number(value) == shown
