"""The compute gate: in one process, one request at a time runs the service's Python; a request waiting on the
network (its body arriving, FHIR searches) lets another run meanwhile.

Why: the service's work is pure Python, and a process runs Python on one core at a time (the GIL). Two
requests computing side by side in a gunicorn worker do not go faster than one after the other, and they hand
the GIL back and forth: each waits up to the 5 ms switch interval to get it back after every socket or SQLite
call, sometimes while holding the database's writer turn, which stalls the other worker too. Served runs (issue 7,
concurrency 8, 2 workers of 2 threads): faster with the gate in 8 of 9 back-to-back pairs, and in 7 of 10 rounds
of an interleaved A/B (median +8%); the cores were busier (1.81-1.82 instead of 1.73-1.75 of 2 in use). One
thread per worker did about as well, but its worker would sit idle while a call waits for the FHIR server.

- ``gated(wsgi_app)``: a WSGI application that holds the gate for each call (the response body is built by then;
  gunicorn writes it to the socket after the gate is let go).
- ``released()``: inside a call, lets the gate go for a network wait and takes it back after: while the request
  body is read (a slow or stalled client must not stop the worker), while gather waits for FHIR searches and
  Medication reads. Outside a gated call (the command line, tests calling the pipeline directly) it does nothing.

Still under the gate: the database writes, including the wait for the writer turn (bounded by its timeout; under
1 ms on average in the served runs) and the fsync, and a JWKS download (bounded by its timeout; it runs under the
verifier's lock, and letting the gate go while holding another lock that a gated call may wait for would
deadlock: never call ``released()`` in such a place). Threads that are not request threads (the FHIR search pool)
run outside the gate.

The gate is first come, first served (``FifoGate``): a plain lock let the thread that just let it go take it back
before a woken waiter could, and some calls waited 150-250 ms. A forked child gets a new gate, so a gate held in
the parent at ``fork`` cannot block a worker; a call lets go of the gate object it took.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any


class FifoGate:
    """A lock handed to its waiters in the order they came (each waits on its own lock, released by the
    previous holder: the gate passes directly, so no newcomer can take it in between)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._busy = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        with self._mutex:
            if not self._busy:
                self._busy = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder handing the gate over

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still busy: now the waiter's
            else:
                self._busy = False

    def __enter__(self) -> FifoGate:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


_state = threading.local()  # .gate: the gate this thread holds, else None
_gate = FifoGate()


def _new_gate() -> None:
    global _gate
    _gate = FifoGate()


os.register_at_fork(after_in_child=_new_gate)


def holds_gate() -> bool:
    """Whether the calling thread holds the gate."""
    return getattr(_state, "gate", None) is not None


def gated(wsgi_app: Callable[[dict[str, Any], Any], Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """``wsgi_app`` run with the gate held (see the module docstring)."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if holds_gate():  # a gated application called from inside another one
            return wsgi_app(environ, start_response)
        gate = _gate
        with gate:
            _state.gate = gate
            try:
                return wsgi_app(environ, start_response)
            finally:
                _state.gate = None

    return app


@contextmanager
def released() -> Iterator[None]:
    """The gate let go for the block (a network wait), when this thread holds it; taken back after."""
    gate = getattr(_state, "gate", None)
    if gate is None:
        yield
        return
    _state.gate = None
    gate.release()
    try:
        yield
    finally:
        gate.acquire()
        _state.gate = gate
