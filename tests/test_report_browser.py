"""The run report in a real browser (issue 22, point 3): real ``glassnet train``,
``glassnet search`` and ``glassnet report`` processes, then each page opened in
headless Chromium (Debian's ``chromium``) through Playwright: no console error,
no failed request and no request at all but the page itself, every section
present and visible, every figure drawn at a non-zero size, a screenshot saved.

Without Chromium or Playwright the test skips, saying which is missing; under CI
(``CI=true``, set by ``.ci/run``, which installs Chromium) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from test_report import RUN_SECTIONS, SEARCH_SECTIONS

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def unavailable(reason: str):
    """Skip with ``reason``, or fail under CI, where the browser must be there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason} (.ci/run installs chromium)")
    pytest.skip(reason)


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    unavailable(
        "no Chromium browser: neither 'chromium' nor 'chromium-browser' is on PATH"
    )


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed")
    executable = chromium_path()
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS
            )
        except Exception as error:  # the browser is there but cannot start here
            unavailable(f"{executable} did not start: {str(error).splitlines()[0]}")
        yield launched
        launched.close()


def glassnet(*args, cwd):
    """Run a real ``glassnet`` process; its output when it succeeds."""
    done = subprocess.run(
        [sys.executable, "-m", "glassnet", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A digits run (5 epochs) and a 3-trial search (its best configuration
    trained again as DIR/best_run), each with its report rebuilt by ``glassnet
    report``; the search's page links to best_run's."""
    root = tmp_path_factory.mktemp("browser")
    glassnet("train", "--data", "digits", "--epochs", "5", "--quiet", "--out", "run",
             cwd=root)  # fmt: skip
    assert (root / "run" / "report.html").is_file()  # written by train itself
    glassnet("search", "--data", "digits", "--trials", "3", "--epochs", "2",
             "--quiet", "--out", "search", cwd=root)  # fmt: skip
    assert (root / "search" / "best_run" / "report.html").is_file()  # the refit's
    assert (root / "search" / "report.html").is_file()  # written by search itself
    for name in ("run", "search"):
        out = glassnet("report", name, cwd=root)
        assert out.strip() == f"report: {name}/report.html"
    return root


def open_page(browser, path):
    """The page at ``path`` opened in a fresh page, with every console message,
    page error, request and failed request it caused."""
    seen = {"console": [], "errors": [], "requests": [], "failed": []}
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("requestfailed", lambda r: seen["failed"].append((r.url, r.failure)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, seen


@pytest.mark.parametrize(
    ("name", "sections", "figures"),
    [("run", RUN_SECTIONS, 1 + 12), ("search", SEARCH_SECTIONS, 2)],
)
def test_the_report_opens_cleanly_in_chromium(
    browser, folders, tmp_path, name, sections, figures
):
    path = folders / name / "report.html"
    page, seen = open_page(browser, path)
    try:
        errors = [text for kind, text in seen["console"] if kind == "error"]
        assert errors == [] and seen["errors"] == []
        assert seen["failed"] == []
        assert seen["requests"] == [path.resolve().as_uri()]  # nothing else fetched
        links = page.eval_on_selector_all("a[href]", "a => a.map(n => n.href)")
        local = [link for link in links if "#" not in link]
        assert local == (
            []
            if name == "run"
            else [(path.parent / "best_run" / "report.html").resolve().as_uri()]
        )
        ids = page.eval_on_selector_all(
            "main > section", "nodes => nodes.map(n => n.id)"
        )
        assert ids == sections
        for key in sections:
            section = page.locator(f"section#{key}")
            assert section.is_visible(), key
            box = section.bounding_box()
            assert box["width"] > 0 and box["height"] > 0, key
        drawn = page.locator("img, svg")
        assert drawn.count() == figures
        for index in range(drawn.count()):
            box = drawn.nth(index).bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0, index
        sizes = page.eval_on_selector_all(
            "img",
            "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight])",
        )
        assert sizes and all(done and w > 0 and h > 0 for done, w, h in sizes), sizes
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    finally:
        page.close()
