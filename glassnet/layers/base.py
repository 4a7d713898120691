"""The layer contract every layer follows (DESIGN.md §3).

A layer is a stateful shell around pure kernels. It is built once for its input
size, then::

    A = layer.forward(A_prev, training)      # caches what backward needs
    dA_prev = layer.backward(dA)             # fills layer.grads, same keys as params

Arrays are columns-as-examples: ``A_prev`` is ``(n[l-1], m)``. ``params`` and
``grads`` are dicts with the same keys and shapes; ``state`` holds non-trainable
arrays (batch norm's running statistics). ``backward`` before ``forward`` raises.

``planned_arrays(n_prev)`` gives the shapes ``build`` would create, without
creating them, and ``build(..., initialize=False)`` allocates the arrays without
drawing initial values: a model file is checked against the first and loaded
through the second (architecture D31). ``config_fields`` says what type each
setting of ``get_config`` has; :func:`check_config` holds a config read from a
file to it (ints are ints, booleans are booleans) before the layer is made.
"""

from __future__ import annotations

import math
import reprlib

import numpy as np

# --- the types of a layer's settings, as a model file must write them ---------------
# Each checker returns None for a good value, else what the value should have been.


def integer(value) -> str | None:
    return None if type(value) is int else "an integer"


def boolean(value) -> str | None:
    return None if type(value) is bool else "true or false"


def number(value) -> str | None:
    if type(value) in (int, float) and math.isfinite(value):
        return None
    return "a finite number"


def text_or_none(value) -> str | None:
    return None if value is None or type(value) is str else "a text or null"


def boolean_or_none(value) -> str | None:
    return None if value is None or type(value) is bool else "true, false or null"


def named_options(value) -> str | None:
    """A name, or ``{"name": ..., option: number, ...}`` (activations,
    initializers)."""
    expected = 'a name or an object {"name": ..., option: number}'
    if type(value) is str:
        return None
    if type(value) is not dict or type(value.get("name")) is not str:
        return expected
    options = (v for k, v in value.items() if k != "name")
    return expected if any(number(v) for v in options) else None


def regularizer_or_none(value) -> str | None:
    if value is None:
        return None
    if (
        type(value) is dict
        and set(value) <= {"name", "lambd"}
        and type(value.get("name")) is str
        and number(value.get("lambd", 0.0)) is None
    ):
        return None
    return 'null or an object {"name": "l2" or "l1", "lambd": number}'


def sizes_or_none(value) -> str | None:
    if value is None or (type(value) is list and all(type(v) is int for v in value)):
        return None
    return "null or a list of integers"


def check_config(cls, config: dict) -> None:
    """Refuse a config (read from a file) for layer class ``cls`` that names a
    setting ``cls`` does not have or gives one a value of the wrong type;
    ranges are checked by the constructor. Raises ValueError."""
    fields = cls.config_fields
    for key, value in config.items():
        if key not in fields:
            raise ValueError(
                f"{cls.__name__} has no setting {reprlib.repr(key)}; its settings: "
                f"{', '.join(fields)}"
            )
        expected = fields[key](value)
        if expected is not None:
            raise ValueError(
                f"{cls.__name__} setting {key!r} must be {expected}; received "
                f"{reprlib.repr(value)}"
            )


def check_flag(name: str, value) -> bool:
    """``value`` as a bool when it is one (NumPy's included); else TypeError (a
    text such as "false" is not silently true)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False; received {name}={value!r}")


class Layer:
    """Base class of every layer."""

    #: parameter keys, in order (e.g. ("W", "b")); empty for layers without any
    param_names: tuple[str, ...] = ()
    #: non-trainable arrays saved with the model (e.g. batch norm running stats)
    state_names: tuple[str, ...] = ()
    #: the type of each setting ``get_config`` writes (see :func:`check_config`)
    config_fields = {
        "name": text_or_none,
        "trainable": boolean,
        "learning_rate_multiplier": number,
    }

    def __init__(self, *, name: str | None = None, trainable: bool = True):
        self.name = name
        self.trainable = check_flag("trainable", trainable)
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
    def build(self, n_prev: int, rng, dtype, *, initialize: bool = True) -> int:
        """Create the parameters for an input of ``n_prev`` features; return n_out.
        ``initialize=False`` leaves them zero instead of drawing initial values
        (for weights that are copied in next, e.g. from a model file)."""
        self.n_in = self.n_out = int(n_prev)
        self.dtype = np.dtype(dtype)
        self.built = True
        return self.n_out

    def planned_arrays(self, n_prev: int) -> tuple[int, dict, dict]:
        """``(n_out, params, state)``: the output size and the shapes
        (``{name: shape}``) ``build(n_prev, ...)`` would create, computed from the
        settings alone (nothing is allocated); raises ValueError where ``build``
        would."""
        return int(n_prev), {}, {}

    def _allocate_grads(self) -> None:
        # np.zeros, not zeros_like: the pages stay unmapped until written
        self.grads = {
            key: np.zeros(value.shape, dtype=value.dtype)
            for key, value in self.params.items()
        }

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
        if not (multiplier >= 0 and math.isfinite(multiplier)):
            raise ValueError(
                f"learning_rate_multiplier must be a finite number >= 0; received "
                f"{multiplier!r}"
            )
        layer.learning_rate_multiplier = float(multiplier)
        return layer

    def describe_shapes(self, index: int) -> list[str]:
        """Lines for ``Sequential.summary`` in the notes' notation."""
        return []

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({options})"
