"""Real FHIR R4 server fixture (pytest plugin listed in ``tests/conftest.py``).

- ``fhir_base_url`` (session): a sekmet-fhir process started by ``cds.localfhir.LocalFhirServer`` on an
  ephemeral 127.0.0.1 port (start timeout 30 s, stopped at the end of the session), or the base URL in the
  environment variable ``FHIR_BASE_URL`` when it is set (e.g. ``https://hapi.fhir.org/baseR4``); then no
  process is started. Under ``pytest -n 2`` every worker has its own server.
- ``fhir_load`` (function): ``fhir_load(bundle) -> response Bundle``; posts a transaction/batch Bundle to
  that base. Tests must use ids unique to the test (see ``unique_id``) because the store is shared by the
  session (and, with ``FHIR_BASE_URL``, possibly by the world).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cds.localfhir import LocalFhirServer, load_bundle

FHIR_START_TIMEOUT_S = 30.0


def unique_id(prefix: str = "nk") -> str:
    """A FHIR-valid id (``[A-Za-z0-9-.]{1,64}``) unique to this call."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def fhir_base_url() -> Iterator[str]:
    external = os.environ.get("FHIR_BASE_URL", "").strip()
    if external:
        yield external.rstrip("/")
        return
    server = LocalFhirServer(start_timeout_s=FHIR_START_TIMEOUT_S)
    try:
        server.start()
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture
def fhir_load(fhir_base_url: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def load(bundle: dict[str, Any]) -> dict[str, Any]:
        return load_bundle(fhir_base_url, bundle)

    return load
