"""Weight penalties added to the cost and to ``dW`` (biases are never penalized).

=====  =============================================  ==========================
name   cost term (over the layers it applies to)      gradient term
=====  =============================================  ==========================
L2     lambd / (2 m) * sum_l ||W[l]||_F^2              dW[l] += (lambd / m) W[l]
L1     lambd / m * sum_l sum |W[l]|                    dW[l] += (lambd / m) sign(W[l])
=====  =============================================  ==========================

L2 is "weight decay": the update becomes ``W = (1 - alpha lambd / m) W - alpha dW``.
A regularizer is given to ``fit(regularizer=...)`` for every Dense layer, or to one
``Dense(..., regularizer=...)`` for that layer alone (the layer's own wins).
"""

from __future__ import annotations

from glassnet.backend import get_namespace
from glassnet.validation import check_in_range


class Regularizer:
    """Base class: ``cost(W, m) -> float`` and ``add_gradient(dW, W, m)`` in place."""

    name = "regularizer"

    def __init__(self, lambd: float):
        self.lambd = check_in_range("lambd", lambd, 0, None)

    def cost(self, W, m: int) -> float:
        """The cost term as a Python float."""
        return float(self.cost_array(W, m))

    def cost_array(self, W, m: int):
        """The cost term as a 0-d array of W's backend."""
        raise NotImplementedError

    def add_gradient(self, dW, W, m: int) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "lambd": self.lambd}

    def __repr__(self):
        return f"{type(self).__name__}(lambd={self.lambd!r})"


class L2(Regularizer):
    """cost lambd/(2m) ||W||_F^2; dW += lambd/m W."""

    name = "l2"

    def cost_array(self, W, m: int):
        return self.lambd / (2 * m) * get_namespace(W).sum(W * W)

    def add_gradient(self, dW, W, m: int) -> None:
        dW += (self.lambd / m) * W


class L1(Regularizer):
    """cost lambd/m sum|W|; dW += lambd/m sign(W) (a subgradient; 0 at W = 0)."""

    name = "l1"

    def cost_array(self, W, m: int):
        return self.lambd / m * get_namespace(W).sum(get_namespace(W).abs(W))

    def add_gradient(self, dW, W, m: int) -> None:
        dW += (self.lambd / m) * get_namespace(W).sign(W)


_REGISTRY = {"l2": L2, "l1": L1}


def get(value) -> Regularizer | None:
    """``None``, a Regularizer, or a config dict ``{"name": "l2", "lambd": 0.7}``."""
    if value is None or isinstance(value, Regularizer):
        return value
    if isinstance(value, dict) and value.get("name") in _REGISTRY:
        return _REGISTRY[value["name"]](value.get("lambd", 0.0))
    raise ValueError(
        f"regularizer must be None, L2(lambd), L1(lambd) or a config dict; "
        f"received {value!r}"
    )
