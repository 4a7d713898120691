"""A search that earns its time (issue 25): the space scaled to the data with the
defaults as trial 0, pruning by rungs, the time budget, refit, TPE."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import search_objectives as objectives

from glassnet.run_config import RunConfig
from glassnet.search import (
    Choice,
    LogUniform,
    SearchResult,
    SearchSpace,
    random_search,
    read_journal,
)
from glassnet.search.data_space import default_trial, space_for_data
from glassnet.search.objective import known_names
from glassnet.search.pruning import check_prune, rung_budget

PROFILES = [
    {"examples": 106, "features": 13, "kind": "tables"},
    {"examples": 1079, "features": 64, "kind": "images"},
    {"examples": 3000, "features": 30, "kind": "tables"},
    {"examples": 60000, "features": 784, "kind": "images"},
]

SPACE = {
    "learning_rate": LogUniform(1e-4, 1e-1),
    "layers": Choice(["64", "100"]),
    "epochs": Choice([9, 27]),
}
PRUNE = {"eta": 3, "rungs": 3}
FIRST = {"config": {"learning_rate": None, "layers": "100", "epochs": 27}, "seed": 0}


def without_durations(result) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "duration_s"} for t in result.trials]


@pytest.fixture(autouse=True)
def fresh_calls(monkeypatch):
    monkeypatch.delenv("GLASSNET_TEST_SLEEP", raising=False)
    objectives.CALLS.clear()
    yield
    objectives.CALLS.clear()


# ------------------------------------------------------ the space and trial 0


@pytest.mark.parametrize(
    "profile", PROFILES, ids=lambda p: f"{p['kind']}-{p['examples']}"
)
def test_trial_zero_is_glassnet_train_defaults_and_lies_in_the_space(profile):
    space = SearchSpace(space_for_data(profile, "digits"), known_names=known_names())
    first = default_trial(space)
    config = RunConfig.from_dict({**first["config"], "seed": first["seed"]})
    assert config.to_dict() == RunConfig(data="digits").to_dict()
    for name, dimension in space.dimensions.items():
        value = first["config"][name]
        if isinstance(dimension, Choice):
            assert value in dimension.values, name
        elif value is not None:  # learning_rate None: the optimizer's own 1e-3
            assert dimension.low <= value <= dimension.high, name
    assert space.dimensions["learning_rate"].low <= 1e-3  # Adam's default inside


def test_the_space_follows_the_kind_and_size_of_the_data():
    def space(profile):
        return space_for_data(profile, "x")

    few_tables, images = space(PROFILES[0]), space(PROFILES[1])
    many_images = space(PROFILES[3])
    widest = [max(map(int, v.split(","))) for v in images["layers"].values]
    assert max(widest) >= 512 and "augment" in images and "keep_prob" in images
    assert "augment" not in few_tables and 0.1 in few_tables["l2"].values
    smallest = [max(map(int, v.split(","))) for v in few_tables["layers"].values]
    assert max(smallest) <= 100
    assert few_tables["batch_size"].high < many_images["batch_size"].high
    assert few_tables["epochs"] == 200 and 200 in many_images["epochs"].values


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_the_first_trial_is_trial_zero_with_its_seed(sampler):
    if sampler == "tpe":
        pytest.importorskip("optuna")
    result = random_search(
        objectives.epochs_quadratic,
        SPACE,
        trials=6,
        seed=3,
        backend="serial",
        first_trial=FIRST,
        sampler=sampler,
    )
    zero = result.trials[0]
    assert zero["index"] == 0 and zero["config"] == FIRST["config"]
    assert zero["seed"] == 0
    if sampler == "tpe":
        return
    others = random_search(
        objectives.epochs_quadratic, SPACE, trials=6, seed=3, backend="serial"
    )
    assert zero["config"] != others.trials[0]["config"]
    assert [t["config"] for t in result.trials[1:]] == [
        t["config"] for t in others.trials[1:]
    ]


def test_a_first_trial_with_other_names_than_the_space_is_refused():
    with pytest.raises(ValueError, match="exactly the space's names"):
        random_search(
            objectives.epochs_quadratic,
            SPACE,
            trials=2,
            first_trial={"config": {"learning_rate": 0.01}, "seed": 0},
        )


# --------------------------------------------------------------------- pruning


def test_rung_budgets_are_fractions_of_each_trials_epochs():
    prune = check_prune(True)
    assert [rung_budget({"epochs": 200}, prune, k) for k in range(3)] == [12, 50, 200]
    eta3 = check_prune({"eta": 3, "rungs": 3})
    assert [rung_budget({"epochs": 200}, eta3, k) for k in range(3)] == [22, 67, 200]
    assert [rung_budget({"epochs": 2}, prune, k) for k in range(3)] == [1, 1, 2]
    with pytest.raises(ValueError, match="integer 'epochs'"):
        rung_budget({"epochs": None}, prune, 0)


def pruned_search(out=None, **options):
    return random_search(
        objectives.epochs_quadratic,
        SPACE,
        trials=9,
        seed=1,
        prune=PRUNE,
        first_trial=FIRST,
        out=out,
        **{"backend": "serial", **options},
    )


def test_pruned_trials_are_journaled_with_the_rung_they_reached(tmp_path):
    result = pruned_search(tmp_path)
    rows = result.per_trial()
    assert len(rows) == 9
    reached = [row["record"]["rung"] for row in rows]
    pruned = [row["pruned"] for row in rows]
    # 9 trials at rung 0, floor(9/3) = 3 go on (plus trial 0), then floor(n/3)
    assert reached.count(0) >= 5 and max(reached) == 2
    assert rows[0]["record"]["rung"] == 2 and rows[0]["pruned"] is None  # protected
    for row in rows:
        if row["record"]["rung"] < 2:
            assert row["pruned"] == row["record"]["rung"]
        else:
            assert row["pruned"] is None
    # each rung's survivors are its best floor(n / eta) (plus trial 0)
    rung0 = sorted(
        (t for t in result.trials if t["rung"] == 0),
        key=lambda t: -t["metrics"]["dev_accuracy"],
    )
    promoted = {t["index"] for t in result.trials if t["rung"] == 1}
    assert promoted == {t["index"] for t in rung0[:3]} | {0}
    journaled = read_journal(tmp_path / "trials.jsonl")
    marked = [r for r in journaled if r.get("pruned")]
    assert sorted(r["index"] for r in marked) == [
        row["record"]["index"] for row in rows if row["pruned"] is not None
    ]
    assert all(r["status"] == "ok" for r in marked)
    loaded = SearchResult.load(tmp_path)
    assert [r["pruned"] for r in loaded.per_trial()] == pruned
    assert loaded.best["trial_id"] == result.best["trial_id"]
    assert result.best["rung"] == 2 and not result.best.get("pruned")
    table = result.table()
    assert "pruned at rung 0" in table and "seconds" in table.splitlines()[0]
    # a pruned trial's budget is a fraction of its own epochs
    for trial in result.trials:
        assert trial["budget"] == rung_budget(
            trial["config"], check_prune(PRUNE), trial["rung"]
        )


def test_a_pruned_search_resumes_to_the_same_result(tmp_path):
    full = pruned_search(tmp_path / "full")
    lines = (tmp_path / "full" / "trials.jsonl").read_bytes().splitlines(True)
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "search.json").write_bytes((tmp_path / "full" / "search.json").read_bytes())
    # killed after rung 0 had finished but before its pruning was written
    (cut / "trials.jsonl").write_bytes(b"".join(lines[:9]))
    objectives.CALLS.clear()
    resumed = pruned_search(cut)
    assert without_durations(resumed) == without_durations(full)
    assert len(objectives.CALLS) == len(full.trials) - 9
    again_lines = (cut / "trials.jsonl").read_bytes().splitlines()
    assert len(again_lines) == len(lines)  # the pruning lines written once
    objectives.CALLS.clear()
    again = pruned_search(cut)
    assert objectives.CALLS == [] and without_durations(again) == without_durations(
        full
    )
    assert len((cut / "trials.jsonl").read_bytes().splitlines()) == len(lines)


@pytest.mark.slow  # loky worker processes
def test_pruning_gives_the_same_results_on_one_and_two_workers(monkeypatch):
    monkeypatch.setenv("GLASSNET_TEST_SLEEP", "0.05")  # finish out of plan order
    serial = pruned_search(backend="serial")
    monkeypatch.setenv("GLASSNET_TEST_SLEEP", "0.05")
    parallel = pruned_search(backend="loky", n_jobs=2)
    assert without_durations(serial) == without_durations(parallel)
    assert any(row["pruned"] is not None for row in parallel.per_trial())


def test_prune_arguments_are_checked():
    with pytest.raises(ValueError, match="prune takes the keys"):
        random_search(objectives.epochs_quadratic, SPACE, trials=2, prune={"f": 3})
    with pytest.raises(ValueError, match="prune sets each rung's budget"):
        random_search(
            objectives.epochs_quadratic, SPACE, trials=2, prune=True, budget=3
        )


# ----------------------------------------------------------------- time budget


def test_a_spent_time_budget_launches_nothing_more_and_a_rerun_resumes(tmp_path):
    stopped = random_search(
        objectives.epochs_quadratic,
        SPACE,
        trials=6,
        seed=2,
        backend="serial",
        out=tmp_path,
        time_budget=1e-9,  # spent before the first trial
    )
    assert stopped.trials == [] and objectives.CALLS == []
    assert stopped.stopped == {"time_budget_s": 1e-9, "not_launched": 6}
    resumed = random_search(
        objectives.epochs_quadratic,
        SPACE,
        trials=6,
        seed=2,
        backend="serial",
        out=tmp_path,
        time_budget=600,
    )
    assert resumed.stopped is None and len(resumed.trials) == 6


@pytest.mark.slow  # sleeps
def test_the_time_budget_stops_launching_trials_once_spent(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_TEST_SLEEP", "0.6")  # seed % 3 times 0.6 s
    space = {"learning_rate": LogUniform(1e-3, 1e-2), "epochs": 3}
    first = {"config": {"learning_rate": 1e-3, "epochs": 3}, "seed": 2}  # 1.2 s
    stopped = random_search(
        objectives.epochs_quadratic,
        space,
        trials=5,
        seed=0,
        backend="serial",
        out=tmp_path,
        first_trial=first,
        time_budget=1.0,
    )
    # trial 0 started at once and ran past the budget: nothing else was launched
    assert [t["index"] for t in stopped.trials] == [0]
    assert stopped.stopped["not_launched"] == 4
    assert [r["index"] for r in read_journal(tmp_path / "trials.jsonl")] == [0]


# ----------------------------------------------------------------------- refit


@pytest.mark.slow  # four trainings and two run folders (plots, report)
def test_refit_on_train_is_the_best_trial_and_train_dev_trains_on_both(tmp_path):
    from glassnet.search.objective import train_objective
    from glassnet.search.refit import refit_best

    space = SearchSpace(
        {"data": "iris", "layers": Choice(["8", "16"]), "epochs": 20},
        known_names=known_names(),
    )
    result = random_search(
        train_objective, space, trials=2, seed=0, backend="serial", out=tmp_path
    )
    run = refit_best(result, tmp_path / "best_run")
    assert run.results["dev"]["accuracy"] == result.best["metrics"]["dev_accuracy"]
    saved = json.loads((tmp_path / "best_run" / "results.json").read_text())
    assert saved["search"]["trial"] == result.best["trial_id"]
    assert (tmp_path / "best_run" / "model.glassnet").is_file()
    both = refit_best(result, tmp_path / "both", on="train+dev")
    sizes = {name: row["examples"] for name, row in both.results.items()}
    assert set(sizes) == {"train", "test"}
    assert (
        sizes["train"]
        == run.results["train"]["examples"] + run.results["dev"]["examples"]
    )
    with pytest.raises(ValueError, match="refit on"):
        refit_best(result, tmp_path / "x", on="dev")


# ------------------------------------------------------------------------- TPE


def test_tpe_keeps_each_dimension_on_its_scale():
    pytest.importorskip("optuna")
    from glassnet.search import OneMinusLogUniform, PowersOfTwo
    from glassnet.search.tpe import optuna_distributions

    space = SearchSpace(
        {
            "learning_rate": LogUniform(1e-4, 1e-2),
            "beta1": OneMinusLogUniform(0.9, 0.999),
            "batch_size": PowersOfTwo(16, 256),
            "layers": Choice(["64", [32, 16]]),
        }
    )
    found = optuna_distributions(space)
    assert found["learning_rate"][1].log and found["1-beta1"][1].log
    assert (found["1-beta1"][1].low, found["1-beta1"][1].high) == pytest.approx(
        (0.001, 0.1)
    )
    assert (found["log2-batch_size"][1].low, found["log2-batch_size"][1].high) == (
        4,
        8,
    )
    result = random_search(
        objectives.epochs_quadratic,
        {**space.dimensions, "epochs": 3},
        trials=8,
        seed=0,
        backend="serial",
        sampler="tpe",
    )
    for trial in result.trials:
        config = trial["config"]
        assert 1e-4 <= config["learning_rate"] <= 1e-2
        assert 0.9 <= config["beta1"] <= 0.999
        assert config["batch_size"] in (16, 32, 64, 128, 256)
        assert config["layers"] in ("64", [32, 16])


@pytest.mark.slow  # loky worker processes
def test_tpe_with_pruning_gives_the_same_results_on_one_and_two_workers(
    tmp_path, monkeypatch
):
    pytest.importorskip("optuna")
    monkeypatch.setenv("GLASSNET_TEST_SLEEP", "0.02")
    serial = pruned_search(tmp_path / "serial", sampler="tpe")
    parallel = pruned_search(
        tmp_path / "parallel", sampler="tpe", backend="loky", n_jobs=2
    )
    assert without_durations(serial) == without_durations(parallel)
    objectives.CALLS.clear()
    resumed = pruned_search(tmp_path / "parallel", sampler="tpe")
    assert objectives.CALLS == []
    assert without_durations(resumed) == without_durations(serial)


# ------------------------------------------------------------------------ CLI


@pytest.mark.slow  # a real glassnet process
def test_glassnet_search_prints_its_space_prunes_and_refits(tmp_path):
    out = tmp_path / "search"
    done = subprocess.run(
        [sys.executable, "-m", "glassnet", "search", "--data", "wine"]
        + ["--trials", "6", "--seed", "0", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "search space scaled to wine: 106 training examples" in done.stdout
    assert "pruned at rung" in done.stdout
    space = json.loads((out / "space.json").read_text())
    assert space["scaled_to"]["kind"] == "tables"
    journal = read_journal(out / "trials.jsonl")
    zero = next(r for r in journal if r["trial_id"] == "r0-k0-t0")
    config = RunConfig.from_dict({**zero["config"], "seed": zero["seed"]})
    assert config.to_dict() == RunConfig(data="wine").to_dict()
    assert any(r.get("pruned") for r in journal)
    assert (out / "best_run" / "model.glassnet").is_file()
    results = json.loads((out / "best_run" / "results.json").read_text())
    assert set(results["results"]) == {"train", "dev", "test"}


@pytest.mark.slow  # six iris trainings of up to 200 epochs
def test_a_space_file_without_epochs_is_pruned_on_train_s_default_epochs(tmp_path):
    from test_cli import cli, ok

    (tmp_path / "space.toml").write_text(
        '[space]\nlearning_rate = {type="log_uniform", low=1e-3, high=1e-2}\n'
        'layers = "8"\n'
    )
    outcome = ok(
        cli(
            *("search", "--data", "iris", "--trials", "6", "--out", "s"),
            *("--space", "space.toml", "--no-refit"),
            cwd=tmp_path,
        )
    )
    assert "pruned at rung 0" in outcome.stdout
    budgets = {t["budget"] for t in read_journal(tmp_path / "s" / "trials.jsonl")}
    assert budgets == {12, 50, 200}
    assert not (tmp_path / "s" / "best_run").exists()
    settings = json.loads((tmp_path / "s" / "search.json").read_text())
    assert settings["prune"] == {"eta": 4, "rungs": 3, "max_budget": 200}


def test_tpe_without_optuna_names_the_extra(monkeypatch):
    from glassnet.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r"glassnet\[optuna\]"):
        random_search(objectives.epochs_quadratic, SPACE, trials=2, sampler="tpe")
