"""A small, bounded smoke version of the benchmark's load test (``bench/run.py --only load`` is the real one).

A real ``nk-cds serve --workers 2`` (JWT and database on) gets a few seconds of closed-loop load from the
benchmark's own load generator (``bench.loadgen.run_load``, loopback only): every request answers 200 with
cards JSON, and each worker stays under the 200 MB memory budget. A run with tokens the service does not
trust shows that the generator does count failures (so the first test can fail).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable

import pytest

from bench.loadgen import PLACEHOLDER, run_load
from bench.machine import children, rss_mb
from cds.synthetic import PatientBuilder
from tests.cds_service import SERVICE_ID, ServiceProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

DURATION_S = 3.0
CONCURRENCY = 4
MEMORY_BUDGET_MB = 200


def _body() -> bytes:
    p = PatientBuilder("load-1", dt.date.today(), age=(7, 40), sex="male")
    p.condition("neuroblastoma", onset_days_ago=500)
    for days in (3, 10, 17):
        p.lab("anc", 1.8, "10*9/L", low=1.5, high=8.0, days_ago=days)
        p.lab("platelets", 160, "10*9/L", low=150, high=450, days_ago=days)
    p.lansky(80, days_ago=4)
    p.med_admin("topotecan", days_ago=40, dose=(0.6, "mg"), route="intravenous")
    return json.dumps(p.hook_request(hook_instance=PLACEHOLDER.decode())).encode()


@pytest.fixture
def server(serve_process: Callable[..., ServiceProcess]) -> ServiceProcess:
    return serve_process(workers=2)


def test_short_load_has_no_errors_and_workers_stay_small(
    server: ServiceProcess, mint_token: Callable[..., str]
) -> None:
    url = f"{server.base_url}/cds-services/{SERVICE_ID}"
    tokens = [mint_token(url) for _ in range(400)]
    result = run_load(url, _body(), tokens, CONCURRENCY, DURATION_S, warmup_s=0.5)
    assert result.requests > 0
    assert result.statuses == {"200": result.requests}, result.statuses
    workers = children(server.proc.pid)  # type: ignore[union-attr]
    assert len(workers) == 2
    for pid in workers:
        assert 0 < rss_mb(pid) < MEMORY_BUDGET_MB


def test_the_generator_counts_failures(server: ServiceProcess) -> None:
    url = f"{server.base_url}/cds-services/{SERVICE_ID}"
    untrusted = [str(uuid.uuid4()) for _ in range(50)]  # not JWTs: every call is 401
    result = run_load(url, _body(), untrusted, 2, 1.0)
    assert result.requests > 0
    assert result.ok == 0 and result.errors == result.requests
    assert set(result.statuses) == {"401"}


def test_the_generator_refuses_non_loopback_targets() -> None:
    with pytest.raises(ValueError, match="loopback"):
        run_load("http://192.0.2.1/cds-services/x", b"{}", ["t"], 1, 0.1)
