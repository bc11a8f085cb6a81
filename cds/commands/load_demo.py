"""``nk-cds load-demo``: upload the demo patients to any FHIR R4 server.

One transaction Bundle per patient, every resource PUT at a stable id (``nk-demo-...``), so loading again
replaces the same resources instead of adding copies. Dates are relative to the day of loading: a patient
who is "eligible in 11 days" today is eligible in 10 days tomorrow, so reload before relying on the
declared verdicts (``--list`` shows them for today).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from cds.commands.match import add_server_arguments

NAME = "load-demo"
HELP = "upload the demo patients to a FHIR R4 server (PUT transactions with stable ids; re-running is safe)"
BAR = 30


def register(parser: argparse.ArgumentParser) -> None:
    add_server_arguments(parser)
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds allowed per transaction (default 60)"
    )
    parser.add_argument("--list", action="store_true", help="also list each patient's expected verdicts")


def progress(done: int, total: int, label: str) -> str:
    filled = round(BAR * done / total) if total else BAR
    return f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done:>2}/{total} {label:<40}"


def loading_date() -> dt.date:
    """Today in ``NK_CDS_TIMEZONE`` (the service's evaluation date), or the local date if it is unset/bad."""
    from zoneinfo import ZoneInfo

    from cds.config import Config, ConfigError

    try:
        return dt.datetime.now(ZoneInfo(Config.from_env().timezone)).date()
    except (ConfigError, ValueError, KeyError):
        return dt.date.today()


def run(args: argparse.Namespace) -> int:
    import requests

    from cds.demo.patients import demo_patients
    from cds.demo.upload import UploadError, post_transaction

    today = loading_date()
    patients = demo_patients(today)
    from cds.config import cli_fhir_token

    token = args.token or cli_fhir_token()
    base = args.fhir_server.rstrip("/")
    interactive = sys.stdout.isatty()
    print(f"Loading {len(patients)} demo patients into {base}")
    print(f"Dates are relative to today ({today.isoformat()}); verdicts shift on later days, so reload then.")
    started = time.perf_counter()
    resources = 0
    with requests.Session() as session:
        for index, patient in enumerate(patients, start=1):
            bundle = patient.builder.transaction_bundle()
            try:
                post_transaction(base, bundle, token=token, timeout_s=args.timeout, session=session)
            except UploadError as exc:
                print(f"\nnk-cds load-demo: {patient.patient_id} was not loaded: {exc}", file=sys.stderr)
                return 1
            resources += len(bundle["entry"])
            line = progress(index, len(patients), patient.patient_id)
            if interactive:
                print(line, end="", flush=True)
            else:
                print(line.lstrip("\r"), flush=True)
    if interactive:
        print()
    print(
        f"Loaded {len(patients)} patients ({resources} resources) in {time.perf_counter() - started:.1f} s."
    )
    if args.list:
        for patient in patients:
            print(f"  {patient.patient_id}: {patient.summary}")
            for trial, expected in patient.expected.items():
                when = patient.expected_eligible_from(trial, today)
                print(f"      {trial}: {expected.verdict}" + (f" from {when.isoformat()}" if when else ""))
    print(f"Try: nk-cds match --fhir-server {base} --patient {patients[0].patient_id}")
    return 0
