"""Course 1, week 4: the 2-layer cat classifier, 12288-7-1 (course-results.md row 4).

ReLU then sigmoid; ``W = randn * 0.01`` drawn after ``np.random.seed(1)`` (W1 then
W2; here ``RandomState(1)`` and the "random" initializer), b = 0; full-batch
gradient descent, learning rate 0.0075, 2500 iterations.

Published (EO, 2018+ versions): cost 0.6930497356599888 at 0, 0.6464320953428849 at
100, 0.048554785628770206 at 2400, 0.04421498215868956 at 2499; train accuracy 1.0
(the notebook's ``sum((p == y) / m)`` prints 0.9999999999999998), test 0.72.

Run: ``python examples/course/cat_two_layer_net.py [--data-dir DIR]``.
"""

from __future__ import annotations

import numpy as np
from course_common import data_file, main, print_costs, train_full_batch

import glassnet as gn


def run(data_dir=None, *, verbose: bool = True) -> dict:
    """Train the 12288-7-1 network; return costs and accuracies (fractions)."""
    data = gn.data.load_dataset(data_file(data_dir, "catvnoncat/train_catvnoncat.h5"))
    model = gn.Sequential(
        [
            gn.Dense(7, "relu", initializer="random"),
            gn.Dense(1, "sigmoid", initializer="random"),
        ]
    )
    model.build(data.X.shape[1], rng=np.random.RandomState(1), dtype="float64")
    result = train_full_batch(model, data, iterations=2500, learning_rate=0.0075)
    print_costs(result["costs"], 100, "Cost after iteration {}: {!r}", verbose)
    if verbose:
        print(f"train accuracy: {result['train_accuracy']!r}")
        print(f"test accuracy: {result['test_accuracy']!r}")
    return result


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
