"""Service configuration: every environment variable the service reads, in one place.

``Config.from_env()`` is called once at start-up (``create_app``); tests build a ``Config`` directly
or with ``Config.from_env(environ)``. The README's configuration table mirrors ``ENV_VARS``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value is malformed; raised at start-up, never during a request."""


# name -> (default, description). The README table is generated from / checked against this.
ENV_VARS: dict[str, tuple[str, str]] = {
    "NK_CDS_AUTH": (
        "jwt",
        "`jwt` verifies CDS client JWTs; `off` disables it (local development and the demo only; logs a warning)",
    ),
    "NK_CDS_TRUSTED_ISSUERS": ("{}", "JSON object issuer -> JWKS file path or https URL"),
    "NK_CDS_FHIR_ALLOWLIST": (
        "",
        "comma-separated FHIR base-URL prefixes the service may call; empty = none",
    ),
    "NK_CDS_PUBLIC_URL": (
        "",
        "public base URL of the service (JWT `aud` check behind proxies); empty = from the request",
    ),
    "NK_CDS_DB": (
        "nk-cds.sqlite",
        "SQLite path or SQLAlchemy URL (postgresql+psycopg://...) for feedback and the JWT replay cache",
    ),
    "NK_CDS_CORS_ORIGINS": ("*", "comma-separated allowed CORS origins, or `*`"),
    "NK_CDS_MAX_REQUEST_BYTES": ("33554432", "largest accepted request body (bytes); larger gets 413"),
    "NK_CDS_FHIR_BUDGET_S": ("3.0", "overall time budget for FHIR queries in one hook call (seconds)"),
    "NK_CDS_FHIR_REQUEST_TIMEOUT_S": ("2.0", "timeout of one FHIR HTTP request (seconds)"),
    "NK_CDS_FHIR_MAX_PAGES": ("50", "most pages followed for one FHIR search"),
    "NK_CDS_MAX_CARDS": ("5", "most cards returned"),
    "NK_CDS_TIMEZONE": ("UTC", "IANA time zone for date arithmetic"),
    "NK_CDS_TRIALS": ("", "comma-separated NCT ids to enable; empty = all"),
    "NK_CDS_COUNTRIES": (
        "",
        "comma-separated countries; only trials with a site there are suggested; empty = any",
    ),
    "NK_CDS_SUGGEST_STATUSES": (
        "RECRUITING,NOT_YET_RECRUITING,ENROLLING_BY_INVITATION,UNKNOWN",
        "registry statuses that may be suggested",
    ),
    "NK_CDS_NOT_YET_HORIZON_DAYS": (
        "365",
        "a not-yet-eligible trial gets a card only when its eligibleFrom is at most this many days away",
    ),
    "NK_CDS_SCREENING_WINDOW_DAYS": ("14", "default age limit of a lab result that may decide a criterion"),
    "NK_CDS_SERVICE_ID": ("nk-cell-trials", "id of the patient-view service in discovery"),
    "NK_CDS_LOG_LEVEL": ("INFO", "log level of the service's own loggers"),
}


# Read outside a running service: by the data-file loader and the command-line FHIR tools.
DATA_DIR_VAR = "NK_CDS_DATA_DIR"  # a folder with cards/ and mappings/ replacing the packaged ones
FHIR_TOKEN_VAR = "NK_CDS_FHIR_TOKEN"  # bearer token for `nk-cds match` / `load-demo` (instead of --token)


def data_dir_override() -> str | None:
    return os.environ.get(DATA_DIR_VAR) or None


def cli_fhir_token() -> str | None:
    return os.environ.get(FHIR_TOKEN_VAR) or None


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Config:
    auth: str = "jwt"
    trusted_issuers: dict[str, str] = field(default_factory=dict)
    fhir_allowlist: tuple[str, ...] = ()
    public_url: str = ""
    db_url: str = "nk-cds.sqlite"
    cors_origins: tuple[str, ...] = ("*",)
    max_request_bytes: int = 32 * 1024 * 1024
    fhir_budget_s: float = 3.0
    fhir_request_timeout_s: float = 2.0
    fhir_max_pages: int = 50
    max_cards: int = 5
    timezone: str = "UTC"
    trials: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    suggest_statuses: tuple[str, ...] = (
        "RECRUITING",
        "NOT_YET_RECRUITING",
        "ENROLLING_BY_INVITATION",
        "UNKNOWN",
    )
    screening_window_days: int = 14
    not_yet_horizon_days: int = 365
    service_id: str = "nk-cell-trials"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name, ENV_VARS[name][0]).strip()

        auth = get("NK_CDS_AUTH").lower()
        if auth not in ("jwt", "off"):
            raise ConfigError(f"NK_CDS_AUTH must be 'jwt' or 'off', not {auth!r}")
        try:
            issuers: Any = json.loads(get("NK_CDS_TRUSTED_ISSUERS") or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"NK_CDS_TRUSTED_ISSUERS is not JSON: {exc}") from exc
        if not isinstance(issuers, dict) or not all(isinstance(v, str) for v in issuers.values()):
            raise ConfigError("NK_CDS_TRUSTED_ISSUERS must be a JSON object of issuer -> JWKS path or URL")
        try:
            return cls(
                auth=auth,
                trusted_issuers=issuers,
                fhir_allowlist=_split(get("NK_CDS_FHIR_ALLOWLIST")),
                public_url=get("NK_CDS_PUBLIC_URL").rstrip("/"),
                db_url=get("NK_CDS_DB"),
                cors_origins=_split(get("NK_CDS_CORS_ORIGINS")) or ("*",),
                max_request_bytes=int(get("NK_CDS_MAX_REQUEST_BYTES")),
                fhir_budget_s=float(get("NK_CDS_FHIR_BUDGET_S")),
                fhir_request_timeout_s=float(get("NK_CDS_FHIR_REQUEST_TIMEOUT_S")),
                fhir_max_pages=int(get("NK_CDS_FHIR_MAX_PAGES")),
                max_cards=int(get("NK_CDS_MAX_CARDS")),
                timezone=get("NK_CDS_TIMEZONE"),
                trials=_split(get("NK_CDS_TRIALS")),
                countries=_split(get("NK_CDS_COUNTRIES")),
                suggest_statuses=tuple(s.upper() for s in _split(get("NK_CDS_SUGGEST_STATUSES"))),
                screening_window_days=int(get("NK_CDS_SCREENING_WINDOW_DAYS")),
                not_yet_horizon_days=int(get("NK_CDS_NOT_YET_HORIZON_DAYS")),
                service_id=get("NK_CDS_SERVICE_ID"),
                log_level=get("NK_CDS_LOG_LEVEL").upper(),
            )
        except ValueError as exc:
            raise ConfigError(f"bad numeric setting: {exc}") from exc

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)

    @property
    def db_is_sqlite(self) -> bool:
        return "://" not in self.db_url or self.db_url.startswith("sqlite")

    def sqlalchemy_url(self) -> str:
        if "://" in self.db_url:
            return self.db_url
        return f"sqlite:///{Path(self.db_url).expanduser().resolve()}"
