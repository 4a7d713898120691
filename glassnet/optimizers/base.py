"""The optimizer base class: state keyed like the parameters, the choice between the
notes' reference update and its accelerations, flat-buffer sweeps, the denormal
flush. The algorithms live in :mod:`glassnet.optimizers.algorithms`; the equations
are in the package docstring.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import _kernels
from glassnet.backend import device_of, get_namespace, to_namespace, to_numpy
from glassnet.validation import check_in_range

_TINY = 1e-30


def _flush(array) -> None:
    """Set float32 values below 1e-30 in magnitude to exactly 0 (any backend)."""
    if not str(array.dtype).endswith("float32"):
        return
    if isinstance(array, np.ndarray):
        if _kernels.usable(array):  # one pass, on glassnet's threads inside fit
            _kernels.flush(array, _TINY)
        else:
            array[np.abs(array) < _TINY] = 0
        return
    xp = get_namespace(array)  # no boolean indexing: it would wait for the device
    array[...] = xp.where(xp.abs(array) < _TINY, xp.zeros_like(array), array)


class Optimizer:
    """Base class. Subclasses implement ``reference_step(W, dW, slots, alpha, t)``,
    the notes' update of one array (the reference), and its two accelerations for
    NumPy arrays: ``_step(W, dW, slots, temp1, temp2)``, the same arithmetic as
    in-place passes over one block, and ``_kernel(W, dW, slots, scalar)``, the
    compiled loop."""

    name = "optimizer"
    slot_names: tuple[str, ...] = ()
    #: elements per block: a block and its temporaries stay in the CPU's cache
    chunk_size = 32768
    #: how often (in steps) float32 moments are flushed out of the denormal range
    flush_every = 64
    #: use the compiled one-pass loops when they are built (the same numbers)
    use_kernels = True

    def __init__(self, learning_rate: float, *, flush_denormals: bool = True):
        self.learning_rate = check_in_range("learning_rate", learning_rate, 0, None)
        self.initial_learning_rate = self.learning_rate
        self.flush_denormals = flush_denormals
        self.t = 0
        self.slots: dict[str, dict[str, np.ndarray]] = {n: {} for n in self.slot_names}
        self._flat_key = None
        self._flat = None
        self._temporaries: dict = {}

    def update(
        self, params: dict, grads: dict, *, multipliers=None, reference=False
    ) -> None:
        """Apply one step to every array of ``params`` in place.

        ``multipliers`` (optional) maps keys to per-parameter learning-rate factors
        (e.g. 0.1 for pretrained layers while fine-tuning). ``reference=True`` runs
        the notes' update (``reference_step``) on each array in turn, as the notes'
        loop over layers does; otherwise, when ``params`` and ``grads`` are
        consecutive views of two flat buffers (a built model's), the step sweeps
        those buffers with an acceleration (the compiled loop, else cache-sized
        blocks): the same arithmetic, bit for bit.
        """
        self.t += 1
        base = self.learning_rate
        flat = None
        if not (multipliers or reference):
            flat = self._flat_buffers(params, grads)
        try:
            if flat is not None:
                W, dW, slots = flat
                self._sweep(W, dW, slots)
            else:
                for key, W in params.items():
                    slots = []
                    for slot in self.slots.values():
                        if key not in slot:
                            slot[key] = get_namespace(W).zeros_like(W)
                        elif not isinstance(W, np.ndarray) and isinstance(
                            slot[key], np.ndarray
                        ):  # restored state meets device parameters
                            slot[key] = to_namespace(
                                slot[key], get_namespace(W), device_of(W)
                            )
                        slots.append(slot[key])
                    if multipliers:
                        self.learning_rate = base * multipliers.get(key, 1.0)
                    self._sweep(W, grads[key], slots, reference)
        finally:
            self.learning_rate = base
        if self.flush_denormals and self.t % self.flush_every == 0:
            for slot in self.slots.values():
                for array in slot.values():
                    _flush(array)

    def _sweep(self, W, dW, slots, reference=False) -> None:
        """The one place that chooses how an update runs: the notes' reference
        when asked and for arrays of another backend; for NumPy arrays the
        compiled loop when it can take them, else ``_step`` over cache-sized
        blocks of contiguous arrays (or once, if strided)."""
        if reference or not isinstance(W, np.ndarray):
            self.reference_step(W, dW, slots)
            return
        contiguous = (
            W.flags.c_contiguous
            and dW.flags.c_contiguous
            and all(s.flags.c_contiguous for s in slots)
        )
        if contiguous and self.use_kernels and _kernels.usable(W, dW, *slots):
            scalar = W.dtype.type  # constants in the arrays' precision, as NumPy
            self._kernel(W, dW, slots, scalar)
            return
        if not contiguous or W.size <= self.chunk_size:
            temp1, temp2 = np.empty_like(W), np.empty_like(W)
            self._step(W, dW, slots, temp1, temp2)
            return
        W, dW = W.reshape(-1), dW.reshape(-1)
        slots = [s.reshape(-1) for s in slots]
        temp1, temp2 = self._temporary(W.dtype)
        size = self.chunk_size
        for start in range(0, W.size, size):
            stop = min(start + size, W.size)
            n = stop - start
            self._step(
                W[start:stop],
                dW[start:stop],
                [s[start:stop] for s in slots],
                temp1[:n],
                temp2[:n],
            )

    def _temporary(self, dtype):
        if dtype not in self._temporaries:
            self._temporaries[dtype] = (
                np.empty(self.chunk_size, dtype=dtype),
                np.empty(self.chunk_size, dtype=dtype),
            )
        return self._temporaries[dtype]

    def _flat_buffers(self, params: dict, grads: dict):
        """(W, dW, slots) flat buffers when params/grads tile two buffers, else None."""
        key = tuple(id(v) for v in params.values()) + tuple(
            id(v) for v in grads.values()
        )
        if key == self._flat_key:
            return self._flat
        self._flat_key, self._flat = key, None
        W_base = _tiled_base(list(params.values()))
        dW_base = _tiled_base([grads[k] for k in params])
        if W_base is None or dW_base is None:
            return None
        return self.bind(params, grads, W_base, dW_base)

    def bind(self, params: dict, grads: dict, flat_W, flat_dW):
        """Declare that ``params``/``grads`` tile ``flat_W``/``flat_dW`` in order (a
        built model's flat buffers, in any backend): updates then sweep the flat
        buffers, and the moments become views of flat buffers too."""
        xp = get_namespace(flat_W)
        flat_slots = []
        for slot in self.slots.values():
            flat = xp.zeros_like(flat_W)
            offset = 0
            for name, W in params.items():
                size = math.prod(W.shape)
                view = xp.reshape(flat[offset : offset + size], tuple(W.shape))
                if name in slot:
                    view[...] = to_namespace(slot[name], xp, device_of(flat_W))
                slot[name] = view
                offset += size
            flat_slots.append(flat)
        self._flat_key = tuple(id(v) for v in params.values()) + tuple(
            id(v) for v in grads.values()
        )
        self._flat = (flat_W, flat_dW, flat_slots)
        return self._flat

    def _step(self, W, dW, slots, temp1, temp2) -> None:
        raise NotImplementedError

    def _kernel(self, W, dW, slots, scalar) -> None:
        raise NotImplementedError

    def reference_step(self, W, dW, slots, alpha=None, t=None) -> None:
        """The notes' update of ``W`` and its moments ``slots``, in place, with
        array operators only (any backend).

        ``alpha`` and ``t`` may be 0-d device arrays (the captured step keeps the
        learning rate and the step count on the device); by default they are the
        optimizer's own ``learning_rate`` and ``t``.
        """
        raise NotImplementedError

    # -- configuration and state ------------------------------------------------
    def update_on_device(self, params: dict, grads: dict, alpha, t) -> None:
        """One step with the learning rate ``alpha`` and step count ``t`` as 0-d
        device arrays (``t`` already counting this step); Python state untouched,
        so a CUDA graph can capture it once and replay it every step."""
        flat = self._flat_buffers(params, grads)
        if flat is not None:
            W, dW, slots = flat
            self.reference_step(W, dW, slots, alpha=alpha, t=t)
            return
        for key, W in params.items():
            slots = []
            for slot in self.slots.values():
                if key not in slot:
                    slot[key] = get_namespace(W).zeros_like(W)
                slots.append(slot[key])
            self.reference_step(W, grads[key], slots, alpha=alpha, t=t)

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.initial_learning_rate}

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(meta, arrays)``: the step count and learning rate, and the moments."""
        meta = {"t": self.t, "learning_rate": self.learning_rate}
        arrays = {
            f"{slot_name}.{key}": np.array(to_numpy(array), copy=True)
            for slot_name, slot in self.slots.items()
            for key, array in slot.items()
        }
        return meta, arrays

    def set_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned (arrays are copied)."""
        t, learning_rate = meta.get("t"), meta.get("learning_rate")
        if not isinstance(t, int) or isinstance(t, bool) or t < 0:
            raise ValueError(
                f"an optimizer's step count t is an integer >= 0; got {t!r}"
            )
        if not (
            isinstance(learning_rate, int | float)
            and not isinstance(learning_rate, bool)
            and math.isfinite(learning_rate)
            and learning_rate >= 0
        ):
            raise ValueError(
                f"an optimizer's learning rate is a finite number >= 0; got "
                f"{learning_rate!r:.40}"
            )
        self.t = t
        self.learning_rate = float(learning_rate)
        self.slots = {n: {} for n in self.slot_names}
        self._flat_key = self._flat = None
        for name, array in arrays.items():
            slot_name, _, key = name.partition(".")
            if slot_name not in self.slots:
                raise ValueError(
                    f"{type(self).__name__} has no state {slot_name!r}; "
                    f"allowed: {list(self.slot_names)}"
                )
            self.slots[slot_name][key] = np.array(array, copy=True)

    def __repr__(self):
        options = ", ".join(
            f"{k}={v!r}" for k, v in self.get_config().items() if k != "name"
        )
        return f"{type(self).__name__}({options})"


def _tiled_base(arrays):
    """The 1-D buffer that ``arrays`` tile in order, exactly, or None."""
    if not arrays or not isinstance(arrays[0], np.ndarray):
        return None
    base = arrays[0].base
    if base is None or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    start = base.__array_interface__["data"][0]
    offset = 0
    for array in arrays:
        if array.base is not base or not array.flags.c_contiguous:
            return None
        if array.__array_interface__["data"][0] != start + offset * base.itemsize:
            return None
        offset += array.size
    return base if offset == base.size else None
