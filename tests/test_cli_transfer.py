"""`glassnet transfer` as a real process."""

import subprocess
import sys


def run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "glassnet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_transfer_freezes_the_body_and_trains_a_new_head(tmp_path):
    trained = run(
        "train",
        "--data",
        "digits",
        "--epochs",
        "5",
        "--quiet",
        "--out",
        "source",
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    done = run(
        *("transfer", "source/model.glassnet", "--data", "digits", "--freeze"),
        *("--layers", "16", "--epochs", "10", "--lr", "0.01"),
        *("--fine-tune-epochs", "1", "--quiet", "--out", "target"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "(frozen)" not in done.stdout  # fine-tuning unfroze the body
    assert (tmp_path / "target" / "model.glassnet").exists()
    accuracy = float(done.stdout.strip().splitlines()[-2].split()[-1])
    assert accuracy > 0.8


def test_transfer_refuses_data_with_other_inputs(tmp_path):
    trained = run(
        "train",
        "--data",
        "digits",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        "source",
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    done = run("transfer", "source/model.glassnet", "--data", "iris", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "same inputs" in done.stderr
    assert "Traceback" not in done.stderr
