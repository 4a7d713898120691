"""Course 1, week 3: planar data classification with one hidden layer
(course-results.md rows 2, 3, 3b and 3c).

Data: the course's planar "flower" (``load_planar_dataset()``, 400 points in two
petals drawn after ``np.random.seed(1)``), i.e. ``gn.data.load_dataset("flower")``.
Accuracies are measured on the training set, as in the notebook, in percent:
``(Y . p + (1 - Y) . (1 - p)) / m * 100``, printed there with ``%d``.

* Row 2, the logistic-regression baseline: scikit-learn's ``LogisticRegressionCV()``
  reaches 47 % (the notebook's own call), and so does the same linear model in
  glassnet, ``Sequential([Dense(1, "sigmoid", initializer="zeros")])`` trained by
  gradient descent (lr 1.2, 1000 iterations): the petals are not linearly
  separable.
* Row 3 (K/A versions): the 2-4-1 network, tanh hidden layer, sigmoid output;
  ``W = randn * 0.01`` drawn after ``np.random.seed(2)`` (``nn_model`` seeds 3,
  then ``initialize_parameters`` seeds 2 again), W1 then W2, b = 0; full-batch
  gradient descent, lr 1.2, 10000 iterations. Published: cost 0.693048 at 0,
  0.288083 at 1000 (P) and 0.218607 at 9000 (EO); accuracy 90 % (90.75 printed
  with ``%d``). The cost at 9000 is 0.218554 here (an independent NumPy
  re-implementation gets 0.218560): lr 1.2 oscillates late in training and the
  rounding of each run grows, so row 3 is checked to 1e-4 there; up to 7000
  (0.217504) the costs agree to the 6 printed decimals.
* Row 3b: the hidden-size sweep, 5000 iterations, n_h in (1, 2, 3, 4, 5, 20, 50),
  same seed: 67.5, 67.25, 90.75, 90.5, 91.25 % as published (K); n_h = 20 gives
  90.5 and 50 gives 90.75 here, as in the independent re-implementation and, for
  50, in the A version (K printed 90.0 and 90.25, from a run that no one
  reproduces).
* Row 3c (U, the current version): ``initialize_parameters`` no longer seeds, so
  the weights come from ``nn_model``'s ``np.random.seed(3)``; 10000 iterations,
  accuracy 90 % (90.75).

Run: ``python examples/course/planar_data.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
from course_common import main, print_costs, train_full_batch

import glassnet as gn

HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)


def percent(predictions, y) -> float:
    """The notebook's ``(Y . p + (1 - Y) . (1 - p)) / m * 100``."""
    y, predictions = np.asarray(y), np.asarray(predictions)
    right = np.dot(y, predictions) + np.dot(1 - y, 1 - predictions)
    return float(right / y.size * 100)


def logistic_regression(data, *, verbose: bool = True) -> dict:
    """Row 2: scikit-learn's ``LogisticRegressionCV()`` (the notebook's baseline)
    and the same linear model trained by glassnet; accuracies in percent."""
    from sklearn.linear_model import LogisticRegressionCV

    with warnings.catch_warnings():  # newer versions announce new defaults
        warnings.simplefilter("ignore", FutureWarning)
        baseline = LogisticRegressionCV().fit(data.X, data.y)
    model = gn.Sequential([gn.Dense(1, "sigmoid", initializer="zeros")])
    model.build(2, rng=0, dtype="float64")
    result = train_full_batch(
        model, data, iterations=1000, learning_rate=1.2, score=percent
    )
    result["sklearn_accuracy"] = percent(baseline.predict(data.X), data.y)
    if verbose:
        sklearn, ours = result["sklearn_accuracy"], result["train_accuracy"]
        print(  # the notebook prints with %d, which truncates
            f"Accuracy of logistic regression: {int(sklearn)} % (scikit-learn), "
            f"{int(ours)} % (glassnet)"
        )
    return result


def two_layer(
    data, n_h: int = 4, *, seed: int = 2, iterations: int = 10000, verbose=False
) -> dict:
    """The 2-n_h-1 network (tanh, sigmoid), ``W = randn * 0.01`` after
    ``np.random.seed(seed)``, lr 1.2; costs and the training accuracy (%)."""
    model = gn.Sequential(
        [
            gn.Dense(n_h, "tanh", initializer="random"),
            gn.Dense(1, "sigmoid", initializer="random"),
        ]
    )
    model.build(2, rng=np.random.RandomState(seed), dtype="float64")
    result = train_full_batch(
        model, data, iterations=iterations, learning_rate=1.2, score=percent
    )
    print_costs(result["costs"], 1000, "Cost after iteration {}: {:f}", verbose)
    return result


def run(data_dir=None, *, verbose: bool = True, hidden_sizes=HIDDEN_SIZES) -> dict:
    """``{"logistic_regression": {...}, "two_layer": {...}, "hidden_sizes":
    {n_h: accuracy %}, "current_version": {...}}`` (rows 2, 3, 3b, 3c; data_dir
    is unused: the flower is generated)."""
    data = gn.data.load_dataset("flower")
    results = {"logistic_regression": logistic_regression(data, verbose=verbose)}
    if verbose:
        print("--- row 3: n_h = 4, seed 2 (K/A)")
    results["two_layer"] = two_layer(data, verbose=verbose)
    results["hidden_sizes"] = {}
    for n_h in hidden_sizes:
        accuracy = two_layer(data, n_h, iterations=5000)["train_accuracy"]
        results["hidden_sizes"][n_h] = accuracy
        if verbose:
            print(f"Accuracy for {n_h} hidden units: {accuracy} %")
    if verbose:
        print("--- row 3c: n_h = 4, seed 3 (U)")
    results["current_version"] = two_layer(data, seed=3, verbose=verbose)
    if verbose:
        for key in ("two_layer", "current_version"):
            accuracy = results[key]["train_accuracy"]
            print(f"Accuracy ({key}): {int(accuracy)}% ({accuracy})")
    return results


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
