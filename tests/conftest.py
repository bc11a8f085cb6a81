"""Shared pytest configuration: fixtures every area uses are plugins listed here."""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.fhir_server",  # real FHIR R4 server process (sekmet-fhir) or FHIR_BASE_URL
    "tests.tokens",  # JWT minting with local P-384 / RSA keys in the CDS Hooks Sandbox's form
    "tests.postgres",  # real PostgreSQL cluster (initdb/pg_ctl) on an ephemeral port
    "tests.cds_service",  # service test helpers: app factory, schema assertions, `nk-cds serve` processes
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("NK_CDS_LIVE_FHIR"):
        return
    skip_live = pytest.mark.skip(reason="live test: set NK_CDS_LIVE_FHIR to run against a public FHIR server")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip_live)
