"""The run report (issue 22, point 2): ``report.html`` in every run folder and
``glassnet report RUN_OR_SEARCH_FOLDER``, read back with ``html.parser``.

Fast tier: one tiny digits run written by ``train_run`` (as ``glassnet train``
writes it), one search journaled by ``random_search`` on a cheap objective. The
browser test is tests/test_report_browser.py (slow)."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest
import search_objectives as objectives
from test_cli import assert_one_line_error, cli, ok

from glassnet.run_config import RunConfig
from glassnet.runs import train_run
from glassnet.search import LogUniform, OneMinusLogUniform, random_search
from glassnet.search.results import SearchResult

RUN_SECTIONS = [
    "configuration",
    "learning-curves",
    "results",
    "confusion-matrix",
    "diagnosis",
    "worst-examples",
    "error-analysis",
]
SEARCH_SECTIONS = [
    "search",
    "trials",
    "best-so-far",
    "best-configuration",
    "trial-table",
]
VOID = {"meta", "link", "img", "br", "hr", "input", "col", "source", "wbr"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The parts of a page the tests read: sections (id -> text, tables), images,
    every URL attribute, and whether every element is closed in order."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors = [], []
        self.sections, self.order = {}, []
        self.tables = {}  # section id -> list of tables, each a list of rows
        self.images, self.urls, self.tags = [], [], []
        self.section = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        for name in ("src", "href", "action", "srcset", "poster"):
            if name in attrs:
                self.urls.append(attrs[name])
        if tag == "img":
            self.images.append(attrs)
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "section":
            self.section = attrs["id"]
            self.order.append(self.section)
            self.sections[self.section] = ""
            self.tables[self.section] = []
        elif tag == "table" and self.section:
            self.tables[self.section].append([])
        elif tag == "tr" and self.section and self.tables[self.section]:
            self.tables[self.section][-1].append([])
        elif tag in ("td", "th") and self.section and self.tables[self.section]:
            self.tables[self.section][-1][-1].append("")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self.section and self.tables[self.section]:
            row = self.tables[self.section][-1][-1]
            row[-1] = row[-1].strip()
        if tag == "section":
            self.section = None

    def handle_data(self, data):
        if self.section:
            self.sections[self.section] += data
            if self.stack[-1] in ("td", "th") and self.tables[self.section]:
                self.tables[self.section][-1][-1][-1] += data


def table_dicts(rows) -> list[dict]:
    """A parsed table's rows as dicts keyed by the header."""
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A digits run folder written by train_run, as glassnet train writes it."""
    folder = tmp_path_factory.mktemp("report") / "run"
    config = RunConfig(data="digits", layers=[16], epochs=3, seed=0)
    train_run(config, out=folder, verbose=False)
    return folder


@pytest.fixture(scope="module")
def page(run):
    return Page((run / "report.html").read_text(encoding="utf-8"))


def test_training_writes_a_well_formed_self_contained_report(run, page):
    assert page.errors == []
    assert page.order == RUN_SECTIONS
    assert "script" not in page.tags  # no JavaScript at all
    # nothing to fetch: every URL is a data: URL or a link inside the page
    assert page.urls and all(re.match(r"data:|#", url) for url in page.urls), [
        url[:40] for url in page.urls if not re.match(r"data:|#", url)
    ]
    text = (run / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"(?i)https?:|url\(|@import", text)  # (base64 has no ':')
    assert "default-src 'none'" in text  # the browser may not fetch anything
    # every image is a real PNG: the learning curves and 12 thumbnails (digits
    # are 8x8 images), each with its alt text
    assert len(page.images) == 1 + 12
    for attrs in page.images:
        png = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert png.startswith(PNG_SIGNATURE) and attrs["alt"]


def test_the_results_table_holds_results_json(run, page):
    results = json.loads((run / "results.json").read_text())["results"]
    shown = table_dicts(page.tables["results"][0])
    assert [row["split"] for row in shown] == list(results)
    for row in shown:
        expected = results[row["split"]]
        assert int(row["examples"]) == expected["examples"]
        for name in ("cost", "accuracy", "f1"):
            assert float(row[name]) == pytest.approx(expected[name], rel=5e-4)


def test_the_confusion_matrix_gives_the_runs_dev_accuracy(run, page):
    results = json.loads((run / "results.json").read_text())
    matrix = page.tables["confusion-matrix"][0]
    counts = np.array([[int(v) for v in row[1:]] for row in matrix[1:]])
    assert counts.shape == (10, 10)
    assert counts.sum() == results["results"]["dev"]["examples"]
    accuracy = np.trace(counts) / counts.sum()
    assert accuracy == pytest.approx(results["results"]["dev"]["accuracy"], abs=1e-12)
    per_class = table_dicts(page.tables["confusion-matrix"][1])
    assert [int(row["support"]) for row in per_class] == counts.sum(axis=1).tolist()
    recall = np.diag(counts) / counts.sum(axis=1)
    shown = np.array([float(row["recall"]) for row in per_class])
    np.testing.assert_allclose(shown, recall, rtol=5e-4)


def test_the_worst_examples_say_their_split_and_are_misclassified(run, page):
    section = page.sections["worst-examples"]
    assert "From the dev split (digits, split_seed 0)" in section
    rows = table_dicts(page.tables["worst-examples"][0])
    assert len(rows) == 12
    assert all(row["true"] != row["predicted"] for row in rows)
    p_true = [float(row["p(true)"]) for row in rows]
    assert p_true == sorted(p_true)  # the most confidently wrong first
    wrong = int(re.search(r"(\d+) of 359 examples are misclassified", section)[1])
    dev = json.loads((run / "results.json").read_text())["results"]["dev"]
    assert wrong == round((1 - dev["accuracy"]) * dev["examples"])


def test_the_diagnosis_and_learning_curves_sections(run, page):
    summary = json.loads((run / "results.json").read_text())
    diagnosis = page.sections["diagnosis"]
    errors = table_dicts(page.tables["diagnosis"][0])
    dev = next(row for row in errors if row["error on"] == "dev")
    assert dev["error"] == f"{100 * (1 - summary['results']['dev']['accuracy']):.1f}%"
    assert "Next steps, from the notes" in diagnosis
    assert "train a bigger network" in diagnosis  # 3 epochs: avoidable bias
    curves = page.sections["learning-curves"]
    assert re.search(r"Best epoch \d: the lowest dev cost", curves)


def test_glassnet_report_rebuilds_the_same_numbers_from_the_folder(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "report.html").unlink()
    outcome = ok(cli("report", copy))
    assert outcome.stdout.strip() == f"report: {copy / 'report.html'}"
    again = Page((copy / "report.html").read_text(encoding="utf-8"))
    original = Page((run / "report.html").read_text(encoding="utf-8"))
    for key in RUN_SECTIONS:  # the same text and tables (the curves from the CSV)
        assert again.tables[key] == original.tables[key], key
        assert again.sections[key] == original.sections[key], key


def test_a_tagged_error_table_is_tallied_and_its_text_escaped(run, tmp_path):
    copy = tmp_path / "tagged"
    shutil.copytree(run, copy)
    with open(copy / "tags.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "<b>blurry</b>", "mislabeled", "comments"])
        writer.writerows(
            [[1, 1, 0, ""], [2, 1, 1, "odd"], [3, 0, 0, ""], [4, 1, 0, ""]]
        )
    ok(cli("report", copy, "--output", tmp_path / "page.html"))
    text = (tmp_path / "page.html").read_text(encoding="utf-8")
    page = Page(text)
    assert "b" not in page.tags and "&lt;b&gt;blurry&lt;/b&gt;" in text
    rows = table_dicts(page.tables["error-analysis"][0])
    assert rows[0]["tag"] == "<b>blurry</b>" and rows[0]["count"] == "3"
    assert rows[0]["% of errors"] == "75.0%"
    dev = json.loads((run / "results.json").read_text())["results"]["dev"]
    assert rows[0]["dev error at best"] == f"{100 * (1 - dev['accuracy']) * 0.25:.1f}%"


def test_a_run_whose_data_cannot_be_read_again_still_gets_its_page(run, tmp_path):
    copy = tmp_path / "moved"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "data": "gone.csv"}))
    ok(cli("report", copy))
    page = Page((copy / "report.html").read_text(encoding="utf-8"))
    assert page.order == RUN_SECTIONS
    assert "could not be read again" in page.sections["confusion-matrix"]
    assert "gone.csv" in page.sections["worst-examples"]


def test_report_refuses_a_folder_that_is_neither_in_one_line(tmp_path):
    line = assert_one_line_error(cli("report", tmp_path))
    assert "neither a run folder" in line and str(tmp_path) in line
    line = assert_one_line_error(cli("report", tmp_path / "missing"))
    assert "no such folder" in line


def test_a_search_folder_report(tmp_path):
    space = {
        "learning_rate": LogUniform(1e-4, 1e-1),
        "beta1": OneMinusLogUniform(0.9, 0.999),
        "optimizer": "adam",
    }
    random_search(
        objectives.noisy_quadratic, space, trials=6, seed=0, out=tmp_path / "s"
    )
    ok(cli("report", tmp_path / "s"))
    page = Page((tmp_path / "s" / "report.html").read_text(encoding="utf-8"))
    assert page.errors == [] and page.order == SEARCH_SECTIONS
    assert [a["alt"] for a in page.images] == ["trials", "best so far"]
    result = SearchResult.load(tmp_path / "s")
    best = table_dicts(page.tables["best-configuration"][0])
    shown = {row["setting"]: row["value"] for row in best}
    assert float(shown["learning_rate"]) == result.best["config"]["learning_rate"]
    assert float(shown["beta1"]) == result.best["config"]["beta1"]
    trials = table_dicts(page.tables["trial-table"][0])
    assert len(trials) == 6 and trials[0]["trial"] == str(result.best["trial_id"])
    scales = {
        row["hyperparameter"]: row for row in table_dicts(page.tables["search"][1])
    }
    assert scales["beta1"]["scale"] == "1 - beta on a log axis"
    assert scales["learning_rate"]["range"] == "0.0001 to 0.1"


@pytest.mark.slow  # two runs and their pages: about 3 s
def test_a_binary_table_run_and_a_regression_run(tmp_path):
    """One sigmoid unit on a table (class names, features in the examples'
    table), and a regression run, whose page says what it cannot show."""
    folder = tmp_path / "binary"
    train_run(
        RunConfig(data="breast_cancer", layers=[8], epochs=2), out=folder, verbose=False
    )
    page = Page((folder / "report.html").read_text(encoding="utf-8"))
    dev = json.loads((folder / "results.json").read_text())["results"]["dev"]
    matrix = page.tables["confusion-matrix"][0]
    assert matrix[0] == ["true \\ predicted", "malignant", "benign"]
    counts = np.array([[int(v) for v in row[1:]] for row in matrix[1:]])
    assert np.trace(counts) / counts.sum() == pytest.approx(dev["accuracy"], abs=1e-12)
    assert len(page.images) == 1  # no thumbnails for a table
    header = page.tables["worst-examples"][0][0]  # 2 epochs: some are wrong
    assert header[:5] == ["example", "true", "predicted", "p(true)", "p(predicted)"]
    features = ["mean radius", "mean texture", "mean perimeter", "mean area"]
    assert header[5:9] == features and len(header) == 5 + 6
    folder = tmp_path / "regression"
    train_run(
        RunConfig(data="diabetes", layers=[8], epochs=2), out=folder, verbose=False
    )
    page = Page((folder / "report.html").read_text(encoding="utf-8"))
    assert page.order == RUN_SECTIONS
    assert "Not available for a regression run" in page.sections["confusion-matrix"]
    assert "no accuracy" in page.sections["diagnosis"]
    assert table_dicts(page.tables["results"][0])[0].keys() >= {"r2", "rmse", "mae"}


@pytest.mark.slow  # a run on a CSV with text: about 1 s
def test_a_table_with_text_and_empty_cells(tmp_path):
    """Text categories and empty cells are shown as stored, markup escaped."""
    rng = np.random.default_rng(0)
    with open(tmp_path / "mixed.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["age", "city", "label"])
        for _ in range(200):
            age, city = (
                int(rng.integers(18, 80)),
                rng.choice(["Paris", "<b>Lyon</b>", ""]),
            )
            writer.writerow([age, city, int((age > 40) ^ (city == "Paris"))])
    config = RunConfig(data=str(tmp_path / "mixed.csv"), layers=[4], epochs=1)
    train_run(config, out=tmp_path / "run", verbose=False)
    text = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    assert page.errors == [] and "b" not in page.tags
    rows = table_dicts(page.tables["worst-examples"][0])
    assert rows and {row["city"] for row in rows} <= {"Paris", "<b>Lyon</b>", "(empty)"}
    assert all(float(row["age"]).is_integer() for row in rows)
    # the configuration lists the table's columns with the roles the run gave them
    roles = {row["column"]: row["role"] for row in table_dicts(
        page.tables["configuration"][1]
    )}  # fmt: skip
    assert roles == {"age": "numeric", "city": "categorical"}


def test_a_run_on_images_kept_on_disk_gets_its_worst_examples(tmp_path, monkeypatch):
    """Past the data budget an HDF5 image set stays on disk (D39); the page reads
    only the examples it shows, as thumbnails on the uint8 scale, for the run and
    again for glassnet report."""
    h5py = pytest.importorskip("h5py")
    from glassnet.data.on_disk import RowSubset
    from glassnet.runs import prepare_data

    rng = np.random.default_rng(9)
    pictures = rng.integers(0, 256, size=(400, 4, 4, 3), dtype=np.uint8)
    with h5py.File(tmp_path / "cats.h5", "w") as handle:
        handle.create_dataset("train_set_x", data=pictures)
        labels = rng.integers(0, 2, size=(1, 400), dtype=np.uint8)
        handle.create_dataset("train_set_y", data=labels)
        handle.create_dataset("list_classes", data=[b"non-cat", b"cat"])
    # the budget is smaller than the dev split (80 rows of 48 bytes)
    monkeypatch.setenv("GLASSNET_DATA_BUDGET", "max_array_bytes=2048")
    config = RunConfig(data=str(tmp_path / "cats.h5"), layers=[4], epochs=2)
    assert isinstance(prepare_data(config)["splits"]["dev"][0], RowSubset)
    train_run(config, out=tmp_path / "run", verbose=False)
    for rebuilt in (False, True):
        if rebuilt:
            ok(cli("report", str(tmp_path / "run")))
        page = Page((tmp_path / "run" / "report.html").read_text(encoding="utf-8"))
        section = page.sections["worst-examples"]
        assert "Not built" not in section and "Not available" not in section
        rows = table_dicts(page.tables["worst-examples"][0])
        assert 0 < len(rows) <= 12
        assert all(row["true"] != row["predicted"] for row in rows)
        assert len(page.images) == 1 + len(rows)  # the curves, then the thumbnails
