"""Losses J(A, Y) averaged over the m examples, column layout ``(n[L], m)``.

Each loss gives the cost ``J = (1/m) sum_i L(a_i, y_i)`` and the per-example
derivative ``dA = dL/dA`` (no 1/m: the layers apply it in ``dW = (1/m) dZ A_prev^T``).
When the output layer has the loss's *matching* activation, :meth:`Loss.output_dZ`
gives ``dZ = dL/dZ`` directly, as in the notes:

=========================  ==================  ========================================
loss                       matching output     L(a, y) and dZ
=========================  ==================  ========================================
binary_cross_entropy       sigmoid             -(y log a + (1-y) log(1-a));   dZ = A - Y
softmax_cross_entropy      softmax             -sum_j y_j log a_j;            dZ = A - Y
mean_squared_error         linear              1/2 ||a - y||^2;               dZ = A - Y
multi_label                sigmoid             binary CE summed over the k labels that
                                               are present (NaN or -1 = missing);
                                               dZ = (A - Y) * present
=========================  ==================  ========================================

``0 * log 0`` counts as 0 (the course's ``nansum``), so a saturated output that is
right costs nothing and one that is wrong costs ``inf`` rather than ``nan``.

**Stable costs from the logits.** The table's ``-(1/m) sum y log a`` is the notes'
formula and the reference. Computed from A it fails in finite precision: a
probability that rounds to 0 (``sigmoid(-104)`` in float32, ``softmax`` of a logit
88 below the largest) gives ``log 0 = -inf``, so a model that is merely confident
and wrong on one example reports ``J = inf``. When the output layer is a Dense
sigmoid / softmax layer, the model hands its logits ``Z[L] (n[L], m)`` to
``cost(AL, Y, logits=Z)`` and the cross-entropies are computed from them, which is
finite for every finite Z, in float32 and float64 alike::

    binary (sigmoid):  L = softplus(z) - y z
                         = max(z, 0) - y z + log(1 + e^-|z|)
    softmax:           L = -sum_j y_j log_softmax(z)_j,
                       log_softmax(z)_j = (z_j - max z) - log sum_k e^(z_k - max z)

(the same functions of Z, rearranged so that no exponential overflows and no
probability is rounded before its logarithm). The gradient is unchanged:
``dZ = A - Y``. ``stable=False`` (e.g. ``BinaryCrossEntropy(stable=False)``) asks
for the notes' formula from A even when the logits are given; the course's
large-initialization run reproduces its published ``inf`` that way. Without
logits (a loss called on probabilities alone) the notes' formula is used.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import device_of, get_namespace
from glassnet.targets import label_present


def xlogy(x, y):
    """x log(y), with 0 where x == 0 (also when y == 0), as ``scipy.special.xlogy``.

    A NaN ``y`` stays NaN even where x == 0. Written with the array namespace so
    that importing glassnet does not import SciPy (0.2 s in every worker process).
    """
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):
            product = np.multiply(x, np.log(y))
        return np.where((np.asarray(x) == 0) & ~np.isnan(y), 0, product)
    xp = get_namespace(x, y)
    return xp.where(x == 0, xp.zeros_like(y), x * xp.log(y))


def softplus(Z):
    """log(1 + e^Z) elementwise, as ``max(Z, 0) + log(1 + e^-|Z|)``: no overflow
    for large Z, no rounding to 0 for very negative Z. Shape of Z."""
    xp = get_namespace(Z)
    return xp.where(Z > 0, Z, xp.zeros_like(Z)) + xp.log1p(xp.exp(-xp.abs(Z)))


def binary_cross_entropy_from_logits(Z, Y):
    """Per-element ``L = -(y log a + (1 - y) log(1 - a))`` with ``a = sigmoid(z)``,
    computed as ``softplus(z) - y z``; Z and Y ``(n[L], m)``, result ``(n[L], m)``.

    (From ``log a = -softplus(-z)``, ``log(1 - a) = -softplus(z)`` and
    ``softplus(z) - softplus(-z) = z``.)
    """
    return softplus(Z) - Y * Z


def log_softmax(Z):
    """``log softmax(Z)`` per column: ``(Z - max) - log sum_k exp(Z_k - max)``;
    Z ``(C, m)`` -> ``(C, m)``, every entry finite for finite Z."""
    xp = get_namespace(Z)
    shifted = Z - xp.max(Z, axis=0, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=0, keepdims=True))


def _label_indices(AL, Y):
    """(rows, columns) picking A[y_i, i] for integer labels Y (1, m)."""
    xp = get_namespace(AL)
    if xp is np:
        return Y[0].astype(np.intp), np.arange(AL.shape[1])
    rows = xp.astype(Y[0], xp.int64)
    return rows, xp.arange(AL.shape[1], device=device_of(AL))


class Loss:
    """Base class: ``cost(AL, Y) -> float``, ``dA(AL, Y)``, ``output_dZ(AL, Y)``."""

    name = "loss"
    matching_activation = None
    #: whether Y may be a (1, m) row of class indices for a multi-unit output
    takes_label_rows = False

    def check_targets(self, AL, Y):
        """``Y`` with the output's shape ``(n[L], m)``, or ``(1, m)`` class indices
        where the loss takes them; a ``(m,)`` vector is read as ``(1, m)``. Anything
        else is refused: broadcasting would give the cost and gradients of other
        examples."""
        shape, given = tuple(AL.shape), tuple(Y.shape)
        if Y.ndim == 1 and given[0] == shape[1]:
            Y, given = Y.reshape(1, -1), (1, given[0])
        if given == shape or (self.takes_label_rows and given == (1, shape[1])):
            return Y
        transposed = given[::-1] in (shape, (1, shape[1]))
        hint = " (examples are rows here: pass Y.T)" if transposed else ""
        labels = f" or (1, {shape[1]}) class indices" if self.takes_label_rows else ""
        raise ValueError(
            f"Y must have the output's shape (n[L], m) = {shape}{labels} in the "
            f"engine's column layout; received shape {tuple(Y.shape)}{hint}"
        )

    def cost(self, AL, Y, logits=None) -> float:
        """J as a Python float (``logits``: see :meth:`cost_array`)."""
        return float(self.cost_array(AL, Y, logits))

    def cost_array(self, AL, Y, logits=None):
        """J as a 0-d array of AL's backend (no device-to-host copy).

        ``logits`` is ``Z[L] (n[L], m)`` with ``AL = g(Z[L])`` for the loss's
        matching activation g, or None; a cross-entropy then computes J from Z
        (stable) unless it was made with ``stable=False``. Other losses ignore it.
        """
        raise NotImplementedError

    def dA(self, AL, Y):
        raise NotImplementedError

    def output_dZ(self, AL, Y):
        """dZ = A - Y for the matching output activation."""
        return AL - Y

    def output_dZ_inplace(self, AL, Y):
        """dZ = A - Y written over AL (the fit loop's fast path)."""
        AL -= Y
        return AL

    def get_config(self) -> dict:
        """JSON description: ``{"name": ...}``."""
        return {"name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}()"


class CrossEntropy(Loss):
    """A cross-entropy: computed from the logits when they are given and
    ``stable`` (the default), else with the notes' formula from A."""

    def __init__(self, *, stable: bool = True):
        if not isinstance(stable, (bool, np.bool_)):
            raise ValueError(f"stable must be True or False; received {stable!r}")
        self.stable = bool(stable)

    def from_logits(self, AL, logits):
        """Whether the cost comes from ``logits`` (checked to have A's shape)."""
        if logits is None or not self.stable:
            return False
        if tuple(logits.shape) != tuple(AL.shape):
            raise ValueError(
                f"logits must have the output's shape {tuple(AL.shape)}; received "
                f"{tuple(logits.shape)}"
            )
        return True

    def get_config(self) -> dict:
        """JSON description: ``{"name": ..., "stable": ...}``."""
        return {"name": self.name, "stable": self.stable}

    def __repr__(self):
        stable = "" if self.stable else "stable=False"
        return f"{type(self).__name__}({stable})"


class BinaryCrossEntropy(CrossEntropy):
    """J = -(1/m) sum(Y log A + (1 - Y) log(1 - A)), summed over output units;
    from the logits Z: J = (1/m) sum(softplus(Z) - Y Z)."""

    name = "binary_cross_entropy"
    matching_activation = "sigmoid"

    def cost_array(self, AL, Y, logits=None):
        m = AL.shape[1]
        if self.from_logits(AL, logits):
            xp = get_namespace(logits)
            return xp.sum(binary_cross_entropy_from_logits(logits, Y)) / m
        with np.errstate(divide="ignore", invalid="ignore"):
            logprobs = xlogy(Y, AL) + xlogy(1 - Y, 1 - AL)
        return -get_namespace(AL).sum(logprobs) / m

    def dA(self, AL, Y):
        """dA = -(Y / A - (1 - Y) / (1 - A))."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return -(Y / AL - (1 - Y) / (1 - AL))


class MultiLabel(BinaryCrossEntropy):
    """Binary CE over k labels per example with missing labels (NaN or -1) left out.

    J = (1/m) sum_i sum_{j present} L(y_j, a_j); a missing label adds exactly zero to
    the cost and to dZ.
    """

    name = "multi_label"

    def cost_array(self, AL, Y, logits=None):
        xp = get_namespace(AL)
        present = label_present(Y)
        Y0 = xp.where(present, Y, xp.zeros_like(Y))
        m = AL.shape[1]
        if self.from_logits(AL, logits):
            logprobs = -binary_cross_entropy_from_logits(logits, Y0)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                logprobs = xlogy(Y0, AL) + xlogy(1 - Y0, 1 - AL)
        if xp is np:
            return -np.sum(logprobs, where=present) / m
        return -xp.sum(xp.where(present, logprobs, xp.zeros_like(logprobs))) / m

    def dA(self, AL, Y):
        xp = get_namespace(AL)
        present = label_present(Y)
        zeros = xp.zeros_like(AL)
        return xp.where(present, super().dA(AL, xp.where(present, Y, zeros)), zeros)

    def output_dZ_inplace(self, AL, Y):
        return self.output_dZ(AL, Y)

    def output_dZ(self, AL, Y):
        xp = get_namespace(AL)
        present = label_present(Y)
        zeros = xp.zeros_like(AL)
        return xp.where(present, AL - xp.where(present, Y, zeros), zeros)


class SoftmaxCrossEntropy(CrossEntropy):
    """J = -(1/m) sum_i sum_j y_j log a_j; Y one-hot ``(C, m)`` or labels ``(1, m)``;
    from the logits Z: J = -(1/m) sum_i sum_j y_j log_softmax(z_i)_j."""

    name = "softmax_cross_entropy"
    matching_activation = "softmax"
    takes_label_rows = True

    @staticmethod
    def _is_integer_labels(AL, Y):
        return Y.shape[0] == 1 and AL.shape[0] > 1

    def cost_array(self, AL, Y, logits=None):
        m = AL.shape[1]
        xp = get_namespace(AL)
        if self.from_logits(AL, logits):
            log_A = log_softmax(logits)
            if self._is_integer_labels(AL, Y):
                return -xp.sum(log_A[_label_indices(AL, Y)]) / m
            # y_j = 0 adds exactly 0, as 0 log 0 does in the notes' formula
            with np.errstate(invalid="ignore"):  # 0 * -inf, replaced by 0
                picked = xp.where(Y != 0, Y * log_A, xp.zeros_like(log_A))
            return -xp.sum(picked) / m
        with np.errstate(divide="ignore"):
            if self._is_integer_labels(AL, Y):
                picked = AL[_label_indices(AL, Y)]
                return -xp.sum(xp.log(picked)) / m
            return -xp.sum(xlogy(Y, AL)) / m

    def dA(self, AL, Y):
        """dA = -Y / A."""
        Y = self._one_hot(AL, Y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xp = get_namespace(AL)
            return -xp.where(Y != 0, Y / AL, xp.zeros_like(AL))

    def output_dZ(self, AL, Y):
        """dZ = A - Y (Y one-hot)."""
        if self._is_integer_labels(AL, Y):
            dZ = AL * 1  # a copy, in any backend
            dZ[_label_indices(AL, Y)] -= 1
            return dZ
        return AL - Y

    def output_dZ_inplace(self, AL, Y):
        if self._is_integer_labels(AL, Y):
            AL[_label_indices(AL, Y)] -= 1
            return AL
        AL -= Y
        return AL

    def _one_hot(self, AL, Y):
        if not self._is_integer_labels(AL, Y):
            return Y
        one_hot = get_namespace(AL).zeros_like(AL)
        one_hot[_label_indices(AL, Y)] = 1
        return one_hot


class MeanSquaredError(Loss):
    """J = (1/(2m)) sum_i ||a_i - y_i||^2, so dA = A - Y (regression, linear output)."""

    name = "mean_squared_error"
    matching_activation = "linear"

    def cost_array(self, AL, Y, logits=None):
        m = AL.shape[1]
        difference = AL - Y
        return get_namespace(AL).sum(difference * difference) / (2 * m)

    def dA(self, AL, Y):
        return AL - Y


_REGISTRY = {
    cls.name: cls
    for cls in (BinaryCrossEntropy, SoftmaxCrossEntropy, MeanSquaredError, MultiLabel)
}
NAMES = tuple(_REGISTRY)
_ALIASES = {"bce": "binary_cross_entropy", "mse": "mean_squared_error"}


def get(name, **options) -> Loss:
    """Return the loss called ``name`` (or pass a :class:`Loss` through).

    ``options`` go to the loss: ``get("binary_cross_entropy", stable=False)`` is
    the notes' formula from A. A config dict ``{"name": ..., "stable": ...}`` (as
    ``get_config`` writes it) is accepted too.
    """
    if isinstance(name, Loss):
        return name
    if isinstance(name, dict):
        options = {**{k: v for k, v in name.items() if k != "name"}, **options}
        name = name.get("name")
    key = _ALIASES.get(name, name)
    if key not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; allowed: {', '.join(NAMES)}")
    try:
        return _REGISTRY[key](**options)
    except TypeError:
        raise ValueError(
            f"loss {key!r} does not take options {sorted(options)}"
        ) from None


def for_output(activation_name: str, n_out: int) -> Loss:
    """The loss inferred from the output activation (sigmoid -> binary CE, ...)."""
    if activation_name == "sigmoid":
        return BinaryCrossEntropy() if n_out == 1 else MultiLabel()
    if activation_name == "softmax":
        return SoftmaxCrossEntropy()
    return MeanSquaredError()
