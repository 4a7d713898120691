"""How many ReLU units the MLP-MNIST benchmark's network kills, against real MNIST.

A unit whose Z <= 0 on every example of a mini-batch has dZ = 0 for that batch, so
its row of dW, its row of dA_prev and the next layer's column of W contribute exact
zeros: a product could leave them out and give the same numbers. This script
measures how much of the benchmark's work that would remove, to decide whether such
a skip is worth building (docs/architecture.md, D23). It trains the benchmark's
784-512-256-10 network with the benchmark's own course loop (Adam 1e-3, batch 1024,
the same initial weights) on

- the benchmark's data: uniform pixel-like inputs in [0, 1) with random labels;
- real MNIST (``../shared/data/mnist/mnist_5k.csv.gz``, 5000 images scaled to
  [0, 1), when present), for as many steps as the benchmark's three epochs take;

and prints, every few steps, the share of each hidden layer's units that are zero on
the whole batch, and the share of the step's multiply-adds a skip could leave out.

    python benchmarks/dead_units.py           # about 15 s
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlp_mnist  # noqa: E402  (the benchmark's data, weights and course loop)

SIZES = mlp_mnist.LAYERS["mlp"]
BATCH = 1024
STEPS = 3 * -(-60000 // BATCH)  # the benchmark's three epochs
MNIST = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "..",
    "shared",
    "data",
    "mnist",
    "mnist_5k.csv.gz",
)


def multiply_adds(dead_1: float, dead_2: float, m: int = BATCH) -> tuple[float, float]:
    """A step's multiply-adds, all of them and with dead units left out.

    Full: forward W[l] A[l-1] and dW[l] = dZ[l] A[l-1]^T for l = 1..3, and
    dA[l-1] = W[l]^T dZ[l] for l = 2, 3. With a share d of layer l's units dead, the
    forward Z[1] is still needed whole (it says which units are dead); every other
    product shrinks to the live units along each of its dimensions."""
    n0, n1, n2, n3 = SIZES
    a1, a2 = n1 * (1 - dead_1), n2 * (1 - dead_2)
    full = 2 * (n1 * n0 + n2 * n1 + n3 * n2) + n1 * n2 + n2 * n3
    skipped = n1 * n0 + n2 * a1 + n3 * a2 + a1 * n0 + a2 * a1 + n3 * a2 + a1 * a2
    skipped += a2 * n3
    return full * m, skipped * m


def dead_shares(params, A) -> tuple[float, float]:
    """The share of each hidden layer's units with Z <= 0 on every column of A."""
    (W1, b1), (W2, b2) = params[0], params[1]
    Z1 = W1 @ A + b1
    Z2 = W2 @ np.maximum(Z1, 0) + b2
    return float(np.mean((Z1 <= 0).all(axis=1))), float(np.mean((Z2 <= 0).all(axis=1)))


def survey(name: str, X, y, steps: int, every: int) -> None:
    print(f"\n{name}: {len(X)} examples, batch {BATCH}, {steps} steps")
    print("  step  dead in layer 1  dead in layer 2  multiply-adds a skip leaves out")
    params = mlp_mnist.initial_weights(SIZES)
    moments = mlp_mnist.adam_moments(params)
    rng = np.random.default_rng(mlp_mnist.SEED + 1)
    order, first = rng.permutation(len(X)), 0
    for step in range(steps):
        if first >= len(X):
            order, first = rng.permutation(len(X)), 0
        index = order[first : first + BATCH]
        first += BATCH
        A = X[index].T
        if step % every == 0 or step == steps - 1:
            dead_1, dead_2 = dead_shares(params, A)
            full, skipped = multiply_adds(dead_1, dead_2, len(index))
            print(
                f"  {step:4d}  {dead_1:15.1%}  {dead_2:15.1%}  {1 - skipped / full:.1%}"
            )
        mlp_mnist.course_loop(params, [(A, y[index])], moments)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--every", type=int, default=20, help="print every N steps")
    parser.add_argument("--examples", type=int, default=60000, help="benchmark data")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.every < 1 or args.examples < 1:
        parser.error("--steps, --every and --examples must be positive")
    X, y = mlp_mnist.make_data(args.examples)
    survey(
        "benchmark data (uniform inputs, random labels)", X, y, args.steps, args.every
    )
    if os.path.exists(MNIST):
        with gzip.open(MNIST) as file:
            table = np.loadtxt(file, delimiter=",", dtype=np.float32)
        X, y = table[:, :-1] / 255, table[:, -1].astype(int)
        survey("real MNIST (mnist_5k)", X, y, args.steps, args.every)
    else:
        print(f"\nreal MNIST skipped: {os.path.normpath(MNIST)} is absent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
