"""The service as production runs it, for the benchmark: JWT verification on, SQLite database on.

- ``Signer``: local ES384/RS384 keys in the CDS Hooks Sandbox's token form (``tests.tokens``), their JWKS file
  trusted by the service, and pre-minted tokens (each token's ``jti`` is accepted once: the replay cache).
- ``inprocess_app``: ``cds.http.app.create_app`` with that configuration (Flask test client).
- ``Served``: a real ``nk-cds serve --workers N`` process (gunicorn) on an ephemeral loopback port.

Logs go to a file in the work directory at INFO (the production level), not to the terminal.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import children
from cds.config import Config
from tests import cds_service
from tests.tokens import SANDBOX_ISS, TestKey, generate_keys, jwks_document, mint

SERVICE_ID = "nk-cell-trials"
HOOK_PATH = f"/cds-services/{SERVICE_ID}"


@dataclass
class Signer:
    keys: dict[str, TestKey]
    jwks_path: Path
    alg: str = "ES384"

    def token(self, aud: str) -> str:
        return mint(self.keys, aud, self.alg)

    def tokens(self, aud: str, n: int, lifetime_s: int = 900) -> list[str]:
        return [mint(self.keys, aud, self.alg, lifetime_s=lifetime_s) for _ in range(n)]


def make_signer(workdir: Path) -> Signer:
    keys = generate_keys()
    path = workdir / "client-jwks.json"
    path.write_text(json.dumps(jwks_document(keys)))
    return Signer(keys, path)


def service_config(workdir: Path, signer: Signer, **changes: Any) -> Config:
    return Config(
        auth="jwt",
        trusted_issuers={SANDBOX_ISS: str(signer.jwks_path)},
        db_url=str(workdir / "bench-service.sqlite"),
        log_level="INFO",
    ).with_(**changes)


def log_to_file(path: Path) -> None:
    """Pre-install the service's JSON log handler writing to ``path`` (``configure_logging`` keeps it)."""
    from cds.logging_setup import _HANDLER_NAME, JsonFormatter, QuietLibrariesFilter

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "name", None) == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(open(path, "a", encoding="utf-8"))  # noqa: SIM115 - lives with the process
    handler.name = _HANDLER_NAME
    handler.setFormatter(JsonFormatter())
    handler.addFilter(QuietLibrariesFilter())
    root.addHandler(handler)


def freeze_startup_heap() -> None:
    """What ``nk-cds serve`` does after building the app."""
    from cds.http.app import freeze_heap

    freeze_heap()


def inprocess_app(config: Config, catalogue: Any = None) -> Any:
    from cds.http.app import create_app

    log_to_file(Path(config.db_url).with_suffix(".log"))
    app = create_app(config, catalogue=catalogue)
    app.testing = False
    freeze_startup_heap()
    return app


def service_env(workdir: Path, signer: Signer, **extra: str) -> dict[str, str]:
    """The production environment of a served instance: the test suite's own (JWT on, SQLite)."""
    return cds_service.service_env(workdir, signer.jwks_path, **extra)


class Served(cds_service.ServiceProcess):
    """The test suite's ``nk-cds serve`` process, ready only once all ``workers`` have forked."""

    @property
    def hook_url(self) -> str:
        return self.base_url + HOOK_PATH

    def _healthy(self) -> bool:
        return super()._healthy() and len(self.worker_pids()) >= self.workers

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def __enter__(self) -> Served:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
