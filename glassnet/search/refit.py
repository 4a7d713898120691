"""Refit: the best configuration of a search, trained again and saved as a run.

A search's trials keep no models (a trial is a number on the dev set). At the end
the best trial's configuration is trained once more and written as a full run
folder (:func:`glassnet.runs.write_run_folder`: model.glassnet, config.json,
history.csv, learning_curve.png, results.json), which ``glassnet evaluate``,
``predict``, ``diagnose`` and ``select`` read.

- ``on="train"`` (default): the trial exactly, with its seed and epochs, on the
  same training rows; its dev scores are the trial's, and the test set is scored
  for the first time.
- ``on="train+dev"``: the training and dev rows together (the notes: once the
  hyperparameters are chosen, the dev set can train the final model), the input
  layers fitted on both, for the epochs the trial ran (its own early stopping
  needs a dev set, which is now training data, so it is off). The run has no dev
  scores; the test set says how good it is.

``results.json`` adds ``search``: the search folder, the trial, its seed and dev
metrics, and what the refit trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glassnet.run_config import RunConfig

__all__ = ["REFIT_ON", "refit_best"]

REFIT_ON = ("train", "train+dev")


def refit_config(best: dict, on: str = "train") -> RunConfig:
    """The RunConfig of the best trial's record ``best`` for a refit ``on``."""
    values = {**best["config"], "seed": int(best["seed"]) % (2**32)}
    if best.get("budget") is not None:  # the trial trained for its budget
        values["epochs"] = int(best["budget"])
    if on == "train+dev":
        epochs_run = (best.get("metrics") or {}).get("epochs_run")
        if epochs_run:
            values["epochs"] = int(epochs_run)
        values["early_stopping"] = None
    return RunConfig.from_dict(values)


def _with_dev_in_training(prepared: dict, config: RunConfig) -> dict:
    """``prepared`` with the dev rows appended to the training rows and the input
    layers fitted again on both."""
    from glassnet.networks import preprocessing_layers

    splits = dict(prepared["splits"])
    X_train, y_train = splits.pop("train")
    X_dev, y_dev = splits.pop("dev")
    X = np.concatenate([X_train, X_dev])
    y = np.concatenate([np.asarray(y_train), np.asarray(y_dev)])
    split = prepared.get("split")
    if split:
        sizes = {**split["sizes"], "train": len(X), "dev": 0}
        split = {**split, "sizes": sizes, "refit_on": "train+dev"}
    return {
        **prepared,
        "splits": {"train": (X, y), **splits},
        "preprocessing": preprocessing_layers(
            X, prepared["dataset"].image_shape, standardize=config.standardize
        ),
        "split": split,
    }


def refit_best(result, out, *, on: str = "train", verbose: bool = False):
    """Train the best trial of ``result`` (a SearchResult) again on ``on`` ("train"
    or "train+dev") and write the run folder ``out``; return the RunResult."""
    from glassnet.runs import prepare_data, train_run, write_run_folder
    from glassnet.validation import check_choice

    check_choice("refit on", on, REFIT_ON)
    best = result.best
    config = refit_config(best, on)
    prepared = prepare_data(config)
    if on == "train+dev":
        if "dev" not in prepared["splits"]:
            raise ValueError(
                f"{config.data}: refit on train+dev needs a dev set; this split "
                "has none"
            )
        prepared = _with_dev_in_training(prepared, config)
    run = train_run(config, prepared=prepared, verbose=verbose)
    record = {
        "search": {
            "folder": None if result.out is None else str(result.out),
            "trial": best["trial_id"],
            "seed": int(best["seed"]),
            "dev_metrics": best["metrics"],
            "refit_on": on,
        }
    }
    write_run_folder(run, prepared, Path(out), record=record)
    return run
