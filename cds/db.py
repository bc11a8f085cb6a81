"""The service's database: card -> trial records, clinician feedback, and the JWT replay cache.

SQLAlchemy Core. SQLite (the default, ``NK_CDS_DB`` a file path) runs in WAL mode through two connection pools
on the same file, which differ only in when a commit reaches the disk:

- ``engine``, ``synchronous=FULL``, for feedback, the JWT replay cache and reads: a transaction is on disk when
  ``COMMIT`` returns, so a feedback item acknowledged with 200, or a token id recorded as used, survives a kill -9
  of the server and a power cut (as far as the disk honours fsync). The replay cache needs this: a token may
  live for years (no bound on ``exp``), so a token id lost in a crash could be replayed until then;
- ``bookkeeping``, ``synchronous=NORMAL``, for the card records every hook call writes (card uuid -> trial). A
  commit is in the WAL file, safe from a kill -9 of the server (the operating system holds it), and reaches the
  disk with the next fsync: the next commit through ``engine`` (every hook call records its token first, so
  usually the next call), or a checkpoint. A crash of the machine itself in between can lose the latest card
  records, that is, which trial a just-shown card was about (its feedback is then stored without a trial).
  This saves one fsync per hook call (~0.15 ms of CPU and ~0.6 ms of waiting with the writer lock held,
  issue 7).

PostgreSQL is used when ``NK_CDS_DB`` is a ``postgresql+psycopg://`` URL: one pool, with its default
``synchronous_commit=on`` for every write.

Every write is committed before the function returns. Writes that threads of one process make at the same
moment share one transaction per pool (group commit, ``cds.db_group_commit``): one writer turn and one fsync
for several requests. So that a write never fails a shared transaction, the hot writes say what to do with a
duplicate (``ON CONFLICT``) instead of catching ``IntegrityError``. Writers to a SQLite file take turns on a
lock that wakes them as soon as the previous writer is done (``cds.db_writers.WriterQueue``) instead of
polling SQLite's lock with sleeps. Nothing here logs the stored values (feedback comments may contain
clinical text). SQLite 3.35 or newer is needed (``RETURNING``).

A hook call writes twice: its token's ``jti`` before any work is done on the token's behalf (a replayed
token must not get a FHIR search or a pipeline run), and its card records after the pipeline, before the
response. They are two transactions: merging them would mean either holding the write lock for the whole
pipeline or checking the replay only after the work was done.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from cds.db_group_commit import GroupCommit
from cds.db_writers import NoQueue, WriterQueue

log = logging.getLogger("cds.db")
metadata = MetaData()
_OPEN: weakref.WeakSet[Database] = weakref.WeakSet()

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(200), nullable=False),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", Text, nullable=True),  # JSON list of suggestion ids
    Column("override_code", String(200), nullable=True),
    Column("override_system", String(500), nullable=True),
    Column("override_display", Text, nullable=True),
    Column("user_comment", Text, nullable=True),
    Column("outcome_timestamp", String(64), nullable=False),  # as the client sent it
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("raw", Text, nullable=False),  # the feedback item exactly as received (JSON)
)

card_trials = Table(
    "card_trials",
    metadata,
    Column("card_uuid", String(200), primary_key=True),
    Column("nct_id", String(40), nullable=False, index=True),
    Column("hook_instance", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

jwt_replay = Table(
    "jwt_replay",
    metadata,
    Column("iss", String(500), primary_key=True),
    Column("jti", String(500), primary_key=True),
    Column("expires_at", Integer, nullable=False),  # seconds since the epoch
    Index("ix_jwt_replay_expires_at", "expires_at"),
)


SQLITE_AT_LEAST = (3, 35, 0)  # RETURNING (3.35) and upsert (3.24)


class UnsupportedDatabase(RuntimeError):
    """The configured database cannot run the service's statements; raised when the database is opened."""


