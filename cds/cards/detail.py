"""The card ``detail``: GitHub-flavoured Markdown, every data value escaped (no raw HTML can pass).

Layout (wording in ``cards/templates/card.yaml``): title; "already flagged" note; the assessment; recruitment
status (with a "not verified since" note for registry status UNKNOWN) and sites (only those in
``config.countries`` when that is set) and the first contact; the note that exclusion criteria must be
checked on the registry when ``criteriaComplete`` is false; verdict notes; then the criteria grouped as
waiting periods (with end dates), not met, cannot be decided (with the data that would decide them), needs
review, labs to repeat before enrolment, and met; each with its evidence (value, unit, date, limit). It ends
with the evaluation date, the registry link and a one-line decision-support disclaimer.

Speed (issue 7): what depends only on the catalogue is rendered once per trial and wording file and kept on
the ``Templates`` object: the criterion labels and the escaped texts of the trial's rules (``cds.cards.wording``),
the heading, recruitment and registry-link blocks (``_trial_blocks``) and the list wording, compiled for
positional formatting (``_ListWording``). Patient data is escaped per hook call, each distinct string once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cds.cards.markdown import escape_and_find_urls, find_urls, urls_in
from cds.cards.suggestion import ExistingFlag
from cds.cards.templates import Templates
from cds.cards.wording import CriterionWording, Escaped, criterion_wording, trial_wording
from cds.config import Config
from cds.results import (
    MET,
    NOT_APPLICABLE,
    NOT_MET,
    REVIEW,
    UNKNOWN,
    CriterionResult,
    Evidence,
    TrialResult,
    Verdict,
    display_number,
)
from cds.trials import Trial

# Data string -> (escaped, URLs in it), for one hook call only.
EscapeMemo = dict[str, tuple[str, Sequence[str]]]


@dataclass(frozen=True)
class Detail:
    markdown: str
    urls: tuple[str, ...]  # every absolute URL the markdown mentions, registry page first


@dataclass
class _Writer:
    """Collects Markdown blocks; ``esc`` escapes data values and remembers the URLs they contain.

    ``escaped`` memoises ``escape_and_find_urls`` for the strings of one hook call (evidence repeats units,
    dates and notes); ``render_cards`` makes a new one per call, so patient text never outlives the call.
    ``catalogue`` holds the trial's rule texts escaped once per trial (``TrialWording.texts``); a string
    found there is not escaped again.

    The values put into the wording (``line``, ``_ListWording``) are strings already escaped (or, like dates,
    made from the wording file).
    """

    templates: Templates
    escaped: EscapeMemo = field(default_factory=dict)
    catalogue: Mapping[str, Escaped] = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)
    urls: dict[str, None] = field(default_factory=dict)

    def esc(self, value: object) -> str:
        """``value`` escaped for Markdown; the URLs it mentions are noted for the card's links."""
        if type(value) is str:  # only exact strings as keys: 1, 1.0 and True are equal dict keys
            found = self.escaped.get(value) or self.catalogue.get(value)
            if found is None:
                found = self.escaped[value] = escape_and_find_urls(value)
        else:
            found = escape_and_find_urls(value)
        escaped, urls = found
        if urls:
            self.note_urls(urls)
        return escaped

    def note_urls(self, urls: Sequence[str]) -> None:
        for url in urls:
            self.urls.setdefault(url, None)

    def line(self, key: str, **values: object) -> str:
        return self.templates.text(f"detail.{key}", **values)

    def block(self, lines: list[str]) -> None:
        if lines:
            self.blocks.append("\n".join(lines))

    def section(self, lines: list[str]) -> None:
        """A heading followed by its items, left out when there are no items."""
        if len(lines) > 1:
            self.blocks.append("\n".join(lines))

    def markdown(self) -> str:
        return "\n\n".join(self.blocks)


def _number(value: Any) -> str:
    """Display rounding (see ``display_number``); the extension keeps full precision."""
    if isinstance(value, float):
        return display_number(value)
    return str(value)


