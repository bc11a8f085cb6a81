"""``cds.db_group_commit.GroupCommit``: concurrent writes of one process share a transaction, and each still
gets its own result or error."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from cds import db as db_module
from cds import db_group_commit as group_commit
from cds.db import UnsupportedDatabase, make_engine, open_database
from cds.db_group_commit import GroupCommit, WriteFailed
from cds.db_writers import WriterQueue


@pytest.fixture
def committer(tmp_path: Path) -> Iterator[GroupCommit]:
    path = tmp_path / "g.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)"))
    yield GroupCommit(engine, WriterQueue(path), wait_s=5.0)
    engine.dispose()


def _insert(key: str, value: int = 1) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        conn.execute(text("INSERT INTO t (k, v) VALUES (:k, :v)"), {"k": key, "v": value})
        return key

    return work


def _rows(committer: GroupCommit) -> dict[str, int]:
    """Read back through a new connection: only committed rows."""
    with committer.engine.connect() as conn:
        return dict(conn.execute(text("SELECT k, v FROM t")).all())


def _blocking(started: threading.Event, release: threading.Event) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        started.set()
        assert release.wait(10)
        return "blocker"

    return work


def _run_in_threads(
    committer: GroupCommit, works: list[Callable[[Connection], Any]]
) -> tuple[list[Any], list[threading.Thread]]:
    """Start one thread per work: a list filled with each work's result or exception, and the threads."""
    outcomes: list[Any] = [None] * len(works)

    def call(i: int) -> None:
        try:
            outcomes[i] = committer.run(works[i])
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    return outcomes, threads


def _join(*groups: list[threading.Thread]) -> None:
    for threads in groups:
        for thread in threads:
            thread.join(timeout=20)
            assert not thread.is_alive()


def _wait_queued(committer: GroupCommit, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(committer._queued) < n:  # noqa: SLF001 - waiting for the test's threads to queue
        assert time.monotonic() < deadline, "threads did not queue"
        time.sleep(0.001)


def _queued_behind_a_batch(
    committer: GroupCommit, works: list[Callable[[Connection], Any]], events: tuple[Any, Any] | None = None
) -> list[Any]:
    """Hold a batch open, queue ``works`` behind it, let it end: the works' results or errors (they form the
    next batch). ``events``: the (started, release) pair to use, when the test patched ``threading.Event``."""
    started, release = events or (threading.Event(), threading.Event())
    first, blocker = _run_in_threads(committer, [_blocking(started, release)])
    assert started.wait(10)
    outcomes, threads = _run_in_threads(committer, works)
    _wait_queued(committer, len(works))
    release.set()
    _join(blocker, threads)
    assert first == ["blocker"]
    return outcomes


def test_a_single_write_is_committed_before_run_returns(committer: GroupCommit) -> None:
    assert committer.run(_insert("a", 7)) == "a"
    assert _rows(committer) == {"a": 7}
    assert committer.batches == 1


def test_writes_queued_behind_a_batch_share_the_next_transaction(committer: GroupCommit) -> None:
    others = _queued_behind_a_batch(committer, [_insert(f"k{i}", i) for i in range(5)])
    assert others == [f"k{i}" for i in range(5)]
    assert _rows(committer) == {f"k{i}": i for i in range(5)}
    assert committer.batches == 2  # the blocker's, then one for the five queued meanwhile


def test_a_failing_work_fails_alone_and_the_rest_of_its_batch_is_written(committer: GroupCommit) -> None:
    committer.run(_insert("dup"))
    outcomes = _queued_behind_a_batch(committer, [_insert("x"), _insert("dup"), _insert("y")])
    assert outcomes[0] == "x" and outcomes[2] == "y"
    assert "UNIQUE constraint failed" in str(outcomes[1])
    assert _rows(committer) == {"dup": 1, "x": 1, "y": 1}


def test_a_failed_turn_fails_every_work_of_the_batch_without_retrying(tmp_path: Path) -> None:
    """The database's fault (here the writer turn): no retry, and each thread gets its own error."""
    path = tmp_path / "b.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)"))

    class SecondTurnFails(WriterQueue):
        turns = 0

        @contextmanager
        def turn(self) -> Iterator[None]:
            SecondTurnFails.turns += 1
            if SecondTurnFails.turns > 1:
                raise sqlite3.OperationalError("database is locked")
            with super().turn():
                yield

    committer = GroupCommit(engine, SecondTurnFails(path), wait_s=5.0)
    outcomes = _queued_behind_a_batch(committer, [_insert(f"k{i}") for i in range(3)])
    assert SecondTurnFails.turns == 2  # one turn for the three: not retried
    assert all(isinstance(o, WriteFailed) and "database is locked" in str(o) for o in outcomes)
    assert all(isinstance(o.__cause__, sqlite3.OperationalError) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 3  # not one object shared by three threads
    assert _rows(committer) == {}
    engine.dispose()


def test_a_database_error_inside_a_batch_fails_the_batch_without_retrying(committer: GroupCommit) -> None:
    def locked(conn: Connection) -> str:
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))

    outcomes = _queued_behind_a_batch(committer, [_insert("x"), locked, _insert("y")])
    assert all(isinstance(o, WriteFailed) for o in outcomes)
    assert _rows(committer) == {}  # x and y were not retried alone
    assert committer.run(_insert("z")) == "z"


