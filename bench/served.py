"""Parts 3 and 5: the real server (``nk-cds serve --workers 2``, gunicorn) under load from a second process.

The load generator (``bench/loadgen.py``) runs as its own process on the same machine; its CPU share is
printed with the figures (on a 2-core machine it competes with the workers). The request is the typical
patient with full prefetch; every request carries its own pre-minted ES384 token (replay cache on) and a
fresh hookInstance. Worker memory is read from /proc: VmRSS (counts pages shared with the master after the
fork in every worker) and PSS (shared pages divided between the sharers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Context, Figure
from bench.loadgen import PLACEHOLDER
from bench.machine import CpuShare, pss_mb, rss_mb
from bench.patients import typical_patient
from bench.service import Served, service_env

REPO = Path(__file__).resolve().parent.parent
TOKENS_PER_SECOND = 450  # pre-minted per second of load; above any rate this machine reaches


@dataclass
class LoadRun:
    result: dict
    server_cpu_s: float
    wall_s: float
    rss_before: dict[int, float]
    rss_after: dict[int, float]
    pss_after: dict[int, float]
    rss_series: list[tuple[float, dict[int, float]]]


def _body(ctx: Context, path: Path) -> Path:
    request = typical_patient(ctx.today).hook_request(hook_instance=PLACEHOLDER.decode())
    path.write_text(json.dumps(request))
    return path


def _load(
    ctx: Context, served: Served, name: str, concurrency: int, duration: float, warmup: float
) -> LoadRun:
    """Mint tokens, run the load generator process, sample worker memory while it runs."""
    body = _body(ctx, ctx.workdir / f"{name}-body.json")
    n_tokens = int((duration + warmup) * TOKENS_PER_SECOND)
    started = time.monotonic()
    tokens = ctx.signer.tokens(served.hook_url, n_tokens, lifetime_s=int(duration + warmup) + 900)
    (ctx.workdir / f"{name}-tokens.txt").write_text("\n".join(tokens))
    ctx.say(f"minted {n_tokens} tokens in {time.monotonic() - started:.1f} s (outside the measured window)")
    out = ctx.workdir / f"{name}-result.json"
    workers = served.worker_pids()
    rss_before = {pid: rss_mb(pid) for pid in workers}
    series: list[tuple[float, dict[int, float]]] = []
    cmd = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        served.hook_url,
        "--body",
        str(body),
        "--tokens",
        str(ctx.workdir / f"{name}-tokens.txt"),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, cwd=REPO)
    time.sleep(warmup)
    meter = CpuShare([served.proc.pid, *workers])  # type: ignore[union-attr]
    stop = threading.Event()

    def sample() -> None:
        begin = time.monotonic()
        while not stop.wait(5.0):
            series.append((time.monotonic() - begin, {pid: rss_mb(pid) for pid in workers}))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        proc.wait(timeout=duration + warmup + 120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError("load generator did not finish") from None
    server_cpu, wall = meter.stop()
    stop.set()
    sampler.join()
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"load generator failed with exit code {proc.returncode}")
    alive = served.worker_pids()
    if sorted(alive) != sorted(workers):
        ctx.say(f"WARNING: worker processes changed during the run: {workers} -> {alive}")
    return LoadRun(
        json.loads(out.read_text()),
        server_cpu,
        wall,
        rss_before,
        {pid: rss_mb(pid) for pid in workers},
        {pid: pss_mb(pid) for pid in workers},
        series,
    )


def _describe(ctx: Context, part: str, run: LoadRun, cores: int) -> None:
    r = run.result
    gen_share = r["cpu_s"] / r["wall_s"] if r["wall_s"] else 0.0
    ctx.say(
        f"statuses: {r['statuses']}; requests {r['requests']} in {r['duration_s']:.0f} s"
        + ("; RAN OUT OF TOKENS" if r["out_of_tokens"] else "")
    )
    ctx.say(
        f"latency ms: median {r['median_ms']:.1f}, p90 {r['p90_ms']:.1f}, p99 {r['p99_ms']:.1f}, "
        f"max {r['max_ms']:.1f}"
    )
    ctx.say(
        f"load generator CPU: {gen_share * 100:.0f}% of one core ({gen_share / cores * 100:.0f}% of the "
        f"machine); server (master + workers): {run.server_cpu_s / run.wall_s * 100:.0f}% of one core"
    )
    ctx.report(
        Figure(
            part,
            "load generator's own CPU share",
            gen_share * 100,
            "% of one core",
            note=f"{cores} cores in all",
        )
    )
    if r["requests"]:
        per_request = run.server_cpu_s / r["requests"] * 1000
        ctx.report(
            Figure(
                part,
                "server CPU per request (master + workers)",
                per_request,
                "ms",
                note=f"capacity if the server had all {cores} cores: about "
                f"{cores * 1000 / per_request:.0f} req/s",
            )
        )


def _errors(result: dict[str, Any]) -> int:
    """``LoadResult.errors`` of a load run read back from its JSON: requests that did not get a 200."""
    return int(result["requests"] - result["ok"])


def _errors_figure(part: str, result: dict[str, Any], note: str = "") -> Figure:
    errors = _errors(result)
    ok = errors == 0 and not result["out_of_tokens"]
    return Figure(part, "errors (non-200 or connection failures)", errors, "", "0", ok, note)


CURVE_CONCURRENCY = (2, 4)  # extra shorter runs after the concurrency-8 figure: latency vs load


def run_throughput(ctx: Context) -> None:
    from bench.machine import machine

    part = "3 throughput"
    ctx.heading(f"Part {part}: nk-cds serve --workers 2, typical patient with prefetch, closed-loop load")
    concurrency, duration, warmup = 8, (8.0 if ctx.quick else 30.0), 3.0
    with Served(service_env(ctx.workdir, ctx.signer), ctx.workdir, workers=2) as served:
        ctx.say(
            f"server {served.base_url}, workers {served.worker_pids()}, concurrency {concurrency}, "
            f"{duration:.0f} s after {warmup:.0f} s warm-up"
        )
        run = _load(ctx, served, "throughput", concurrency, duration, warmup)
        curve = [
            (c, _load(ctx, served, f"throughput-c{c}", c, duration / 3, warmup).result)
            for c in CURVE_CONCURRENCY
        ]
    r = run.result
    for c, other in curve:  # a closed loop's latency is set by how many requests it keeps in flight
        ctx.report(
            Figure(
                part,
                f"concurrency {c} (shorter run): throughput",
                other["rps"],
                "req/s",
                note=f"p99 {other['p99_ms']:.1f} ms, median {other['median_ms']:.1f} ms, "
                f"errors {_errors(other)}",
            )
        )
    _describe(ctx, part, run, machine().cores)
    ctx.report(Figure(part, "throughput", r["rps"], "req/s", ">= 200 req/s", r["rps"] >= 200))
    ctx.report(_errors_figure(part, r))
    ctx.report(
        Figure(
            part,
            "p99 latency",
            r["p99_ms"],
            "ms",
            "< 100 ms",
            r["p99_ms"] < 100,
            f"median {r['median_ms']:.1f} ms",
        )
    )
    worst = max(run.rss_after.values())
    ctx.report(
        Figure(
            part,
            "memory per worker (VmRSS, largest)",
            worst,
            "MB",
            "< 200 MB",
            worst < 200,
            "PSS " + ", ".join(f"{v:.0f}" for v in run.pss_after.values()) + " MB",
        )
    )


def run_load_test(ctx: Context) -> None:
    from bench.machine import machine

    part = "5 load test"
    ctx.heading(f"Part {part}: concurrency 50 on nk-cds serve --workers 2 (loopback)")
    concurrency, duration, warmup = 50, (12.0 if ctx.quick else 60.0), 3.0
    with Served(service_env(ctx.workdir, ctx.signer), ctx.workdir, workers=2) as served:
        ctx.say(
            f"server {served.base_url}, workers {served.worker_pids()}, {duration:.0f} s after "
            f"{warmup:.0f} s warm-up"
        )
        run = _load(ctx, served, "load", concurrency, duration, warmup)
    r = run.result
    _describe(ctx, part, run, machine().cores)
    ctx.report(_errors_figure(part, r, f"{r['requests']} requests, {r['rps']:.0f} req/s"))
    start = run.rss_series[0][1] if run.rss_series else run.rss_before
    for pid in run.rss_after:
        series = " -> ".join(f"{s[1][pid]:.0f}" for s in run.rss_series)
        growth = run.rss_after[pid] - start[pid]
        ctx.report(
            Figure(
                part,
                f"worker {pid} RSS growth (5 s into the load -> end)",
                growth,
                "MB",
                "<= 10 MB",
                growth <= 10,
                f"before load {run.rss_before[pid]:.0f} MB; every 5 s: {series}",
            )
        )
    ctx.tables["load-rss"] = [{"t_s": t, **{str(k): v for k, v in m.items()}} for t, m in run.rss_series]
