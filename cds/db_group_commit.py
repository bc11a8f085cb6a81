"""Group commit: writes that threads of one process make at the same moment share one transaction.

Issue 7: under concurrent load each hook call's two small writes (its token id, its card records) spent far
longer waiting for the writer turn than writing (measured before this module: mean wait 15 ms, mean hold 2 ms,
2 workers x 4 threads at concurrency 8, Python's default 5 ms switch interval). The hold itself was stretched by
the GIL: the writer releases it for every SQLite call and the fsync, another thread of the worker runs the
pipeline meanwhile, and the writer gets it back only after the interpreter's switch interval. Fewer, larger
transactions pay that price once for several requests.

``GroupCommit.run(work)`` queues ``work`` (a function of a SQLAlchemy ``Connection``, its result returned) and:

- if no batch of this committer is being written, this thread leads: it takes everything queued so far, checks
  out a connection, takes the writer turn (``cds.db_writers``) and runs the works in order in one transaction;
  each waiting thread gets its own work's result;
- otherwise it waits; when the leader is done, the first of the works queued meanwhile leads the next batch.

Works must not expect an error as an answer (use ``ON CONFLICT`` clauses instead of catching
``IntegrityError``): an error rolls the whole batch back. When a work itself is at fault (any error but one of
the database's operational ones: a constraint, bad data, a bug), each work of that batch is run again in its
own transaction, so the faulty work fails alone and the others are written as if they had never shared a batch.
When the database is at fault (the writer turn, a lock, the connection, the commit: ``OperationalError`` and
its kin), retrying would only multiply the wait, so every work of the batch fails with its own ``WriteFailed``
(its ``__cause__`` is the database's error). A work's transaction is committed (durably, as its engine's
``synchronous`` setting says) before ``run`` returns. A thread that waited ``wait_s`` for a batch to take its
work gets ``WriteFailed``, as a busy timeout would; a work that a batch has already taken is waited for until
that batch ends (one transaction, bounded by the writer turn's and the database's own timeouts).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError

from cds.db_writers import WAIT_S, NoQueue, WriterQueue

# errors of the database rather than of a work: the whole batch fails, nothing is retried
DATABASE_FAULTS = (OperationalError, InterfaceError, InternalError)


class WriteFailed(Exception):
    """A write could not be committed: no batch took it in time, or its batch's transaction failed."""


T = TypeVar("T")
Work = Callable[[Connection], Any]


class _Pending(Generic[T]):
    """One queued work and, once its batch has ended, its result or error."""

    __slots__ = ("work", "result", "error", "done", "leads", "wake")

    def __init__(self, work: Callable[[Connection], T]) -> None:
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.leads = False
        self.wake = threading.Event()

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True
        self.wake.set()


class GroupCommit:
    """Batches the concurrent writes of one process through one engine (see the module docstring)."""

    def __init__(self, engine: Engine, writers: WriterQueue | NoQueue, wait_s: float = WAIT_S) -> None:
        self.engine = engine
        self.writers = writers
        self.wait_s = wait_s
        self._mutex = threading.Lock()
        self._queued: list[_Pending[Any]] = []
        self._busy = False  # a leader is writing a batch
        self.batches = 0  # transactions committed (the tests read it)
        _COMMITTERS.add(self)

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a committed transaction (shared with concurrent works); its result or its error."""
        item: _Pending[T] = _Pending(work)
        with self._mutex:
            self._queued.append(item)
            if not self._busy:
                self._busy = item.leads = True
        if not item.leads:
            self._await_turn(item)
        if item.leads:
            self._lead()
        if item.error is not None:
            raise item.error
        return item.result

    def _await_turn(self, item: _Pending[Any]) -> None:
        """Wait until a batch has written ``item`` or it is ``item``'s turn to lead one."""
        if item.wake.wait(self.wait_s):
            return
        with self._mutex:
            if item.leads:  # the lead was passed to it just now
                return
            if item in self._queued:  # no batch took it in time: give up, as a busy timeout would
                self._queued.remove(item)
                item.finish(error=WriteFailed(f"no write turn within {self.wait_s:g} s"))
                return
        item.wake.wait()  # a batch holds it: one transaction, bounded by the turn's and the database's timeouts

    def _lead(self) -> None:
        """Write everything queued so far, then pass the lead to the first work queued meanwhile."""
        batch: list[_Pending[Any]] = []
        try:
            with self._mutex:
                batch, self._queued = self._queued, []
            self._write(batch)
        finally:
            for item in batch:  # only if the leader was interrupted (``_write`` answers every work)
                if not item.done:
                    item.finish(error=RuntimeError("the write was interrupted"))
            with self._mutex:
                if self._queued:
                    successor = self._queued[0]
                    successor.leads = True
                    successor.wake.set()
                else:
                    self._busy = False

    def _write(self, batch: list[_Pending[Any]]) -> None:
        try:
            results = self._transaction([item.work for item in batch])
        except _WorkFailed as failed:
            if len(batch) == 1:
                batch[0].finish(error=failed.error)
                return
            for item in batch:  # the batch was rolled back: each work again, alone
                self._write([item])
            return
        except Exception as exc:  # noqa: BLE001 - the turn, the connection or the commit failed: for all
            for item in batch:  # each its own error: one shared object would collect every thread's traceback
                failed = WriteFailed(f"the write's transaction failed: {type(exc).__name__}: {exc}")
                failed.__cause__ = exc
                item.finish(error=failed)
            return
        for item, result in zip(batch, results, strict=True):
            item.finish(result)

    def _transaction(self, works: list[Work]) -> list[Any]:
        """One transaction for ``works``; the connection is checked out before the writer turn is taken and
        returned to the pool after it is released, so the turn is held only for the writes and the commit."""
        with self.engine.connect() as conn:
            with self.writers.turn(), conn.begin():
                results = []
                for work in works:
                    try:
                        results.append(work(conn))
                    except DATABASE_FAULTS:
                        raise  # the database's fault, not the work's: no retry (module docstring)
                    except Exception as exc:  # noqa: BLE001 - the work's own fault: retried alone
                        raise _WorkFailed(exc) from exc
            self.batches += 1
        return results


def _after_fork_in_child() -> None:
    """A forked child (gunicorn worker) starts with no batch: the parent's threads are not there to finish one."""
    for committer in list(_COMMITTERS):
        committer._mutex = threading.Lock()  # noqa: SLF001 - the committer's own fork hook
        committer._queued = []  # noqa: SLF001
        committer._busy = False  # noqa: SLF001


_COMMITTERS: weakref.WeakSet[GroupCommit] = weakref.WeakSet()
os.register_at_fork(after_in_child=_after_fork_in_child)


class _WorkFailed(Exception):
    """A work raised inside a batch's transaction (not the turn, the connection or the commit)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
