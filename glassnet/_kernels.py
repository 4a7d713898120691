"""Optional compiled loops for the training fast path (``glassnet/_fastops.c``).

The extension is built when glassnet is installed on a machine with a C compiler.
Each function is the NumPy code it replaces written as one loop over contiguous
memory, with the same floating-point operations in the same order (no fused
multiply-adds), so the results are bitwise equal (``tests/test_fastops.py``,
``tests/test_optimizers.py``); it runs on the calling thread, vectorized::

    gradient_descent(W, dW, alpha)                  the optimizers' updates over
    momentum(W, dW, v, beta, c, alpha)              the flat parameter buffer
    rmsprop(W, dW, s, beta2, c, alpha, eps)         (see their classes for the
    adam(W, dW, v, s, beta1, c1, beta2, c2, k1, alpha, k2, eps)   equations)
    bias_relu(Z, b)           Z = max(Z + b, 0), Z (n, m), b (n, 1), in place
    relu_backward(dA, A)      dA = dA * (A > 0), in place
    relu_backward_sum(dA, A, db)   the same, and db = sum(dA, axis=1) (NumPy's
                              pairwise summation) in the same pass

Arrays must be C-contiguous, must not overlap, and share one dtype, float32 or
float64. Without the
extension, or with ``GLASSNET_NO_COMPILED=1``, ``AVAILABLE`` is False and the callers
run their NumPy code.
"""

from __future__ import annotations

import os

import numpy as np

try:
    if os.environ.get("GLASSNET_NO_COMPILED"):
        raise ImportError("disabled by GLASSNET_NO_COMPILED")
    from glassnet._fastops import (
        adam,
        bias_relu,
        gradient_descent,
        momentum,
        relu_backward,
        relu_backward_sum,
        rmsprop,
    )
except ImportError:  # not built (no C compiler at install) or disabled
    adam = bias_relu = gradient_descent = momentum = rmsprop = None
    relu_backward = relu_backward_sum = None

#: whether the compiled loops can be used
AVAILABLE = adam is not None

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def usable(*arrays) -> bool:
    """True when the compiled loops can take ``arrays``: NumPy, C-contiguous, one
    shape and one dtype (float32 or float64)."""
    if not AVAILABLE:
        return False
    first = arrays[0]
    if not isinstance(first, np.ndarray) or first.dtype not in _FLOATS:
        return False
    return all(
        isinstance(a, np.ndarray)
        and a.flags.c_contiguous
        and a.dtype == first.dtype
        and a.shape == first.shape
        for a in arrays
    )
