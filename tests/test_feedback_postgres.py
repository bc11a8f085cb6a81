"""Feedback, card records and the replay cache on a real PostgreSQL server (``tests.postgres``)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from cds.db import card_trials, open_database
from tests.cds_service import DATA, SERVICE_ID, example_card, hook_request

pytestmark = pytest.mark.slow


def test_feedback_stored_in_postgres_through_the_app(make_app, postgres_db, mint_token):
    cards = [example_card("NCT06631391")]
    app = make_app(db_url=postgres_db, hook_runner=lambda r: {"cards": cards})
    assert app.extensions["nk_cds"].db.engine.dialect.name == "postgresql"
    client = app.test_client()
    hook = f"/cds-services/{SERVICE_ID}"
    assert (
        client.post(
            hook,
            json=hook_request(),
            headers={"Authorization": f"Bearer {mint_token('http://localhost' + hook)}"},
        ).status_code
        == 200
    )
    body = json.loads((DATA / "feedback-overridden-with-reason.json").read_text())
    body["feedback"][0]["card"] = cards[0]["uuid"]
    fb = hook + "/feedback"
    resp = client.post(
        fb, json=body, headers={"Authorization": f"Bearer {mint_token('http://localhost' + fb)}"}
    )
    assert resp.status_code == 200 and resp.get_json() == {"stored": 1}
    # read back through a separate connection pool: the row is committed
    other = open_database(postgres_db, create=False)
    (row,) = other.all_feedback()
    assert row.raw == body["feedback"][0] and row.override_code == "d7ecf885"
    (summary,) = other.feedback_summary()
    assert summary.nct_id == "NCT06631391" and summary.overridden == 1
    other.dispose()
    app.extensions["nk_cds"].db.dispose()


def test_replay_cache_in_postgres_is_atomic(postgres_db):
    db = open_database(postgres_db)
    now = 1_800_000_000
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: db.remember_jti("iss", "same-jti", now + 60, now), range(16)))
    assert results.count(True) == 1
    assert db.remember_jti("iss", "same-jti", now + 200, now + 61) is True  # expired entry may be reused
    assert db.remember_jti("iss", "same-jti", now + 300, now + 200) is False  # at expiry: still remembered
    db.dispose()


def test_card_records_in_postgres_keep_the_first_record_of_a_card(postgres_db):
    db = open_database(postgres_db)
    assert db.record_cards("hook-1", [("card-1", "NCT1"), ("card-2", "NCT2")]) == 2
    assert db.record_cards("hook-1", [("card-1", "NCT9"), ("card-3", "NCT3")]) == 1
    with db.engine.connect() as conn:
        rows = dict(conn.execute(select(card_trials.c.card_uuid, card_trials.c.nct_id)).all())
    assert rows == {"card-1": "NCT1", "card-2": "NCT2", "card-3": "NCT3"}
    db.dispose()


def test_schema_creation_is_idempotent(postgres_db):
    first = open_database(postgres_db)
    second = open_database(postgres_db)  # tables already exist: no error
    assert (
        second.store_feedback(
            SERVICE_ID, [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]
        )
        == 1
    )
    assert len(first.all_feedback()) == 1
    first.dispose()
    second.dispose()
