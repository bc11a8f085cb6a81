"""Benchmarks of the nk-trials CDS service (issue 7). Run with ``make bench`` or ``.venv/bin/python bench/run.py``.

Parts (``--only``/``--skip`` take these names; default: all, in this order):

  inproc      1. in-process prefetch path: heavy (2,370 resources) and typical (~100) patient, median/p99 per
                 hook call via Flask (JWT + database) and via run_patient_view, ratio to json.loads
  fhir        2. FHIR path: the heavy patient on a local FHIR server; hook time vs the slowest single search
  throughput  3. `nk-cds serve --workers 2`, typical patient with prefetch, closed-loop load from a second
                 process for 30 s: requests/s, errors, p99, memory per worker
  growth      4. 5 / 50 / 500 trials and 100 / 1,000 / 10,000 resources per patient: table and per-unit cost
  load        5. bounded load test: concurrency 50 for 60 s: errors and worker memory at start vs end
  db          the database writes of one hook call (replay cache, card records)
  profile     cProfile of the heavy in-process prefetch path: top functions

``--quick`` runs every part with fewer repetitions and shorter load windows (about two minutes in all).
Everything runs with JWT verification and the database on, and only on 127.0.0.1. Exit status 1 only when a
part could not run (a missed target is reported as FAIL, not as an error). Each part prints the
machine and the 1-minute load average: other processes on the machine slow every figure down.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import dbwrite, fhirpath, growth, inproc, profiling, served  # noqa: E402
from bench.common import Context  # noqa: E402
from bench.machine import load_average, machine  # noqa: E402
from bench.service import make_signer  # noqa: E402

PARTS = {
    "inproc": inproc.run,
    "fhir": fhirpath.run,
    "throughput": served.run_throughput,
    "growth": growth.run,
    "load": served.run_load_test,
    "db": dbwrite.run,
    "profile": profiling.run,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(PARTS), help="run only this part (repeatable)"
    )
    parser.add_argument("--skip", action="append", choices=sorted(PARTS), default=[], help="skip this part")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, shorter load windows")
    parser.add_argument("--json", type=Path, help="also write every figure and table to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    parser.add_argument("--profile-out", type=Path, help="write the full profile listing here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = [name for name in PARTS if (not args.only or name in args.only) and name not in args.skip]
    workdir = Path(tempfile.mkdtemp(prefix="nk-bench-"))
    host = machine()
    print(
        f"nk-trials benchmark  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  {'quick' if args.quick else 'full'} run"
    )
    print(f"machine: {host.line()}")
    print(f"load average at start: {load_average():.2f} (1 min)   work directory: {workdir}")
    ctx = Context(
        workdir=workdir, signer=make_signer(workdir), quick=args.quick, profile_out=args.profile_out
    )
    failed_parts = []
    started = time.monotonic()
    try:
        for name in selected:
            try:
                PARTS[name](ctx)
            except Exception as exc:  # noqa: BLE001 - one broken layer must not hide the other figures
                failed_parts.append(name)
                print(f"  part {name} could not run: {type(exc).__name__}: {exc}", flush=True)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n== Summary ({time.monotonic() - started:.0f} s; machine: {host.line()}; "
        f"load average at end {load_average():.2f})"
    )
    for figure in ctx.figures:
        if figure.ok is not None:
            print(f"  [{figure.part}] {figure.line().strip()}")
    if failed_parts:
        print(f"  parts that could not run: {', '.join(failed_parts)}")
    if args.json:
        args.json.write_text(ctx.to_json())
    return 1 if failed_parts else 0  # a missed target is a finding, not an error; a part that crashed is


if __name__ == "__main__":
    sys.exit(main())
