"""``nk-cds serve --host H --port P [--workers N]``: the production server (gunicorn, threaded workers).

The master process validates the configuration, creates the database tables and builds the application
once (``cds.http.app.create_app()``: configuration from the environment, the trial catalogue loaded and
checked before any worker starts), then forks the workers (``preload_app``): they share the catalogue's
memory, and each drops the inherited database connections and opens its own (``cds.db.after_fork``). ``--port 0`` binds an
ephemeral port; gunicorn logs ``Listening at: http://H:P`` on stderr.

Worker settings (issue 7, measured with bench/ on 2 cores, typical patient with prefetch, 8 clients): 2 threads
per worker (``--threads``), Python's default 5 ms GIL switch interval, and the compute gate (``cds.compute_gate``:
one call at a time runs the service's Python in a worker; a call lets it go while its request body arrives and
while it waits for FHIR searches). Python runs one thread of a process at a time, so calls that all compute only
take turns, evicting each other's data from the CPU caches. Session 4: 2 threads beat 4 (with a 1 ms or 5 ms
switch interval) in every pair. Session 5: the gate beat no gate in 8 of 9 back-to-back pairs and 7 of 10
interleaved rounds (the cores busier: 1.81-1.82 rather than 1.73-1.75 of 2), and with the gate 4 threads lost to 2
in 3 of 3 pairs (more CPU per call). One thread per worker, with no gate, did about as well as the gate but would
leave a worker idle while a call waits on FHIR searches. Deployments whose EHR rarely sends prefetch may raise
``--threads``: calls waiting on FHIR searches do not hold the gate.
Keep-alive (5 s) spares every client a TCP handshake per call.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

NAME = "serve"
HELP = "run the CDS Hooks service with gunicorn (the production path)"

log = logging.getLogger("cds.serve")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to bind; 0 = any free port (default 8080)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads per worker (default 2; raise it when calls often wait on FHIR searches)",
    )
    parser.add_argument("--timeout", type=int, default=60, help="seconds before a silent worker is restarted")


def gunicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "bind": f"{args.host}:{args.port}",
        "workers": max(1, args.workers),
        "worker_class": "gthread",
        "threads": max(1, args.threads),
        "timeout": args.timeout,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,  # the application writes its own access line without URLs' query strings
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": True,
        "post_fork": _post_fork,
        "proc_name": "nk-cds",
        "limit_request_line": 8190,
        "control_socket_disable": True,  # gunicorn >= 24: one shared ~/.gunicorn/gunicorn.ctl would clash
    }


def _post_fork(_server: Any, _worker: Any) -> None:
    from cds.db import after_fork

    after_fork()


def run(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from cds.config import Config, ConfigError
    from cds.db import UnsupportedDatabase, open_database
    from cds.logging_setup import configure_logging

    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"nk-cds serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    try:
        db = open_database(config.sqlalchemy_url())  # create the tables once, before the workers race for it
    except UnsupportedDatabase as exc:
        print(f"nk-cds serve: {exc}", file=sys.stderr)
        return 2
    db.dispose()

    class Server(BaseApplication):  # type: ignore[misc]
        def __init__(self, options: dict[str, Any]) -> None:
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                if key in self.cfg.settings:  # settings differ between gunicorn versions
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from cds.http.app import create_app, freeze_heap

            app = create_app(Config.from_env())
            freeze_heap()  # before the fork: shared, and not walked by every full collection
            return app

    Server(gunicorn_options(args)).run()
    return 0
