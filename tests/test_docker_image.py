"""The wheel the Dockerfile installs: built the same way, installed non-editable into a fresh venv, and
``nk-cds check`` run from a temporary directory, so the data files must come from the wheel itself.

The fresh venv gets the project's dependencies through a ``.pth`` line pointing at the development venv's
site-packages (no network, no second download). ``.pth`` files inside that folder are not processed from
there, so the development venv's editable install of ``cds`` is NOT visible: ``cds`` resolves to the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # the Dockerfile's command: pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-cache-dir", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wheels = list(out.glob("nk_trials-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()
    )  # fmt: skip
    (site / "_nk_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return venv


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NK_CDS_DATA_DIR", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_wheel_carries_code_data_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert any(n.startswith("cds/_data/cards/trials/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("cds/_data/mappings/") and n.endswith(".yaml") for n in names)
    assert "cds/synthetic.py" in names and "cds/demo/patients.py" in names
    assert any(n.startswith("cds/schemas/") and n.endswith(".json") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "nk-cds = cds.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_installed_package_is_the_wheel_not_the_checkout(fresh_venv: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c",
         "import cds, cds.paths; print(cds.__file__); print(cds.paths.data_root())"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=_clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    module_file, data_root = done.stdout.split()
    assert str(fresh_venv) in module_file
    assert str(fresh_venv) in data_root and data_root.endswith("_data")


def test_nk_cds_check_from_a_temporary_directory(fresh_venv: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(fresh_venv / "bin" / "nk-cds"), "check"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
