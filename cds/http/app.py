"""Application factory: ``create_app(config, catalogue, hook_runner) -> Flask``.

Production: ``nk-cds serve`` runs gunicorn with ``cds.http.app:create_app()`` (config from the
environment, the trial catalogue loaded once per worker). Tests pass a ``Config`` and a fake
``hook_runner``.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import logging
import re
import time
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from cds.auth import JwtVerifier
from cds.compute_gate import gated
from cds.config import Config
from cds.db import open_database
from cds.http import discovery, feedback, hooks, meta
from cds.http.cors import install_cors
from cds.http.guards import Unauthenticated
from cds.http.json_provider import OrjsonProvider
from cds.http.problems import operation_outcome, unauthorized
from cds.http.state import EXTENSION_KEY, HookRunner, ServiceState
from cds.logging_setup import access_record, configure_logging

log = logging.getLogger("cds.http")
PIPELINE_MODULES = ("cds.gather", "cds.engine", "cds.cards")  # imported by run_patient_view on its first call
_UUID_LIKE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def default_hook_runner(catalogue: Any, config: Config) -> HookRunner:
    """``run_patient_view`` with the catalogue loaded now (once per process) and the current time.

    A catalogue that cannot be loaded (a missing module, an invalid trial file) fails here, at start-up:
    ``nk-cds serve`` then refuses to start instead of answering every hook call with an error.
    The pipeline's modules are imported here too (``run_patient_view`` imports them on its first call): the
    gatherer brings fhirpy and aiohttp, about 0.3 s that each gunicorn worker's first hook call paid; now the
    master imports them once before it forks.
    """
    from cds.normalise import warm_up
    from cds.pipeline import load_catalogue, run_patient_view

    loaded = catalogue if catalogue is not None else load_catalogue(config)
    warm_up()  # import the FHIR models now, not on the first patient's hook call
    for module in PIPELINE_MODULES:
        importlib.import_module(module)

    def run(req: dict[str, Any]) -> dict[str, Any]:
        return run_patient_view(req, loaded, config, dt.datetime.now(dt.UTC))

    return run


def create_app(
    config: Config | None = None, catalogue: Any = None, hook_runner: HookRunner | None = None
) -> Flask:
    config = config or Config.from_env()
    configure_logging(config.log_level)
    app = Flask("cds")
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    db = open_database(config.sqlalchemy_url())
    verifier = None
    if config.auth == "off":
        log.warning("NK_CDS_AUTH=off: CDS client JWTs are NOT verified (local development and demo only)")
    else:
        verifier = JwtVerifier(config.trusted_issuers, remember_jti=db.remember_jti)
        if not config.trusted_issuers:
            log.warning("NK_CDS_TRUSTED_ISSUERS is empty: every hook and feedback call will get 401")
    runner = hook_runner or default_hook_runner(catalogue, config)
    app.extensions[EXTENSION_KEY] = ServiceState(config=config, db=db, verifier=verifier, hook_runner=runner)
    install_cors(app, config.cors_origins)
    for blueprint in (discovery.bp, hooks.bp, feedback.bp, meta.bp):
        app.register_blueprint(blueprint)
    _install_error_handlers(app)
    _install_access_log(app)
    app.wsgi_app = gated(app.wsgi_app)  # type: ignore[method-assign]
    return app


def freeze_heap() -> None:
    """Move everything loaded at start-up (catalogue, mappings, models) out of the garbage collector's view.

    Without it every full collection walks those long-lived objects while a request allocates ~100 k
    objects: measured 36-44 ms of GC per heavy hook call, 5 ms with the heap frozen (bench/). Called once by
    the gunicorn master before forking, so the frozen pages also stay shared between workers.
    """
    gc.collect()
    gc.freeze()


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(Unauthenticated)
    def _unauthenticated(_exc: Unauthenticated) -> Response:
        return unauthorized()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = exc.get_response()
        if response.mimetype == "application/json":
            return response  # already an OperationOutcome (guards.ClientError)
        status = exc.code or 500
        out = operation_outcome(status, exc.description or exc.name)
        if status == 405 and "Allow" in response.headers:
            out.headers["Allow"] = response.headers["Allow"]
        return out

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return operation_outcome(500, "internal error")


def _install_access_log(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        started = g.get("started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        hook_instance = g.get("hook_instance")
        if hook_instance is not None and not _UUID_LIKE.match(hook_instance):
            hook_instance = "(not a uuid)"
        access_record(
            method=request.method,
            route=request.url_rule.rule if request.url_rule else "(unmatched)",
            status=response.status_code,
            duration_ms=duration_ms,
            service_id=g.get("service_id"),
            hook_instance=hook_instance,
            cards=g.get("cards"),
        )
        return response
