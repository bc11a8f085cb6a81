"""The embedded demo stack: a local FHIR server with the demo patients plus the CDS service, on 127.0.0.1.

``DemoStack`` starts ``cds.localfhir.LocalFhirServer`` (a real sekmet-fhir process), loads every demo
patient as a PUT transaction, and serves ``cds.http.app.create_app`` with werkzeug's threaded HTTP
server in a background thread (``NK_CDS_AUTH=off``, the allowlist holding only the local FHIR base, a
temporary SQLite database). ``call(patient)`` posts a real patient-view request over HTTP and reads the
verdicts off the cards (a trial with no card is ``ineligible``: cards are only made for the others).

No network beyond 127.0.0.1 is used. The evaluation date is the service's: today in ``NK_CDS_TIMEZONE``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import requests

from cds.config import Config
from cds.demo.patients import INELIGIBLE, DemoPatient, demo_patients
from cds.demo.upload import post_transaction, response_excerpt

EXTENSION_KEY = "org.nktrials.eligibility"


# The demo reads verdicts from cards; beyond this horizon a not-yet-eligible trial shows no card.
CARD_HORIZON_DAYS = Config().not_yet_horizon_days


@dataclass(frozen=True)
class TrialVerdict:
    verdict: str
    eligible_from: dt.date | None = None


@dataclass
class HookOutcome:
    """What one hook call answered, reduced to verdicts per trial."""

    patient_id: str
    status: int
    verdicts: dict[str, TrialVerdict] = field(default_factory=dict)  # carded trials only
    error: str | None = None
    seconds: float = 0.0
    cards: list[dict[str, Any]] = field(default_factory=list)
    via: str = "FHIR"  # "prefetch" when the request carried prefetch, else "FHIR" (the service queried it)

    def verdict(self, trial: str) -> TrialVerdict:
        return self.verdicts.get(trial, TrialVerdict(INELIGIBLE))


def verdicts_from_result_json(results: list[dict[str, Any]]) -> dict[str, TrialVerdict]:
    """Trial id -> verdict, from ``TrialResult.to_json()`` objects (what cards carry, what ``match --json`` prints)."""
    out: dict[str, TrialVerdict] = {}
    for result in results:
        if not isinstance(result, dict) or "trial" not in result or "status" not in result:
            continue
        start = result.get("eligibleFrom")
        out[result["trial"]] = TrialVerdict(result["status"], dt.date.fromisoformat(start) if start else None)
    return out


def verdicts_from_cards(cards: list[dict[str, Any]]) -> dict[str, TrialVerdict]:
    """Trial id -> verdict, from the machine-readable result every card carries."""
    return verdicts_from_result_json([(card.get("extension") or {}).get(EXTENSION_KEY) for card in cards])


def outcome_from_results(patient_id: str, results: list[Any]) -> HookOutcome:
    """The same reduction as for cards, from ``TrialResult`` objects (``nk-cds match``, the pipeline)."""
    verdicts = {
        r.trial: TrialVerdict(
            r.status.value, r.eligible_from if r.status.value == "not-yet-eligible" else None
        )
        for r in results
    }
    return HookOutcome(patient_id, 200, verdicts, via="match")


def service_today(config: Config) -> dt.date:
    return dt.datetime.now(ZoneInfo(config.timezone)).date()


class DemoStack:
    """Local FHIR server + CDS service; a context manager. ``port=0`` picks a free port."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, config: Config | None = None) -> None:
        self.host = host
        self.port = port
        self._base_config = config
        self.config: Config | None = None
        self.evaluation_date: dt.date | None = None
        self.patients: list[DemoPatient] = []
        self.fhir_base_url = ""
        self.service_url = ""
        self.service_id = ""
        self._fhir: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._tmp: Path | None = None
        self._http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=16)
        self._http.mount("http://", adapter)

    @property
    def discovery_url(self) -> str:
        return f"{self.service_url}/cds-services"

    @property
    def hook_url(self) -> str:
        return f"{self.service_url}/cds-services/{self.service_id}"

    def start(self) -> DemoStack:
        from cds.localfhir import LocalFhirServer

        try:
            self._tmp = Path(tempfile.mkdtemp(prefix="nk-demo-"))
            self._fhir = LocalFhirServer().start()
            self.fhir_base_url = self._fhir.base_url
            base = self._base_config or Config()
            self.config = base.with_(
                auth="off",
                fhir_allowlist=(self.fhir_base_url,),
                db_url=str(self._tmp / "demo.sqlite"),
                fhir_budget_s=max(base.fhir_budget_s, 10.0),
                fhir_request_timeout_s=max(base.fhir_request_timeout_s, 5.0),
                max_cards=max(base.max_cards, 5),
                log_level="WARNING" if base.log_level == "INFO" else base.log_level,
            )
            self.evaluation_date = service_today(self.config)
            self.patients = demo_patients(self.evaluation_date)
            for patient in self.patients:
                post_transaction(self.fhir_base_url, patient.builder.transaction_bundle(), session=self._http)
            self._start_service()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_service(self) -> None:
        from werkzeug.serving import make_server

        from cds.http.app import create_app

        app = create_app(self.config)
        self._server = make_server(self.host, self.port, app, threaded=True)
        self.port = int(self._server.server_port)
        self.service_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="nk-demo-service", daemon=True
        )
        self._thread.start()
        discovery = self._http.get(self.discovery_url, timeout=10)
        discovery.raise_for_status()
        services = [s for s in discovery.json().get("services", []) if s.get("hook") == "patient-view"]
        if not services:
            raise RuntimeError("the service advertises no patient-view service")
        self.service_id = services[0]["id"]

    def call(
        self, patient: DemoPatient, *, prefetch: bool | None = None, timeout_s: float = 60.0
    ) -> HookOutcome:
        """POST a patient-view request for ``patient`` (prefetch as the patient declares unless given)."""
        use_prefetch = patient.use_prefetch if prefetch is None else prefetch
        request = patient.builder.hook_request(fhir_server=self.fhir_base_url, prefetch=use_prefetch)
        via = "prefetch" if use_prefetch else "FHIR"
        started = time.perf_counter()
        try:
            response = self._http.post(self.hook_url, json=request, timeout=timeout_s)
        except requests.RequestException as exc:
            return HookOutcome(patient.patient_id, 0, error=type(exc).__name__, via=via)
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            error = f"HTTP {response.status_code}: {response_excerpt(response)}"
            return HookOutcome(
                patient.patient_id, response.status_code, error=error, seconds=seconds, via=via
            )
        try:
            cards = response.json().get("cards", [])
        except ValueError:
            return HookOutcome(patient.patient_id, 200, error="answer is not JSON", seconds=seconds, via=via)
        verdicts = verdicts_from_cards(cards)
        return HookOutcome(patient.patient_id, 200, verdicts, seconds=seconds, cards=cards, via=via)

    def call_all(self, *, prefetch: bool | None = None, workers: int = 4) -> dict[str, HookOutcome]:
        """Call the hook for every demo patient, ``workers`` at a time; patient id -> outcome."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            outcomes = list(pool.map(lambda p: self.call(p, prefetch=prefetch), self.patients))
        return {o.patient_id: o for o in outcomes}

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._fhir is not None:
            self._fhir.stop()
            self._fhir = None
        self._http.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> DemoStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def compare(
    patient: DemoPatient,
    outcome: HookOutcome,
    evaluation_date: dt.date,
    horizon_days: int | None = None,
) -> list[str]:
    """Differences between what a demo patient declares and what the service answered (empty = match).

    With ``horizon_days`` (answers read from cards), a not-yet-eligible verdict further away than the card
    horizon is expected to show no card; without it (answers from the engine), every verdict is compared.
    """
    if outcome.error:
        return [f"{patient.patient_id}: {outcome.error}"]
    problems = []
    for trial, expected in patient.expected.items():
        got = outcome.verdict(trial)
        want_from = patient.expected_eligible_from(trial, evaluation_date)
        if horizon_days is not None and want_from and (want_from - evaluation_date).days > horizon_days:
            # beyond the card horizon: the engine says not-yet-eligible, but no card is shown
            if got.verdict != "ineligible":
                problems.append(
                    f"{patient.patient_id} {trial}: expected no card (from {want_from}), got {got.verdict}"
                )
            continue
        if got.verdict != expected.verdict or (
            expected.verdict == "not-yet-eligible" and got.eligible_from != want_from
        ):
            want = expected.verdict + (f" from {want_from}" if want_from else "")
            have = got.verdict + (f" from {got.eligible_from}" if got.eligible_from else "")
            problems.append(f"{patient.patient_id} {trial}: expected {want}, got {have}")
    return problems
