"""Course 2, week 1: Regularization on the "football" data (results rows 9-11).

A 2-20-3-1 network (ReLU, ReLU, sigmoid); ``W = randn / sqrt(n_prev)`` after
``np.random.seed(3)`` (here ``RandomState(3)`` and the "xavier" initializer), b = 0;
full-batch gradient descent, learning rate 0.3, 30000 iterations; trained three ways:

* none (row 9): cost 0.6557412523481002 at 0, 0.16329987525724216 at 10000,
  0.13851642423255986 at 20000; train 0.9478672985781991, test 0.915.
* L2, lambd = 0.7 (row 10): ``fit(regularizer=gn.L2(0.7))``; cost
  0.6974484493131264, 0.2684918873282239, 0.2680916337127301; train
  0.9383886255924171, test 0.93.
* dropout, keep_prob = 0.86 on both hidden layers (row 11): cost
  0.6543912405149825, 0.06101698657490559, 0.060582435798513114; train
  0.9289099526066351, test 0.95. The notebook calls ``np.random.seed(1)`` at the
  start of every forward pass and draws D1 then D2 with ``np.random.rand``, so
  every iteration uses the same masks. Here both Dropout layers share one
  ``RandomState``, and a callback reseeds it with ``.seed(1)`` before each batch.

Data: ``football/data.mat`` (211 train, 200 test).

Run: ``python examples/course/regularization.py [--data-dir DIR]``.
"""

from __future__ import annotations

import numpy as np
from course_common import data_file, main, print_costs, train_full_batch

import glassnet as gn

VARIANTS = ("none", "l2", "dropout")


class ReseedBeforeEachPass(gn.Callback):
    """``rng.seed(seed)`` before every forward pass, like the notebook."""

    def __init__(self, rng: np.random.RandomState, seed: int = 1):
        self.rng, self.seed = rng, seed

    def on_batch_begin(self, batch, logs=None):
        self.rng.seed(self.seed)


def train(variant: str, data, *, verbose: bool = True) -> dict:
    """Train the 2-20-3-1 network without regularization, with L2 or with dropout."""
    options = {}
    if variant == "dropout":
        masks = np.random.RandomState(1)
        layers = [
            gn.Dense(20, "relu", initializer="xavier"),
            gn.Dropout(0.86, rng=masks),
            gn.Dense(3, "relu", initializer="xavier"),
            gn.Dropout(0.86, rng=masks),
            gn.Dense(1, "sigmoid", initializer="xavier"),
        ]
        options["callbacks"] = [ReseedBeforeEachPass(masks, 1)]
    else:
        layers = [
            gn.Dense(20, "relu", initializer="xavier"),
            gn.Dense(3, "relu", initializer="xavier"),
            gn.Dense(1, "sigmoid", initializer="xavier"),
        ]
        if variant == "l2":
            options["regularizer"] = gn.L2(0.7)
        elif variant != "none":
            raise ValueError(f"variant must be one of {VARIANTS}; received {variant!r}")
    model = gn.Sequential(layers)
    model.build(2, rng=np.random.RandomState(3), dtype="float64")
    result = train_full_batch(
        model, data, iterations=30000, learning_rate=0.3, **options
    )
    if verbose:
        print(f"--- regularization = {variant!r}")
        print_costs(result["costs"], 10000, "Cost after iteration {}: {!r}", verbose)
        print(f"On the training set: Accuracy: {result['train_accuracy']!r}")
        print(f"On the test set: Accuracy: {result['test_accuracy']!r}")
    return result


def run(data_dir=None, *, verbose: bool = True, variants=VARIANTS) -> dict:
    """``{"none": {...}, "l2": {...}, "dropout": {...}}``."""
    data = gn.data.load_dataset(data_file(data_dir, "football/data.mat"))
    return {variant: train(variant, data, verbose=verbose) for variant in variants}


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
