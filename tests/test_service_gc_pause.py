"""``cds.http.collector.gc_paused``: the collector is off for a whole hook call and always back on after."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator

import pytest

from cds.http import collector, guards
from tests.cds_service import SERVICE_ID, hook_request

URL = f"/cds-services/{SERVICE_ID}"


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:  # pragma: no cover - pytest runs with the collector on
        gc.disable()


def test_paused_inside_and_on_again_after() -> None:
    with collector.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_on_again_after_an_exception() -> None:
    with pytest.raises(ValueError), collector.gc_paused():
        raise ValueError("bad body")
    assert gc.isenabled()


def test_overlapping_requests_turn_it_on_only_when_the_last_one_ends() -> None:
    first, second = collector.gc_paused(), collector.gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second request is still parsing
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_application_stays_off() -> None:
    gc.disable()
    with collector.gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_threads_leave_it_on() -> None:
    barrier = threading.Barrier(4)

    def work() -> None:
        for i in range(50):
            with collector.gc_paused():
                if i == 0:
                    barrier.wait(timeout=5)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert gc.isenabled() and collector._GcPause.depth == 0  # noqa: SLF001


def test_always_busy_requests_still_collect_now_and_then(monkeypatch) -> None:
    """Overlapping requests never reach "last one out": every COLLECT_EVERY-th one to end collects."""
    collections: list[int] = []
    monkeypatch.setattr(collector.gc, "collect", lambda *a: collections.append(1) or 0)
    monkeypatch.setattr(collector._GcPause, "busy_collections", 0)  # noqa: SLF001
    holder = collector.gc_paused()
    holder.__enter__()  # one request that stays in flight throughout
    try:
        for _ in range(collector.COLLECT_EVERY - 1):
            with collector.gc_paused():
                pass
        assert collections == [] and not gc.isenabled()
        with collector.gc_paused():
            pass
        assert collections == [1]  # the COLLECT_EVERY-th, not one earlier
        for _ in range(collector.COLLECT_EVERY - 1):
            with collector.gc_paused():
                pass
        assert collections == [1]  # the count starts again
    finally:
        holder.__exit__(None, None, None)
    assert gc.isenabled()


def test_no_collection_when_the_application_keeps_the_collector_off(monkeypatch) -> None:
    collections: list[int] = []
    monkeypatch.setattr(collector.gc, "collect", lambda *a: collections.append(1) or 0)
    gc.disable()
    holder = collector.gc_paused()
    holder.__enter__()
    for _ in range(collector.COLLECT_EVERY * 2):
        with collector.gc_paused():
            pass
    holder.__exit__(None, None, None)
    assert collections == [] and not gc.isenabled()


@pytest.mark.parametrize(("data", "status"), [(None, 200), ("{not json", 400), ('{"a": NaN}', 400)])
def test_hook_call_runs_with_the_collector_off_and_leaves_it_on(
    make_app, mint_token, monkeypatch, data, status
) -> None:
    seen: list[bool] = []
    real = guards.read_json_object

    def spy():  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return real()

    def runner(_request):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return {"cards": []}

    monkeypatch.setattr(guards, "read_json_object", spy)
    client = make_app(hook_runner=runner).test_client()
    payload = json.dumps(hook_request()) if data is None else data
    response = client.post(
        URL,
        data=payload,
        content_type="application/json",
        headers={"Authorization": f"Bearer {mint_token('http://localhost' + URL)}"},
    )
    assert response.status_code == status
    assert seen == ([False, False] if status == 200 else [False])  # parse, then the pipeline
    assert gc.isenabled()


def test_busy_collections_are_young_generations_with_a_full_one_now_and_then(monkeypatch) -> None:
    generations: list[int] = []
    monkeypatch.setattr(collector.gc, "collect", lambda generation=2: generations.append(generation) or 0)
    monkeypatch.setattr(collector._GcPause, "busy_collections", 0)  # noqa: SLF001
    holder = collector.gc_paused()
    holder.__enter__()
    try:
        for _ in range(collector.COLLECT_EVERY * collector.FULL_EVERY * 2):
            with collector.gc_paused():
                pass
    finally:
        holder.__exit__(None, None, None)
    full = [1] * (collector.FULL_EVERY - 1) + [2]
    assert generations == full * 2
