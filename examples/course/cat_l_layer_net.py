"""Course 1, week 4: the L-layer cat classifier 12288-20-7-5-1 (results row 5).

[ReLU] x 3 then sigmoid; ``W = randn / sqrt(n_prev)`` drawn after
``np.random.seed(1)`` (here ``RandomState(1)`` and the "xavier" initializer), b = 0;
full-batch gradient descent, learning rate 0.0075, 2500 iterations.

Published (EO, 2018+ versions): cost 0.771749 at 0, 0.672053 at 100, 0.092878 at
2400, 0.088439 at 2499; train accuracy 0.985645933014, test 0.8. (The 2017 release
printed test 0.84: an earlier version of the course, not reproducible here.)

Run: ``python examples/course/cat_l_layer_net.py [--data-dir DIR]``.
"""

from __future__ import annotations

import numpy as np
from course_common import data_file, main, print_costs, train_full_batch

import glassnet as gn

LAYERS_DIMS = (12288, 20, 7, 5, 1)


def run(data_dir=None, *, verbose: bool = True) -> dict:
    """Train the 12288-20-7-5-1 network; return costs and accuracies (fractions)."""
    data = gn.data.load_dataset(data_file(data_dir, "catvnoncat/train_catvnoncat.h5"))
    hidden = [gn.Dense(n, "relu", initializer="xavier") for n in LAYERS_DIMS[1:-1]]
    model = gn.Sequential([*hidden, gn.Dense(1, "sigmoid", initializer="xavier")])
    model.build(LAYERS_DIMS[0], rng=np.random.RandomState(1), dtype="float64")
    result = train_full_batch(model, data, iterations=2500, learning_rate=0.0075)
    print_costs(result["costs"], 100, "Cost after iteration {}: {:f}", verbose)
    if verbose:
        print(f"train accuracy: {result['train_accuracy']!r}")
        print(f"test accuracy: {result['test_accuracy']!r}")
    return result


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
