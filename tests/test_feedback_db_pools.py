"""Which SQLite pool each write goes through (``cds.db``): feedback and the replay cache commit with
``synchronous=FULL``, card records with ``synchronous=NORMAL``; both pools follow a fork and a dispose."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from cds.db import Database, after_fork, make_engine, open_database


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement.split("(")[0].strip().upper())

    event.listen(engine, "before_cursor_execute", record)
    return seen


def _feedback_item() -> dict[str, Any]:
    return {
        "card": "0b5d8a1e-3f0c-4c3e-9f55-2a1d7c7e9b10",
        "outcome": "accepted",
        "outcomeTimestamp": "2026-11-27",
    }


def test_each_write_goes_through_its_pool(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'pools.sqlite'}")
    durable, bookkeeping = _statements(db.engine), _statements(db.bookkeeping)
    now = time.time()
    assert db.remember_jti("https://issuer.example", "jti-1", int(now) + 300, now)
    db.record_cards("hook-1", [("card-1", "NCT06631391")])
    db.store_feedback("nk-cell-trials", [_feedback_item()], now=dt.datetime.now(dt.UTC))
    assert any(s.startswith("INSERT INTO JWT_REPLAY") for s in durable)
    assert any(s.startswith("INSERT INTO FEEDBACK") for s in durable)
    assert not any("CARD_TRIALS" in s for s in durable)
    assert any(s.startswith("INSERT INTO CARD_TRIALS") for s in bookkeeping)
    assert not any("JWT_REPLAY" in s or "FEEDBACK" in s for s in bookkeeping)
    # Both pools write the same file: what one wrote, the other reads.
    assert [row.nct_id for row in db.feedback_summary()] == [None]
    with db.bookkeeping.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM jwt_replay").scalar() == 1
    db.dispose()


def test_pools_are_replaced_after_a_fork_and_closed_by_dispose(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'fork.sqlite'}")
    db.record_cards("hook-1", [("card-1", "NCT06631391")])
    pools = (db.engine.pool, db.bookkeeping.pool)
    after_fork()
    assert db.engine.pool is not pools[0]
    assert db.bookkeeping.pool is not pools[1]
    db.record_cards("hook-2", [("card-2", "NCT06631391")])  # still usable with the new pools
    checked_in = db.bookkeeping.pool.checkedin()
    assert checked_in >= 1
    db.dispose()
    assert db.bookkeeping.pool.checkedin() == 0


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "postgresql+psycopg://user@127.0.0.1:1/none"]
)
def test_one_pool_where_a_second_would_be_another_database_or_gain_nothing(url: str) -> None:
    db = Database(url)  # nothing connects before the first statement
    assert db.bookkeeping is db.engine
    db.dispose()


def test_only_full_or_normal_durability() -> None:
    with pytest.raises(ValueError, match="FULL or NORMAL"):
        make_engine("sqlite:///x.sqlite", synchronous="OFF")
