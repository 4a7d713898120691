"""``glassnet gradcheck``, ``diagnose`` from numbers, ``errors``, ``cluster`` and
``search``, in-process (see tests/test_cli.py)."""

from __future__ import annotations

import csv
import json
import re
import time

import pytest
from test_cli import (
    PNG_SIGNATURE,
    assert_one_line_error,
    cli,
    ok,
    write_csv,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder shared by the module's fixture runs."""
    return tmp_path_factory.mktemp("cli_tools")


# ===================================================================== gradcheck


def _gradcheck_table(stdout: str) -> dict:
    rows = {}
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("parameter"))
    for line in lines[start + 1 :]:
        cells = line.split()
        if not cells or cells[0] == "verdict:":
            break
        rows[cells[0]] = float(cells[-1])
    return rows


def test_gradcheck_default(tmp_path):
    outcome = ok(cli("gradcheck", cwd=tmp_path))
    table = _gradcheck_table(outcome.stdout)
    assert set(table) == {"W1", "b1", "W2", "b2", "W3", "b3", "all"}
    assert all(v < 1e-7 for v in table.values()), table
    assert "correct" in outcome.stdout


def test_gradcheck_batchnorm_softmax(tmp_path):
    outcome = ok(cli("gradcheck", "--batchnorm", "--output", "softmax", cwd=tmp_path))
    table = _gradcheck_table(outcome.stdout)
    assert {"gamma1", "beta1", "gamma2", "beta2", "W3", "b3"} <= set(table)
    assert "b1" not in table  # a Dense before batch norm has no bias
    assert all(v < 1e-7 for v in table.values()), table
    assert "(3, 3)" in outcome.stdout  # softmax over --classes 3


# ===================================================================== diagnose


def _component_lines(stdout: str) -> dict:
    found = {}
    for line in stdout.splitlines():
        for name in ("avoidable bias", "variance", "data mismatch", "dev overfitting"):
            if line.rstrip().endswith(name) or f"{name}   <- largest" in line:
                found[name] = line
    return found


def test_diagnose_numbers_avoidable_bias(tmp_path):
    outcome = ok(
        cli(
            "diagnose",
            "--human",
            "1",
            "--train",
            "8",
            "--train-dev",
            "10",
            "--dev",
            "12",
            "--test",
            "13",
            cwd=tmp_path,
        )
    )
    lines = _component_lines(outcome.stdout)
    assert "+7.0" in lines["avoidable bias"] and "<- largest" in lines["avoidable bias"]
    assert "+2.0" in lines["variance"] and "+2.0" in lines["data mismatch"]
    assert "+1.0" in lines["dev overfitting"]
    assert sum("<- largest" in line for line in lines.values()) == 1
    assert "Problem: avoidable bias (7.0 percentage points)" in outcome.stdout


def test_diagnose_numbers_data_mismatch(tmp_path):
    outcome = ok(
        cli(
            "diagnose",
            "--human",
            "1",
            "--train",
            "1",
            "--train-dev",
            "1.5",
            "--dev",
            "10",
            cwd=tmp_path,
        )
    )
    assert "Problem: data mismatch (8.5 percentage points)" in outcome.stdout
    assert "<- largest" in _component_lines(outcome.stdout)["data mismatch"]


def test_diagnose_reads_percent_and_says_so_in_its_first_line(tmp_path):
    """One rule, no guessing: 0.5 and 0.8 are percent (the notes' radiology
    numbers), not 50% and 80%; the output's first line states the rule."""
    given = ("--human", "0.5", "--train", "0.7", "--dev", "0.8")
    outcome = ok(cli("diagnose", *given, cwd=tmp_path))
    assert outcome.stdout.splitlines()[0] == (
        "errors given on the command line are percent (--fractions for fractions)"
    )
    assert re.search(r"^training\s+0\.7%", outcome.stdout, re.M), outcome.stdout
    assert re.search(r"^dev\s+0\.8%", outcome.stdout, re.M), outcome.stdout


