"""``glassnet train`` uses all the data the user gives (issue 19, point 6):
``--split TRAIN,DEV,TEST``, ``--dev-data FILE`` and ``--test-data FILE``, with the
chosen sizes printed and recorded in results.json. In-process (tests/test_cli.py)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from test_cli import assert_one_line_error, cli, ok

from glassnet.run_config import RunConfig, parse_split
from glassnet.runs import prepare_data

QUICK = ("--epochs", "2", "--quiet")


def _sizes_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("examples:"))


def _results(run) -> dict:
    return json.loads((run / "results.json").read_text())


@pytest.fixture(scope="module")
def iris_files(tmp_path_factory):
    """Iris in three CSV files with a header and text labels; the dev file holds
    two of the three classes only (its own codes would differ from training's)."""
    from sklearn.datasets import load_iris

    folder = tmp_path_factory.mktemp("sources")
    iris = load_iris()
    names = iris.target_names[iris.target]
    rows = {
        "train.csv": np.arange(0, 150, 2),
        "dev.csv": np.array([i for i in range(1, 150, 2) if names[i] != "setosa"]),
        "test.csv": np.array([i for i in range(1, 150, 2) if names[i] == "setosa"]),
        "wide.csv": np.arange(5),
    }
    for file, index in rows.items():
        with open(folder / file, "w", newline="") as handle:
            writer = csv.writer(handle)
            extra = ["e"] if file == "wide.csv" else []
            writer.writerow(["a", "b", "c", "d", *extra, "label"])
            for i in index:
                writer.writerow([*iris.data[i], *([1.0] if extra else []), names[i]])
    with open(folder / "unknown.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "c", "d", "label"])
        writer.writerow([5.0, 3.0, 1.5, 0.2, "daisy"])
        writer.writerow([6.0, 3.0, 4.5, 1.5, "versicolor"])
    return folder


def test_split_fractions_are_used_printed_and_recorded(tmp_path):
    done = ok(cli("train", "--data", "iris", "--split", "0.5,0.25,0.25", *QUICK,
                  "--out", "run", cwd=tmp_path))  # fmt: skip
    assert _sizes_line(done.stdout) == (
        "examples: train 74, dev 38, test 38 (iris split 0.5/0.25/0.25, split_seed 0)"
    )
    record = _results(tmp_path / "run")
    assert record["split"]["sizes"] == {"train": 74, "dev": 38, "test": 38}
    assert record["split"]["ratios"] == [0.5, 0.25, 0.25]
    assert {k: v["examples"] for k, v in record["results"].items()} == {
        "train": 74,
        "dev": 38,
        "test": 38,
    }
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["split"] == [0.5, 0.25, 0.25]


def test_default_split_is_printed_too(tmp_path):
    done = ok(cli("train", "--data", "iris", *QUICK, "--out", "run", cwd=tmp_path))
    assert _sizes_line(done.stdout) == (
        "examples: train 90, dev 30, test 30 (iris split 0.6/0.2/0.2, split_seed 0)"
    )
    own = ok(cli("train", "--data", "circles", *QUICK, "--out", "c", cwd=tmp_path))
    assert _sizes_line(own.stdout) == (
        "examples: train 240, dev 60, test 100 from the test set of circles "
        "(circles split 0.8/0.2/0, split_seed 0)"
    )


def test_dev_and_test_files(iris_files):
    done = ok(cli("train", "--data", "train.csv", "--dev-data", "dev.csv",
                  "--test-data", "test.csv", *QUICK, "--out", "both",
                  cwd=iris_files))  # fmt: skip
    line = _sizes_line(done.stdout)
    assert line == (
        "examples: train 75, dev 50 from dev.csv, test 25 from test.csv "
        "(train.csv split 1/0/0, split_seed 0)"
    )
    # the dev file's labels are coded in the training classes: the run's dev
    # accuracy is what glassnet evaluate reports on that file
    dev_accuracy = _results(iris_files / "both")["results"]["dev"]["accuracy"]
    table = ok(cli("evaluate", "both/model.glassnet", "--data", "dev.csv",
                   cwd=iris_files)).stdout  # fmt: skip
    assert table.splitlines()[1].split()[-1] == f"{dev_accuracy:.4f}"


def test_one_separate_set_and_the_rest_split(iris_files):
    dev_only = ok(cli("train", "--data", "train.csv", "--dev-data", "dev.csv",
                      *QUICK, "--out", "dev_only", cwd=iris_files))  # fmt: skip
    assert _sizes_line(dev_only.stdout) == (
        "examples: train 60, dev 50 from dev.csv, test 15 (train.csv split "
        "0.8/0/0.2, split_seed 0)"
    )
    chosen = ok(cli("train", "--data", "train.csv", "--test-data", "test.csv",
                    "--split", "0.6,0.4,0", *QUICK, "--out", "chosen",
                    cwd=iris_files))  # fmt: skip
    assert _sizes_line(chosen.stdout).startswith(
        "examples: train 45, dev 30, test 25 from test.csv"
    )


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--split", "0.5,0.5"], "split must be three fractions TRAIN,DEV,TEST"),
        (["--split", "0.5,0.5,0.5"], "must sum to 1"),
        (["--split", "0,0.5,0.5"], "training share above 0"),
        (["--split", "a,b,c"], "split must be three fractions"),
        (
            ["--test-data", "test.csv", "--split", "0.6,0.2,0.2"],
            "gives the test set 0.2 of train.csv, but the test set is test.csv",
        ),
        (["--dev-data", "wide.csv"], "wide.csv (--dev-data) has 5 features"),
        (["--test-data", "unknown.csv"], "unknown.csv (--test-data):"),
        (["--dev-data", "missing.csv"], "missing.csv"),
    ],
    ids=["two", "sum", "no-train", "text", "clash", "features", "label", "missing"],
)
def test_data_source_errors_are_one_line(args, expected, iris_files):
    done = cli("train", "--data", "train.csv", *args, *QUICK, cwd=iris_files)
    line = assert_one_line_error(done)
    assert expected in line, line
    assert done.stdout == ""


def test_unknown_dev_label_is_named(iris_files):
    config = RunConfig(data=str(iris_files / "train.csv"))
    config.test_data = str(iris_files / "unknown.csv")
    with pytest.raises(ValueError, match="daisy"):
        prepare_data(config)


def test_parse_split_and_config_files():
    assert parse_split("0.8, 0.1, 0.1") == (0.8, 0.1, 0.1)
    assert parse_split([1, 0, 0]) == (1.0, 0.0, 0.0)
    config = RunConfig.from_dict({"split": [0.7, 0.15, 0.15], "dev_data": "x.csv"})
    assert config.split == (0.7, 0.15, 0.15)
    assert config.to_dict()["split"] == [0.7, 0.15, 0.15]
    with pytest.raises(ValueError, match="split must be three fractions"):
        RunConfig.from_dict({"split": 5})
    with pytest.raises(ValueError, match="dev_data must be a dataset name or path"):
        RunConfig.from_dict({"dev_data": 5})
