"""cds.compute_gate: one gated call at a time per process, first come first served, let go for network waits."""

from __future__ import annotations

import io
import json
import os
import threading
import time

import pytest
import responses

from cds.compute_gate import FifoGate, gated, holds_gate, released
from cds.config import Config
from cds.gather import gather
from cds.http.app import create_app
from tests.gather_support import BASE, PID, FakeFhir, hook_request, searchset

WAIT_S = 5.0


def run_in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def wsgi(body):
    """A gated WSGI app whose work is ``body()``."""

    def app(environ, start_response):
        body()
        return [b"ok"]

    return gated(app)


def most_at_once(gate_it: bool) -> int:
    """How many of 6 threads x 5 calls of 5 ms were inside the work at once, gated or not."""
    inside = {"now": 0, "most": 0}
    lock = threading.Lock()

    def work():
        with lock:
            inside["now"] += 1
            inside["most"] = max(inside["most"], inside["now"])
        time.sleep(0.005)
        with lock:
            inside["now"] -= 1

    app = wsgi(work)
    call = (lambda: app({}, None)) if gate_it else work
    threads = [run_in_thread(lambda: [call() for _ in range(5)]) for _ in range(6)]
    for thread in threads:
        thread.join(WAIT_S)
    return inside["most"]


def test_gated_calls_never_overlap():
    assert most_at_once(gate_it=True) == 1


def test_without_the_gate_the_same_calls_do_overlap():
    """The check above can fail: ungated, the same work runs side by side."""
    assert most_at_once(gate_it=False) > 1


def test_the_gate_is_handed_over_in_arrival_order():
    gate = FifoGate()
    gate.acquire()
    order: list[int] = []
    threads = []
    for i in range(5):
        threads.append(run_in_thread(lambda i=i: (gate.acquire(), order.append(i), gate.release())))
        deadline = time.monotonic() + WAIT_S
        while len(gate._waiters) < i + 1 and time.monotonic() < deadline:  # queued before the next one comes
            time.sleep(0.001)
    gate.release()
    for thread in threads:
        thread.join(WAIT_S)
    assert order == [0, 1, 2, 3, 4]
    gate.acquire()  # free again once everyone is done
    gate.release()


def test_the_holder_cannot_jump_the_queue():
    """A thread that lets the gate go and asks again at once comes after the one already waiting."""
    gate = FifoGate()
    order: list[str] = []
    gate.acquire()
    waiter = run_in_thread(lambda: (gate.acquire(), order.append("waiter"), gate.release()))
    deadline = time.monotonic() + WAIT_S
    while not gate._waiters and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.release()
    gate.acquire()
    order.append("holder")
    gate.release()
    waiter.join(WAIT_S)
    assert order == ["waiter", "holder"]


def test_released_lets_another_call_run_during_the_wait():
    other_ran = threading.Event()
    seen: dict[str, bool] = {}

    def waits_on_network():
        with released():
            seen["held while released"] = holds_gate()
            seen["other ran meanwhile"] = other_ran.wait(WAIT_S)  # only if the gate was let go
        seen["held after"] = holds_gate()

    first = run_in_thread(lambda: wsgi(waits_on_network)({}, None))
    time.sleep(0.05)
    second = run_in_thread(lambda: wsgi(other_ran.set)({}, None))
    second.join(WAIT_S)
    first.join(WAIT_S)
    assert seen == {"held while released": False, "other ran meanwhile": True, "held after": True}


def test_released_outside_a_gated_call_does_nothing():
    assert not holds_gate()
    with released():
        assert not holds_gate()
    assert not holds_gate()


def test_the_gate_is_taken_back_after_an_error_in_the_released_block():
    def fails_while_released():
        with pytest.raises(RuntimeError), released():
            raise RuntimeError("network down")
        assert holds_gate()

    wsgi(fails_while_released)({}, None)
    assert not holds_gate()
    wsgi(lambda: None)({}, None)  # and let go after the call: the next call gets it


