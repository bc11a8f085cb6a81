"""Writers to one SQLite file take turns on a lock instead of polling SQLite's lock.

SQLite allows one writer at a time. A connection that finds the database locked retries in its busy
handler, sleeping 1, 2, 5, 10, 15, 20, 25, ... up to 100 ms between attempts, so under load a write that
needed 1 ms can wait tens of milliseconds for a lock that was free most of that time (issue 7: p99 of a
hook call that only records its token was 180-350 ms under 8 concurrent clients on 2 workers).
``WriterQueue`` makes writers wait on locks that wake them as soon as the holder is done:

- a ``threading.Lock`` for the threads of one process;
- ``fcntl.flock`` on ``<database>-writers.lock`` for the processes (gunicorn workers, the CLI), tried without
  blocking every 0.1-1 ms (a blocking ``flock`` cannot time out). Both waits end after ``WAIT_S`` with SQLite's
  own "database is locked" error, as its busy timeout would: a stuck writer makes requests fail, not hang. The file
  is opened once per process. A forked child starts with a fresh thread lock and opens its own
  descriptor (``os.register_at_fork``): a descriptor shared with the parent would make both one lock
  holder, and a thread lock copied while held would never be released. The kernel releases the file lock
  if its holder dies (kill -9).

Each write transaction runs, and commits (with fsync where its pool asks for it: see ``cds.db``), inside the
queue; readers never wait for it (WAL).
A writer that does not use the queue (another program) still works: SQLite's own locking is unchanged
and remains what keeps the data consistent. Where ``fcntl`` is missing (Windows), only threads queue.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


_QUEUES: weakref.WeakSet[WriterQueue] = weakref.WeakSet()
WAIT_S = 10.0  # the longest wait for a turn: the same as the connections' SQLite busy_timeout (cds/db.py)
POLL_FIRST_S, POLL_MAX_S = 0.0001, 0.001  # the file lock's polling: first pause, doubling up to the longest


class WriterQueue:
    """``with queue.turn(): <one write transaction>``: one writer at a time across threads and processes."""

    def __init__(self, database_path: Path, wait_s: float = WAIT_S) -> None:
        self.lock_path = database_path.with_name(database_path.name + "-writers.lock")
        self.wait_s = wait_s
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        _QUEUES.add(self)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """One write transaction's turn; ``sqlite3.OperationalError`` after waiting ``wait_s`` (as SQLite's own
        busy timeout would), so a stuck writer elsewhere makes requests fail, not hang."""
        deadline = time.monotonic() + self.wait_s
        if not self._thread_lock.acquire(timeout=self.wait_s):
            raise _locked(self.wait_s)
        try:
            fd = self._descriptor()
            if fd is None:
                yield
                return
            _flock_until(fd, deadline, self.wait_s)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _descriptor(self) -> int | None:
        """This process's descriptor of the lock file (opened on first use)."""
        if fcntl is None:
            return None
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def close(self) -> None:
        with self._thread_lock:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None

    def _forked(self) -> None:
        """In a new child: forget the parent's lock state. Closing the child's copy of the descriptor does not
        release a lock the parent holds (that takes LOCK_UN or the last copy closed), and a child that
        outlives its parent cannot keep the parent's lock alive."""
        self._thread_lock = threading.Lock()
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None


def _flock_until(fd: int, deadline: float, wait_s: float) -> None:
    """The file lock, polling without blocking (0.1 ms, doubling up to 1 ms) until ``deadline``: a blocking
    ``flock`` cannot time out. Only writers of other processes make it wait. Issue 7: turns are held for about
    1 ms (longer when the holder waits for the GIL), and a worker whose threads all wait for a turn idles until
    the poll notices; polling up to every 4 ms instead left 2-10% more of the machine idle at concurrency 8. A
    poll costs a few microseconds."""
    pause = POLL_FIRST_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _locked(wait_s) from None
            time.sleep(pause)
            pause = min(pause * 2, POLL_MAX_S)


def _locked(wait_s: float) -> sqlite3.OperationalError:
    return sqlite3.OperationalError(f"database is locked (no writer turn within {wait_s:g} s)")


def _after_fork_in_child() -> None:
    for queue in list(_QUEUES):
        queue._forked()  # noqa: SLF001 - the queue's own fork hook


os.register_at_fork(after_in_child=_after_fork_in_child)


class NoQueue:
    """For servers that queue writers themselves (PostgreSQL) and in-memory SQLite."""

    @contextmanager
    def turn(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass
