"""Defaults that hold up: ``glassnet train``'s defaults against scikit-learn's.

For each data set, the same train / dev / test split that ``glassnet train`` makes
(its ``split_seed``): glassnet trains with its defaults exactly as ``glassnet train
--data NAME`` does (``glassnet.runs.train_run`` on a default ``RunConfig``), and
scikit-learn's ``MLPClassifier()`` / ``MLPRegressor()`` with default arguments train
on the training rows behind their documented preprocessing (``StandardScaler`` for
tables, pixels divided by 255 for images, as scikit-learn's MNIST example does).
Both are scored on the test rows: accuracy for classification, R^2 for regression
(in the targets' own units; glassnet's as ``glassnet train`` reports it in its
table and results.json, scikit-learn's by the same function,
``glassnet.metrics.r2``), as the mean over ``--seeds`` runs of each side (seeds
0, 1, 2: glassnet's ``--seed``, scikit-learn's ``random_state``; the test sets are
small, so one run's score moves by whole examples). Each run must take under a
minute on 2 cores.

    python benchmarks/accuracy.py [--datasets digits,iris] [--json results.json]

The goal (issue 19): glassnet's defaults at least as accurate as scikit-learn's on
every row. The course data sets (mnist, catvnoncat) need ``$GLASSNET_DATA`` or
``../shared/data``; a row whose data is missing is skipped with the reason.

Mixed-type tables (issue 26): ``passengers`` is a CSV file of text categories, empty
cells, an identifier and a constant column, made by the documented recipe
:func:`write_passengers` (no installed package bundles the adult, penguins or
Titanic data, and the benchmark fetches nothing). glassnet reads the raw file as
``glassnet train --data passengers.csv --label-column survived`` does (roles
inferred, the table layers in the model); scikit-learn's ``MLPClassifier()`` sits
behind the usual ``ColumnTransformer``: numeric columns ``SimpleImputer(median)`` +
``StandardScaler``, text columns ``SimpleImputer(most_frequent)`` +
``OneHotEncoder(handle_unknown="ignore")``, the identifier and the constant
dropped (the roles glassnet inferred). ``--datasets passengers`` runs that row
alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np

DATASETS = (
    "digits",
    "breast_cancer",
    "wine",
    "iris",
    "diabetes",
    "mnist",
    "catvnoncat",
    "passengers",
)

#: mixed-type tables made by a recipe: name -> (writer, label column)
MIXED = {"passengers": ("write_passengers", "survived")}


def write_passengers(path, m: int = 891, seed: int = 26):
    """A passenger table in the Titanic's image, ``m`` rows (the Titanic's 891):
    ``passenger`` (a text identifier), ``pclass`` 1-3 (25/25/50 %), ``sex``,
    ``age`` ~ N(30, 12) with 20 % of the cells empty, ``siblings`` 0-3, ``fare``
    = Gamma(2, 15) (4 - pclass), ``port`` S/C/Q (70/20/10 %, 3 % empty), ``deck``
    (always "E"), and ``survived`` yes/no drawn with probability
    sigmoid(2.5 [female] - 1.2 (pclass - 2) - 0.04 (age - 30) + 0.8 [port C]
    - 0.3 siblings - 0.4), the empty ages drawn like the others. Returns ``path``."""
    import csv

    rng = np.random.default_rng(seed)
    header = ["passenger", "pclass", "sex", "age", "siblings", "fare", "port", "deck"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, "survived"])
        for i in range(m):
            pclass = int(rng.choice([1, 2, 3], p=[0.25, 0.25, 0.5]))
            sex = str(rng.choice(["male", "female"]))
            age = rng.normal(30, 12)
            siblings = int(rng.choice(4, p=[0.6, 0.25, 0.1, 0.05]))
            port = str(rng.choice(["S", "C", "Q"], p=[0.7, 0.2, 0.1]))
            z = 2.5 * (sex == "female") - 1.2 * (pclass - 2) - 0.04 * (age - 30)
            z += 0.8 * (port == "C") - 0.3 * siblings - 0.4
            survived = "yes" if rng.random() < 1 / (1 + np.exp(-z)) else "no"
            writer.writerow(
                [
                    f"P{i:04d}",
                    pclass,
                    sex,
                    "" if rng.random() < 0.2 else f"{age:.0f}",
                    siblings,
                    f"{rng.gamma(2, 15) * (4 - pclass):.2f}",
                    "" if rng.random() < 0.03 else port,
                    "E",
                    survived,
                ]
            )
    return path


def source(name: str) -> tuple[str, str | None]:
    """``(data, label_column)`` of a row: a bundled name, or the CSV file of a
    mixed-type table, written by its recipe into a temporary folder."""
    if name not in MIXED:
        return name, None
    import tempfile
    from pathlib import Path

    writer, label = MIXED[name]
    folder = Path(tempfile.gettempdir()) / "glassnet-benchmarks"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.csv"
    globals()[writer](path)
    return str(path), label


def score(task: str, y_true, y_pred) -> float:
    if task == "regression":  # R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean(y))^2
        from glassnet.metrics import r2

        return r2(y_true, y_pred)
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def raw_splits(name: str, split_seed: int):
    """The raw (unscaled) rows of ``glassnet train``'s split of ``name``."""
    from glassnet.data import load_dataset, train_dev_test_split

    data, label = source(name)
    dataset = load_dataset(data, label_column=label)
    X = dataset.X.reshape(len(dataset.X), -1)
    X = X if X.dtype == object else X.astype(np.float64)  # a mixed table as read
    if dataset.X_test is not None:  # a data set that comes with its own test rows
        X_train, X_dev, _, y_train, y_dev, _ = train_dev_test_split(
            X, dataset.y, ratios=(0.8, 0.2, 0.0), rng=split_seed
        )
        X_test = dataset.X_test.reshape(len(dataset.X_test), -1).astype(np.float64)
        y_test = dataset.y_test
    else:
        X_train, X_dev, X_test, y_train, y_dev, y_test = train_dev_test_split(
            X, dataset.y, rng=split_seed
        )
    return dataset, (X_train, y_train), (X_dev, y_dev), (X_test, y_test)


def run_glassnet(name: str, seed: int = 0):
    """``glassnet train --data NAME --seed SEED`` with every other default; its test
    score."""
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data, train_run

    data, label = source(name)
    config = RunConfig(data=data, seed=seed, label_column=label)
    prepared = prepare_data(config)
    start = time.perf_counter()
    result = train_run(config, prepared=prepared, verbose=False)
    seconds = time.perf_counter() - start
    metric = "r2" if prepared["dataset"].task == "regression" else "accuracy"
    return result.results["test"][metric], seconds, result  # as glassnet reports


def run_sklearn(name: str, split_seed: int, seed: int = 0):
    """scikit-learn's default MLP behind its documented preprocessing."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    dataset, (X_train, y_train), _, (X_test, y_test) = raw_splits(name, split_seed)
    images = dataset.image_shape is not None
    if name in MIXED:
        scaler = column_transformer(dataset)
    else:
        scaler = (
            FunctionTransformer(lambda X: X / 255.0)
            if images and X_train.max() > 1.0
            else (FunctionTransformer() if images else StandardScaler())
        )
    task = dataset.task
    # random_state: the default (None) draws a new seed each run; here each of
    # --seeds runs has its own, like glassnet's --seed
    estimator = (
        MLPRegressor(random_state=seed)
        if task == "regression"
        else MLPClassifier(random_state=seed)
    )
    model = make_pipeline(scaler, estimator)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, np.ravel(y_train) if task != "multilabel" else y_train)
    seconds = time.perf_counter() - start
    return score(task, y_test, model.predict(X_test)), seconds, task


def column_transformer(dataset):
    """The usual ColumnTransformer for a mixed table: median-imputed, standardized
    numbers; most-frequent-imputed, one-hot text; the columns glassnet ignores
    (an identifier, a constant) dropped."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from glassnet.data.columns import Table, infer_roles

    roles = infer_roles(Table.from_rows(dataset.feature_names, dataset.X))
    numeric = [j for j, r in enumerate(roles) if r.role == "numeric"]
    text = [j for j, r in enumerate(roles) if r.role == "categorical"]
    as_float = FunctionTransformer(lambda X: np.asarray(X, dtype=np.float64))
    return ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(
                    as_float, SimpleImputer(strategy="median"), StandardScaler()
                ),
                numeric,
            ),
            (
                "text",
                make_pipeline(
                    SimpleImputer(missing_values=None, strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                text,
            ),
        ]
    )


def compare(name: str, split_seed: int, seeds: int) -> dict:
    """Both sides' mean test score over ``seeds`` runs (seeds 0, 1, ...)."""
    ours, theirs, our_seconds, their_seconds, task = [], [], [], [], None
    for seed in range(seeds):
        score_, seconds, _ = run_glassnet(name, seed)
        ours.append(score_)
        our_seconds.append(seconds)
        score_, seconds, task = run_sklearn(name, split_seed, seed)
        theirs.append(score_)
        their_seconds.append(seconds)
    verdict = "ok" if np.mean(ours) >= np.mean(theirs) else "BEHIND"
    if max(our_seconds + their_seconds) > 60:
        verdict += " (over a minute)"
    return {
        "data": name,
        "metric": "R^2" if task == "regression" else "accuracy",
        "glassnet": float(np.mean(ours)),
        "sklearn": float(np.mean(theirs)),
        "glassnet_runs": ours,
        "sklearn_runs": theirs,
        "glassnet_seconds": float(np.max(our_seconds)),
        "sklearn_seconds": float(np.max(their_seconds)),
        "verdict": verdict,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=int, default=3, help="runs per side (3)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    from glassnet.run_config import RunConfig

    split_seed = RunConfig(data="digits").split_seed
    rows = []
    print(f"mean test score over {args.seeds} seeds (min-max); slowest run's seconds")
    print(
        f"{'data set':<14}{'metric':<10}{'glassnet':>24}{'sklearn':>24}"
        f"{'glassnet s':>12}{'sklearn s':>11}  verdict"
    )
    for name in args.datasets.split(","):
        try:
            row = compare(name, split_seed, args.seeds)
        except (FileNotFoundError, ValueError) as error:
            print(f"{name:<14}skipped: {str(error).splitlines()[0]}")
            continue
        rows.append(row)
        shown = [
            f"{row[side]:.4f} ({min(row[side + '_runs']):.3f}-"
            f"{max(row[side + '_runs']):.3f})"
            for side in ("glassnet", "sklearn")
        ]
        print(
            f"{name:<14}{row['metric']:<10}{shown[0]:>24}{shown[1]:>24}"
            f"{row['glassnet_seconds']:>12.1f}{row['sklearn_seconds']:>11.1f}  "
            f"{row['verdict']}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return 0 if rows and all(r["verdict"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