@dataclass(frozen=True)
class _ListWording:
    """The wording of the criterion lists, as ``str.format`` strings taking their values by position.

    A typical card lists some 80 criteria and 50 evidence items, so these entries are compiled once per
    wording file (kept on the ``Templates``, :func:`list_wording`) rather than looked up on every use, and
    compiled with positional fields (``Templates.positional``: the placeholders named in the comments, in
    that order), which format about twice as fast as keywords. All of them are compiled on the first card,
    so a wording file with one of them missing or wrong fails on any card.
    """

    headings: dict[str, str]  # section -> rendered heading ("### Not met")
    items: dict[str, tuple[str, bool]]  # section -> (text, reason[, date]; whether it shows the reason)
    needs: str  # needs
    repeat: str  # text, date
    not_applicable: str  # text
    evidence: str  # what
    value: str  # value
    value_unit: str  # value, unit
    date: str  # date
    limit: str  # limit
    limit_unit: str  # limit, unit
    limit_sources: Any  # ``detail.evidence_limit_source`` as written in the file (kind -> text)
    separator: str


_SECTIONS = ("waiting", "not_met", "unknown", "review", "repeat", "met")
_ITEM_SECTIONS = ("waiting", "not_met", "unknown", "review", "met")


def list_wording(templates: Templates) -> _ListWording:
    def build() -> _ListWording:
        fmt, positional = templates.fmt, templates.positional
        items = {}
        for section in _ITEM_SECTIONS:
            key = f"detail.{section}_item"
            names = ("text", "reason", "date") if section == "waiting" else ("text", "reason")
            # A reason the wording does not show (the shipped "Met") is not escaped; its URLs still count.
            # (A literal "{reason}" in the wording is "{{reason}}" here: it only costs an unneeded escape.)
            items[section] = (positional(key, *names), "{reason}" in fmt(key))
        return _ListWording(
            # Fixed lines: compiled with no names, so a placeholder in one is a definition error (not a KeyError)
            headings={s: positional(f"detail.{s}_heading").format() for s in _SECTIONS},
            items=items,
            needs=positional("detail.unknown_needs", "needs"),
            repeat=positional("detail.repeat_item", "text", "date"),
            not_applicable=positional("detail.not_applicable_item", "text"),
            evidence=positional("detail.evidence", "what"),
            value=positional("detail.evidence_value", "value"),
            value_unit=positional("detail.evidence_value_unit", "value", "unit"),
            date=positional("detail.evidence_date", "date"),
            limit=positional("detail.evidence_limit", "limit"),
            limit_unit=positional("detail.evidence_limit_unit", "limit", "unit"),
            limit_sources=templates.raw("detail.evidence_limit_source"),
            separator=positional("detail.evidence_separator").format(),
        )

    return templates.memo("detail-list-wording", build)


def _evidence_text(w: _Writer, f: _ListWording, ev: Evidence) -> str:
    esc = w.esc
    parts: list[str] = []
    if ev.value is not None:
        value = esc(_number(ev.value))
        if ev.unit:
            parts.append(f.value_unit.format(value, esc(ev.unit)))
        else:
            parts.append(f.value.format(value))
    if ev.date:
        parts.append(f.date.format(esc(ev.date)))
    if ev.limit is not None:
        limit = esc(_number(ev.limit))
        if ev.unit:
            parts.append(f.limit_unit.format(limit, esc(ev.unit)))
        else:
            parts.append(f.limit.format(limit))
    if ev.limitSource:
        kind = ev.limitSource.split(":", 1)[0]
        if kind in f.limit_sources:
            parts.append(str(f.limit_sources[kind]))
    if ev.note:
        parts.append(esc(ev.note))
    return f.separator.join(parts)


