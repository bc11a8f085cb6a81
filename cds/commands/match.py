"""``nk-cds match``: evaluate one patient on any FHIR R4 server against every enabled trial.

Runs the service's own pipeline below the HTTP layer: ``cds.gather.gather`` with a patient-view request
built from the arguments (no prefetch, so everything is read from ``--fhir-server``), then
``cds.pipeline.evaluate_patient``. Prints each trial's checklist, or the machine-readable results with
``--json``. The server given on the command line is the only one contacted (it is the allowlist for this
run). A bearer token for secured servers goes in ``--token`` or ``NK_CDS_FHIR_TOKEN``.

Exit status: 0 evaluated; 2 the Patient or its Conditions could not be read (the 412 case); 1 other errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import uuid
from typing import Any

NAME = "match"
HELP = "evaluate one patient from a FHIR R4 server against all trials and print each checklist"

MARKS = {
    "met": "[ok]",
    "not-met": "[NO]",
    "unknown": "[ ?]",
    "review": "[rv]",
    "not-applicable": "[na]",
}


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """``--fhir-server`` (required) and ``--token``: the FHIR server a command reads from or writes to."""
    parser.add_argument(
        "--fhir-server", required=True, help="FHIR R4 base URL, e.g. https://hapi.fhir.org/baseR4"
    )
    parser.add_argument(
        "--token", default=None, help="bearer token for the FHIR server (or NK_CDS_FHIR_TOKEN)"
    )


def register(parser: argparse.ArgumentParser) -> None:
    add_server_arguments(parser)
    parser.add_argument("--patient", required=True, help="Patient id on that server")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--date", default=None, help="evaluation date YYYY-MM-DD (default: today in NK_CDS_TIMEZONE)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="overall FHIR time budget in seconds (default 30)"
    )


def build_request(fhir_server: str, patient_id: str, token: str | None) -> dict[str, Any]:
    """A patient-view request without prefetch: the gatherer reads everything from ``fhir_server``."""
    request: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"patientId": patient_id, "userId": "Practitioner/nk-cds-cli"},
        "fhirServer": fhir_server.rstrip("/"),
    }
    if token:
        request["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "patient/*.read",
            "subject": "nk-cds-cli",
        }
    return request


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from cds.config import Config, ConfigError
    from cds.errors import NkCdsError, PreconditionFailed

    try:
        base = Config.from_env()
        evaluation_date = (
            dt.date.fromisoformat(args.date) if args.date else dt.datetime.now(ZoneInfo(base.timezone)).date()
        )
    except (ConfigError, ValueError) as exc:
        print(f"nk-cds match: {exc}", file=sys.stderr)
        return 1
    fhir_server = args.fhir_server.rstrip("/")
    config = base.with_(
        fhir_allowlist=(fhir_server,),
        fhir_budget_s=args.timeout,
        fhir_request_timeout_s=min(args.timeout, max(base.fhir_request_timeout_s, 15.0)),
    )
    from cds.config import cli_fhir_token

    token = args.token or cli_fhir_token()
    request = build_request(fhir_server, args.patient, token)
    try:
        from cds.gather import gather
        from cds.pipeline import evaluate_patient, load_catalogue

        catalogue = load_catalogue(config)
        raw = gather(request, config)
        facts, results = evaluate_patient(raw, catalogue, config, evaluation_date)
    except PreconditionFailed as exc:
        print(f"nk-cds match: patient data unavailable: {exc}", file=sys.stderr)
        return 2
    except (NkCdsError, ModuleNotFoundError) as exc:
        print(f"nk-cds match: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results_json(args.patient, evaluation_date, raw, results), indent=2))
    else:
        titles = {t.id: t.short_title for t in catalogue.trials}
        print(
            render_checklists(
                args.patient, evaluation_date, raw, results, titles, getattr(facts, "notes", ())
            )
        )
    return 0


def results_json(patient_id: str, evaluation_date: dt.date, raw: Any, results: list[Any]) -> dict[str, Any]:
    return {
        "patientId": patient_id,
        "evaluatedOn": evaluation_date.isoformat(),
        "unavailable": dict(getattr(raw, "unavailable", {})),
        "results": [r.to_json() for r in results],
    }


def render_checklists(
    patient_id: str,
    evaluation_date: dt.date,
    raw: Any,
    results: list[Any],
    titles: dict[str, str],
    notes: tuple[str, ...] = (),
) -> str:
    """Human-readable: one block per trial, one line per criterion with its mark, reason and what is needed."""
    lines = [f"Patient {patient_id}, evaluated on {evaluation_date.isoformat()}"]
    unavailable = getattr(raw, "unavailable", {}) or {}
    for resource_type, reason in sorted(unavailable.items()):
        lines.append(f"  ! {resource_type}: {reason} (criteria that need it are unknown)")
    for note in notes:
        lines.append(f"  note: {note}")
    lines.append(
        "Marks: [ok] met  [NO] not met  [ ?] unknown (data missing)  [rv] needs review  [na] not applicable"
    )
    for result in results:
        verdict = result.status.value.upper()
        if result.eligible_from and result.status.value == "not-yet-eligible":
            verdict += f" from {result.eligible_from.isoformat()}"
        lines.append("")
        lines.append(f"{result.trial}  {titles.get(result.trial, '')}: {verdict}")
        for note in getattr(result, "notes", ()):
            lines.append(f"    note: {note}")
        for criterion in result.criteria:
            mark = MARKS.get(criterion.result.value, "[  ]")
            line = f"  {mark} {criterion.text} -- {criterion.reason}"
            if criterion.clears_on:
                line += f" (clears on {criterion.clears_on.isoformat()})"
            if criterion.needs:
                line += f"; needs: {', '.join(criterion.needs)}"
            lines.append(line)
    return "\n".join(lines)
