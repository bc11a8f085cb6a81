"""A real FHIR R4 server on this machine: a ``sekmet-fhir`` process on an ephemeral 127.0.0.1 port.

Used by the test fixture (``tests/fhir_server.py``) and the demo. Settings follow
``docs/data-gathering.md`` (copied from the project's local FHIR server notes):

- ``simulator.enabled: false``: otherwise sekmet invents resources in answer to MedicationRequest and others;
- ``base_url`` is the real ``http://127.0.0.1:PORT/fhir``: next links and fullUrls are built from it;
- ``log_inbound: false``: do not store every request (that would keep patient data in a traffic table);
- a temporary ``db_path`` removed on ``stop()``;
- one extra SQLite index that makes ``_sort=-date`` searches about 100x faster.

The server's stdout/stderr go to a log file in the temporary directory (``log_path``), never to a pipe
that nobody reads. ``sekmet-fhir`` is a test/demo dependency: it is imported only by the child process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

log = logging.getLogger(__name__)

SORT_INDEX_SQL = "CREATE INDEX IF NOT EXISTS idx_sort ON idx(type, id, param, lo, s, code, num, rid)"
FHIR_JSON = "application/fhir+json"
# What ``sekmet serve`` does, minus its request log: uvicorn's access log would write every URL (with
# ``patient=<id>``) to the log file. The app reads its settings from ``SEKMET_CONFIG``.
_LAUNCH = (
    "import sys, uvicorn; uvicorn.run('sekmet.main:app_factory', factory=True, host='127.0.0.1',"
    " port=int(sys.argv[1]), log_level='warning', access_log=False)"
)


class LocalFhirServerError(RuntimeError):
    """The local FHIR server could not be started, or rejected a bundle."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings_yaml(base_url: str, port: int, db_path: Path) -> str:
    # JSON is valid YAML; avoids a PyYAML dependency in this helper.
    settings = {
        "base_url": base_url,
        "host": "127.0.0.1",
        "port": port,
        "db_path": str(db_path),
        "data_dir": str(db_path.parent),
        "own_private_key_path": str(db_path.parent / "keys" / "sekmet_private.pem"),
        "simulator": {"enabled": False},
        "log_inbound": False,
    }
    return json.dumps(settings, indent=2)


class LocalFhirServer:
    """Start/stop a sekmet-fhir server process; usable as a context manager.

    >>> with LocalFhirServer() as server:
    ...     server.load_bundle({"resourceType": "Bundle", "type": "transaction", "entry": [...]})
    ...     requests.get(server.base_url + "/Patient")
    """

    def __init__(self, start_timeout_s: float = 30.0, workdir: str | Path | None = None) -> None:
        self.start_timeout_s = start_timeout_s
        self._given_workdir = Path(workdir) if workdir else None
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self.port: int | None = None
        self.base_url: str = ""

    # ---- lifecycle -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def db_path(self) -> Path:
        if self._workdir is None:
            raise LocalFhirServerError("server not started")
        return self._workdir / "fhir.db"

    @property
    def log_path(self) -> Path:
        if self._workdir is None:
            raise LocalFhirServerError("server not started")
        return self._workdir / "server.log"

    def start(self) -> LocalFhirServer:
        """Start the process, wait for ``/metadata`` (at most ``start_timeout_s``), add the sort index."""
        if self.running:
            return self
        last_error = "unknown"
        for _attempt in range(3):  # the free port may be taken between probing and binding
            try:
                self._start_once()
                return self
            except LocalFhirServerError as exc:
                last_error = str(exc)
                self.stop()
        raise LocalFhirServerError(f"sekmet-fhir did not start: {last_error}")

    def _start_once(self) -> None:
        if self._given_workdir is not None:
            self._workdir = self._given_workdir
            self._workdir.mkdir(parents=True, exist_ok=True)
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix="nk-localfhir-"))
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"
        settings_path = self._workdir / "settings.yaml"
        settings_path.write_text(_settings_yaml(self.base_url, self.port, self.db_path))
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEKMET_")}
        env["SEKMET_CONFIG"] = str(settings_path)
        self._process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, str(self.port)],
            cwd=self._workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        self._add_sort_index()
        log.info("local FHIR server ready on port %s", self.port)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise LocalFhirServerError(f"process exited early; see {self.log_path}")
            try:
                response = requests.get(f"{self.base_url}/metadata", headers={"Accept": FHIR_JSON}, timeout=2)
                if (
                    response.status_code == 200
                    and response.json().get("resourceType") == "CapabilityStatement"
                ):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        raise LocalFhirServerError(f"not ready after {self.start_timeout_s:.0f} s; see {self.log_path}")

    def _add_sort_index(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            conn.execute(SORT_INDEX_SQL)
            conn.commit()
        finally:
            conn.close()

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 5 s) and remove the temporary directory."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._workdir is not None and self._given_workdir is None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    def __enter__(self) -> LocalFhirServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- data ------------------------------------------------------------------------------------
    def load_bundle(self, bundle: dict[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
        """POST a transaction (or batch) Bundle to the base URL; return the response Bundle."""
        return load_bundle(self.base_url, bundle, timeout_s=timeout_s)


def load_bundle(base_url: str, bundle: dict[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
    """POST a transaction/batch Bundle to any FHIR base URL; raise ``LocalFhirServerError`` unless 2xx."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in ("transaction", "batch"):
        raise LocalFhirServerError("load_bundle needs a Bundle of type transaction or batch")
    response = requests.post(
        base_url.rstrip("/"),
        data=json.dumps(bundle),
        headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
        timeout=timeout_s,
    )
    if not response.ok:
        raise LocalFhirServerError(f"bundle rejected with HTTP {response.status_code}: {response.text[:500]}")
    return response.json()
