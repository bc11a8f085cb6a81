"""Every feedback POST acknowledged with 200 survives a kill -9 of the whole server (master and workers)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from cds.db import open_database
from tests.cds_service import SERVICE_ID

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acknowledged_feedback_survives_kill_9(serve_process, mint_token, request, backend):
    env = {"NK_CDS_DB": request.getfixturevalue("postgres_db")} if backend == "postgresql" else {}
    server = serve_process(workers=2, **env)
    url = server.base_url + f"/cds-services/{SERVICE_ID}/feedback"
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def poster() -> None:
        session = requests.Session()
        while not stop.is_set():
            card = str(uuid.uuid4())
            body = {
                "feedback": [
                    {
                        "card": card,
                        "outcome": "overridden",
                        "outcomeTimestamp": "2026-11-27T08:00:00Z",
                        "overrideReason": {"userComment": "durability"},
                    }
                ]
            }
            try:
                resp = session.post(
                    url, json=body, headers={"Authorization": f"Bearer {mint_token(url)}"}, timeout=5
                )
            except requests.RequestException:
                return  # the server is gone
            if resp.status_code == 200:
                with lock:
                    acknowledged.append(card)

    threads = [threading.Thread(target=poster, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill9()  # mid-stream: requests are in flight
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acknowledged) >= 60

    server.start()  # restart on the same database
    assert requests.get(server.base_url + "/healthz", timeout=5).status_code == 200
    from cds.config import Config

    db = open_database(Config(db_url=server.env["NK_CDS_DB"]).sqlalchemy_url(), create=False)
    stored = {row.card_uuid for row in db.all_feedback()}
    db.dispose()
    missing = [card for card in acknowledged if card not in stored]
    assert missing == [], f"{len(missing)} acknowledged records lost"
