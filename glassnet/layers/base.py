"""The layer contract every layer follows (DESIGN.md §3).

A layer is a stateful shell around pure kernels. It is built once for its input
size, then::

    A = layer.forward(A_prev, training)      # caches what backward needs
    dA_prev = layer.backward(dA)             # fills layer.grads, same keys as params

Arrays are columns-as-examples: ``A_prev`` is ``(n[l-1], m)``. ``params`` and
``grads`` are dicts with the same keys and shapes; ``state`` holds non-trainable
arrays (batch norm's running statistics). ``backward`` before ``forward`` raises.
"""

from __future__ import annotations

import numpy as np


class Layer:
    """Base class of every layer."""

    #: parameter keys, in order (e.g. ("W", "b")); empty for layers without any
    param_names: tuple[str, ...] = ()
    #: non-trainable arrays saved with the model (e.g. batch norm running stats)
    state_names: tuple[str, ...] = ()

    def __init__(self, *, name: str | None = None, trainable: bool = True):
        self.name = name
        self.trainable = trainable
        #: factor on the optimizer's learning rate for this layer (fine-tuning)
        self.learning_rate_multiplier = 1.0
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.built = False
        self.n_in: int | None = None
        self.n_out: int | None = None
        self._cache = None

    # -- building ---------------------------------------------------------------
    def build(self, n_prev: int, rng, dtype) -> int:
        """Create the parameters for an input of ``n_prev`` features; return n_out."""
        self.n_in = self.n_out = int(n_prev)
        self.dtype = np.dtype(dtype)
        self.built = True
        return self.n_out

    def _allocate_grads(self) -> None:
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    # -- passes -----------------------------------------------------------------
    def forward(self, A_prev, training: bool):
        raise NotImplementedError

    def backward(self, dA):
        raise NotImplementedError

    def _require_cache(self):
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: run a "
                "forward pass with training=True first"
            )
        return self._cache

    def clear_cache(self) -> None:
        """Drop the cached arrays of the last forward pass (frees memory)."""
        self._cache = None

    # -- description ------------------------------------------------------------
    def get_config(self) -> dict:
        """JSON-compatible description from which ``from_config`` rebuilds the layer."""
        config = {"name": self.name, "trainable": self.trainable}
        if self.learning_rate_multiplier != 1.0:
            config["learning_rate_multiplier"] = self.learning_rate_multiplier
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        multiplier = config.pop("learning_rate_multiplier", 1.0)
        layer = cls(**config)
        layer.learning_rate_multiplier = float(multiplier)
        return layer

    def describe_shapes(self, index: int) -> list[str]:
        """Lines for ``Sequential.summary`` in the notes' notation."""
        return []

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({options})"
