"""The card summary: one plain-text line under 140 characters naming the trial and the verdict.

The short title is the only part that gives way: it is cut at a word boundary where possible and ends with
an ellipsis; the verdict, date and NCT id are never shortened.
"""

from __future__ import annotations

from cds.cards.markdown import one_line
from cds.cards.templates import Templates
from cds.results import TrialResult, Verdict

MAX_SUMMARY = 139  # CDS Hooks: "<140-character summary" (counted in code points)


def shorten(title: str, room: int, ellipsis: str) -> str:
    """``title`` cut to at most ``room`` characters, ending in ``ellipsis`` when cut."""
    if len(title) <= room:
        return title
    keep = max(room - len(ellipsis), 0)
    cut = title[:keep]
    space = cut.rfind(" ")
    if space >= keep // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ellipsis if keep else ellipsis[:room]


def render_summary(
    result: TrialResult, short_title: str, templates: Templates, status_unverified: bool = False
) -> str:
    """``status_unverified``: the registry status is UNKNOWN, which the summary says too."""
    key = f"summary.{result.status.value}"
    date = ""
    if result.status == Verdict.NOT_YET_ELIGIBLE and result.eligible_from:
        date = templates.date(result.eligible_from, result.evaluated_on)
    note = templates.text("summary_note_unverified") if status_unverified else ""
    values = {"nct": result.trial, "date": date, "note": note}
    title = one_line(short_title)
    frame = templates.text(key, title="", **values)
    room = max(MAX_SUMMARY - len(frame), 0)
    return one_line(templates.text(key, title=shorten(title, room, templates.raw("ellipsis")), **values))