def test_a_work_no_batch_takes_in_time_gets_write_failed(committer: GroupCommit) -> None:
    committer.wait_s = 0.3
    started, release = threading.Event(), threading.Event()
    _, blocker = _run_in_threads(committer, [_blocking(started, release)])
    assert started.wait(10)
    began = time.monotonic()
    with pytest.raises(WriteFailed, match="no write turn within 0.3 s"):
        committer.run(_insert("late"))
    assert 0.3 <= time.monotonic() - began < 5
    release.set()
    _join(blocker)
    assert committer.run(_insert("after")) == "after"  # the committer still works
    assert _rows(committer) == {"after": 1}


def test_the_database_writes_through_group_commits(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'svc.sqlite'}")
    now = 1_800_000_000.0
    assert db.remember_jti("iss", "a", int(now) + 60, now)
    assert db.record_cards("hook-1", [("card-1", "NCT1"), ("card-2", "NCT2")]) == 2
    assert db.record_cards("hook-1", [("card-1", "NCT9"), ("card-3", "NCT3")]) == 1  # card-1 keeps its first
    with db.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT nct_id FROM card_trials WHERE card_uuid = 'card-1'")).scalar() == "NCT1"
        )
    assert db._writes.batches >= 1 and db._bookkeeping_writes.batches == 2  # noqa: SLF001
    db.dispose()


def test_concurrent_replays_of_one_token_are_accepted_once(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'svc.sqlite'}")
    now = 1_800_000_000.0
    results: list[bool] = []
    lock = threading.Lock()

    def replay() -> None:
        accepted = db.remember_jti("iss", "same", int(now) + 60, now)
        with lock:
            results.append(accepted)

    threads = [threading.Thread(target=replay) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == [False] * 11 + [True]
    db.dispose()


def _write_in_child(committer: GroupCommit) -> None:
    committer.engine.dispose(close=False)  # as cds.db.after_fork does in a gunicorn worker
    committer.wait_s = 3.0
    committer.run(_insert("child"))


def test_a_forked_child_does_not_wait_for_the_parents_batch(committer: GroupCommit) -> None:
    """Forked while a parent thread leads a batch: the child's copy must not believe a batch is running."""
    started, release = threading.Event(), threading.Event()
    _, blocker = _run_in_threads(committer, [_blocking(started, release)])
    assert started.wait(10)
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(committer,))
    child.start()
    time.sleep(0.3)
    release.set()  # the parent's batch ends and frees the writer turn the child waits for
    _join(blocker)
    child.join(timeout=20)
    assert child.exitcode == 0
    assert _rows(committer) == {"child": 1}


class _Interrupt(BaseException):
    """Like KeyboardInterrupt or SystemExit: not an ``Exception``, so not handled as a failed write."""