def test_diagnose_fractions_give_the_same_diagnosis(tmp_path):
    percent = ("--human", "1", "--train", "8", "--dev", "12")
    percent = ok(cli("diagnose", *percent, cwd=tmp_path))
    fractions = ("--human", "0.01", "--train", "0.08", "--dev", "0.12", "--fractions")
    fractions = ok(cli("diagnose", *fractions, cwd=tmp_path))
    assert fractions.stdout.splitlines()[0] == (
        "errors given on the command line are fractions in [0, 1] (--fractions)"
    )
    assert fractions.stdout.splitlines()[1:] == percent.stdout.splitlines()[1:]


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["--train", "108", "--dev", "12"],
            "--train 108 is not a percentage in [0, 100]",
        ),
        (["--train", "-1", "--dev", "12"], "--train -1 is not a percentage"),
        (
            ["--train", "0.08", "--dev", "12", "--fractions"],
            "--dev 12 is not a fraction in [0, 1] (without --fractions, errors are "
            "percent)",
        ),
        (["--train", "nan", "--dev", "12"], "--train nan is not a percentage"),
    ],
)
def test_diagnose_refuses_errors_outside_their_unit(args, expected, tmp_path):
    outcome = cli("diagnose", *args, cwd=tmp_path)
    assert expected in assert_one_line_error(outcome)
    assert outcome.stdout == ""


def test_diagnose_help_states_the_unit_rule(tmp_path):
    text = " ".join(cli("diagnose", "--help", cwd=tmp_path).stdout.split())
    assert "Errors given on the command line are percent (8 means 8%)" in text
    assert "with --fractions they are fractions in [0, 1]" in text


# ===================================================================== errors


def test_errors_table_like_the_notes(tmp_path):
    """The notes' error-analysis spreadsheet: 100 mislabelled dev images, tagged
    Dog 8%, Great cats 43%, Blurry 61%, Instagram 12%; dev error 10%."""
    rows = []
    for i in range(100):
        tags = (i < 8, 8 <= i < 51, i >= 39, i % 8 == 0 and i < 96)
        rows.append(
            [i + 1, *("✓" if t else "" for t in tags), "Pitbull" if i == 0 else ""]
        )
    write_csv(
        tmp_path / "tags.csv",
        ["Image", "Dog", "Great cats", "Blurry", "Instagram", "comments"],
        rows,
    )
    outcome = ok(cli("errors", "tags.csv", "--dev-error", "10", cwd=tmp_path))
    expected = {
        "Dog": ("8", "8%", "0.8%", "9.2%"),
        "Great cats": ("43", "43%", "4.3%", "5.7%"),
        "Blurry": ("61", "61%", "6.1%", "3.9%"),
        "Instagram": ("12", "12%", "1.2%", "8.8%"),
    }
    lines = outcome.stdout.splitlines()
    for tag, cells in expected.items():
        line = next((ln for ln in lines if ln.startswith(tag + " ")), None)
        assert line is not None, f"no row for {tag}:\n{outcome.stdout}"
        assert tuple(line[len(tag) :].split()) == cells, line
    # largest first; Image (numbers) and comments are not tags
    order = [tag for ln in lines for tag in expected if ln.startswith(tag + " ")]
    assert order == ["Blurry", "Great cats", "Instagram", "Dog"]
    assert not any(ln.startswith(("comments", "Image ")) for ln in lines)