class _Criteria:
    """Renders criterion list items for one trial, using the trial's memoised criterion labels."""

    def __init__(self, w: _Writer, trial: Trial) -> None:
        self.w = w
        self.wording = trial_wording(w.templates, trial)
        self.lists = list_wording(w.templates)

    def labels(self, c: CriterionResult) -> CriterionWording:
        """The criterion's labelled text (memoised when it is one of the trial's criteria, else worked out);
        its URLs are noted where the text is escaped."""
        found = self.wording.criteria.get((c.text, c.type, c.curator_review))
        if found is None:
            found = criterion_wording(self.w.templates, c.text, c.type, c.curator_review)
        if found.urls:
            self.w.note_urls(found.urls)
        return found

    def add(self, lines: list[str], section: str, c: CriterionResult, *extra: str) -> None:
        """Appends ``c`` as a list item of ``section``: the item, what would decide it, its evidence.

        ``extra``: the item's values after text and reason (the waiting period's end date).
        """
        w, f = self.w, self.lists
        # Escaped in the order the URLs they mention are listed: needs, criterion text, reason, evidence.
        needs = [f.needs.format(w.esc(n)) for n in c.needs] if section == "unknown" else []
        labels = self.labels(c)
        line, shows_reason = f.items[section]
        if shows_reason:
            reason = w.esc(c.reason)
        else:
            w.note_urls(urls_in(c.reason))
            reason = ""
        text = labels.met if section == "met" else labels.listed
        lines.append(line.format(text, reason, *extra))
        lines += needs
        for ev in c.evidence:
            what = _evidence_text(w, f, ev)
            if what:
                lines.append(f.evidence.format(what))


def _criteria_sections(w: _Writer, result: TrialResult, trial: Trial) -> None:
    """Waiting periods, not met, cannot be decided, needs review, repeat before enrolment, met.

    The criteria are sorted into the sections in one pass, then each section is written in turn (the order
    in which texts are escaped, which is the order of the card's links).
    """
    date = w.templates.date
    r = _Criteria(w, trial)
    f = r.lists
    waiting: list[CriterionResult] = []
    met: list[CriterionResult] = []  # met and not applicable, in their order
    listed = {NOT_MET: [], UNKNOWN: [], REVIEW: [], MET: met, NOT_APPLICABLE: met}
    repeat: list[CriterionResult] = []
    for c in result.criteria:
        if c.result == NOT_MET and c.clears_on is not None:
            waiting.append(c)
        elif c.result in listed:
            listed[c.result].append(c)
        if c.stale_on is not None:
            repeat.append(c)
    waiting.sort(key=lambda c: (c.clears_on, c.id))
    repeat.sort(key=lambda c: (c.stale_on, c.id))

    lines = [f.headings["waiting"]]
    for c in waiting:
        r.add(lines, "waiting", c, date(c.clears_on))  # type: ignore[arg-type]
    w.section(lines)
    for name, kind in (("not_met", NOT_MET), ("unknown", UNKNOWN), ("review", REVIEW)):
        lines = [f.headings[name]]
        for c in listed[kind]:
            r.add(lines, name, c)
        w.section(lines)
    lines = [f.headings["repeat"]]
    for c in repeat:
        lines.append(f.repeat.format(r.labels(c).listed, date(c.stale_on)))  # type: ignore[arg-type]
    w.section(lines)
    lines = [f.headings["met"]]
    for c in met:
        if c.result == MET:
            r.add(lines, "met", c)
        else:
            lines.append(f.not_applicable.format(r.labels(c).listed))
    w.section(lines)


def _site_name(w: _Writer, site: dict[str, Any]) -> str:
    parts = [site.get(k) for k in ("name", "city", "country")]
    return w.esc(", ".join(str(p) for p in parts if p))


def _heading(w: _Writer, trial: Trial) -> None:
    w.block([w.line("heading", title=w.esc(trial.short_title), nct=w.esc(trial.id))])


def _recruitment(w: _Writer, trial: Trial, wanted: frozenset[str]) -> None:
    """Registry status, sites (only in ``wanted`` countries, casefolded, when that is not empty), contact."""
    t = w.templates
    status = t.status(trial.status)
    verified = t.date(trial.status_verified) if trial.status_verified else None
    lines = [
        w.line("recruitment", status=status, verified=verified)
        if verified
        else w.line("recruitment_no_date", status=status)
    ]
    w.block(lines)
    if trial.status.upper() == "UNKNOWN":
        w.block(
            [
                w.line("status_unverified", verified=verified)
                if verified
                else w.line("status_unverified_no_date")
            ]
        )
    sites = [s for s in trial.sites if not wanted or str(s.get("country", "")).casefold() in wanted]
    if sites:
        site_lines = [w.line("sites_heading")]
        for s in sites:
            name = _site_name(w, s)
            if s.get("status"):
                site_lines.append(w.line("site_status", site=name, status=t.status(str(s["status"]))))
            else:
                site_lines.append(w.line("site", site=name))
        w.block(site_lines)
    else:
        w.block([w.line("no_sites")])
    for contact in trial.contacts[:1]:
        parts = [contact.get(k) for k in ("name", "phone", "email")]
        text = ", ".join(str(p) for p in parts if p)
        if text:
            w.block([w.line("contact", contact=w.esc(text))])


