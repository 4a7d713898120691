"""Tests for glassnet.search: spaces, random search, journal, halving, plots.

The dask and kill-and-resume tests live in ``test_search_distributed.py``.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import search_objectives as objectives
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from glassnet.search import (
    Choice,
    Grid,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    PowersOfTwo,
    SearchResult,
    SearchSpace,
    Uniform,
    dimension_from_config,
    grid_points,
    load_space,
    plot_best_so_far,
    plot_trials,
    random_search,
    read_journal,
)
from glassnet.search.executors import run_trial
from glassnet.search.journal import append_record, repair_journal

SPACE = {
    "learning_rate": LogUniform(1e-4, 1),
    "beta1": OneMinusLogUniform(0.9, 0.999),
    "batch_size": PowersOfTwo(16, 256),
    "layers": Choice(["64", "64,32"]),
    "epochs": 5,
}


def without_durations(result) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "duration_s"} for t in result.trials]


@pytest.fixture(autouse=True)
def fresh_calls(monkeypatch):
    monkeypatch.delenv("GLASSNET_TEST_SLEEP", raising=False)
    objectives.CALLS.clear()
    yield
    objectives.CALLS.clear()


# ----------------------------------------------------------------- dimensions


def test_log_uniform_exponent_is_uniform_on_minus_four_to_zero():
    samples = np.array(LogUniform(1e-4, 1).sample(np.random.default_rng(0), 4000))
    assert samples.min() >= 1e-4 and samples.max() <= 1
    exponents = np.log10(samples)
    assert stats.kstest(exponents, stats.uniform(loc=-4, scale=4).cdf).pvalue > 1e-3
    # the same samples are far from uniform on the linear scale (the test can fail)
    assert stats.kstest(samples, stats.uniform(loc=1e-4, scale=1).cdf).pvalue < 1e-3


def test_one_minus_log_uniform_gives_each_decade_of_one_minus_beta_the_same_share():
    beta = np.array(
        OneMinusLogUniform(0.9, 0.999).sample(np.random.default_rng(1), 4000)
    )
    assert beta.min() >= 0.9 and beta.max() <= 0.999
    low_decade = np.sum(beta < 0.99)  # 1 - beta in [0.01, 0.1]
    high_decade = np.sum(beta >= 0.99)  # 1 - beta in [0.001, 0.01]
    assert 0.9 < low_decade / high_decade < 1.1
    linear = np.array(Uniform(0.9, 0.999).sample(np.random.default_rng(1), 4000))
    assert np.sum(linear < 0.99) / np.sum(linear >= 0.99) > 5  # what it avoids


def test_powers_of_two_and_int_uniform_give_integers_over_the_whole_range():
    sizes = PowersOfTwo(16, 256).sample(np.random.default_rng(2), 500)
    assert set(sizes) == {16, 32, 64, 128, 256}
    assert all(isinstance(s, int) for s in sizes)
    units = IntUniform(3, 7).sample(np.random.default_rng(2), 500)
    assert set(units) == {3, 4, 5, 6, 7}


def test_sampling_is_reproducible_and_gives_plain_python_values():
    space = SearchSpace(SPACE)
    first = space.sample(np.random.default_rng(5), 6)
    assert first == space.sample(np.random.default_rng(5), 6)
    assert first != space.sample(np.random.default_rng(6), 6)
    assert all(config["epochs"] == 5 for config in first)
    assert list(first[0]) == list(SPACE)
    json.dumps(first)  # JSON-ready: no numpy scalars
    assert type(first[0]["learning_rate"]) is float


def test_shrink_works_on_each_dimensions_own_scale():
    narrowed = LogUniform(1e-4, 1).shrink([1e-2], 0.25)  # log10 width 4 -> 1
    assert np.log10([narrowed.low, narrowed.high]) == pytest.approx([-2.5, -1.5])
    beta = OneMinusLogUniform(0.9, 0.999).shrink([0.99], 0.5)  # log10(1-b) width 1
    assert np.log10([1 - beta.high, 1 - beta.low]) == pytest.approx([-2.5, -1.5])
    assert Uniform(0, 1).shrink([0.5], 0.2).to_config()["low"] == pytest.approx(0.4)
    assert IntUniform(0, 100).shrink([50], 0.1) == IntUniform(45, 55)
    assert PowersOfTwo(1, 1024).shrink([64], 0.2) == PowersOfTwo(32, 128)
    edge = LogUniform(1e-4, 1).shrink([1e-4, 2e-4], 0.25)  # clipped to the range
    assert edge.low == 1e-4 and edge.high < 1e-3
    assert Choice(["a", "b", "c"]).shrink(["c", "a", "c"], 0.25) == Choice(["a", "c"])


DIMENSIONS = [
    Uniform(-1.0, 3.0),
    IntUniform(1, 50),
    LogUniform(1e-5, 10.0),
    OneMinusLogUniform(0.8, 0.9999),
    PowersOfTwo(4, 1024),
]


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(0, len(DIMENSIONS) - 1),
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(1, 5),
    fraction=st.floats(0.01, 1.0),
)
def test_shrink_stays_in_range_and_keeps_the_good_values(index, seed, count, fraction):
    dimension = DIMENSIONS[index]
    values = dimension.sample(np.random.default_rng(seed), count)
    narrowed = dimension.shrink(values, fraction)
    assert type(narrowed) is type(dimension)
    assert dimension.low <= narrowed.low <= narrowed.high <= dimension.high
    assert all(narrowed.low <= v <= narrowed.high for v in values)
    # on the dimension's own scale: the good values' spread plus fraction * width
    width = np.ptp(dimension.to_scale([dimension.low, dimension.high]))
    new_width = np.ptp(narrowed.to_scale([narrowed.low, narrowed.high]))
    spread = np.ptp(dimension.to_scale(values))
    rounding = 2 if isinstance(dimension, IntUniform) else 1e-9  # floor/ceil
    assert new_width <= spread + fraction * width + rounding


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Uniform(1.0, 1.0), "low=1.0, high=1.0"),
        (lambda: Uniform(2.0, 1.0), "inverted"),
        (lambda: IntUniform(5, 4), "low=5, high=4"),
        (lambda: LogUniform(0, 1), "low=0"),
        (lambda: LogUniform(-1e-3, 1), "low=-0.001"),
        (lambda: LogUniform(1e-3, -1), "high=-1"),
        (lambda: OneMinusLogUniform(0.9, 1.0), "high=1.0"),
        (lambda: OneMinusLogUniform(0.99, 0.9), "inverted"),
        (lambda: PowersOfTwo(3, 16), "low=3"),
        (lambda: Choice([]), "at least one"),
        (lambda: Choice(["a", "a"]), "distinct"),
        (lambda: Uniform(0.0, float("nan")), "high=nan"),
        (lambda: LogUniform(1e-3, 1).shrink([0.1], 0.0), "fraction"),
    ],
)
def test_bad_ranges_raise_value_errors_naming_the_value(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make()


def test_dimensions_and_spaces_round_trip_through_json():
    for dimension in [*DIMENSIONS, Choice([1, "two", [3, 4], None])]:
        config = json.loads(json.dumps(dimension.to_config()))
        assert dimension_from_config(config) == dimension
    space = SearchSpace(SPACE)
    assert SearchSpace.from_config(json.loads(json.dumps(space.to_config()))) == space
    layers = Choice([(64, 32), (128,)])  # stored as they come back from JSON
    assert layers.sample(np.random.default_rng(0), 1)[0] in ([64, 32], [128])
    with pytest.raises(TypeError, match="Choice values must be JSON values"):
        Choice([1, object()])
    with pytest.raises(TypeError, match="epochs .a fixed value"):
        SearchSpace({"epochs": {1, 2}})
    with pytest.raises(ValueError, match="unknown dimension type 'loguniform'"):
        dimension_from_config({"type": "loguniform", "low": 1, "high": 2})
    with pytest.raises(ValueError, match=r"exactly the keys \['high', 'low'\]"):
        dimension_from_config({"type": "uniform", "low": 1, "hi": 2})


def test_toml_loader_reads_the_documented_format(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        "[space]\n"
        'learning_rate = {type="log_uniform", low=1e-4, high=1}\n'
        'layers = {type="choice", values=["64", "64,32"]}\n'
        'beta1 = {type="one_minus_log_uniform", low=0.9, high=0.999}\n'
        'batch_size = {type="powers_of_two", low=16, high=256}\n'
        "epochs = 20\n"
        'optimizer = {type="fixed", value="adam"}\n'
    )
    space = load_space(path)
    assert space["learning_rate"] == LogUniform(1e-4, 1)
    assert space["beta1"] == OneMinusLogUniform(0.9, 0.999)
    assert space["batch_size"] == PowersOfTwo(16, 256)
    assert space["layers"] == Choice(["64", "64,32"])
    assert space.fixed == {"epochs": 20, "optimizer": "adam"}
    known = {"learning_rate", "layers", "beta1", "batch_size", "epochs", "optimizer"}
    assert load_space(path, known_names=known) == space
    with pytest.raises(ValueError, match="unknown hyperparameter 'optimizer'.*beta1"):
        load_space(path, known_names=known - {"optimizer"})
    path.write_text('[space]\nlearning_rate = {type="log_uniform", low=0, high=1}\n')
    with pytest.raises(ValueError, match="'learning_rate'.*low=0"):
        load_space(path)
    path.write_text("[search]\ntrials = 3\n")
    with pytest.raises(ValueError, match=r"no \[space\] table"):
        load_space(path)


def test_unknown_name_in_a_search_space_lists_the_allowed_names():
    with pytest.raises(ValueError, match="'lr'; allowed names: beta1, learning_rate"):
        SearchSpace({"lr": LogUniform(1e-4, 1)}, {"learning_rate", "beta1"})


def test_grid_points_are_evenly_spaced_on_each_scale():
    points = grid_points(
        {"learning_rate": LogUniform(1e-4, 1), "layers": Choice(["a", "b"])}, 3
    )
    assert len(points) == 6
    rates = sorted({p["learning_rate"] for p in points})
    assert np.log10(rates) == pytest.approx([-4, -2, 0])
    assert PowersOfTwo(16, 256).grid(3) == [16, 64, 256]


# ------------------------------------------------------------- random search


@pytest.mark.slow  # two real loky worker processes
def test_same_seed_gives_identical_trials_serially_and_with_two_loky_workers():
    from joblib.externals.loky import get_reusable_executor

    space = SearchSpace(SPACE)
    serial = random_search(
        objectives.noisy_quadratic, space, trials=6, seed=4, backend="serial"
    )
    try:
        parallel = random_search(
            objectives.noisy_quadratic, space, trials=6, seed=4, n_jobs=2
        )
    finally:
        get_reusable_executor().shutdown(wait=True)
    assert without_durations(serial) == without_durations(parallel)
    other = random_search(objectives.noisy_quadratic, space, trials=6, seed=5)
    assert without_durations(other) != without_durations(serial)
    sequence = np.random.SeedSequence(4, spawn_key=(0,))
    seeds = [int(c.generate_state(1)[0]) for c in sequence.spawn(6)]
    assert [t["seed"] for t in serial.trials] == seeds
    assert [t["index"] for t in serial.trials] == list(range(6))


def test_failing_and_nan_trials_are_recorded_as_failed_and_the_search_goes_on(
    tmp_path,
):
    result = random_search(
        objectives.sometimes_broken, SPACE, trials=20, seed=0, out=tmp_path
    )
    statuses = [t["status"] for t in result.trials]
    assert len(statuses) == 20 and "ok" in statuses
    raised = [t for t in result.trials if t["config"]["learning_rate"] > 0.1]
    nan = [t for t in result.trials if t["config"]["learning_rate"] < 1e-3]
    assert raised and nan
    assert all(t["status"] == "failed" for t in raised + nan)
    assert all(t["error"].startswith("FloatingPointError: diverged") for t in raised)
    assert all("not finite" in t["error"] for t in nan)
    assert all(t["metrics"]["dev_cost"] is None for t in nan)  # inf stored as null
    assert 1e-3 <= result.best_config["learning_rate"] <= 0.1
    assert [r["status"] for r in read_journal(tmp_path / "trials.jsonl")] == statuses
    assert result.table().splitlines()[-1].endswith(raised[-1]["error"]) or (
        result.table().splitlines()[-1].endswith(nan[-1]["error"])
    )
    hopeless = random_search(objectives.always_nan, SPACE, trials=3)
    with pytest.raises(RuntimeError, match="none of the 3 trials succeeded"):
        _ = hopeless.best


def test_result_table_best_and_save_best(tmp_path):
    result = random_search(objectives.noisy_quadratic, SPACE, trials=8, seed=2)
    accuracies = [t["metrics"]["dev_accuracy"] for t in result.trials]
    assert result.best["metrics"]["dev_accuracy"] == max(accuracies)
    lines = result.table().splitlines()
    assert lines[0].split()[:4] == ["rank", "trial", "budget", "dev_accuracy"]
    assert lines[1].split()[1] == result.best["trial_id"]
    shown = [float(line.split()[3]) for line in lines[1:]]
    assert shown == sorted(shown, reverse=True) and len(shown) == 8
    path = result.save_best(tmp_path / "best.json")
    assert json.loads(path.read_text()) == result.best_config
    minimised = random_search(
        objectives.noisy_quadratic,
        SPACE,
        trials=8,
        seed=2,
        metric="dev_cost",
        mode="min",
    )
    assert minimised.best["trial_id"] == result.best["trial_id"]


def test_resume_runs_only_the_missing_trials_and_tolerates_a_torn_line(tmp_path):
    full_dir, cut_dir = tmp_path / "full", tmp_path / "cut"
    full = random_search(
        objectives.noisy_quadratic, SPACE, trials=10, seed=7, out=full_dir
    )
    cut_dir.mkdir()
    shutil.copy(full_dir / "search.json", cut_dir / "search.json")
    lines = (full_dir / "trials.jsonl").read_bytes().splitlines(keepends=True)
    torn = lines[4][: len(lines[4]) // 2]  # a record cut mid-write by a kill
    (cut_dir / "trials.jsonl").write_bytes(b"".join(lines[:4]) + torn)
    assert len(read_journal(cut_dir / "trials.jsonl")) == 4
    objectives.CALLS.clear()
    resumed = random_search(
        objectives.noisy_quadratic, SPACE, trials=10, seed=7, out=cut_dir
    )
    assert len(objectives.CALLS) == 6
    assert without_durations(resumed) == without_durations(full)
    journaled = read_journal(cut_dir / "trials.jsonl")
    assert sorted(r["trial_id"] for r in journaled) == sorted(
        t["trial_id"] for t in full.trials
    )
    objectives.CALLS.clear()
    again = random_search(
        objectives.noisy_quadratic, SPACE, trials=10, seed=7, out=cut_dir
    )
    assert objectives.CALLS == [] and len(again.trials) == 10


def test_journal_reader_and_repair(tmp_path):
    path = tmp_path / "trials.jsonl"
    append_record(path, {"trial_id": "a", "value": 1.5})
    append_record(path, {"trial_id": "b", "value": 2.5})
    with open(path, "ab") as handle:
        handle.write(b'{"trial_id": "c", "val')
    assert [r["trial_id"] for r in read_journal(path)] == ["a", "b"]
    assert repair_journal(path) == len(b'{"trial_id": "c", "val')
    append_record(path, {"trial_id": "d"})
    assert [r["trial_id"] for r in read_journal(path)] == ["a", "b", "d"]
    path.write_bytes(b'{"trial_id": "a"}\nnot json\n{"trial_id": "b"}\n')
    with pytest.raises(ValueError, match="line 2 is not a JSON record"):
        read_journal(path)


def test_a_different_search_in_the_same_directory_is_refused(tmp_path):
    random_search(objectives.noisy_quadratic, SPACE, trials=4, seed=1, out=tmp_path)
    with pytest.raises(ValueError, match="different search.*seed: stored 1, now 2"):
        random_search(objectives.noisy_quadratic, SPACE, trials=4, seed=2, out=tmp_path)
    with pytest.raises(ValueError, match="objective: stored"):
        random_search(
            objectives.budgeted_quadratic, SPACE, trials=4, seed=1, out=tmp_path
        )
    journal = tmp_path / "trials.jsonl"
    records = read_journal(journal)
    records[2]["fingerprint"] = "0" * 64  # a record that this plan did not make
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(ValueError, match="holds trial r0-k0-t2 with a different"):
        random_search(objectives.noisy_quadratic, SPACE, trials=4, seed=1, out=tmp_path)
    (tmp_path / "search.json").unlink()
    with pytest.raises(ValueError, match="search.json does not"):
        random_search(objectives.noisy_quadratic, SPACE, trials=4, seed=1, out=tmp_path)


def test_coarse_to_fine_narrows_the_range_round_after_round(tmp_path):
    space = {
        "learning_rate": LogUniform(1e-6, 1),
        "beta1": OneMinusLogUniform(0.5, 0.9999),
    }
    result = random_search(
        objectives.noisy_quadratic, space, trials=12, rounds=3, seed=3, out=tmp_path
    )
    assert len(result.trials) == 36 and len(result.spaces) == 3
    widths = [
        np.ptp(np.log10([s["learning_rate"].low, s["learning_rate"].high]))
        for s in result.spaces
    ]
    assert widths[0] == pytest.approx(6) and widths[0] > widths[1] > widths[2]
    assert widths[2] < 3
    final = result.spaces[2]["learning_rate"]
    assert final.low < 10**objectives.OPTIMUM < final.high
    for round_index, space_used in enumerate(result.spaces):
        rates = [
            t["config"]["learning_rate"]
            for t in result.trials
            if t["round"] == round_index
        ]
        assert all(
            space_used["learning_rate"].low <= r <= space_used["learning_rate"].high
            for r in rates
        )
    loaded = SearchResult.load(tmp_path)
    assert loaded.spaces == result.spaces
    assert without_durations(loaded) == without_durations(result)


def test_successive_halving_is_deterministic_and_promotes_the_best(tmp_path):
    halving = {"min_budget": 1, "max_budget": 9, "eta": 3}
    first = random_search(
        objectives.budgeted_quadratic,
        SPACE,
        trials=9,
        seed=5,
        halving=halving,
        out=tmp_path,
    )
    second = random_search(
        objectives.budgeted_quadratic,
        SPACE,
        trials=9,
        seed=5,
        halving=halving,
        backend="serial",
    )
    assert without_durations(first) == without_durations(second)
    rungs = [[t for t in first.trials if t["rung"] == k] for k in range(3)]
    assert [len(r) for r in rungs] == [9, 3, 1]
    assert [{t["budget"] for t in r} for r in rungs] == [{1}, {3}, {9}]
    top = sorted(rungs[0], key=lambda t: -t["metrics"]["dev_accuracy"])[:3]
    assert {t["index"] for t in rungs[1]} == {t["index"] for t in top}
    for promoted in rungs[1]:
        original = rungs[0][promoted["index"]]
        assert (promoted["config"], promoted["seed"]) == (
            original["config"],
            original["seed"],
        )
    assert first.best["budget"] == 9 and first.best is rungs[2][0]
    assert first.table().splitlines()[1].split()[2] == "9"
    with pytest.raises(ValueError, match="halving sets the budgets"):
        random_search(
            objectives.budgeted_quadratic, SPACE, trials=9, halving=halving, rounds=2
        )
    with pytest.raises(ValueError, match="halving takes the keys"):
        random_search(
            objectives.budgeted_quadratic,
            SPACE,
            trials=9,
            halving={"max_budget": 9, "factor": 3},
        )


def test_grid_search_runs_every_grid_point():
    grid = Grid(
        {"learning_rate": LogUniform(1e-4, 1), "batch_size": PowersOfTwo(16, 64)}, 3
    )
    result = random_search(objectives.noisy_quadratic, grid, trials=9)
    tried = sorted(
        (t["config"]["learning_rate"], t["config"]["batch_size"]) for t in result.trials
    )
    assert tried == sorted((p["learning_rate"], p["batch_size"]) for p in grid.points)
    with pytest.raises(ValueError, match="the grid has only 9 points"):
        random_search(objectives.noisy_quadratic, grid, trials=10)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"mode": "maximum"}, ValueError, "unknown mode 'maximum'"),
        ({"backend": "spark"}, ValueError, "unknown backend 'spark'"),
        ({"timeout": 5}, ValueError, "timeout is for the dask backend"),
        ({"scheduler": "tcp://127.0.0.1:1"}, ValueError, "scheduler is for the dask"),
        ({"backend": "dask", "scheduler": "x", "timeout": 0}, ValueError, "timeout"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be >= 1 or -1"),
        ({"trials": 0}, ValueError, r"trials must be in \[1, inf\)"),
        ({"keep_fraction": 0}, ValueError, "keep_fraction"),
        ({"backend": "dask"}, ValueError, "backend='dask' needs scheduler="),
        ({"seed": -1}, ValueError, "seed must be"),
    ],
)
def test_bad_search_arguments_raise_clear_errors(arguments, error, message):
    arguments = {"trials": 2, **arguments}
    with pytest.raises(error, match=message):
        random_search(objectives.noisy_quadratic, SPACE, **arguments)


def test_trials_run_with_one_blas_thread_when_asked_and_restore_it():
    from threadpoolctl import threadpool_info

    before = [pool["num_threads"] for pool in threadpool_info()]
    task = {"trial_id": "t", "config": {}, "seed": 0, "budget": None}
    limited = run_trial(objectives.blas_threads, task, "dev_accuracy", True)
    assert limited["status"] == "ok"
    assert limited["metrics"]["dev_accuracy"] == 1.0
    free = run_trial(objectives.blas_threads, task, "dev_accuracy", False)
    assert free["metrics"]["dev_accuracy"] == max(before, default=1)
    assert [pool["num_threads"] for pool in threadpool_info()] == before


def test_a_missing_metric_fails_each_trial_with_the_reason():
    result = random_search(objectives.noisy_quadratic, SPACE, trials=2, metric="f1")
    assert {t["status"] for t in result.trials} == {"failed"}
    assert "returned no 'f1'" in result.trials[0]["error"]


# --------------------------------------------------------------------- plots


def test_plots_use_each_hyperparameters_scale(tmp_path):
    space = {**SPACE, "keep_prob": Uniform(0.5, 1.0)}
    result = random_search(objectives.sometimes_broken, space, trials=12, rounds=2)
    figure = plot_trials(result, tmp_path / "trials.png")
    axes = {axis.get_xlabel(): axis for axis in figure.axes if axis.get_visible()}
    assert set(axes) == {
        "learning_rate (log)",
        "1 - beta1 (log)",
        "batch_size (log2)",
        "layers",
        "keep_prob",
    }
    assert axes["learning_rate (log)"].get_xscale() == "log"
    assert axes["1 - beta1 (log)"].get_xscale() == "log"
    assert axes["keep_prob"].get_xscale() == "linear"
    x = np.concatenate(
        [c.get_offsets()[:, 0] for c in axes["1 - beta1 (log)"].collections]
    )
    assert np.all((x >= 1e-3 - 1e-12) & (x <= 0.1 + 1e-12))  # 1 - beta, not beta
    assert (tmp_path / "trials.png").read_bytes()[:4] == b"\x89PNG"
    figure = plot_best_so_far(result, tmp_path / "best.png")
    best_line = figure.axes[0].lines[0].get_ydata()
    assert np.all(np.diff(best_line) >= 0)
    assert best_line[-1] == result.best["metrics"]["dev_accuracy"]
    assert (tmp_path / "best.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="no successful trials"):
        plot_best_so_far(
            random_search(objectives.always_nan, SPACE, trials=2), tmp_path / "none.png"
        )
