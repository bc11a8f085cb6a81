"""Card wording that depends only on the catalogue: a trial's criterion texts, escaped and labelled.

A card lists each criterion under its type's label (``detail.criterion_label.<type>``, in "Met"
``detail.met_label.<type>``), its text escaped for Markdown. That text comes from the trial definition, so
it is worked out once per trial and wording file and kept on the ``Templates`` object (``Templates.memo``),
not once per hook call. The memo is built from the ``Trial`` alone, so it can never hold patient data; a
criterion result whose text, type or curator flag is not one of the trial's gets its labels worked out on
the spot (:func:`criterion_wording`), with the same result.

The same goes for the texts written in the trial's rules (``TrialWording.texts``): a clinical-review rule's
reason and the data that would decide it reach the card verbatim ("Informed consent is obtained by the study
team"), about a third of the reasons on a typical card. The card looks a reason up there before escaping it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cds.cards.markdown import escape_and_find_urls
from cds.cards.templates import Templates
from cds.trials import Trial

CriterionKey = tuple[str, str, bool]  # (text, type, curator_review): all the labels depend on
Escaped = tuple[str, tuple[str, ...]]  # (escape(text), the URLs it mentions), as ``escape_and_find_urls``


@dataclass(frozen=True)
class CriterionWording:
    """A criterion's escaped text as introduced in the lists, and the URLs the text mentions."""

    listed: str  # "Exclusion: <text>" (+ curator flag): waiting, not met, unknown, review, repeat, n/a
    met: str  # "Exclusion not present: <text>" (+ curator flag): in "Met"
    urls: tuple[str, ...]


@dataclass(frozen=True)
class TrialWording:
    """``CriterionWording`` for every criterion of ``trial`` (the catalogue object it was built from)."""

    trial: Trial
    criteria: dict[CriterionKey, CriterionWording]
    texts: dict[str, Escaped]  # every string in the trial's criterion rules, escaped


def _label(templates: Templates, label: str, ctype: str, escaped: str, curator_review: bool) -> str:
    labels = templates.raw(f"detail.{label}")
    key = f"detail.{label}.{ctype}" if ctype in labels else f"detail.{label}.inclusion"
    text = templates.fmt(key).format(text=escaped)
    return text + templates.fmt("detail.curator_flag") if curator_review else text


def criterion_wording(templates: Templates, text: str, ctype: str, curator_review: bool) -> CriterionWording:
    """The labels of one criterion, worked out from scratch."""
    escaped, urls = escape_and_find_urls(text)
    return CriterionWording(
        listed=_label(templates, "criterion_label", ctype, escaped, curator_review),
        met=_label(templates, "met_label", ctype, escaped, curator_review),
        urls=tuple(urls),
    )


def _strings(value: Any) -> Iterator[str]:
    """Every string in a rule (mapping values and list items, at any depth)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _build(templates: Templates, trial: Trial) -> TrialWording:
    criteria: dict[CriterionKey, CriterionWording] = {}
    texts: dict[str, Escaped] = {}
    for c in trial.criteria:
        key = (c.text, c.type, c.curator_review)
        if key not in criteria:
            criteria[key] = criterion_wording(templates, *key)
        for text in _strings(c.rule):
            if text not in texts:
                escaped, urls = escape_and_find_urls(text)
                texts[text] = (escaped, tuple(urls))
    return TrialWording(trial, criteria, texts)


def trial_wording(templates: Templates, trial: Trial) -> TrialWording:
    """The memoised ``TrialWording`` of ``trial``; rebuilt when a new catalogue brings a new ``Trial`` object.

    Keyed by NCT id (so the memo stays as small as the catalogue) and checked by identity: the entry holds
    its ``Trial``, so that object cannot be freed and replaced by another at the same address.
    """
    return templates.memo(
        ("trial-wording", trial.id),
        lambda: _build(templates, trial),
        still_valid=lambda cached: cached.trial is trial,
    )
