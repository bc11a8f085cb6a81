"""A replayed jti is rejected across workers: one token sent twice to a real two-worker ``nk-cds serve``."""

from __future__ import annotations

import pytest
import requests

from tests.cds_service import SERVICE_ID

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_token_replayed_on_two_worker_server_is_rejected(serve_process, mint_token):
    server = serve_process(workers=2)
    url = server.base_url + f"/cds-services/{SERVICE_ID}/feedback"
    body = {
        "feedback": [
            {"card": "c-replay", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T08:00:00Z"}
        ]
    }
    token = mint_token(url)
    # separate connections (no keep-alive session), so the two requests may land on different workers
    first = requests.post(
        url, json=body, headers={"Authorization": f"Bearer {token}", "Connection": "close"}, timeout=10
    )
    second = requests.post(
        url, json=body, headers={"Authorization": f"Bearer {token}", "Connection": "close"}, timeout=10
    )
    assert first.status_code == 200
    assert second.status_code == 401 and second.content == b""
    # many fresh tokens in parallel across both workers: all accepted; then each replayed once: all rejected
    from concurrent.futures import ThreadPoolExecutor

    tokens = [mint_token(url, "RS384" if i % 2 else "ES384") for i in range(20)]

    def send(tok: str) -> int:
        return requests.post(
            url, json=body, headers={"Authorization": f"Bearer {tok}", "Connection": "close"}, timeout=10
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(send, tokens)) == [200] * 20
        assert list(pool.map(send, tokens)) == [401] * 20
    worker_pids = {
        line.split("pid: ")[1].rstrip(")")
        for line in server.output().splitlines()
        if "Booting worker" in line
    }
    assert len(worker_pids) == 2
