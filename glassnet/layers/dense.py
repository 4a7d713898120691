"""Fully connected layer: ``Z[l] = W[l] A[l-1] + b[l]``, ``A[l] = g[l](Z[l])``.

Shapes: ``W[l] (n[l], n[l-1])``, ``b[l] (n[l], 1)``, ``A[l-1] (n[l-1], m)``,
``Z[l], A[l] (n[l], m)``. Backward, from ``dA[l]`` (or ``dZ[l]`` given directly by
the loss for the output layer)::

    dZ[l]   = dA[l] * g'(Z[l])
    dW[l]   = (1/m) dZ[l] A[l-1]^T   (+ the regularizer's term)
    db[l]   = (1/m) sum(dZ[l], axis=1, keepdims=True)
    dA[l-1] = W[l]^T dZ[l]
"""

from __future__ import annotations

import numpy as np

from glassnet import _kernels, activations, initializers
from glassnet import regularizers as regularizers_module
from glassnet.backend import get_namespace
from glassnet.layers.base import (
    Layer,
    boolean,
    check_flag,
    integer,
    named_options,
    regularizer_or_none,
)
from glassnet.validation import check_positive_int


class Dense(Layer):
    """``Dense(units, activation="linear", *, initializer=None, use_bias=True)``.

    ``initializer`` (a name of :mod:`glassnet.initializers`, e.g. ``"he"``,
    ``"glorot_uniform"``, or an Initializer) defaults to ``"he"`` for relu /
    leaky_relu and ``"xavier"`` otherwise; a model-wide ``Sequential(...,
    initializer=...)`` replaces that default. ``regularizer`` (L2 / L1) applies to
    this layer's W only.
    """

    param_names = ("W", "b")
    config_fields = {
        "units": integer,
        "activation": named_options,
        "initializer": named_options,
        "use_bias": boolean,
        "regularizer": regularizer_or_none,
        **Layer.config_fields,
    }

    def __init__(
        self,
        units: int,
        activation="linear",
        *,
        initializer=None,
        use_bias: bool = True,
        regularizer=None,
        name: str | None = None,
        trainable: bool = True,
    ):
        super().__init__(name=name, trainable=trainable)
        self.units = check_positive_int("units", units)
        self.activation = activations.get(activation)
        #: True when no initializer was given (a model-wide one may replace it)
        self.default_initializer = initializer is None
        if initializer is None:
            relu_like = self.activation.name in ("relu", "leaky_relu")
            initializer = "he" if relu_like else "xavier"
        self.initializer = initializers.get(initializer)
        self.use_bias = check_flag("use_bias", use_bias)
        self.regularizer = regularizers_module.get(regularizer)
        self.param_names = ("W", "b") if self.use_bias else ("W",)
        #: training fast path (switched on by fit, and off in its ``finally``): Z, A
        #: and dA_prev live in reused buffers, the activation is applied in place
        #: and its derivative taken from A
        self.reuse_buffers = False
        self._buffers: dict = {}

    def build(self, n_prev: int, rng, dtype, *, initialize: bool = True) -> int:
        super().build(n_prev, rng, dtype)
        if initialize:
            W = self.initializer((self.units, int(n_prev)), rng)
            self.params = {"W": np.ascontiguousarray(W, dtype=self.dtype)}
        else:  # zeros, unmapped until written: the weights are copied in next
            self.params = {"W": np.zeros((self.units, int(n_prev)), self.dtype)}
        if self.use_bias:
            self.params["b"] = np.zeros((self.units, 1), dtype=self.dtype)
        self._allocate_grads()
        self.n_out = self.units
        return self.n_out

    def planned_arrays(self, n_prev: int) -> tuple[int, dict, dict]:
        params = {"W": (self.units, int(n_prev))}
        if self.use_bias:
            params["b"] = (self.units, 1)
        return self.units, params, {}

    def _buffer(self, name: str, shape: tuple):
        key = (name, shape)
        if key not in self._buffers:
            self._buffers[key] = np.empty(shape, dtype=self.dtype)
        return self._buffers[key]

    def clear_cache(self) -> None:
        super().clear_cache()
        self._buffers = {}

    def forward(self, A_prev, training: bool):
        """Z = W A_prev + b; A = g(Z); caches (A_prev, Z, A) when training."""
        return self._forward(A_prev, training, keep_logits=False)[1]

    def forward_logits(self, A_prev, training: bool):
        """``(Z, A)``: the same pass, also returning the logits ``Z (n[l], m)``
        (the output layer's stable cost is computed from them, see
        :mod:`glassnet.losses`). In fit's buffered pass A is written over Z, so Z
        is first copied into a reused buffer of its own (n[l] x m, the output
        layer only); the arithmetic of A is unchanged."""
        return self._forward(A_prev, training, keep_logits=True)

    def _forward(self, A_prev, training: bool, keep_logits: bool):
        """``(Z or None, A)``; Z is None in the buffered pass unless kept."""
        if training and self.reuse_buffers:
            return self._forward_buffered(A_prev, keep_logits)
        W = self.params["W"]
        if isinstance(W, np.ndarray) and isinstance(A_prev, np.ndarray):
            # through glassnet's threads inside fit (validation scores)
            Z = np.empty((self.units, A_prev.shape[1]), dtype=np.result_type(W, A_prev))
            _kernels.matmul(W, A_prev, out=Z)
        else:
            Z = W @ A_prev
        if self.use_bias:
            Z += self.params["b"]
        A = self.activation.forward(Z)
        if training:
            self._cache = (A_prev, Z, A)
        return Z, A

    def _forward_buffered(self, A_prev, keep_logits: bool):
        """fit's pass: Z and A share one reused buffer (the activation is applied
        in place); a copy of Z is kept only when asked for."""
        Z = self._buffer("Z", (self.units, A_prev.shape[1]))
        _kernels.matmul(self.params["W"], A_prev, out=Z)
        logits = None
        if (
            self.use_bias
            and self.activation.name == "relu"
            and not keep_logits
            and _kernels.compiled_enabled()
        ):
            _kernels.bias_relu(Z, self.params["b"])  # Z = max(Z + b, 0), one pass
            A = Z
        else:
            if self.use_bias:
                Z += self.params["b"]
            if keep_logits:
                logits = self._buffer("logits", Z.shape)
                np.copyto(logits, Z)
            A = self.activation.forward_inplace(Z)
        self._cache = (A_prev, None, A)
        return logits, A

    def backward(self, dA=None, *, dZ=None, regularizer=None, input_gradient=True):
        """Fill dW, db from dA (or from dZ for a fused output); return dA_prev.

        ``regularizer`` adds its term to dW (``+ (lambda/m) W`` for L2) when this
        layer has none of its own; ``input_gradient=False`` skips ``dA_prev =
        W^T dZ`` (the first trainable layer's, never used) and returns None.
        """
        A_prev, Z, A = self._require_cache()
        db_summed = False
        if dZ is None:
            if Z is None:  # fast path: dA is a temporary of the backward pass
                db_summed = self._relu_backward_and_sum(dA, A)
                dZ = dA if db_summed else self.activation.backward_inplace(dA, A)
            else:
                dZ = self.activation.backward(dA, Z, A)
        m = A_prev.shape[1]
        dW = self.grads["W"]
        if isinstance(dW, np.ndarray):  # dW = 1/m dZ A_prev^T
            _kernels.matmul(dZ, A_prev.T, out=dW, scale=1.0 / m)
        else:  # another backend: same formula, written into the gradient's memory
            dW[...] = dZ @ A_prev.T
            dW *= 1.0 / m
        if self.use_bias:
            db = self.grads["b"]  # db = 1/m sum_i dZ[:, i]
            if not db_summed:  # (else the compiled pass above summed it already)
                self._sum_columns(dZ, out=db)
            db *= 1.0 / m
        regularizer = self.regularizer or regularizer
        if regularizer is not None:
            regularizer.add_gradient(dW, self.params["W"], m)
        if not input_gradient:
            return None
        if Z is None:
            out = self._buffer("dA_prev", (self.n_in, m))
            return _kernels.matmul(self.params["W"].T, dZ, out=out)
        return self.params["W"].T @ dZ

    @staticmethod
    def _sum_columns(dZ, out) -> None:
        """out[...] = sum(dZ, axis=1, keepdims=True), in place in any backend."""
        if isinstance(out, np.ndarray):
            np.sum(dZ, axis=1, keepdims=True, out=out)
        else:
            out[...] = get_namespace(dZ).sum(dZ, axis=1, keepdims=True)

    def _relu_backward_and_sum(self, dA, A) -> bool:
        """With the compiled loops: dZ = dA * (A > 0) written over dA and
        db = sum(dZ, axis=1) (NumPy's pairwise sum) in one pass; False otherwise."""
        if not (
            self.use_bias
            and self.activation.name == "relu"
            and _kernels.usable(dA, A)
            and self.grads["b"].dtype == dA.dtype
        ):
            return False
        _kernels.relu_backward_sum(dA, A, self.grads["b"])
        return True

    def regularization_cost(self, m: int, regularizer=None) -> float:
        """The regularizer's cost term for this layer's W (``lambda/(2m)
        ||W||_F^2`` for L2): this layer's own, else ``regularizer``, else 0."""
        regularizer = self.regularizer or regularizer
        if regularizer is None:
            return 0.0
        return regularizer.cost(self.params["W"], m)

    def regularization_cost_array(self, m: int, regularizer=None):
        """The same term as a 0-d array of W's backend, or None without one."""
        regularizer = self.regularizer or regularizer
        if regularizer is None:
            return None
        return regularizer.cost_array(self.params["W"], m)

    def get_config(self) -> dict:
        return {
            "units": self.units,
            "activation": self.activation.get_config(),
            "initializer": self.initializer.get_config(),
            "use_bias": self.use_bias,
            "regularizer": (
                None if self.regularizer is None else self.regularizer.get_config()
            ),
            **super().get_config(),
        }

    def describe_shapes(self, index: int) -> list[str]:
        n_prev, n = self.n_in, self.units
        lines = [f"W[{index}]: (n[{index}], n[{index - 1}]) = ({n}, {n_prev})"]
        if self.use_bias:
            lines.append(f"b[{index}]: (n[{index}], 1) = ({n}, 1)")
        return lines
