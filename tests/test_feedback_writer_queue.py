"""``cds.db_writers.WriterQueue``: one writer at a time across threads and (forked) processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from cds.db import open_database
from cds.db_writers import NoQueue, WriterQueue

fcntl = pytest.importorskip("fcntl")


def _bump(path: Path) -> None:
    """A read-modify-write that loses updates unless writers take turns."""
    value = int(path.read_text() or "0")
    time.sleep(0.0005)
    path.write_text(str(value + 1))


def _bump_many(queue: WriterQueue, path: Path, n: int) -> None:
    for _ in range(n):
        with queue.turn():
            _bump(path)


def test_threads_take_turns(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    queue = WriterQueue(tmp_path / "db.sqlite")
    threads = [threading.Thread(target=_bump_many, args=(queue, counter, 25)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    assert counter.read_text() == "100"


def test_forked_processes_take_turns(tmp_path: Path) -> None:
    """The queue is used in the parent first: a child must not share the parent's lock descriptor."""
    counter = tmp_path / "counter"
    counter.write_text("0")
    queue = WriterQueue(tmp_path / "db.sqlite")
    with queue.turn():
        pass  # the parent has opened its descriptor
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_bump_many, args=(queue, counter, 25)) for _ in range(3)]
    for p in procs:
        p.start()
    _bump_many(queue, counter, 25)
    for p in procs:
        p.join(timeout=30)
    assert all(p.exitcode == 0 for p in procs)
    assert counter.read_text() == "100"


def test_a_waiting_process_gets_its_turn_when_the_holder_is_done(tmp_path: Path) -> None:
    queue = WriterQueue(tmp_path / "db.sqlite")
    ctx = multiprocessing.get_context("fork")
    entered = ctx.Event()

    def child() -> None:
        with queue.turn():
            entered.set()

    with queue.turn():
        proc = ctx.Process(target=child)
        proc.start()
        assert not entered.wait(0.3)  # blocked while the parent holds the turn
    assert entered.wait(5)  # and in as soon as it is released
    proc.join(timeout=5)
    assert proc.exitcode == 0


def test_the_turn_is_released_after_an_exception(tmp_path: Path) -> None:
    queue = WriterQueue(tmp_path / "db.sqlite")
    with pytest.raises(RuntimeError), queue.turn():
        raise RuntimeError("write failed")
    done = threading.Event()
    threading.Thread(target=lambda: (queue.turn().__enter__(), done.set()), daemon=True).start()
    assert done.wait(5)


def test_sqlite_files_queue_other_databases_do_not(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'svc.sqlite'}")
    assert isinstance(db.writers, WriterQueue)
    assert db.writers.lock_path == tmp_path / "svc.sqlite-writers.lock"
    assert db.remember_jti("iss", "a", 2_000_000_000, 1_800_000_000.0)
    assert not db.remember_jti("iss", "a", 2_000_000_000, 1_800_000_000.0)  # replay still refused
    db.dispose()
    assert isinstance(open_database("sqlite:///:memory:").writers, NoQueue)


def test_a_turn_held_by_another_process_times_out(tmp_path: Path) -> None:
    queue = WriterQueue(tmp_path / "db.sqlite", wait_s=0.3)
    other = open(queue.lock_path, "a+b")  # noqa: SIM115 - another open file description: another holder
    try:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"), queue.turn():
            pass
        assert 0.3 <= time.monotonic() - started < 2.0
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        with queue.turn():  # free again: no wait
            pass
    finally:
        other.close()


def test_a_turn_held_by_another_thread_times_out(tmp_path: Path) -> None:
    queue = WriterQueue(tmp_path / "db.sqlite", wait_s=0.2)
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with queue.turn():
            inside.set()
            leave.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5)
        with pytest.raises(sqlite3.OperationalError), queue.turn():
            pass
    finally:
        leave.set()
        holder.join(5)
    with queue.turn():
        pass
