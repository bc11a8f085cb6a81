"""Service test helpers (pytest plugin listed in ``tests/conftest.py``).

- ``assert_valid(definition, body)``: the body validates against ``#/$defs/<definition>`` of the project's
  CDS Hooks schema (``cds/schemas/cds-hooks.schema.json``).
- ``make_app`` (function): ``make_app(hook_runner=..., **config_changes) -> Flask``; a service with a temporary
  SQLite database that trusts the test JWKS (``tests.tokens``) for the Sandbox issuer.
- ``example_card(trial, uuid)`` / ``hook_request(patient_id)``: fixed test data.
- ``ServiceProcess`` / ``serve_process``: a real ``nk-cds serve`` (gunicorn) process on an ephemeral port,
  stdout and stderr captured to files, started in its own process group (``kill9`` kills the group).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from cds.config import Config
from cds.http.app import create_app
from cds.http.schemas import first_error
from tests.tokens import SANDBOX_ISS

SERVICE_ID = "nk-cell-trials"
DATA = Path(__file__).parent / "data"
START_TIMEOUT_S = 60.0


def assert_valid(definition: str, body: Any) -> None:
    problem = first_error(definition, body)
    assert problem is None, f"{definition}: {problem}\n{json.dumps(body)[:2000]}"


def example_card(trial: str = "NCT06631391", card_uuid: str | None = None, **changes: Any) -> dict[str, Any]:
    card = {
        "uuid": card_uuid or str(uuid.uuid4()),
        "summary": f"Possible match: NK-cell trial {trial}",
        "indicator": "info",
        "source": {"label": "NK-cell trial matching", "url": "https://clinicaltrials.gov"},
        "links": [
            {"label": "Trial record", "url": f"https://clinicaltrials.gov/study/{trial}", "type": "absolute"}
        ],
        "extension": {"org.nktrials.eligibility": {"trial": trial, "verdict": "possibly-eligible"}},
    }
    card.update(changes)
    return card


def hook_request(patient_id: str = "pat-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
        "prefetch": {"patient": {"resourceType": "Patient", "id": patient_id}},
    }
    body.update(changes)
    return body


def base_config(tmp_path: Path, jwks_file: Path, **changes: Any) -> Config:
    config = Config(
        auth="jwt",
        trusted_issuers={SANDBOX_ISS: str(jwks_file)},
        db_url=str(tmp_path / "service.sqlite"),
        log_level="DEBUG",
    )
    return config.with_(**changes)


@pytest.fixture
def make_app(tmp_path: Path, jwks_file: Path) -> Callable[..., Flask]:
    def _make(hook_runner: Callable[[dict[str, Any]], dict[str, Any]] | None = None, **changes: Any) -> Flask:
        runner = hook_runner or (lambda req: {"cards": []})
        app = create_app(base_config(tmp_path, jwks_file, **changes), hook_runner=runner)
        app.testing = False  # errors go through the handlers exactly as in production
        return app

    return _make


def service_env(tmp_path: Path, jwks_file: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NK_CDS_")}
    env.update(
        {
            "NK_CDS_AUTH": "jwt",
            "NK_CDS_TRUSTED_ISSUERS": json.dumps({SANDBOX_ISS: str(jwks_file)}),
            "NK_CDS_DB": str(tmp_path / "served.sqlite"),
            "NK_CDS_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def nk_cds_command() -> list[str]:
    script = Path(sys.executable).parent / "nk-cds"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cds.cli"]


class ServiceProcess:
    """``nk-cds serve --port 0`` in its own process group; ``base_url`` once it answers /healthz."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, workers: int = 2) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.runs = 0

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"serve-{self.runs}.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"serve-{self.runs}.stderr"

    def start(self) -> ServiceProcess:
        self.runs += 1
        cmd = [
            *nk_cds_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--workers",
            str(self.workers),
        ]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=err, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nk-cds serve exited with {self.proc.returncode}:\n{self.output()}")
            match = re.search(
                r"Listening at: (http://127\.0\.0\.1:\d+)", self.stderr_path.read_text(errors="replace")
            )
            if match:
                self.base_url = match.group(1)
                if self._healthy():
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nk-cds serve did not become healthy in {START_TIMEOUT_S} s:\n{self.output()}")

    def _healthy(self) -> bool:
        try:
            return requests.get(self.base_url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def output(self) -> str:
        parts = []
        for run in range(1, self.runs + 1):
            for kind in ("stdout", "stderr"):
                path = self.log_dir / f"serve-{run}.{kind}"
                if path.exists():
                    parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def kill9(self) -> None:
        """SIGKILL the master and every worker at once (its process group)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            self.proc.send_signal(signal.SIGINT)  # the master only; gunicorn: quick shutdown of the workers
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


@pytest.fixture
def serve_process(tmp_path: Path, jwks_file: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """``serve_process(workers=2, **env) -> ServiceProcess`` (started); all are stopped after the test."""
    started: list[ServiceProcess] = []

    def _start(workers: int = 2, **env: str) -> ServiceProcess:
        log_dir = tmp_path / f"serve-logs-{len(started)}"
        log_dir.mkdir()
        proc = ServiceProcess(service_env(tmp_path, jwks_file, **env), log_dir, workers=workers)
        started.append(proc)
        return proc.start()

    yield _start
    for proc in started:
        proc.stop()
