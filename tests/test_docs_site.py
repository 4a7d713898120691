"""The documentation site builds with ``mkdocs build --strict`` (no broken link, no
missing reference, no docstring warning) and holds the course map, the three
tutorials and the API reference (issue 24; docs/architecture.md, D36)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mkdocs_build_strict_has_every_part(tmp_path):
    pytest.importorskip("mkdocs", reason='pip install -e ".[docs]"')
    pytest.importorskip("mkdocstrings_handlers.python", reason='pip install ".[docs]"')
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    assert "WARNING" not in done.stderr, done.stderr[-6000:]

    def page(relative: str) -> str:
        path = site / relative / "index.html"
        assert path.is_file(), f"the site has no {relative}/"
        return path.read_text(encoding="utf-8")

    course_map = page("course-map")
    for topic in ("RMSprop", "Adam", "Batch norm", "End-to-end", "Local optima"):
        assert topic in course_map
    # the course map links into the API reference, and those anchors exist
    links = set(re.findall(r'href="\.\./api/([a-z]+)/#([\w.]+)"', course_map))
    assert len(links) >= 25
    for api_page, anchor in links:
        assert f'id="{anchor}"' in page(f"api/{api_page}"), (api_page, anchor)
    tutorials = {
        "cat-classifier": "from logistic regression to the L-layer network",
        "own-images": "A project on your own images",
        "transfer-learning": "Transfer learning on MNIST",
    }
    for name, title in tutorials.items():
        built = page(f"tutorials/{name}")
        assert title in built and built.count('<span class="filename">Output') >= 3
    reference = page("api/optimizers")
    assert 'id="glassnet.optimizers.algorithms.RMSprop"' in reference
    assert "Source code in" in reference  # the code that implements each entry
    assert 'id="glassnet.model.Sequential"' in page("api/model")
    assert "glassnet architecture" in page("architecture")


def test_docs_nav_lists_every_page():
    """Every page under docs/ is in mkdocs.yml's nav (mkdocs only says so in INFO)."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for path in (ROOT / "docs").rglob("*.md"):
        relative = path.relative_to(ROOT / "docs").as_posix()
        assert f": {relative}" in config, f"{relative} is not in mkdocs.yml's nav"


def test_api_reference_covers_every_public_module():
    """Each module of glassnet (the command line and private modules aside) has a
    ``::: glassnet.module`` entry on a page of docs/api/, so the reference stays
    complete as modules are added."""
    documented = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)$", page.read_text(), re.MULTILINE))
    missing = []
    for path in sorted((ROOT / "glassnet").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        private = any(part.startswith("_") for part in parts)
        if private or "cli" in parts or len(parts) == 1:
            continue
        name = ".".join(parts)
        package_only = path.name == "__init__.py" and any(
            entry.startswith(name + ".") for entry in documented
        )
        if name not in documented and not package_only:
            missing.append(name)
    assert not missing, (
        f"modules without an API reference entry: {missing}; add a line "
        "'::: glassnet.module' to a page of docs/api/ (and the page to mkdocs.yml)"
    )
