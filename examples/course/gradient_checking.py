"""Course 2, week 1: Gradient checking (course-results.md rows 12, 12b and 13).

1-D (rows 12, 12b): ``J(theta) = theta * x`` at theta = 4, so ``dJ/dtheta = x``.
``gn.numerical_gradient`` takes the centred difference with epsilon = 1e-7 and
``gn.relative_difference`` gives ``||g - g~|| / (||g|| + ||g~||)``. Published:
2.919335883291695e-10 for x = 2 (old versions; EO 2.9193358103083e-10) and
7.814075313343006e-11 for x = 3 (current version).

N-D (row 13): the course's test case. After ``np.random.seed(1)``: X = randn(4, 3),
Y = [1, 1, 0], W1 randn(5, 4), b1 randn(5, 1), W2 randn(3, 5), b2 randn(3, 1),
W3 randn(1, 3), b3 randn(1, 1); a 4-5-3-1 network (ReLU, ReLU, sigmoid), mean
cross-entropy. The notebook's backward pass has two deliberate bugs: dW2 is
doubled and db1 uses 4/m instead of 1/m. Planting them in the model's own
gradients (``model.forward``/``model.backward``/``model.grads``) and passing them as
``gradients=`` to ``gn.gradient_check`` gives the published 0.2850931567761623;
the model's correct gradients give about 1.19e-07 (A prints 1.1890913023330276e-07).

Run: ``python examples/course/gradient_checking.py``.
"""

from __future__ import annotations

import numpy as np
from course_common import main

import glassnet as gn


def one_dimensional(x: float, theta: float = 4.0, epsilon: float = 1e-7) -> float:
    """The difference between dJ/dtheta = x and its two-sided approximation."""
    theta = np.array([theta])

    def J(value):
        return float(value[0] * x)

    approximation = gn.numerical_gradient(J, theta, epsilon)
    return gn.relative_difference(np.array([x]), approximation)


def course_test_case():
    """``X (4, 3)``, ``Y (1, 3)`` (columns are examples) and the parameters."""
    rng = np.random.RandomState(1)
    X = rng.randn(4, 3)
    Y = np.array([[1, 1, 0]])
    weights = {}
    for l, (n, n_prev) in enumerate(((5, 4), (3, 5), (1, 3)), start=1):
        weights[f"W{l}"] = rng.randn(n, n_prev)
        weights[f"b{l}"] = rng.randn(n, 1)
    return X, Y, weights


def n_dimensional():
    """``(buggy, fixed)`` gradient check results for the course's test case."""
    X, Y, weights = course_test_case()
    model = gn.Sequential(
        [gn.Dense(5, "relu"), gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")]
    )
    model.build(4, rng=0, dtype="float64")
    model.set_weights(weights)
    AL = model.forward(X, training=True)
    model.backward(AL, Y)
    buggy = {key: value.copy() for key, value in model.grads.items()}
    buggy["W2"] *= 2  # bug 1: dW2 = 1/m dZ2 A1^T * 2
    buggy["b1"] *= 4  # bug 2: db1 = 4/m sum(dZ1)
    return (
        gn.gradient_check(model, X, Y, gradients=buggy),
        gn.gradient_check(model, X, Y),
    )


def run(data_dir=None, *, verbose: bool = True) -> dict:
    """The four differences (data_dir is unused: the data are generated)."""
    old, current = one_dimensional(2.0), one_dimensional(3.0)
    buggy, fixed = n_dimensional()
    if verbose:
        print(f"1-D, x = 2: difference = {old!r}")
        print(f"1-D, x = 3: difference = {current!r}")
        print("N-D, the notebook's backward pass (two planted bugs):")
        print(buggy.table())
        print("N-D, glassnet's backward pass:")
        print(fixed.table())
        print(f"buggy difference = {buggy.difference!r}")
        print(f"fixed difference = {fixed.difference!r}")
    return {
        "one_d_x2": old,
        "one_d_x3": current,
        "n_d_buggy": buggy.difference,
        "n_d_fixed": fixed.difference,
        "n_d_buggy_per_parameter": buggy.per_parameter,
        "n_d_fixed_per_parameter": fixed.per_parameter,
    }


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
