"""Where a ``Sequential`` keeps its arrays: flat keys and one buffer per model.

Every parameter gets a flat key as in the notes, ``W1, b1, ..., WL, bL`` and
``gamma{l}, beta{l}`` for the batch norm after Dense layer ``l``, with ``l``
counting Dense layers. Each parameter (``W[l] (n[l], n[l-1])``, ``b[l] (n[l], 1)``,
...) is a view into one contiguous 1-D ``flat_params`` buffer, in key order, and
each gradient (``dW[l]``, ``db[l]``, ...) the same view into ``flat_grads``, so an
optimizer can sweep all of them in a few passes over memory. The buffers live in
an array namespace (``xp``: NumPy, torch or cupy) on a ``device``.

:class:`ParameterBuffers` is that storage, an object the model holds
(``model.buffers``), with this interface:

- ``param_keys`` / ``state_keys``: ``{key: (layer, name)}`` in order;
  ``layer_numbers``: each layer's ``l``;
- ``flat_params`` / ``flat_grads``: the two buffers;
- ``key_of(layer, name)``: the flat key of a layer's array;
- ``place(xp, device, weights)``: rebuild the buffers in another namespace or on
  another device from host copies of the weights;
- ``consolidate()``: re-home the layers' arrays as views of new buffers (after
  unpickling or ``deepcopy``, which copy views as separate arrays).

All of this runs at build time, never inside a training step.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend import backend_name, namespace_for, to_namespace
from glassnet.layers import Dense, Layer

__all__ = ["ParameterBuffers"]


class ParameterBuffers:
    """The flat keys and buffers of the built ``layers`` (``dtype`` in ``xp`` on
    ``device``); the layers' ``params``, ``grads`` and ``state`` dicts are made to
    hold views of the buffers."""

    def __init__(self, layers: list[Layer], dtype, xp, device):
        self.layers = layers
        self.dtype = np.dtype(dtype)
        self.xp, self.device = xp, device
        self.param_keys: dict[str, tuple[Layer, str]] = {}
        self.state_keys: dict[str, tuple[Layer, str]] = {}
        self.layer_numbers: list[int] = []
        self._assign_keys()
        self.consolidate()

    def _assign_keys(self) -> None:
        """Map flat keys (W1, b1, gamma1, ...) to (layer, name) pairs."""
        l = 0
        for layer in self.layers:
            if isinstance(layer, Dense):
                l += 1
            self.layer_numbers.append(l)
            for table, names in (
                (self.param_keys, layer.param_names),
                (self.state_keys, layer.state_names),
            ):
                for name in names:
                    key = f"{name}{l}"
                    if key in self.param_keys or key in self.state_keys:
                        raise ValueError(
                            f"two layers would both own parameter {key!r}; put a "
                            "Dense layer between them"
                        )
                    table[key] = (layer, name)

    def consolidate(self) -> None:
        """Re-home every parameter and gradient as a view of one flat buffer (in
        ``xp`` on ``device``), and the state arrays with them."""
        xp, device = self.xp, self.device
        shapes = [
            tuple(layer.params[name].shape) for layer, name in self.param_keys.values()
        ]
        sizes = [math.prod(shape) for shape in shapes]
        total = int(sum(sizes))
        dtype = getattr(xp, self.dtype.name)
        self.flat_params = xp.zeros(total, dtype=dtype, device=device)
        self.flat_grads = xp.zeros(total, dtype=dtype, device=device)
        offset = 0
        for (layer, name), size, shape in zip(
            self.param_keys.values(), sizes, shapes, strict=True
        ):
            for flat, table in (
                (self.flat_params, layer.params),
                (self.flat_grads, layer.grads),
            ):
                view = xp.reshape(flat[offset : offset + size], shape)
                view[...] = to_namespace(table[name], xp, device, self.dtype)
                table[name] = view
            offset += size
        for layer, name in self.state_keys.values():
            layer.state[name] = to_namespace(layer.state[name], xp, device, self.dtype)

    def place(self, xp, device, weights: dict) -> None:
        """Rebuild the buffers in ``xp`` on ``device`` from host ``weights``
        (``{key: array}`` for every parameter and state array)."""
        self.xp, self.device = xp, device
        for key, (layer, name) in self.param_keys.items():
            layer.params[name] = weights[key]
            layer.grads[name] = np.zeros_like(weights[key])
        for key, (layer, name) in self.state_keys.items():
            layer.state[name] = weights[key]
        self.consolidate()

    def key_of(self, layer, name) -> str:
        """The flat key of ``layer``'s array ``name``."""
        for table in (self.param_keys, self.state_keys):
            for key, (owner, owned) in table.items():
                if owner is layer and owned == name:
                    return key
        raise KeyError(name)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["xp"] = backend_name(self.xp)  # a module does not pickle; its name does
        return state

    def __setstate__(self, state) -> None:
        """Unpickling / deepcopy: the copied views are separate arrays; the owner
        calls :meth:`consolidate` once the layers are restored too."""
        state = dict(state)
        state["xp"] = namespace_for(state["xp"])
        self.__dict__.update(state)