def _footer(w: _Writer, trial: Trial) -> None:
    w.block([w.line("registry_link", nct=w.esc(trial.id), url=_link_target(trial.registry_url))])
    w.block([w.line("disclaimer")])


@dataclass(frozen=True)
class _Blocks:
    """Detail blocks rendered from catalogue data alone, with the URLs that data mentions (first seen first)."""

    trial: Trial  # the catalogue object they were rendered from
    blocks: tuple[str, ...]
    urls: tuple[str, ...]


def _trial_blocks(w: _Writer, trial: Trial, part: Hashable, render: Callable[[_Writer], None]) -> None:
    """Adds the blocks ``render`` writes for ``trial`` alone, rendered once per trial and wording file.

    ``render`` runs on a scratch writer whose blocks and URLs are memoised on the ``Templates`` (keyed by NCT
    id and ``part``, rebuilt for a new ``Trial`` object); here they are appended and the URLs noted in the
    same order, which gives the same detail and links as rendering them on ``w``.
    """

    def build() -> _Blocks:
        scratch = _Writer(w.templates)
        render(scratch)
        return _Blocks(trial, tuple(scratch.blocks), tuple(scratch.urls))

    done = w.templates.memo(("detail-blocks", trial.id, part), build, lambda cached: cached.trial is trial)
    w.blocks.extend(done.blocks)
    w.note_urls(done.urls)


def _link_target(url: str) -> str:
    """A URL safe inside Markdown link parentheses."""
    return "".join(
        {"(": "%28", ")": "%29", " ": "%20", "<": "%3C", ">": "%3E"}.get(ch, ch) for ch in url.strip()
    )


def render_detail(
    result: TrialResult,
    trial: Trial,
    config: Config,
    templates: Templates,
    flag: ExistingFlag | None = None,
    escaped: EscapeMemo | None = None,
) -> Detail:
    """``escaped``: the hook call's memo of escaped strings (see ``_Writer``); None for a fresh one."""
    w = _Writer(templates, {} if escaped is None else escaped, trial_wording(templates, trial).texts)
    w.urls[trial.registry_url] = None
    _trial_blocks(w, trial, "heading", lambda scratch: _heading(scratch, trial))
    if flag is not None:
        if flag.date is not None:
            w.block([w.line("already_flagged", date=w.esc(flag.date), status=w.esc(flag.status))])
        else:
            w.block([w.line("already_flagged_no_date", status=w.esc(flag.status))])
    eligible_from = ""
    if result.status == Verdict.NOT_YET_ELIGIBLE and result.eligible_from:
        eligible_from = templates.date(result.eligible_from)
    w.block([w.line(f"verdict.{result.status.value}", date=eligible_from)])
    wanted = frozenset(c.casefold() for c in config.countries)
    _trial_blocks(w, trial, ("recruitment", wanted), lambda scratch: _recruitment(scratch, trial, wanted))
    if not (result.criteria_complete and trial.criteria_complete):
        w.block([w.line("criteria_incomplete", url=w.esc(trial.registry_url))])
    if result.notes:
        w.block([w.line("notes_heading")] + [w.line("note", note=w.esc(n)) for n in result.notes])
    _criteria_sections(w, result, trial)
    w.block(
        [
            w.line(
                "evaluated",
                date=templates.date(result.evaluated_on),
                version=w.esc(result.definitions_version),
            )
        ]
    )
    _trial_blocks(w, trial, "footer", lambda scratch: _footer(scratch, trial))
    markdown = w.markdown()
    for url in find_urls(markdown.replace("&amp;", "&")):
        w.urls.setdefault(url, None)
    return Detail(markdown=markdown, urls=tuple(w.urls))
