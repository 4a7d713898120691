"""Course 1, week 2: logistic regression on cat / non-cat (course-results.md row 1).

``w = 0, b = 0``; sigmoid; full-batch gradient descent, learning rate 0.005, 2000
iterations; X is the flattened (64, 64, 3) image / 255. Logistic regression is the
one-unit network ``Sequential([Dense(1, "sigmoid", initializer="zeros")])``.

Published (EO + P): cost 0.693147 at iteration 0, 0.584508 at 100, 0.140872 at
1900; train accuracy 99.04306220095694 %, test accuracy 70.0 %.

Run: ``python examples/course/cat_logistic_regression.py [--data-dir DIR]``.
"""

from __future__ import annotations

import numpy as np
from course_common import (
    course_accuracy_percent,
    data_file,
    main,
    print_costs,
    train_full_batch,
)

import glassnet as gn


def run(data_dir=None, *, verbose: bool = True) -> dict:
    """Train the course's logistic regression; return costs and accuracies (%)."""
    data = gn.data.load_dataset(data_file(data_dir, "catvnoncat/train_catvnoncat.h5"))
    model = gn.Sequential([gn.Dense(1, "sigmoid", initializer="zeros")])
    model.build(data.X.shape[1], rng=np.random.RandomState(1), dtype="float64")
    result = train_full_batch(
        model, data, iterations=2000, learning_rate=0.005, score=course_accuracy_percent
    )
    print_costs(result["costs"], 100, "Cost after iteration {}: {:f}", verbose)
    if verbose:
        print(f"train accuracy: {result['train_accuracy']} %")
        print(f"test accuracy: {result['test_accuracy']} %")
    return result


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
