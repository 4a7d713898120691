"""Course 2, week 1: Initialization on the circles data (course-results.md rows 6-8).

A 2-10-5-1 network (ReLU, ReLU, sigmoid), full-batch gradient descent, learning rate
0.01, 15000 iterations, trained three times with different initial weights (b = 0):

* zeros: every W = 0 (row 6). Symmetry is never broken; published cost
  0.6931471805599453 throughout, train 0.5, test 0.5.
* large random: W = randn * 10 after ``np.random.seed(3)`` (row 7); cost inf at
  iteration 0 (an output saturated on a wrong label); train 0.83, test 0.86. The
  later costs depend on how the inf steps round, so only accuracies are checked.
  The notebook's ``inf`` is its formula ``-(1/m) sum y log a`` computed from A,
  where ``a`` rounded to exactly 0 or 1; glassnet computes the cost from the logits
  Z[L] by default (finite: 1773.59 here), so this run asks for the notes' formula
  by name, ``gn.BinaryCrossEntropy(stable=False)``. The gradients (dZ = A - Y) and
  so the weights and accuracies are the same either way.
* He: W = randn * sqrt(2 / n_prev) after ``np.random.seed(3)`` (row 8); cost
  0.8830537463419761 at 0, 0.6879825919728063 at 1000, 0.07357895962677366 at 14000;
  train 0.9933333333333333, test 0.96.

Data: ``make_circles(300, noise=.05, random_state=1)`` for training and
``(100, .05, random_state=2)`` for test, i.e. ``gn.data.load_dataset("circles")``.

Run: ``python examples/course/initialization.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
from course_common import main, print_costs, train_full_batch

import glassnet as gn

INITIALIZATIONS = ("zeros", "random", "he")


def _initializer(name):
    if name == "random":
        return gn.initializers.get("random", scale=10)
    return name


def train(name: str, data, *, verbose: bool = True) -> dict:
    """Train the 2-10-5-1 network with initialization ``name``; costs and accuracies.

    The large random init is trained with the notes' cost formula (the notebook's
    ``inf`` at iteration 0); ``cost_0_from_logits`` is glassnet's default, stable
    cost of the same initial weights.
    """
    model = gn.Sequential(
        [
            gn.Dense(10, "relu", initializer=_initializer(name)),
            gn.Dense(5, "relu", initializer=_initializer(name)),
            gn.Dense(1, "sigmoid", initializer=_initializer(name)),
        ]
    )
    model.build(2, rng=np.random.RandomState(3), dtype="float64")
    ZL, AL = model.forward_logits(data.X.T)
    cost_0_from_logits = model.compute_cost(AL, data.y.reshape(1, -1), logits=ZL)
    notes_formula = gn.BinaryCrossEntropy(stable=False)
    with warnings.catch_warnings():
        # large random init: the cost is inf for a while (reported by fit)
        warnings.simplefilter("ignore", RuntimeWarning)
        result = train_full_batch(
            model,
            data,
            iterations=15000,
            learning_rate=0.01,
            loss=notes_formula if name == "random" else None,
        )
    result["cost_0_from_logits"] = cost_0_from_logits
    if verbose:
        print(f"--- initialization = {name!r}")
        print_costs(result["costs"], 1000, "Cost after iteration {}: {!r}", verbose)
        print(f"On the train set: Accuracy: {result['train_accuracy']!r}")
        print(f"On the test set: Accuracy: {result['test_accuracy']!r}")
    return result


def run(data_dir=None, *, verbose: bool = True, initializations=INITIALIZATIONS):
    """``{"zeros": {...}, "random": {...}, "he": {...}}`` (data_dir is unused: the
    circles are generated)."""
    data = gn.data.load_dataset("circles")
    return {name: train(name, data, verbose=verbose) for name in initializations}


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
