"""Where a ``Sequential`` keeps its arrays: flat keys and one buffer per model.

Every parameter gets a flat key as in the notes, ``W1, b1, ..., WL, bL`` and
``gamma{l}, beta{l}`` for the batch norm after Dense layer ``l``, with ``l``
counting Dense layers. After ``build`` each parameter (``W[l] (n[l], n[l-1])``,
``b[l] (n[l], 1)``, ...) is a view into one contiguous 1-D ``flat_params`` buffer,
in key order, and each gradient (``dW[l]``, ``db[l]``, ...) the same view into
``flat_grads``, so an optimizer can sweep all of them in a few passes over memory.
The buffers live in the model's array namespace (``xp``) on its ``device``; ``to``
moves them, and unpickling or ``deepcopy`` re-homes the copied arrays in new ones.
All of this runs at build time, never inside a training step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from glassnet.backend import (
    backend_name,
    default_device,
    namespace_for,
    to_namespace,
)
from glassnet.layers import Dense, Layer

if TYPE_CHECKING:
    from glassnet.model import Sequential


class FlatBuffers:
    """Mixin for :class:`~glassnet.model.Sequential`: parameter keys and buffers.

    The host sets ``layers``, ``dtype``, ``xp``, ``device`` and ``built``, and
    provides ``get_weights`` and ``_require_built``.
    """

    def _assign_keys(self) -> None:
        """Map flat keys (W1, b1, gamma1, ...) to (layer, name) pairs."""
        self._param_keys: dict[str, tuple[Layer, str]] = {}
        self._state_keys: dict[str, tuple[Layer, str]] = {}
        self.layer_numbers: list[int] = []
        l = 0
        for layer in self.layers:
            if isinstance(layer, Dense):
                l += 1
            self.layer_numbers.append(l)
            for table, names in (
                (self._param_keys, layer.param_names),
                (self._state_keys, layer.state_names),
            ):
                for name in names:
                    key = f"{name}{l}"
                    if key in self._param_keys or key in self._state_keys:
                        raise ValueError(
                            f"two layers would both own parameter {key!r}; put a "
                            "Dense layer between them"
                        )
                    table[key] = (layer, name)

    def _consolidate(self) -> None:
        """Re-home every parameter and gradient as a view of one flat buffer (in
        the model's namespace and on its device), and the state arrays with them."""
        xp, device = self.xp, self.device
        shapes = [
            tuple(layer.params[name].shape) for layer, name in self._param_keys.values()
        ]
        sizes = [math.prod(shape) for shape in shapes]
        total = int(sum(sizes))
        dtype = getattr(xp, self.dtype.name)
        self.flat_params = xp.zeros(total, dtype=dtype, device=device)
        self.flat_grads = xp.zeros(total, dtype=dtype, device=device)
        offset = 0
        for (layer, name), size, shape in zip(
            self._param_keys.values(), sizes, shapes, strict=True
        ):
            for flat, table in (
                (self.flat_params, layer.params),
                (self.flat_grads, layer.grads),
            ):
                view = xp.reshape(flat[offset : offset + size], shape)
                view[...] = to_namespace(table[name], xp, device, self.dtype)
                table[name] = view
            offset += size
        for layer, name in self._state_keys.values():
            layer.state[name] = to_namespace(layer.state[name], xp, device, self.dtype)

    def to(self, backend: str = "numpy", device=None) -> Sequential:
        """Move the parameters to another backend / device (weights unchanged)."""
        self._require_built()
        weights = self.get_weights()
        self.xp = namespace_for(backend)
        self.device = default_device(backend) if device is None else device
        for layer, name in self._param_keys.values():
            layer.params[name] = weights[self._key_of(layer, name)]
            layer.grads[name] = np.zeros_like(weights[self._key_of(layer, name)])
        for layer, name in self._state_keys.values():
            layer.state[name] = weights[self._key_of(layer, name)]
        for layer in self.layers:
            layer.clear_cache()
            if hasattr(layer, "_device_generator"):
                layer._device_generator = None
        self._consolidate()
        return self

    def _key_of(self, layer, name) -> str:
        for table in (self._param_keys, self._state_keys):
            for key, (owner, owned) in table.items():
                if owner is layer and owned == name:
                    return key
        raise KeyError(name)

    @property
    def backend(self) -> str:
        """ "numpy", "torch" or "cupy"."""
        return backend_name(self.xp)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["xp"] = backend_name(self.xp)  # a module does not pickle; its name does
        return state

    def __setstate__(self, state) -> None:
        """Unpickling / deepcopy: re-home the copied arrays in new flat buffers."""
        state = dict(state)
        if isinstance(state.get("xp"), str):
            state["xp"] = namespace_for(state["xp"])
        self.__dict__.update(state)
        if self.built:
            self._consolidate()
