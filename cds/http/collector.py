"""The cyclic garbage collector is paused for the whole of a hook call (``gc_paused``).

Why: a hook call builds large, short-lived object trees (the parsed prefetch, the facts, the results) that
contain no cycles worth collecting and are freed by reference counting when the call ends. With the
collector on, every ~700 allocations a generation-0 collection traverses the trees being built, and the
survivors are traversed again by generation-1 and 2 collections: measured about 1 ms of a typical call and
25-45 ms of a heavy (2 MB prefetch) call (issue 7, bench/). Paused, that work never happens: the trees are
gone before the collector runs again, and CPython's allocation count falls with every object freed, so
turning it back on does not trigger a catch-up collection.

Rules:
- Process-wide (the collector has one switch): concurrent requests share a counter, and the collector is
  turned back on when the last request in flight ends.
- A worker whose threads are always busy (sustained load with overlapping requests) would never reach
  "last one out": every ``COLLECT_EVERY``-th request that ends while others are still running collects
  generations 0 and 1 itself (where everything made while paused still is: about 1 ms), and every
  ``FULL_EVERY``-th such collection is a full one (tens of ms with the stall of every thread of the worker), so
  cyclic garbage (exceptions with tracebacks, for instance) cannot pile up.
- If the collector was already off (an embedding application's choice), it is left off and never run.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

COLLECT_EVERY = 32
FULL_EVERY = 16  # of those collections: one full one per 512 requests ended while busy


class _GcPause:
    """Shared state of ``gc_paused`` (a counter: the last request out turns the collector back on)."""

    lock = threading.Lock()
    depth = 0
    was_enabled = False
    ended_while_busy = 0  # requests that ended while others were running, since the last collection
    busy_collections = 0  # collections run that way, since the last full one


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collector off inside the block (see the module docstring); back on when the last block ends."""
    with _GcPause.lock:
        if _GcPause.depth == 0:
            _GcPause.was_enabled = gc.isenabled()
            gc.disable()
        _GcPause.depth += 1
    try:
        yield
    finally:
        collect_now, generation = False, 2
        with _GcPause.lock:
            _GcPause.depth -= 1
            if _GcPause.depth == 0:
                _GcPause.ended_while_busy = 0
                if _GcPause.was_enabled:
                    gc.enable()
            elif _GcPause.was_enabled:
                _GcPause.ended_while_busy += 1
                if _GcPause.ended_while_busy >= COLLECT_EVERY:
                    _GcPause.ended_while_busy = 0
                    _GcPause.busy_collections = (_GcPause.busy_collections + 1) % FULL_EVERY
                    generation = 2 if _GcPause.busy_collections == 0 else 1
                    collect_now = True
        if collect_now:
            gc.collect(generation)
