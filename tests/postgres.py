"""A real PostgreSQL cluster for the tests (pytest plugin listed in ``tests/conftest.py``).

``postgres_url`` (session): ``initdb`` a cluster in a temporary directory, start it with ``pg_ctl`` on an
ephemeral 127.0.0.1 port (Unix socket in the same directory), yield a SQLAlchemy URL
(``postgresql+psycopg://...``), stop it (``-m immediate``) at the end. As root the server runs as the
``postgres`` user via ``runuser``. No PostgreSQL binaries: skip, unless the environment variable ``CI`` is
set, then fail (``.ci/run`` installs them via ``scripts/ensure-postgres.sh``).
``postgres_db`` (function): a fresh database in that cluster for one test.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 30


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner() -> tuple[list[str], str | None]:
    """Command prefix to run server binaries (never as root) and the owner for the data directory."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root and no 'postgres' user exists to run the test PostgreSQL server")
    return ["runuser", "-u", "postgres", "--"], "postgres"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; CI must install them")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
    prefix, owner = _runner()
    base = Path(tempfile.mkdtemp(prefix="nk-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if owner:
        shutil.chown(base, owner)
        shutil.chown(sock, owner)
    port = _free_port()
    user = "postgres"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=50"
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "start",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=START_TIMEOUT_S + 10,
    )
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            env=env,
            timeout=30,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty database (dropped afterwards)."""
    import sqlalchemy

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        deadline = time.monotonic() + 10
        with admin.connect() as conn:
            while True:
                try:
                    conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    break
                except sqlalchemy.exc.OperationalError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
        admin.dispose()
