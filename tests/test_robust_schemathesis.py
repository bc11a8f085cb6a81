"""Schemathesis (4.x) against the service's own OpenAPI description, in process (WSGI).

The schema is loaded from the app itself (``GET /openapi.json``, i.e. ``cds/schemas/openapi.json``). The app is
the production one (JWT verification on, SQLite database, the real trial catalogue and pipeline); every case
gets a freshly minted Sandbox-style token for the exact URL it calls (tokens are single use: replay cache).

Case groups, each derandomized and bounded (``MAX_EXAMPLES`` per operation and group):

1. every operation, all inputs generated (path ids are random, so the POSTs answer 404: few examples);
2. the two POST operations with the real service id and generated bodies (400 / 412 / 200);
3. the same with negative (schema-violating) bodies: must be refused with a 4xx, never a 5xx;
4. the hook with a real synthetic patient in prefetch (200 with cards).

Every response must be no 5xx and conform to the schema (status code documented, content type, headers,
body schema). The run as a whole must have seen a 200 and a 4xx other than 401, or it tested nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cds.http.app import create_app
from cds.synthetic import PatientBuilder
from tests.cds_service import SERVICE_ID, base_config

pytestmark = pytest.mark.timeout(120)

MAX_EXAMPLES = 15
NEGATIVE_EXAMPLES = 10  # generating bodies dominates the run time, not the app
RANDOM_ID_POST_EXAMPLES = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
HOST = "http://localhost"  # schemathesis' WSGI client calls the app as localhost
POSTS = ("callService", "feedback")


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, jwks_file: Any) -> Any:
    config = base_config(tmp_path_factory.mktemp("schemathesis"), jwks_file, log_level="WARNING")
    app = create_app(config)  # the real hook runner: catalogue, gather, normalise, engine, cards
    app.testing = False
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def _operations(schema: Any) -> dict[str, Any]:
    ops = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        ops[operation.definition.raw.get("operationId") or operation.label] = operation
    return ops


def _runner(mint_token: Callable[..., str], seen: Counter[tuple[str, int]]) -> Callable[[Any], None]:
    def call(case: Any) -> None:
        headers = dict(case.headers or {})
        headers["Authorization"] = f"Bearer {mint_token(HOST + case.formatted_path)}"
        case.headers = headers
        response = case.call()
        seen[(case.operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    return call


def _run(strategy: Any, call: Callable[[Any], None], max_examples: int = MAX_EXAMPLES) -> None:
    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        call(case)

    check()


def _patient_request() -> dict[str, Any]:
    today = dt.date.today()
    p = PatientBuilder("st-nb-1", today, age=(7, 40), sex="male")
    p.condition("neuroblastoma", onset_days_ago=500)
    p.lab("anc", 1.8, "10*9/L", low=1.5, high=8.0, days_ago=3)
    p.lab("platelets", 160, "10*9/L", low=150, high=450, days_ago=3)
    p.lansky(80, days_ago=4)
    p.med_admin("topotecan", days_ago=40, dose=(0.6, "mg"), route="intravenous")
    return p.hook_request()


def test_schemathesis_finds_no_5xx_and_no_schema_violation(
    api_schema: Any, mint_token: Callable[..., str]
) -> None:
    ops = _operations(api_schema)
    assert set(POSTS) <= set(ops), f"operations in the OpenAPI description: {sorted(ops)}"
    seen: Counter[tuple[str, int]] = Counter()
    call = _runner(mint_token, seen)
    for name, operation in ops.items():  # 1. everything generated (a random id answers 404 before the body)
        _run(operation.as_strategy(), call, RANDOM_ID_POST_EXAMPLES if name in POSTS else MAX_EXAMPLES)
    for name in POSTS:  # 2. real service id, generated bodies; 3. negative bodies
        operation = ops[name]
        _run(operation.as_strategy(path_parameters={"service_id": SERVICE_ID}), call)
        negative = operation.as_strategy(GenerationMode.NEGATIVE, path_parameters={"service_id": SERVICE_ID})
        _run(negative, call, NEGATIVE_EXAMPLES)
    hook = ops["callService"]  # 4. a real patient
    _run(hook.as_strategy(path_parameters={"service_id": SERVICE_ID}, body=_patient_request()), call, 3)
    statuses = {status for _label, status in seen}
    assert 200 in statuses, f"no 200 in the whole run: {dict(seen)}"
    assert any(400 <= status < 500 and status != 401 for status in statuses), (
        f"no 4xx other than 401: {dict(seen)}"
    )
    assert not any(status >= 500 for status in statuses), dict(seen)
    assert seen[(hook.label, 200)] >= 1, f"the hook never answered 200: {dict(seen)}"


def test_the_checks_catch_a_server_error(
    make_app: Callable[..., Any], mint_token: Callable[..., str]
) -> None:
    """The same checks fail when the hook answers 500 (a bug below the HTTP layer): the test above can fail."""

    def broken(_request: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug")

    schema = schemathesis.openapi.from_wsgi("/openapi.json", make_app(hook_runner=broken))
    hook = _operations(schema)["callService"]
    seen: Counter[tuple[str, int]] = Counter()
    with pytest.raises(FailureGroup) as caught:
        _run(
            hook.as_strategy(path_parameters={"service_id": SERVICE_ID}, body=_patient_request()),
            _runner(mint_token, seen),
            1,
        )
    assert caught.group_contains(ServerError)
    assert seen[(hook.label, 500)] >= 1
