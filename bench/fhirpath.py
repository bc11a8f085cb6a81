"""Part 2: the FHIR path. The heavy patient is stored on a real local FHIR server (``cds.localfhir``, sekmet);
the hook request carries no prefetch, so the service runs its own searches (concurrently, following every
page) under the production time budget.

Each round times every search the service would run on its own (``FhirSource.search_all`` with every page,
one after the other) and then one whole hook call through ``run_patient_view``. Target: hook median <=
1.5 x the median of the rounds' slowest single search + 20 ms, and < 300 ms.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from bench.common import Context, Figure
from bench.patients import heavy_patient
from bench.service import service_config
from bench.stats import Timing

PART = "2 FHIR path"


def run(ctx: Context) -> None:
    from cds.gather import gather
    from cds.gather.fhir import FhirSource
    from cds.gather.templates import PREFETCH, READ_KEYS, RESOURCE_TYPE, own_query
    from cds.localfhir import LocalFhirServer
    from cds.pipeline import run_patient_view

    ctx.heading(f"Part {PART}: heavy patient on a local FHIR server (sekmet-fhir), no prefetch")
    builder = heavy_patient(ctx.today, patient_id="bench-heavy-fhir")
    with LocalFhirServer() as server:
        t0 = time.perf_counter()
        server.load_bundle(builder.transaction_bundle(), timeout_s=600)
        ctx.say(f"loaded {len(builder.resources())} resources in {time.perf_counter() - t0:.1f} s")
        config = service_config(ctx.workdir, ctx.signer, fhir_allowlist=(server.base_url,))
        request = builder.hook_request(fhir_server=server.base_url, prefetch=False)
        pid = builder.patient_id
        raw = gather(request, config)
        counts = {k: len(v) for k, v in raw.resources.items()}
        ctx.say(f"gathered {counts}; unavailable: {raw.unavailable or 'none'}")
        ctx.report(
            Figure(
                PART,
                "resource types unavailable after gathering",
                len(raw.unavailable),
                "",
                "0",
                not raw.unavailable,
            )
        )

        def search(key: str) -> float:
            source = FhirSource(
                server.base_url,
                None,
                deadline=time.monotonic() + 30,
                request_timeout_s=30,
                max_pages=config.fhir_max_pages,
            )
            try:
                started = time.perf_counter()
                if key in READ_KEYS:
                    source.read("Patient", pid)
                else:
                    source.search_all(own_query(key, pid), RESOURCE_TYPE[key], pid)
                return time.perf_counter() - started
            finally:
                source.close()

        reps = ctx.reps(15, 4)
        per_key: dict[str, list[float]] = {k: [] for k in PREFETCH}
        slowest: list[float] = []
        hook: list[float] = []
        gathering: list[float] = []
        for round_no in range(reps + 1):
            times = {key: search(key) for key in PREFETCH}
            started = time.perf_counter()
            gather(request, config)
            gathered = time.perf_counter() - started
            started = time.perf_counter()
            run_patient_view(request, ctx.catalogue, config, dt.datetime.now(dt.UTC))
            elapsed = time.perf_counter() - started
            if round_no:
                for key, value in times.items():
                    per_key[key].append(value)
                slowest.append(max(times.values()))
                hook.append(elapsed)
                gathering.append(gathered)
        ctx.say(
            "single searches incl. all pages (median ms): "
            + ", ".join(f"{k} {statistics.median(v) * 1000:.1f}" for k, v in per_key.items())
        )
        slow, total = Timing.of(slowest), Timing.of(hook)
        bound = 1.5 * slow.median + 20
        ctx.report(Figure(PART, "slowest single search (all pages) median", slow.median, "ms"))
        gat = Timing.of(gathering)
        ctx.report(
            Figure(
                PART,
                "gather only (all searches, concurrent) median",
                gat.median,
                "ms",
                note=f"{gat.median / slow.median:.2f}x the slowest search",
            )
        )
        ctx.report(
            Figure(
                PART,
                "hook call (run_patient_view, FHIR path) median",
                total.median,
                "ms",
                "< 300 ms",
                total.median < 300,
                f"p99 {total.p99:.1f} ms, n={total.n}",
            )
        )
        ctx.report(
            Figure(
                PART,
                "hook median vs 1.5 x slowest search + 20 ms",
                total.median,
                "ms",
                f"<= {bound:.1f} ms",
                total.median <= bound,
                f"ratio to slowest search {total.median / slow.median:.2f}x",
            )
        )
