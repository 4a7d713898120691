"""Course 2, week 2: Optimization methods on the moons (course-results.md row 15).

The current (2023) notebook: a 2-5-2-1 network (ReLU, ReLU, sigmoid), He
initialization (``randn * sqrt(2 / n_prev)`` after ``np.random.seed(3)``), b = 0;
mini-batches of 64 reshuffled before every epoch with ``np.random.seed(10 + epoch +
1)`` then ``np.random.permutation(m)`` (passed to fit as ``shuffle=callable``);
learning rate 0.0007; 5000 epochs; three optimizers:

* gradient descent: cost 0.702405 at epoch 0, 0.668101 at 1000, 0.573367 at 4000;
  accuracy 0.7166666666666667;
* momentum, beta = 0.9: 0.702413, 0.668167, 0.573444; accuracy 0.7166666666666667;
* Adam, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 (outside the sqrt, t counting
  mini-batch updates): 0.702166, 0.167845, 0.136066; accuracy 0.9433333333333334.

The printed cost is the epoch's total loss / m, which is what ``fit`` records
(the mean of the mini-batch costs weighted by their sizes). Accuracy is on the
training set, as in the notebook.

Data: ``make_moons(300, noise=.2, random_state=3)`` = ``load_dataset("moons")``.

Run: ``python examples/course/optimization_methods.py``.
"""

from __future__ import annotations

import numpy as np
from course_common import Timer, accuracy, main, print_costs

import glassnet as gn

OPTIMIZERS = ("gd", "momentum", "adam")
EPOCHS = 5000


def course_shuffle(epoch: int, m: int) -> np.ndarray:
    """The notebook's order for ``epoch``: seed 10 + epoch + 1, then permutation(m)."""
    return np.random.RandomState(10 + epoch + 1).permutation(m)


def make_optimizer(name: str, learning_rate: float):
    if name == "gd":
        return gn.GradientDescent(learning_rate)
    if name == "momentum":
        return gn.Momentum(learning_rate, beta=0.9)
    if name == "adam":
        return gn.Adam(learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}; received {name!r}")


def train_moons(
    data,
    optimizer,
    *,
    schedule=None,
    epochs: int = EPOCHS,
    label: str = "",
    verbose: bool = True,
) -> dict:
    """Train the notebook's 2-5-2-1 model on the moons; costs and train accuracy."""
    model = gn.Sequential(
        [
            gn.Dense(5, "relu", initializer="he"),
            gn.Dense(2, "relu", initializer="he"),
            gn.Dense(1, "sigmoid", initializer="he"),
        ]
    )
    model.build(2, rng=np.random.RandomState(3), dtype="float64")
    with Timer() as timer:
        history = model.fit(
            data.X,
            data.y,
            epochs=epochs,
            batch_size=64,
            optimizer=optimizer,
            schedule=schedule,
            shuffle=course_shuffle,
            verbose=False,
        )
    costs = list(history["cost"])
    train_accuracy = accuracy(model.predict(data.X), data.y)
    if verbose:
        print(f"--- {label}")
        print_costs(costs, 1000, "Cost after epoch {}: {:f}", verbose)
        print(f"Accuracy: {train_accuracy!r}")
    return {
        "costs": costs,
        "learning_rates": list(history["learning_rate"]),
        "train_accuracy": train_accuracy,
        "seconds": timer.seconds,
        "history": history,
    }


def run(
    data_dir=None, *, verbose: bool = True, optimizers=OPTIMIZERS, plot=None
) -> dict:
    """``{"gd": {...}, "momentum": {...}, "adam": {...}}`` (data_dir is unused).

    ``plot``: a PNG path for the three cost curves on one chart
    (:func:`glassnet.plots.plot_runs`); the command line writes
    ``moons_optimizers.png``.
    """
    data = gn.data.load_dataset("moons")
    results = {
        name: train_moons(
            data,
            make_optimizer(name, 0.0007),
            label=f"optimizer = {name!r}",
            verbose=verbose,
        )
        for name in optimizers
    }
    if plot is not None:
        histories = {name: result["history"] for name, result in results.items()}
        gn.plots.plot_runs(histories, plot, title="moons: cost per epoch")
        if verbose:
            print(f"cost curves: {plot}")
    return results


if __name__ == "__main__":
    main(
        lambda **options: run(plot="moons_optimizers.png", **options),
        __doc__.splitlines()[0],
    )
