"""The compute gate: in one process, one request at a time runs Python; a request waiting on the network lets
another run meanwhile.

Why: the service's work is pure Python, and a process runs Python on one core at a time (the GIL). Two
requests computing side by side in a gunicorn worker do not go faster than one after the other, and they hand
the GIL back and forth: each waits up to the 5 ms switch interval to get it back after every socket or SQLite
call, sometimes while holding the database's writer turn, which stalls the other worker too. Paired served runs
(issue 7, concurrency 8, 2 workers of 2 threads): 5 of 5 pairs faster with the gate, by 8-36%; the cores were
busier (1.82 instead of 1.75 of 2 in use). One thread per worker did as well on throughput, but its worker would
sit idle while a call waits for the FHIR server.

- ``gated(wsgi_app)``: a WSGI application that holds the gate for the whole of each call (the response body is
  built by then; gunicorn writes it to the socket after the gate is let go).
- ``released()``: inside a call, lets the gate go for a network wait (FHIR searches, a JWKS download) and takes
  it back after. Outside a gated call (the command line, tests calling the pipeline directly) it does nothing.

The gate is first come, first served (``FifoGate``): a plain lock let the thread that just let it go take it back
before a woken waiter could, and some calls waited 150-250 ms. It is made anew in a forked child, so a gate held
in the parent at ``fork`` cannot block a worker.

Never call ``released()`` while holding another lock that a gated call may wait for: the call would wait for the
gate while holding it (deadlock). JWKS downloads, for instance, happen under the verifier's lock and so keep the
gate.
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


_state = threading.local()  # .held: this thread holds the gate
_gate = FifoGate()


def _new_gate() -> None:
    global _gate
    _gate = FifoGate()


os.register_at_fork(after_in_child=_new_gate)


def holds_gate() -> bool:
    """Whether the calling thread holds the gate."""
    return getattr(_state, "held", False)


def gated(wsgi_app: Callable[[dict[str, Any], Any], Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """``wsgi_app`` run with the gate held (see the module docstring)."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if holds_gate():  # a gated application called from inside another one
            return wsgi_app(environ, start_response)
        gate = _gate
        with gate:
            _state.held = True
            try:
                return wsgi_app(environ, start_response)
            finally:
                _state.held = False

    return app


@contextmanager
def released() -> Iterator[None]:
    """The gate let go for the block (a network wait), when this thread holds it; taken back after."""
    if not holds_gate():
        yield
        return
    gate = _gate
    _state.held = False
    gate.release()
    try:
        yield
    finally:
        gate.acquire()
        _state.held = True
