"""The demo's patients x trials table (plain text, fits 132 columns)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cds.demo.patients import PREFIX, TRIALS, DemoPatient
from cds.demo.stack import HookOutcome, TrialVerdict

SHORT = {
    "eligible": "ELIGIBLE",
    "possibly-eligible": "possibly",
    "ineligible": "-",
}
CELL = 17


def cell(verdict: TrialVerdict) -> str:
    if verdict.verdict == "not-yet-eligible":
        return f"from {verdict.eligible_from.isoformat()}" if verdict.eligible_from else "not yet"
    return SHORT.get(verdict.verdict, verdict.verdict)


def render_table(
    patients: Sequence[DemoPatient],
    outcomes: dict[str, HookOutcome],
    evaluation_date: dt.date,
    titles: dict[str, str] | None = None,
    trials: Sequence[str] = TRIALS,
) -> str:
    """One row per patient, one column per trial; ``*`` marks a cell that differs from the declared verdict."""
    from cds.demo.stack import CARD_HORIZON_DAYS, compare

    name_width = max(len(p.patient_id.removeprefix(PREFIX)) for p in patients) + 2
    lines = [
        f"Evaluation date {evaluation_date.isoformat()}   ('from DATE' = not yet eligible, eligible from that day; '-' = no card: ineligible, or eligible only more than a year from now)",
        "",
    ]
    lines.append("patient".ljust(name_width) + "".join(t.ljust(CELL) for t in trials) + "via       ms")
    lines.append("-" * (name_width + CELL * len(trials) + 12))
    for patient in patients:
        outcome = outcomes[patient.patient_id]
        row = patient.patient_id.removeprefix(PREFIX).ljust(name_width)
        if outcome.error:
            row += f"error: {outcome.error}"
        else:
            differing = {
                line.split()[1].rstrip(":")
                for line in compare(patient, outcome, evaluation_date, CARD_HORIZON_DAYS)
            }
            for trial in trials:
                text = cell(outcome.verdict(trial)) + ("*" if trial in differing else "")
                row += text.ljust(CELL)
            row += outcome.via.ljust(8) + f"{outcome.seconds * 1000:6.0f}"
        lines.append(row)
    if titles:
        lines.append("")
        lines.extend(f"{t}  {titles.get(t, '')}" for t in trials)
    return "\n".join(lines)