def test_errors_dev_error_in_percent_or_fractions(tmp_path):
    """--dev-error follows diagnose's rule: percent, or a fraction with
    --fractions; the ceilings are the same."""
    write_csv(tmp_path / "tags.csv", ["blurry"], [["1"], ["0"], ["1"], ["1"]])
    percent = ok(cli("errors", "tags.csv", "--dev-error", "10", cwd=tmp_path))
    fraction = ok(
        cli("errors", "tags.csv", "--dev-error", "0.1", "--fractions", cwd=tmp_path)
    )
    first = percent.stdout.splitlines()[0]
    assert first.startswith("errors given on the command line are percent")
    assert percent.stdout.splitlines()[1:] == fraction.stdout.splitlines()[1:]
    assert "(dev error 10%)" in percent.stdout
    blurry = next(ln for ln in percent.stdout.splitlines() if ln.startswith("blurry"))
    assert blurry.split() == ["blurry", "3", "75%", "7.5%", "2.5%"]
    line = assert_one_line_error(
        cli("errors", "tags.csv", "--dev-error", "0.1", "--run", "r", cwd=tmp_path)
    )
    assert "--dev-error or --run, not both" in line
    line = assert_one_line_error(
        cli("errors", "tags.csv", "--dev-error", "110", cwd=tmp_path)
    )
    assert "--dev-error 110 is not a percentage in [0, 100]" in line


def test_errors_takes_the_dev_error_of_a_run_folder(tmp_path):
    write_csv(tmp_path / "tags.csv", ["blurry"], [["1"], ["0"]])
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(
        json.dumps({"results": {"dev": {"examples": 50, "accuracy": 0.88}}})
    )
    outcome = ok(cli("errors", "tags.csv", "--run", "run", cwd=tmp_path))
    assert "dev error of run: 1 - dev accuracy" in outcome.stdout
    assert "(dev error 12%)" in outcome.stdout
    (tmp_path / "run" / "results.json").write_text(
        json.dumps({"results": {"dev": {"cost": 0.5}}})
    )
    outcome = cli("errors", "tags.csv", "--run", "run", cwd=tmp_path)
    line = assert_one_line_error(outcome)
    assert "no dev accuracy" in line


# ===================================================================== cluster


def test_cluster_iris(tmp_path):
    outcome = ok(cli("cluster", "--data", "iris", "--k", "3", cwd=tmp_path))
    values = {}
    for line in outcome.stdout.splitlines():
        match = re.match(
            r"(inertia|silhouette|adjusted Rand index.*?)\s+([-\d.]+)$", line
        )
        if match:
            values[match.group(1).split()[0]] = float(match.group(2))
    assert set(values) == {"inertia", "silhouette", "adjusted"}, outcome.stdout
    # standardized iris, k=3: the well-known k-means optimum (scikit-learn agrees)
    assert values["inertia"] == pytest.approx(139.82, abs=0.05)
    assert values["silhouette"] == pytest.approx(0.46, abs=0.01)
    assert values["adjusted"] == pytest.approx(0.620, abs=0.01)
    sizes = next(
        ln for ln in outcome.stdout.splitlines() if ln.startswith("cluster sizes")
    )
    assert sum(int(s) for s in sizes.split()[2:]) == 150


