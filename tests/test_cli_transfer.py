"""``glassnet transfer`` in-process (see tests/test_cli.py)."""

from __future__ import annotations

import pytest
from test_cli import assert_one_line_error, cli, manifest, ok


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A digits model trained 5 epochs: the body to reuse."""
    folder = tmp_path_factory.mktemp("transfer")
    ok(cli("train", "--data", "digits", "--epochs", "5", "--quiet", "--out", "source",
           cwd=folder))  # fmt: skip
    return folder


def test_transfer_freezes_the_body_and_trains_a_new_head(source):
    done = ok(
        cli(
            *("transfer", "source/model.glassnet", "--data", "digits", "--freeze"),
            *("--layers", "16", "--epochs", "10", "--lr", "0.01"),
            *("--fine-tune-epochs", "1", "--quiet", "--out", "target"),
            cwd=source,
        )
    )
    assert "(frozen)" not in done.stdout  # fine-tuning unfroze the body
    assert (source / "target" / "model.glassnet").exists()
    assert (source / "target" / "history.csv").exists()
    assert "run folder: target" in done.stdout
    accuracy = float(done.stdout.strip().splitlines()[-2].split()[-1])
    assert accuracy > 0.8
    # the new head: the body's first Dense, then the new 16-unit layer and output
    units = [
        layer["config"]["units"]
        for layer in manifest(source / "target" / "model.glassnet")["model"]["layers"]
        if layer["type"] == "Dense"
    ]
    assert units == [64, 16, 10], units


def test_transfer_without_fine_tuning_keeps_the_body_frozen(source):
    done = ok(
        cli(
            *("transfer", "source/model.glassnet", "--data", "digits", "--freeze"),
            *("--epochs", "1", "--quiet"),
            cwd=source,
        )
    )
    assert "(frozen)" in done.stdout
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[-3:]] == ["train", "dev", "test"]


def test_transfer_refuses_data_with_other_inputs(source):
    done = cli("transfer", "source/model.glassnet", "--data", "iris", cwd=source)
    line = assert_one_line_error(done)
    assert "same inputs" in line
    assert done.stdout == ""


def test_transfer_refuses_regression_data(source):
    line = assert_one_line_error(
        cli("transfer", "source/model.glassnet", "--data", "diabetes", cwd=source)
    )
    assert "transfer needs class labels; diabetes is regression" in line
