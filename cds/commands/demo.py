"""``nk-cds demo``: the whole service on synthetic patients, on this machine, with no network.

Starts a local FHIR server (sekmet-fhir) loaded with the demo patients and the CDS service on 127.0.0.1,
calls the patient-view hook over HTTP for every demo patient (some with prefetch, the others through the
service's own FHIR queries), and prints a patients x trials table. ``--serve`` keeps both running and
prints the URLs to give a CDS client such as the CDS Hooks Sandbox.

Exit status: 0 when every hook call answered; 1 when one failed or the stack could not start. A verdict
that differs from what the demo patient declares is marked ``*`` and listed (the test suite fails on it).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

NAME = "demo"
HELP = "run the embedded demo: local FHIR store + service + every demo patient, then print verdicts"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true", help="keep the FHIR server and the service running")
    parser.add_argument("--host", default="127.0.0.1", help="service address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="service port (default: a free port)")
    parser.add_argument(
        "--prefetch",
        choices=("mixed", "all", "none"),
        default="mixed",
        help="send prefetch for the patients that declare it (mixed), for all, or for none",
    )


def run(args: argparse.Namespace) -> int:
    from cds.config import Config, ConfigError
    from cds.demo.stack import CARD_HORIZON_DAYS, DemoStack, compare
    from cds.demo.table import render_table

    try:
        base = Config.from_env()
    except ConfigError as exc:
        print(f"nk-cds demo: {exc}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    print("Starting a local FHIR server and loading the demo patients ...", flush=True)
    stack = DemoStack(host=args.host, port=args.port, config=base)
    try:
        stack.start()
    except Exception as exc:  # a start failure is reported, not raised at the user
        print(f"nk-cds demo: could not start the demo stack: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    try:
        assert stack.evaluation_date is not None
        if not args.serve:
            _quiet_service_log()
        prefetch = {"mixed": None, "all": True, "none": False}[args.prefetch]
        outcomes = stack.call_all(prefetch=prefetch)
        print()
        print(render_table(stack.patients, outcomes, stack.evaluation_date, _titles()))
        problems = [
            line
            for p in stack.patients
            for line in compare(p, outcomes[p.patient_id], stack.evaluation_date, CARD_HORIZON_DAYS)
        ]
        failed = [o for o in outcomes.values() if o.error]
        print()
        print(
            f"{len(stack.patients)} patients, {len(outcomes) - len(failed)} hook calls answered "
            f"in {time.perf_counter() - started:.1f} s (including start-up)."
        )
        if problems:
            print("Verdicts that differ from what the demo patients declare (*):")
            for line in problems:
                print(f"  {line}")
        else:
            print("Every verdict matches what the demo patient declares.")
        if args.serve:
            _serve_forever(stack)
        return 1 if failed else 0
    finally:
        stack.stop()


def _quiet_service_log() -> None:
    """The service's access lines go to a log file, so the demo prints just its table."""
    import tempfile

    from cds.logging_setup import redirect_to_file

    with tempfile.NamedTemporaryFile(prefix="nk-cds-demo-", suffix=".log", delete=False) as log_file:
        path = log_file.name
    redirect_to_file(path)
    print(f"(service log: {path})", flush=True)


def _titles() -> dict[str, str]:
    try:
        from cds.trials import load_trials

        return {t.id: t.short_title for t in load_trials()}
    except Exception:  # titles are decoration only
        return {}


def _serve_forever(stack: object) -> None:
    from cds.demo.stack import DemoStack

    assert isinstance(stack, DemoStack)
    print()
    print("The demo keeps running. Point a CDS client at it:")
    print(f"  CDS discovery URL : {stack.discovery_url}")
    print(f"  FHIR server (R4)  : {stack.fhir_base_url}")
    print("  Patient ids       : " + ", ".join(p.patient_id for p in stack.patients))
    print("  Authentication    : off (NK_CDS_AUTH=off); only this FHIR server is allowlisted.")
    print(
        "In the CDS Hooks Sandbox: add the discovery URL as a CDS service, set the FHIR server to the URL above"
    )
    print("and open one of the patient ids. Press Ctrl+C to stop.", flush=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        print("Stopping.")
