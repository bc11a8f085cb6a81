"""``nk-cds feedback-report``: per trial, how often its cards were accepted or overridden, and why.

Reads the database in ``NK_CDS_DB`` (or ``--db``). Feedback for a card the service has no record of (e.g. the
database was reset) is listed under "(unknown card)". Prints a table, or JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

NAME = "feedback-report"
HELP = "summarise clinician feedback per trial (accepted / overridden, override reasons)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLite path or SQLAlchemy URL (default: NK_CDS_DB)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from cds.config import Config
    from cds.db import open_database

    config = Config.from_env()
    if args.db:
        config = config.with_(db_url=args.db)
    db = open_database(config.sqlalchemy_url())
    try:
        summary = db.feedback_summary()
    finally:
        db.dispose()
    if args.json:
        print(json.dumps([asdict(t) for t in summary], indent=2, sort_keys=True))
        return 0
    if not summary:
        print("no feedback recorded")
        return 0
    print(f"{'trial':<16} {'accepted':>8} {'overridden':>10}  override reasons")
    for trial in summary:
        reasons = ", ".join(
            f"{label} ({n})"
            for label, n in sorted(trial.override_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        print(
            f"{trial.nct_id or '(unknown card)':<16} {trial.accepted:>8} {trial.overridden:>10}  {reasons or '-'}"
        )
    return 0