def test_an_interrupted_leader_answers_its_batch_and_passes_the_lead_on(committer: GroupCommit) -> None:
    started, release = threading.Event(), threading.Event()
    _, blocker = _run_in_threads(committer, [_blocking(started, release)])
    assert started.wait(10)

    def interrupted(conn: Connection) -> str:
        raise _Interrupt

    interrupted_outcome: list[BaseException] = []

    def lead_then_interrupt() -> None:
        try:
            committer.run(interrupted)
        except _Interrupt as exc:
            interrupted_outcome.append(exc)

    leader = threading.Thread(target=lead_then_interrupt)
    leader.start()
    _wait_queued(committer, 1)  # queued first: it leads the next batch
    outcomes, threads = _run_in_threads(committer, [_insert("a")])
    _wait_queued(committer, 2)
    release.set()
    _join(blocker, threads, [leader])
    assert len(interrupted_outcome) == 1
    assert isinstance(outcomes[0], RuntimeError) and "interrupted" in str(outcomes[0])
    assert committer.run(_insert("b")) == "b"  # the lead was passed on: the committer still works
    assert _rows(committer) == {"b": 1}


class _LateEvent(threading.Event):
    """Reports a timed wait as timed out even when it was set: the race of a follower's timeout with its wake-up
    (the lead handed over to it, or its batch done) at the same moment (from the session 4 review)."""

    def wait(self, timeout: float | None = None) -> bool:
        got = super().wait(None if timeout is None else 10)
        return got if timeout is None else False


def test_a_timeout_at_the_moment_of_the_wake_up_still_gives_every_thread_its_result(
    committer: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = (threading.Event(), threading.Event())  # the test's own: real events
    monkeypatch.setattr(group_commit.threading, "Event", _LateEvent)  # the committer's
    outcomes = _queued_behind_a_batch(committer, [_insert(f"k{i}") for i in range(4)], events)
    assert outcomes == [f"k{i}" for i in range(4)]
    assert committer.batches == 2 and not committer._busy  # noqa: SLF001


def test_an_old_sqlite_is_refused_when_the_database_is_opened(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(db_module.sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(db_module.sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(UnsupportedDatabase, match=r"SQLite 3\.34\.1 is too old: the service needs 3\.35\.0"):
        open_database(f"sqlite:///{tmp_path / 'old.sqlite'}")
    monkeypatch.setattr(db_module.sqlite3, "sqlite_version_info", (3, 35, 0))
    open_database(f"sqlite:///{tmp_path / 'new.sqlite'}").dispose()  # the oldest it accepts


def test_serve_refuses_to_start_on_an_old_sqlite(tmp_path: Path, monkeypatch, capsys) -> None:
    from cds.cli import main

    monkeypatch.setattr(db_module.sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setenv("NK_CDS_AUTH", "off")
    monkeypatch.setenv("NK_CDS_DB", str(tmp_path / "served.sqlite"))
    assert main(["serve", "--port", "0"]) == 2
    assert "is too old" in capsys.readouterr().err


def test_other_databases_are_refused_with_a_clear_error() -> None:
    with pytest.raises(UnsupportedDatabase, match="mysql is not supported"):
        db_module._Statements("mysql")  # noqa: SLF001


def test_a_failed_purge_does_not_refuse_a_valid_token(tmp_path: Path, monkeypatch, caplog) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'svc.sqlite'}")
    real_run = db._writes.run  # noqa: SLF001
    calls = {"n": 0}

    def first_write_fails(work):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:  # the purge comes first
            raise WriteFailed("disk full")
        return real_run(work)

    monkeypatch.setattr(db._writes, "run", first_write_fails)  # noqa: SLF001
    now = 1_800_000_000.0
    with caplog.at_level("WARNING", logger="cds.db"):
        assert db.remember_jti("iss", "a", int(now) + 60, now) is True
    assert "could not purge expired token ids" in caplog.text
    assert not db.remember_jti("iss", "a", int(now) + 60, now + 1)  # the token id was still recorded
    db.dispose()
