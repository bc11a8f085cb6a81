"""The database writes of one hook call, on the production SQLite settings (WAL; see ``cds.db``).

Every authenticated call inserts its token's ``jti`` into the replay cache (one committed transaction, on disk
when it returns: ``synchronous=FULL``); a call that returns cards also records card uuid -> trial (one more,
``synchronous=NORMAL``: in the WAL when it returns, safe from a kill -9 of the server, on disk with the next fsync).
"""

from __future__ import annotations

import time
import uuid

from bench.common import Context, Figure
from bench.stats import Timing

PART = "DB writes"


def run(ctx: Context) -> None:
    from cds.db import open_database

    ctx.heading(f"Part {PART}: SQLite WAL, the hook call's two writes in {ctx.workdir}")
    db = open_database(f"sqlite:///{ctx.workdir / 'dbwrite.sqlite'}")
    n = ctx.reps(300, 50)
    cards, jtis, cpu = [], [], []
    now = time.time()
    for _ in range(n + 5):
        pairs = [(str(uuid.uuid4()), f"NCT0{i}") for i in range(3)]
        c0, t0 = time.thread_time(), time.perf_counter()
        db.record_cards(str(uuid.uuid4()), pairs)
        t1 = time.perf_counter()
        db.remember_jti("https://sandbox.cds-hooks.org", str(uuid.uuid4()), int(now) + 300, now)
        t2, c1 = time.perf_counter(), time.thread_time()
        cards.append(t1 - t0)
        jtis.append(t2 - t1)
        cpu.append(c1 - c0)
    db.dispose()
    record, jti, both_cpu = Timing.of(cards[5:]), Timing.of(jtis[5:]), Timing.of(cpu[5:])
    ctx.report(
        Figure(
            PART,
            "record_cards (3 cards, one transaction) median",
            record.median,
            "ms",
            note=f"p99 {record.p99:.2f} ms, n={record.n}",
        )
    )
    ctx.report(
        Figure(
            PART, "remember_jti (replay cache insert) median", jti.median, "ms", note=f"p99 {jti.p99:.2f} ms"
        )
    )
    ctx.report(
        Figure(
            PART,
            "both writes, CPU time median (the rest of the wall time is waiting for the disk or the writer lock)",
            both_cpu.median,
            "ms",
        )
    )
