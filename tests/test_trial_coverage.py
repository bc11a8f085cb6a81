"""Every eligibility line of every seed text is accounted for by some criterion's quote.

The seed texts come in different shapes (ClinicalTrials.gov pages, a MedPath page, a Persian registry mirror, a
bare list of bullets). ``eligibility_items`` cuts each one on its own markers:

- the section starts at the first ``Inclusion Criteria`` heading line (any case), or, when a text has none, at
  the first line that starts with a bullet; it ends at the first registry field after it (``Minimum Eligible
  Age``, ``Maximum Eligible Age``, ``Primary purpose``, ``Study & Design``) or at the end of the file;
- every non-blank line in it is an item, except the ``Inclusion/Exclusion Criteria`` headings;
- a line is cut again wherever a numbered marker (``N-``, ``N)``, ``(N)``) follows a ``.`` or ``;``, so
  "5- ... 6- ..." and "... ; 2) ... ; 3) ..." give one item each;
- the leading marker (bullets ``•``, ``⁃``, ``‣``, ``*``; ``N.``, ``N-``, ``N)``, ``(N)``) is stripped;
- an item that ends with ``:`` and is followed by an item that does not introduces the items after it ("All
  of the following criteria must be met:", "Laboratory tests ... must meet the following conditions:") and is
  a heading, not a criterion (a trailing or stacked ``:`` item must still be covered).

An item is covered when the quote of at least one criterion of the trial occurs in it. Quotes are compared
with the seed's markdown escapes removed (``\\<`` -> ``<``, ``\\>`` -> ``>``, ``\\^`` -> ``^``).

Seeds are read from ``cards/seeds/`` (the project's copy) or, in a development checkout without it, from
``../shared/seeds``. A trial whose definition file does not exist yet is skipped with a reason naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TRIALS_DIR = ROOT / "cards" / "trials"
SEED_DIRS = (ROOT / "cards" / "seeds", ROOT.parent / "shared" / "seeds")

# seed file -> NCT id (the index in seeds/README.md; repeated here so a missing index cannot hide a trial)
SEEDS: dict[str, str] = {
    "000_0f3fd728ccf24ba5.txt": "NCT06848582",
    "001_3674636d8dd06494.txt": "NCT06631391",
    "002_60905b17e1791ef7.txt": "NCT05952310",
    "003_36e2577075e2b254.txt": "NCT06674265",
    "004_d0c1aabc4f276248.txt": "NCT03619954",
}

_START = re.compile(r"^\s*inclusion criteria\s*$", re.IGNORECASE)
_SUBHEADING = re.compile(r"^\s*(inclusion|exclusion) criteria\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*(Minimum Eligible Age|Maximum Eligible Age|Primary purpose|Study & Design)\s*$")
_BULLET_LINE = re.compile(r"^\s*[•⁃‣*]\s")
_LEADING_MARKER = re.compile(r"^\s*(?:[•⁃‣*]|\(\d{1,2}\)|\d{1,2}[.\-)])\s+")
_INLINE_MARKER = re.compile(r"(?<=[.;])\s+(?=(?:\(\d{1,2}\)|\d{1,2}[-)])\s)")


def unescape(text: str) -> str:
    """The seed text as displayed: markdown escapes removed."""
    return text.replace("\\<", "<").replace("\\>", ">").replace("\\^", "^")


def seed_path(name: str) -> Path | None:
    for folder in SEED_DIRS:
        if (folder / name).is_file():
            return folder / name
    return None


@dataclass(frozen=True)
class Item:
    line: int  # 1-based line number in the seed
    text: str  # marker stripped, escapes removed
    heading: bool = False  # ends with ":" and introduces the item after it: not a criterion


def eligibility_lines(text: str) -> list[tuple[int, str]]:
    """The numbered lines of the eligibility section (see the module docstring)."""
    lines = unescape(text).splitlines()
    start = next((i for i, line in enumerate(lines) if _START.match(line)), None)
    if start is None:
        start = next((i for i, line in enumerate(lines) if _BULLET_LINE.match(line)), None)
    if start is None:
        return []
    out = []
    for i in range(start, len(lines)):
        line = lines[i]
        if i > start and _END.match(line):
            break
        if line.strip() and not _SUBHEADING.match(line):
            out.append((i + 1, line))
    return out


def eligibility_items(text: str) -> list[Item]:
    """Every criterion-sized item of the eligibility section, headings included (``Item.heading``)."""
    parts = []
    for number, line in eligibility_lines(text):
        for part in _INLINE_MARKER.split(line):
            stripped = _LEADING_MARKER.sub("", part, count=1).strip()
            if stripped:
                parts.append((number, stripped))
    items: list[Item] = []
    for index, (number, stripped) in enumerate(parts):
        following = parts[index + 1][1] if index + 1 < len(parts) else None
        heading = stripped.endswith(":") and following is not None and not following.endswith(":")
        items.append(Item(number, stripped, heading))
    return items


def quotes_of(doc: dict) -> list[str]:
    return [c["source"]["quote"] for c in doc["criteria"] if isinstance(c.get("source"), dict)]


def uncovered(items: list[Item], quotes: list[str]) -> list[Item]:
    """Items that are not headings and contain none of the quotes."""
    return [it for it in items if not it.heading and not any(q in it.text for q in quotes)]


def _load(nct: str) -> dict:
    path = TRIALS_DIR / f"{nct}.yaml"
    if not path.is_file():
        pytest.skip(f"{nct}: cards/trials/{nct}.yaml not written yet")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _seed_text(name: str) -> str:
    path = seed_path(name)
    if path is None:
        pytest.skip(f"seed {name} not found in cards/seeds or ../shared/seeds")
    return path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------- the splitter


def test_splitter_handles_every_marker_style() -> None:
    text = (
        "Intro\nInclusion Criteria\n\nAll of the following must be met:\n\n1. First item;\n"
        "2. Labs must meet the following:\n\n1. ANC ok\n2. PLT ok\n"
        "• bullet one\n⁃ bullet two\n‣ bullet three\n* star item\n"
        "Exclusion Criteria\n3- Third item. 4- Fourth item (4 to 6 per day). 5- Fifth\n"
        "  1. WBC ok; 2) TBIL ok; 3) CrCl ok; (7) Size ok; (8) Consent\n"
        "Unmarked line (1: a oOR 2): b)\n"
        "Minimum Eligible Age\n\n1 Day\n"
    )
    items = eligibility_items(text)
    assert [it.text for it in items] == [
        "All of the following must be met:",
        "First item;",
        "Labs must meet the following:",
        "ANC ok",
        "PLT ok",
        "bullet one",
        "bullet two",
        "bullet three",
        "star item",
        "Third item.",
        "Fourth item (4 to 6 per day).",
        "Fifth",
        "WBC ok;",
        "TBIL ok;",
        "CrCl ok;",
        "Size ok;",
        "Consent",
        "Unmarked line (1: a oOR 2): b)",
    ]
    assert [it.text for it in items if it.heading] == [
        "All of the following must be met:",
        "Labs must meet the following:",
    ]


def test_splitter_without_heading_starts_at_first_bullet_and_runs_to_the_end() -> None:
    items = eligibility_items("Title\nSummary line\n‣ Must meet all:\n• Age \\<16 years\n⁃ ANC 10\\^9/L\n")
    assert [it.text for it in items] == ["Must meet all:", "Age <16 years", "ANC 10^9/L"]


def test_a_colon_item_with_nothing_after_it_is_not_a_heading() -> None:
    items = eligibility_items("Inclusion Criteria\n1. First:\n2. Second:\n3. Third\n4. Last:\n")
    assert [(it.text, it.heading) for it in items] == [
        ("First:", False),
        ("Second:", True),
        ("Third", False),
        ("Last:", False),
    ]


def test_uncovered_reports_an_item_no_quote_covers() -> None:
    items = [
        Item(1, "Heading:", True),
        Item(2, "Age ≤18 years, gender not limited;"),
        Item(3, "Expected survival"),
    ]
    assert uncovered(items, ["Age ≤18 years"]) == [Item(3, "Expected survival")]
    assert uncovered(items, ["Age ≤18 years", "survival"]) == []


# (seed, expected number of items, expected number of headings): pins the splitter on the real texts so a
# change in a seed or in the splitter that silently drops items fails here.
SEED_SHAPES = {
    "000_0f3fd728ccf24ba5.txt": (18, 2),  # 18 bullets (bilirubin+creatinine share one); 2 introduce
    "001_3674636d8dd06494.txt": (48, 4),  # 13 + 5 inclusion, 25 + 3 exclusion, 2 intro lines
    "002_60905b17e1791ef7.txt": (18, 0),  # 9 inclusion, 5 exclusion + 4 sub-bullets
    "003_36e2577075e2b254.txt": (19, 0),  # 5 unmarked inclusion lines, exclusions 3- to 16-
    "004_d0c1aabc4f276248.txt": (28, 1),  # 6 + 5 nested (incl. (7), (8)) inclusion, 17 exclusion
}


@pytest.mark.parametrize("seed", sorted(SEED_SHAPES))
def test_splitter_shape_of_each_seed(seed: str) -> None:
    items = eligibility_items(_seed_text(seed))
    total, headings = SEED_SHAPES[seed]
    assert (len(items), sum(it.heading for it in items)) == (total, headings), [it.text[:50] for it in items]


# ------------------------------------------------------------------------------------------- the trials


@pytest.mark.parametrize("seed,nct", sorted(SEEDS.items()))
def test_every_eligibility_item_is_covered(seed: str, nct: str) -> None:
    doc = _load(nct)
    assert doc.get("seedFile") == seed
    items = eligibility_items(_seed_text(seed))
    assert items, f"{seed}: no eligibility section found"
    missing = uncovered(items, quotes_of(doc))
    assert not missing, f"{nct}: items without a criterion: " + " | ".join(
        f"line {it.line}: {it.text[:80]}" for it in missing
    )


@pytest.mark.parametrize("seed,nct", sorted(SEEDS.items()))
def test_every_quote_occurs_verbatim_in_its_seed(seed: str, nct: str) -> None:
    doc = _load(nct)
    text = unescape(_seed_text(seed))
    for criterion in doc["criteria"]:
        source = criterion["source"]
        if source == "registry":
            continue
        assert source["file"] == seed, criterion["id"]
        assert source["quote"] in text, f"{criterion['id']}: quote not in {seed}: {source['quote']!r}"


@pytest.mark.parametrize("seed,nct", sorted(SEEDS.items()))
def test_dropping_a_criterion_is_noticed(seed: str, nct: str) -> None:
    """The coverage check can fail: without the criterion covering the first item, that item is reported."""
    doc = _load(nct)
    items = [it for it in eligibility_items(_seed_text(seed)) if not it.heading]
    first = items[0]
    quotes = [q for q in quotes_of(doc) if q not in first.text]
    assert first in uncovered(items, quotes)
