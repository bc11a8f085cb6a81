"""Per-application state shared by the blueprints (``app.extensions["nk_cds"]``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from cds.auth import JwtVerifier
from cds.config import Config
from cds.db import Database

HookRunner = Callable[[dict[str, Any]], dict[str, Any]]
EXTENSION_KEY = "nk_cds"


@dataclass
class ServiceState:
    config: Config
    db: Database
    verifier: JwtVerifier | None  # None when NK_CDS_AUTH=off
    hook_runner: HookRunner


def state() -> ServiceState:
    return current_app.extensions[EXTENSION_KEY]
