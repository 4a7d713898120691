"""MLflow logging (issue 22, point 4): ``gn.callbacks.MLflowLogger`` and ``glassnet
train --mlflow``, read back from real MLflow stores (a ``file:`` store and a
``sqlite:`` store in a temporary folder) with MLflow's own client."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet.callbacks import Callback, MLflowLogger  # noqa: E402
from glassnet.errors import MissingDependencyError  # noqa: E402


@pytest.fixture
def file_store(tmp_path, monkeypatch):
    """A real MLflow file store in a temporary folder (MLflow 3 wants the opt-in)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root is ./mlruns
    return (tmp_path / "mlruns").as_uri()


def _toy(seed=0, m=120):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y


def _model():
    return gn.Sequential([gn.Dense(6, "relu"), gn.Dense(1, "sigmoid")])


def _train(logger, epochs=4, callbacks=()):
    X, y = _toy()
    model = _model()
    history = model.fit(
        X[:90],
        y[:90],
        epochs=epochs,
        batch_size=32,
        optimizer="adam",
        validation_data=(X[90:], y[90:]),
        metrics=["accuracy"],
        callbacks=[logger, *callbacks],
        rng=0,
        verbose=False,
    )
    return model, history


def test_logger_writes_params_epoch_metrics_and_the_model_to_a_file_store(file_store):
    logger = MLflowLogger(file_store, experiment="toys", params={"data": "toy"})
    model, history = _train(logger, epochs=4)
    client = MlflowClient(file_store)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "toys"
    params = run.data.params
    assert params["data"] == "toy"
    assert params["fit.epochs"] == "4" and params["fit.batch_size"] == "32"
    assert params["fit.optimizer.name"] == "adam"
    assert params["fit.loss"] == history.params["loss"]
    assert params["model.n_x"] == "4"
    for key in ("cost", "val_cost", "accuracy", "val_accuracy"):
        logged = client.get_metric_history(logger.run_id, key)
        assert [m.step for m in logged] == [0, 1, 2, 3], key
        assert [m.value for m in logged] == pytest.approx(history[key], rel=1e-12)
    names = [item.path for item in client.list_artifacts(logger.run_id)]
    assert names == ["model.glassnet"]
    local = client.download_artifacts(logger.run_id, "model.glassnet", "downloaded")
    X, _ = _toy()
    np.testing.assert_array_equal(
        gn.load(local).predict_proba(X), model.predict_proba(X)
    )


class _Explode(Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("boom at epoch 1")


def test_a_run_that_raises_ends_failed_with_the_epochs_it_had(file_store):
    logger = MLflowLogger(file_store)
    with pytest.raises(RuntimeError, match="boom"):
        _train(logger, epochs=5, callbacks=[_Explode()])
    client = MlflowClient(file_store)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FAILED"
    assert client.get_experiment(run.info.experiment_id).name == "Default"
    assert [m.step for m in client.get_metric_history(logger.run_id, "cost")] == [0, 1]
    assert client.list_artifacts(logger.run_id) == []  # no model: training failed


def test_a_run_the_user_started_is_logged_into_and_left_open(file_store, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", file_store)
    client = MlflowClient(file_store)
    with mlflow.start_run(run_name="mine") as mine:
        logger = MLflowLogger()  # no URI: MLflow's, and the active run
        _train(logger, epochs=2)
        assert logger.run_id == mine.info.run_id and not logger.owns_run
        assert mlflow.active_run().info.run_id == mine.info.run_id
        assert client.get_run(mine.info.run_id).info.status == "RUNNING"
        child = MLflowLogger(nested=True)
        _train(child, epochs=3)
        assert child.run_id != mine.info.run_id
        child_run = client.get_run(child.run_id)
        assert child_run.data.tags["mlflow.parentRunId"] == mine.info.run_id
        assert child_run.info.status == "FINISHED"
        assert client.get_run(mine.info.run_id).info.status == "RUNNING"
        steps = [m.step for m in client.get_metric_history(mine.info.run_id, "cost")]
        assert steps == [0, 1]
        with pytest.warns(RuntimeWarning, match="'fit.epochs'.* kept as they are"):
            _train(MLflowLogger(), epochs=1)  # a second fit in the same run
        run = client.get_run(mine.info.run_id)
        assert run.data.params["fit.epochs"] == "2"  # MLflow keeps the first
    assert client.get_run(mine.info.run_id).info.status == "FINISHED"


def test_missing_mlflow_names_the_extra(monkeypatch):
    for name in [n for n in sys.modules if n == "mlflow" or n.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    logger = MLflowLogger("sqlite:///never.db")
    with pytest.raises(
        MissingDependencyError, match=r'pip install "glassnet\[mlflow\]"'
    ):
        _train(logger, epochs=1)


def test_logger_arguments_are_checked():
    with pytest.raises(TypeError, match="tracking_uri"):
        MLflowLogger(5)
    with pytest.raises(TypeError, match="params must be a dict"):
        MLflowLogger(params=[("a", 1)])
    with pytest.raises(ValueError, match="experiment"):
        MLflowLogger(experiment="")


def _glassnet(*args, cwd, env=None):
    process = subprocess.run(
        [sys.executable, "-m", "glassnet", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    return process


def _check_cli_run(client, run_id, folder, epochs):
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == folder.name
    config = json.loads((folder / "config.json").read_text())
    assert run.data.params["data"] == config["data"] == "iris"
    assert run.data.params["epochs"] == str(epochs)
    assert run.data.params["fit.epochs"] == str(epochs)
    with open(folder / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for key in ("cost", "val_cost"):
        logged = client.get_metric_history(run_id, key)
        assert [m.step for m in logged] == list(range(epochs))
        expected = [float(row[key]) for row in rows]
        assert [m.value for m in logged] == pytest.approx(expected, rel=1e-9)
    results = json.loads((folder / "results.json").read_text())
    for split in ("train", "dev", "test"):
        for key in ("cost", "accuracy"):
            assert run.data.metrics[f"{split}_{key}"] == pytest.approx(
                results["results"][split][key], rel=1e-12
            )
    names = {item.path for item in client.list_artifacts(run_id)}
    expected = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    assert {"model.glassnet", "config.json", "results.json"} <= names
    assert names == expected  # the whole folder (report.html when it has one)


@pytest.mark.slow
def test_glassnet_train_mlflow_to_sqlite_and_to_the_environment_s_file_store(
    tmp_path, monkeypatch
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = _glassnet(
        "train", "--data", "iris", "--epochs", "3", "--quiet", "--out", "run1",
        "--mlflow", uri, "--mlflow-experiment", "iris-runs",
        cwd=tmp_path,
    )  # fmt: skip
    line = process.stdout.strip().splitlines()[-1]
    assert line.startswith("MLflow run ") and "'iris-runs'" in line and uri in line
    run_id = line.split()[2]
    client = MlflowClient(uri)
    _check_cli_run(client, run_id, tmp_path / "run1", 3)
    assert client.get_experiment_by_name("iris-runs").experiment_id == (
        client.get_run(run_id).info.experiment_id
    )
    # a bare --mlflow: MLflow's own default, here $MLFLOW_TRACKING_URI, a file store
    store = (tmp_path / "filestore").as_uri()
    process = _glassnet(
        "train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "run2",
        "--mlflow",
        cwd=tmp_path,
        env={"MLFLOW_TRACKING_URI": store, "MLFLOW_ALLOW_FILE_STORE": "true"},
    )  # fmt: skip
    line = process.stdout.strip().splitlines()[-1]
    assert store in line and "'Default'" in line
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    _check_cli_run(MlflowClient(store), line.split()[2], tmp_path / "run2", 2)
