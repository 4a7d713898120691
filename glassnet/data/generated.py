"""The course's generated 2-D datasets: moons, circles and the planar "flower".

Each ``make_*`` returns ``(X, y)`` with examples as rows: ``X`` (m, 2) float64 and
``y`` (m,) int64 labels 0/1.

About ``rng``: in these three functions an ``int`` seed means the legacy
``numpy.random.RandomState(seed)`` stream, because that is what scikit-learn's
``random_state=seed`` and the course's ``np.random.seed(seed)`` draw from. So
``make_moons(300, noise=0.2, rng=3)`` is exactly the course's
``sklearn.datasets.make_moons(n_samples=300, noise=.2, random_state=3)`` and
``make_flower(rng=1)`` is the course's ``load_planar_dataset()``. A
``RandomState`` is used as is; a ``Generator`` seeds a ``RandomState`` for
scikit-learn (moons, circles) or is drawn from directly (flower); ``None`` draws from
fresh OS entropy. Nothing touches the global ``np.random`` state.
"""

from __future__ import annotations

import numbers

import numpy as np

from glassnet.backend import standard_normal
from glassnet.validation import check_in_range

__all__ = ["make_moons", "make_circles", "make_flower"]


def _legacy_rng(rng) -> np.random.RandomState | np.random.Generator:
    """int -> RandomState(int); RandomState/Generator as is; None -> fresh one."""
    if rng is None:
        return np.random.RandomState()
    if isinstance(rng, (np.random.RandomState, np.random.Generator)):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if not 0 <= rng < 2**32:
            raise ValueError(f"rng seed must be in [0, 2**32); received rng={rng}")
        return np.random.RandomState(int(rng))
    raise TypeError(
        "rng must be None, an int seed, a numpy.random.Generator or a "
        f"numpy.random.RandomState; received {type(rng).__name__}"
    )


def _sklearn_random_state(rng) -> np.random.RandomState:
    rng = _legacy_rng(rng)
    if isinstance(rng, np.random.Generator):
        return np.random.RandomState(int(rng.integers(0, 2**32, dtype=np.uint64)))
    return rng


def _check_common(n_samples, noise, min_samples: int = 2):
    check_in_range("n_samples", n_samples, min_samples, None, integer=True)
    check_in_range("noise", noise, 0, None)


def make_moons(n_samples: int = 300, *, noise: float = 0.2, rng=None):
    """Two interleaving half circles (scikit-learn's ``make_moons``), rows ``(m, 2)``.

    The course (C2W2 Optimization) uses ``n_samples=300, noise=0.2, rng=3``;
    its first row is ``(-0.21687013, 1.01544937)``.
    """
    from sklearn.datasets import make_moons as sk_make_moons

    _check_common(n_samples, noise)
    X, y = sk_make_moons(
        n_samples=int(n_samples), noise=noise, random_state=_sklearn_random_state(rng)
    )
    return X.astype(np.float64), y.astype(np.int64)


def make_circles(
    n_samples: int = 300, *, noise: float = 0.05, factor: float = 0.8, rng=None
):
    """A small circle (label 1) inside a big one (label 0), rows ``(m, 2)``.

    ``factor`` is the inner radius over the outer radius, in (0, 1). The course
    (C2W1 Initialization) trains on ``make_circles(300, noise=0.05, rng=1)`` and
    tests on ``make_circles(100, noise=0.05, rng=2)``.
    """
    from sklearn.datasets import make_circles as sk_make_circles

    _check_common(n_samples, noise)
    check_in_range("factor", factor, 0, 1, low_inclusive=False, high_inclusive=False)
    X, y = sk_make_circles(
        n_samples=int(n_samples),
        noise=noise,
        factor=factor,
        random_state=_sklearn_random_state(rng),
    )
    return X.astype(np.float64), y.astype(np.int64)


def make_flower(
    n_samples: int = 400, *, noise: float = 0.2, petal_length: float = 4.0, rng=None
):
    """The course's planar "flower" (C1W3 ``load_planar_dataset``), rows ``(m, 2)``.

    For class ``j`` in {0, 1} (``N = m/2`` points each, class 0 first; an odd ``m``
    gives class 0 the extra point)::

        t = linspace(j*3.12, (j+1)*3.12, N) + noise * randn(N)     # angle
        r = a * sin(4 t) + noise * randn(N)                          # radius
        x = (r sin t, r cos t),  label j

    with ``a = petal_length``. ``rng=1`` reproduces the course's ``np.random.seed(1)``.
    """
    _check_common(n_samples, noise)
    check_in_range("petal_length", petal_length, 0, None, low_inclusive=False)
    generator = _legacy_rng(rng)
    m = int(n_samples)
    sizes = (m - m // 2, m // 2)
    X = np.zeros((m, 2))
    y = np.zeros(m, dtype=np.int64)
    start = 0
    for j, N in enumerate(sizes):
        rows = slice(start, start + N)
        t = (
            np.linspace(j * 3.12, (j + 1) * 3.12, N)
            + standard_normal(generator, (N,)) * noise
        )
        r = petal_length * np.sin(4 * t) + standard_normal(generator, (N,)) * noise
        X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[rows] = j
        start += N
    return X, y