def test_a_gated_app_inside_a_gated_app_does_not_wait_for_itself():
    inner = wsgi(lambda: None)
    done = []
    thread = run_in_thread(lambda: done.append(wsgi(lambda: inner({}, None))({}, None)))
    thread.join(WAIT_S)
    assert done == [[b"ok"]]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_free_gate():
    holding = threading.Event()
    let_go = threading.Event()
    holder = run_in_thread(lambda: wsgi(lambda: (holding.set(), let_go.wait(WAIT_S)))({}, None))
    assert holding.wait(WAIT_S)
    pid = os.fork()
    if pid == 0:  # the child: the parent's holder thread does not exist here
        ok = threading.Event()
        run_in_thread(lambda: (wsgi(lambda: None)({}, None), ok.set()))
        os._exit(0 if ok.wait(2.0) else 1)
    _, status = os.waitpid(pid, 0)
    let_go.set()
    holder.join(WAIT_S)
    assert os.waitstatus_to_exitcode(status) == 0


# ---- the FHIR searches of gather() let the gate go -------------------------------------------------

CONFIG = Config(fhir_allowlist=(BASE,), fhir_budget_s=WAIT_S, fhir_request_timeout_s=WAIT_S)


def blocking(event_in_search: threading.Event, until: threading.Event, body):
    def answer(request):
        event_in_search.set()
        until.wait(WAIT_S)
        return body

    return answer


@pytest.mark.parametrize("resource_type", ["Observation", "Medication"])
def test_other_calls_compute_while_gather_waits_for_the_fhir_server(resource_type):
    in_search, other_ran = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeFhir(rsps)
        if resource_type == "Medication":
            administration = {
                "resourceType": "MedicationAdministration",
                "id": "ma1",
                "status": "completed",
                "subject": {"reference": f"Patient/{PID}"},
                "medicationReference": {"reference": "Medication/m1"},
                "effectiveDateTime": "2026-11-01",
            }
            fake.on("MedicationAdministration", searchset([administration]))
            medications = searchset([{"resourceType": "Medication", "id": "m1"}])
            fake.on("Medication", blocking(in_search, other_ran, medications))
        else:
            fake.on("Observation", blocking(in_search, other_ran, searchset([])))

        def call():
            outcome["started"] = time.monotonic()
            outcome["raw"] = gather(hook_request(), CONFIG)
            outcome["gathered"] = time.monotonic()

        first = run_in_thread(lambda: wsgi(call)({}, None))
        assert in_search.wait(WAIT_S)
        second = run_in_thread(lambda: wsgi(other_ran.set)({}, None))
        second.join(WAIT_S)
        first.join(2 * WAIT_S)
    assert other_ran.is_set()
    if resource_type == "Medication":
        assert [m["id"] for m in outcome["raw"].of_type("Medication")] == ["m1"]
    assert (
        outcome["gathered"] - outcome["started"] < WAIT_S
    )  # not released: the search would have waited it out


# ---- the request body is read with the gate let go ----------------------------------------------------


class SlowBody(io.BytesIO):
    """A request body whose bytes arrive only once ``arrived`` is set (a slow or stalled client)."""

    def __init__(self, data: bytes, arrived: threading.Event) -> None:
        super().__init__(data)
        self.arrived = arrived

    def read(self, *args):
        self.arrived.wait(WAIT_S)
        return super().read(*args)


def test_a_slow_request_body_does_not_stop_other_calls(tmp_path):
    app = create_app(Config(auth="off", db_url=str(tmp_path / "gate.sqlite")))
    arrived = threading.Event()
    body = json.dumps(hook_request(prefetch=None, fhir_server=None, token=None)).encode()
    statuses: dict[str, object] = {}

    def slow_post():
        resp = app.test_client().post(
            "/cds-services/nk-cell-trials",
            input_stream=SlowBody(body, arrived),
            content_type="application/json",
            headers={"Content-Length": str(len(body))},
        )
        statuses["slow"] = (resp.status_code, arrived.is_set())

    def quick_get():
        statuses["quick"] = app.test_client().get("/cds-services").status_code
        arrived.set()  # the body "arrives" only after the other call was answered

    slow = run_in_thread(slow_post)
    time.sleep(0.1)  # the slow call is inside the app, reading its body
    started = time.monotonic()
    quick = run_in_thread(quick_get)
    quick.join(WAIT_S)
    slow.join(2 * WAIT_S)
    assert statuses["quick"] == 200
    assert time.monotonic() - started < WAIT_S / 2  # it did not wait for the body to arrive
    assert statuses["slow"][1] is True