def test_cluster_out_saves_the_assignments(tmp_path):
    args = ("--data", "iris", "--k", "3", "--out", "found/clusters.csv")
    outcome = ok(cli("cluster", *args, cwd=tmp_path))
    assert "assignments: found/clusters.csv" in outcome.stdout
    with open(tmp_path / "found" / "clusters.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 150 and list(rows[0]) == ["index", "cluster", "label"]
    assert [int(r["index"]) for r in rows] == list(range(150))
    assert {r["label"] for r in rows} == {"setosa", "versicolor", "virginica"}
    sizes = next(ln for ln in outcome.stdout.splitlines() if ln.startswith("cluster "))
    counts = [sum(r["cluster"] == str(k) for r in rows) for k in range(3)]
    assert counts == [int(n) for n in sizes.split()[2:]]
    # unlabelled (regression) data: no label column
    args = ("--data", "diabetes", "--k", "2", "--restarts", "1", "--out", "d.csv")
    ok(cli("cluster", *args, cwd=tmp_path))
    assert (tmp_path / "d.csv").read_text().splitlines()[0] == "index,cluster"


# ===================================================================== search


@pytest.fixture(scope="module")
def search(work):
    args = [
        "search",
        "--data",
        "digits",
        "--trials",
        "4",
        "--jobs",
        "2",
        "--seed",
        "0",
        "--out",
        "search",
        "--epochs",
        "3",
    ]
    outcome = ok(cli(*args, cwd=work))
    return {"outcome": outcome, "args": args, "out": work / "search"}


def test_search_writes_journal_best_config_and_plot(search):
    out = search["out"]
    lines = (out / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 4
    trials = [json.loads(line) for line in lines]
    assert all(t["status"] == "ok" for t in trials)
    assert all(t["config"]["epochs"] == 3 for t in trials)
    best = json.loads((out / "best_config.json").read_text())
    best_trial = max(trials, key=lambda t: t["metrics"]["dev_accuracy"])
    assert best["learning_rate"] == best_trial["config"]["learning_rate"]
    assert (out / "trials.png").read_bytes().startswith(PNG_SIGNATURE)
    assert f"{best_trial['metrics']['dev_accuracy']:.4f}" in search["outcome"].stdout


def test_search_rerun_resumes(search, work):
    before = (search["out"] / "trials.jsonl").read_text()
    outcome = ok(cli(*search["args"], cwd=work))
    assert (search["out"] / "trials.jsonl").read_text() == before
    best = lambda out: [ln for ln in out.splitlines() if "best dev accuracy" in ln]  # noqa: E731
    assert best(outcome.stdout) == best(search["outcome"].stdout)


def test_search_space_file(tmp_path):
    (tmp_path / "space.toml").write_text(
        "[space]\n"
        'learning_rate = {type="log_uniform", low=1e-3, high=1e-2}\n'
        'layers = {type="choice", values=["16", "32"]}\n'
        'batch_size = {type="powers_of_two", low=32, high=64}\n'
        "epochs = 2\n"
    )
    ok(
        cli(
            "search",
            "--trials",
            "2",
            "--seed",
            "0",
            "--out",
            "s",
            "--space",
            "space.toml",
            "--quiet",
            cwd=tmp_path,
        )
    )
    trials = [
        json.loads(ln)
        for ln in (tmp_path / "s" / "trials.jsonl").read_text().splitlines()
    ]
    assert len(trials) == 2
    for trial in trials:
        config = trial["config"]
        assert 1e-3 <= config["learning_rate"] <= 1e-2
        assert config["layers"] in ("16", "32")
        assert config["batch_size"] in (32, 64)
        assert config["epochs"] == 2
    assert (tmp_path / "s" / "best_config.json").is_file()


def test_search_space_file_fixed_data_is_used(tmp_path):
    """A space file may fix any train setting, ``data`` included; without --data on
    the command line the file's value holds."""
    (tmp_path / "space.toml").write_text(
        "[space]\n"
        'learning_rate = {type="log_uniform", low=1e-3, high=1e-2}\n'
        "epochs = 2\n"
        'data = "iris"\n'
    )
    ok(
        cli(
            "search",
            "--trials",
            "1",
            "--out",
            "s",
            "--space",
            "space.toml",
            "--quiet",
            cwd=tmp_path,
        )
    )
    trial = json.loads((tmp_path / "s" / "trials.jsonl").read_text().splitlines()[0])
    assert trial["config"]["data"] == "iris", trial["config"]


def test_search_space_file_unknown_name(tmp_path):
    (tmp_path / "space.toml").write_text(
        "[space]\n"
        'learning_rate = {type="log_uniform", low=1e-3, high=1e-2}\n'
        'hidden_unitz = {type="int_uniform", low=16, high=128}\n'
    )
    outcome = cli(
        "search", "--trials", "2", "--out", "s", "--space", "space.toml", cwd=tmp_path
    )
    assert "hidden_unitz" in assert_one_line_error(outcome)


def test_search_unreachable_scheduler(tmp_path):
    started = time.monotonic()
    outcome = cli(
        "search",
        "--trials",
        "2",
        "--out",
        "s",
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--timeout",
        "3",
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    line = assert_one_line_error(outcome)
    assert "127.0.0.1:1" in line
    assert elapsed < 15, f"took {elapsed:.1f} s"