class _Statements:
    """The writes that may share a transaction with other requests' writes (``cds.db_group_commit``), built once
    per database: they must not fail on a duplicate, so they use the dialect's ``ON CONFLICT`` clauses, and they
    say what they wrote with ``RETURNING`` (psycopg reports no rowcount for them)."""

    def __init__(self, dialect: str) -> None:
        insert_for = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}.get(dialect)
        if insert_for is None:
            raise UnsupportedDatabase(f"NK_CDS_DB: {dialect} is not supported (SQLite or PostgreSQL)")
        if dialect == "sqlite" and sqlite3.sqlite_version_info < SQLITE_AT_LEAST:
            raise UnsupportedDatabase(
                f"SQLite {sqlite3.sqlite_version} is too old: the service needs {'.'.join(map(str, SQLITE_AT_LEAST))}"
                " or newer (INSERT ... ON CONFLICT ... RETURNING)"
            )
        # a card uuid seen before (a client re-sending a hookInstance) keeps its first record
        self.record_card = (
            insert_for(card_trials)
            .on_conflict_do_nothing(index_elements=["card_uuid"])
            .returning(card_trials.c.card_uuid)
        )
        # a token id is written unless it is there and unexpired: an expired one is replaced
        remember = insert_for(jwt_replay).values(
            iss=bindparam("iss"), jti=bindparam("jti"), expires_at=bindparam("expires_at")
        )
        self.remember_jti = remember.on_conflict_do_update(
            index_elements=["iss", "jti"],
            set_={"expires_at": remember.excluded.expires_at},
            where=jwt_replay.c.expires_at < bindparam("now"),
        ).returning(jwt_replay.c.jti)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")  # = cds.db_writers.WAIT_S
        cursor.close()

    return on_connect


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (``None`` for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str, synchronous: str = "FULL") -> Engine:
    """An engine for a SQLAlchemy URL; SQLite connections get WAL, ``synchronous`` (FULL or NORMAL) and a busy
    timeout."""
    if url.startswith("sqlite"):
        database_file = _sqlite_file(url)
        if database_file is not None:
            database_file.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(synchronous))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@dataclass
class FeedbackRow:
    """One stored feedback item (as read back)."""

    service_id: str
    card_uuid: str
    outcome: str
    accepted_suggestions: list[str]
    override_code: str | None
    override_system: str | None
    override_display: str | None
    user_comment: str | None
    outcome_timestamp: str
    raw: dict[str, Any]


@dataclass
class TrialFeedback:
    """Feedback counts for one trial (``nct_id`` is ``None`` for cards we have no record of)."""

    nct_id: str | None
    accepted: int = 0
    overridden: int = 0
    override_reasons: dict[str, int] = field(default_factory=dict)  # reason label -> count
    comments: int = 0


