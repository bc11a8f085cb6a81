"""Timing helpers: repeated measurement and order statistics (median, p99) in milliseconds.

Every measurement records wall-clock time and the calling thread's CPU time. On a machine shared with
other busy processes the wall time includes waiting for a core; the CPU time shows what the call itself
costs (it excludes waits such as fsync and, for the FHIR path, the FHIR server's own work).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Order statistics of ``n`` samples, in milliseconds."""

    n: int
    median: float
    p99: float
    minimum: float
    mean: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timing:
        ms = sorted(s * 1000 for s in seconds)
        if not ms:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(len(ms), statistics.median(ms), percentile(ms, 99), ms[0], statistics.fmean(ms))

    def short(self) -> str:
        return f"median {self.median:.2f} ms, p99 {self.p99:.2f} ms (min {self.minimum:.2f}, n={self.n})"


@dataclass(frozen=True)
class Measured:
    wall: Timing
    cpu: Timing

    def short(self) -> str:
        return f"wall {self.wall.short()}; CPU median {self.cpu.median:.2f} ms"


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def interleaved(
    calls: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int = 2,
    prepare: Callable[[], None] | None = None,
) -> dict[str, Measured]:
    """Time several callables in turn, ``repeats`` rounds, so they share the same machine conditions.

    ``prepare`` runs before each round, outside the timing (e.g. mint a token, parse a fresh request).
    Garbage collection is left on, as in production.
    """
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for round_no in range(warmup + repeats):
        if prepare is not None:
            prepare()
        for name, fn in calls.items():
            c0, w0 = time.thread_time(), time.perf_counter()
            fn()
            w1, c1 = time.perf_counter(), time.thread_time()
            if round_no >= warmup:
                wall[name].append(w1 - w0)
                cpu[name].append(c1 - c0)
    return {name: Measured(Timing.of(wall[name]), Timing.of(cpu[name])) for name in calls}


class GcMeter:
    """Wall time spent in the cyclic garbage collector while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self.collections = 0
        self._started = 0.0

    def __enter__(self) -> GcMeter:
        import gc

        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        import gc

        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total_s += time.perf_counter() - self._started
            self.collections += 1
