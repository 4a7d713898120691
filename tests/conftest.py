"""Shared test settings: where the course data folder is.

One setting for every test: ``$GLASSNET_DATA`` if set (a relative path is taken from
the directory pytest was started in, as glassnet itself reads it), else
``../shared/data`` relative to the repository root, wherever pytest is run from.
Tests import the helpers (``from conftest import DATA_DIR, require_data``) or use the
``data_dir`` fixture; a test that needs a missing file skips, naming the path and
the variable.

The folder is exported (made absolute) as ``GLASSNET_DATA`` for the whole run, so
that ``glassnet`` and Python processes started by tests find the same folder as the
tests themselves. Tests of glassnet's own lookup set or delete the variable with
``monkeypatch``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV_VAR = "GLASSNET_DATA"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def _data_dir() -> Path:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    return DEFAULT_DATA_DIR.resolve()


DATA_DIR = _data_dir()
_BEFORE = os.environ.get(ENV_VAR)
os.environ[ENV_VAR] = str(DATA_DIR)  # children inherit it (see the docstring)


def pytest_unconfigure(config):
    if _BEFORE is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = _BEFORE


def missing_data_reason(*relative: str | os.PathLike) -> str | None:
    """Why the files ``DATA_DIR / r`` (for each ``r``) cannot be read, or None."""
    if not DATA_DIR.is_dir():
        where = (
            f"from {ENV_VAR}"
            if _BEFORE
            else f"{ENV_VAR} is unset; a fresh clone has no ../shared/data"
        )
        return (
            f"course data folder {DATA_DIR} is absent ({where}); set {ENV_VAR} to "
            "the course data folder (default: ../shared/data from the repository root)"
        )
    for name in relative:
        if not (DATA_DIR / name).exists():
            return (
                f"course data file {DATA_DIR / name} is absent (set {ENV_VAR} to "
                "the course data folder)"
            )
    return None


def require_data(relative: str | os.PathLike = "") -> Path:
    """``DATA_DIR / relative``; skips the calling test when it is absent."""
    reason = missing_data_reason(relative)
    if reason is not None:
        pytest.skip(reason)
    return DATA_DIR / relative


def needs_data(*relative: str | os.PathLike):
    """A ``skipif`` mark for tests that read the files ``DATA_DIR / r``."""
    reason = missing_data_reason(*relative)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The course data folder; skips the test when it is absent."""
    return require_data()
