"""Where the data files live, in a source checkout and in an installed wheel.

In the repository, trials and mappings are the top-level ``cards/`` and ``mappings/`` folders. A wheel
(``pip install .``, the Docker image) carries copies under ``cds/_data/`` (see pyproject.toml), so a
non-editable install finds them without the source tree. ``NK_CDS_DATA_DIR`` overrides both.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = PACKAGE_DIR / "schemas"


def data_root() -> Path:
    """The folder holding ``cards/`` and ``mappings/``."""
    from cds.config import data_dir_override

    override = data_dir_override()
    if override:
        return Path(override)
    bundled = PACKAGE_DIR / "_data"
    if (bundled / "cards").is_dir():
        return bundled
    return PACKAGE_DIR.parent


def trials_dir() -> Path:
    return data_root() / "cards" / "trials"


def templates_dir() -> Path:
    return data_root() / "cards" / "templates"


def mappings_dir() -> Path:
    return data_root() / "mappings"