class Database:
    """Thin wrapper around the database's engines (``engine``, and ``bookkeeping`` for card records: see the
    module docstring); safe to share between threads of one process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        sqlite_file = _sqlite_file(url)
        # The card records (module docstring); the same engine where a second pool would gain nothing.
        self.bookkeeping = make_engine(url, synchronous="NORMAL") if sqlite_file else self.engine
        self.writers: WriterQueue | NoQueue = WriterQueue(sqlite_file) if sqlite_file else NoQueue()
        self._writes = GroupCommit(self.engine, self.writers)
        self._bookkeeping_writes = (
            GroupCommit(self.bookkeeping, self.writers) if sqlite_file else self._writes
        )
        self._statements = _Statements(self.engine.dialect.name)
        self._purge_lock = threading.Lock()
        self._last_purge = 0.0
        _OPEN.add(self)

    def create_schema(self) -> None:
        """Create missing tables; tolerates another process creating them at the same moment."""
        for _attempt in range(5):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                return
            except (OperationalError, ProgrammingError, IntegrityError) as exc:
                if "already exists" not in str(exc) and "locked" not in str(exc):
                    raise
        metadata.create_all(self.engine, checkfirst=True)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except Exception:  # noqa: BLE001 - health check: any failure means "not ok"
            return False

    # -- cards ------------------------------------------------------------------------------------
    def record_cards(
        self, hook_instance: str, pairs: Iterable[tuple[str, str]], now: dt.datetime | None = None
    ) -> int:
        """Remember which trial each returned card was about; committed before returning. A card uuid seen
        before (a client re-sending a hookInstance) keeps its first record. Returns the rows written."""
        when = now or _utcnow()
        rows = [
            {"card_uuid": card_uuid, "nct_id": nct_id, "hook_instance": hook_instance, "created_at": when}
            for card_uuid, nct_id in pairs
        ]
        if not rows:
            return 0
        statement = self._statements.record_card
        return self._bookkeeping_writes.run(lambda conn: len(conn.execute(statement, rows).all()))

    # -- feedback ---------------------------------------------------------------------------------
    def store_feedback(
        self, service_id: str, items: Iterable[Mapping[str, Any]], now: dt.datetime | None = None
    ) -> int:
        """Store validated feedback items in one transaction, committed before returning."""
        when = now or _utcnow()
        rows = [_feedback_row(service_id, item, when) for item in items]
        if not rows:
            return 0
        statement = insert(feedback)
        self._writes.run(lambda conn: conn.execute(statement, rows))
        return len(rows)

    def all_feedback(self) -> list[FeedbackRow]:
        with self.engine.connect() as conn:
            result = conn.execute(select(feedback).order_by(feedback.c.id))
            return [
                FeedbackRow(
                    service_id=r.service_id,
                    card_uuid=r.card_uuid,
                    outcome=r.outcome,
                    accepted_suggestions=json.loads(r.accepted_suggestions) if r.accepted_suggestions else [],
                    override_code=r.override_code,
                    override_system=r.override_system,
                    override_display=r.override_display,
                    user_comment=r.user_comment,
                    outcome_timestamp=r.outcome_timestamp,
                    raw=json.loads(r.raw),
                )
                for r in result
            ]

    def feedback_summary(self) -> list[TrialFeedback]:
        """Per trial: accepted / overridden counts and override reasons (code or display or comment)."""
        stmt = select(
            card_trials.c.nct_id,
            feedback.c.outcome,
            feedback.c.override_code,
            feedback.c.override_display,
            feedback.c.user_comment,
        ).select_from(feedback.outerjoin(card_trials, feedback.c.card_uuid == card_trials.c.card_uuid))
        by_trial: dict[str | None, TrialFeedback] = {}
        with self.engine.connect() as conn:
            for nct_id, outcome, code, display, comment in conn.execute(stmt):
                entry = by_trial.setdefault(nct_id, TrialFeedback(nct_id=nct_id))
                if outcome == "accepted":
                    entry.accepted += 1
                    continue
                entry.overridden += 1
                if comment:
                    entry.comments += 1
                label = display or code or ("(comment only)" if comment else "(no reason given)")
                entry.override_reasons[label] = entry.override_reasons.get(label, 0) + 1
        return sorted(by_trial.values(), key=lambda t: (t.nct_id is None, t.nct_id or ""))

    # -- JWT replay cache -------------------------------------------------------------------------
    def remember_jti(self, iss: str, jti: str, expires_at: int, now: float) -> bool:
        """Record a token id; ``False`` when (iss, jti) was already seen and has not expired.

        One statement, atomic across processes (the primary key): of two workers inserting the same jti at
        once, exactly one writes it. An expired duplicate is replaced (``ON CONFLICT ... DO UPDATE ... WHERE``
        expired), so a jti may be reused after its earlier token expired; a live one is left alone and nothing
        is written. Expired rows are purged now and then.
        """
        self._maybe_purge(now)
        statement = self._statements.remember_jti
        params = {"iss": iss, "jti": jti, "expires_at": int(expires_at), "now": int(now)}
        return self._writes.run(lambda conn: conn.execute(statement, params).first() is not None)

    def _maybe_purge(self, now: float, every_s: float = 300.0) -> None:
        with self._purge_lock:
            if now - self._last_purge < every_s:
                return
            self._last_purge = now
        statement = delete(jwt_replay).where(jwt_replay.c.expires_at < int(now))
        try:
            self._writes.run(lambda conn: conn.execute(statement))
        except Exception:  # noqa: BLE001 - housekeeping: a failed purge must not refuse a valid token
            log.warning("could not purge expired token ids; tried again in %d s", every_s)

    def dispose(self) -> None:
        self.engine.dispose()
        self.bookkeeping.dispose()
        self.writers.close()


def _feedback_row(service_id: str, item: Mapping[str, Any], when: dt.datetime) -> dict[str, Any]:
    override = item.get("overrideReason") if isinstance(item.get("overrideReason"), Mapping) else {}
    reason = override.get("reason") if isinstance(override.get("reason"), Mapping) else {}
    accepted = [s.get("id") for s in item.get("acceptedSuggestions") or [] if isinstance(s, Mapping)]
    return {
        "service_id": service_id,
        "card_uuid": str(item["card"]),
        "outcome": str(item["outcome"]),
        "accepted_suggestions": json.dumps(accepted) if accepted else None,
        "override_code": reason.get("code"),
        "override_system": reason.get("system"),
        "override_display": reason.get("display"),
        "user_comment": override.get("userComment"),
        "outcome_timestamp": str(item["outcomeTimestamp"]),
        "received_at": when,
        "raw": json.dumps(item, sort_keys=True, separators=(",", ":")),
    }


def after_fork() -> None:
    """In a forked child (gunicorn worker): drop the connections inherited from the parent, unclosed."""
    for db in list(_OPEN):
        db.engine.dispose(close=False)
        db.bookkeeping.dispose(close=False)


def open_database(url: str, create: bool = True) -> Database:
    """Open (and by default create the tables of) the database at a SQLAlchemy URL."""
    db = Database(url)
    if create:
        db.create_schema()
    return db
