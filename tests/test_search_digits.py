"""A real search with the glassnet objective; the benchmark scripts stay runnable."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from glassnet.search import SearchSpace, random_search
from glassnet.search.objective import default_space, known_names, train_objective

ROOT = Path(__file__).resolve().parents[1]


def run_python(*arguments: str, timeout: float = 300) -> str:
    """Run ``python *arguments`` in a fresh process; return its stdout (exit 0)."""
    done = subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_search_on_digits_finds_dev_accuracy_of_097(tmp_path):
    space = SearchSpace({**default_space(), "epochs": 15}, known_names=known_names())
    result = random_search(
        train_objective, space, trials=8, seed=0, backend="serial", out=tmp_path
    )
    assert result.best["metrics"]["dev_accuracy"] >= 0.97
    assert len(result.trials) == 8


@pytest.mark.slow  # the benchmark script in a real process
def test_search_speedup_benchmark_runs_in_a_tiny_configuration():
    output = run_python(
        str(ROOT / "benchmarks" / "search_speedup.py"),
        *("--trials", "2", "--epochs", "1", "--repeats", "1"),
    )
    assert "speed-up" in output


@pytest.mark.slow  # the benchmark script in a real process
def test_search_quality_benchmark_runs_in_a_tiny_configuration():
    output = run_python(
        str(ROOT / "benchmarks" / "search_quality.py"),
        *("--datasets", "iris", "--trials", "3", "--epochs", "3"),
        *("--jobs", "1", "--samplers", "random"),
    )
    assert "iris          random, no pruning" in output
    assert "iris: random test accuracy" in output
    assert "iris: pruning" in output


@pytest.mark.slow  # a fresh Python process
def test_a_search_trial_on_digits_imports_neither_scipy_nor_sklearn():
    # Each worker process pays its imports before its first trial; SciPy's and
    # scikit-learn's were 0.8 s of the 1.1 s that cost the 2-worker speed-up.
    code = (
        "import sys; from glassnet.search.objective import train_objective; "
        "metrics = train_objective({'data': 'digits', 'epochs': 1}, 0); "
        "assert 'dev_accuracy' in metrics; "
        "print(sorted(m for m in ('scipy', 'sklearn') if m in sys.modules))"
    )
    assert run_python("-c", code, timeout=120).strip() == "[]"


@pytest.mark.slow  # the benchmark script in a real process
def test_mlp_benchmark_runs_in_a_tiny_configuration():
    output = run_python(
        str(ROOT / "benchmarks" / "mlp_mnist.py"),
        *("--examples", "512", "--epochs", "1", "--rounds", "1"),
        *("--batch-sizes", "128", "--no-tiny"),
        *("--frameworks", "glassnet,reference,numpy-matmul,sklearn"),
    )
    assert "glassnet / reference" in output
    assert "(ok)" in output  # same loss as the float32 reference loop
    # the same float32 arithmetic as the course loop on one BLAS thread: the epoch
    # losses differ only by how the per-batch costs are summed
    match = re.search(r"one BLAS thread\): max relative difference (\S+)", output)
    assert match is not None and float(match.group(1)) < 1e-6, output
    assert "faster than scikit-learn's median epoch" in output


@pytest.mark.slow  # the benchmark script in a real process
def test_dead_units_survey_runs_in_a_tiny_configuration():
    output = run_python(
        str(ROOT / "benchmarks" / "dead_units.py"),
        *("--steps", "3", "--every", "1", "--examples", "2048"),
    )
    assert "benchmark data" in output
    rows = re.findall(r"^\s+\d+\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%$", output, re.M)
    assert len(rows) >= 3, output
    assert all(0 <= float(share) <= 100 for row in rows for share in row)


def test_dead_units_count_the_multiply_adds_a_skip_leaves_out():
    path = ROOT / "benchmarks" / "dead_units.py"
    spec = importlib.util.spec_from_file_location("dead_units", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # one example through 784-512-256-10: forward and dW 2 (784*512 + 512*256 +
    # 256*10) = 1,070,080, dA of the upper two 512*256 + 256*10 = 133,632
    assert module.multiply_adds(0.0, 0.0, 1) == (1203712, 1203712)
    # half of both hidden layers dead (256 and 128 live units): Z1 whole 401,408,
    # Z2 256*256, Z3 10*128, dW1 256*784, dW2 128*256, dW3 10*128, dA1 256*128,
    # dA2 128*10
    assert module.multiply_adds(0.5, 0.5, 1) == (1203712, 737024)
    assert module.multiply_adds(0.5, 0.5, 4) == (4 * 1203712, 4 * 737024)


def test_no_benchmark_script_shadows_an_installed_module():
    """A benchmark that puts benchmarks/ on sys.path (dead_units.py does, for
    mlp_mnist) makes every file there importable by its stem in that process and
    in the processes it spawns: a benchmarks/distributed.py once made dask's
    worker processes import it instead of the distributed package."""
    shadowing = sorted(
        path.name
        for path in (ROOT / "benchmarks").glob("*.py")
        if importlib.util.find_spec(path.stem) is not None
        and not str(importlib.util.find_spec(path.stem).origin).startswith(
            str(ROOT / "benchmarks")
        )
    )
    assert shadowing == []


@pytest.mark.slow  # two real processes with torch.distributed
def test_data_parallel_benchmark_runs_in_a_tiny_configuration():
    pytest.importorskip("torch")
    output = run_python(
        str(ROOT / "benchmarks" / "data_parallel.py"),
        *("--nproc", "1,2", "--examples", "512", "--epochs", "1"),
    )
    rows = re.findall(
        r"^\s+([12])\s+[\d.]+\s+[\d.-]+\s+\d+\s+[\d.]+\s+([\d.e+-]+)$", output, re.M
    )
    assert [process for process, _ in rows] == ["1", "2"], output
    assert float(rows[1][1]) < 1e-5  # 2 processes' weights vs 1 process's
