"""``Sequential``: an L-layer network, forward over its layers, backward from the loss.

Inside the engine examples are columns (``X (n[0], m)``); ``fit``, ``predict``,
``predict_proba`` and ``evaluate`` take rows (``X (m, n[0])``) and transpose once.
Parameters are exposed flat, keyed as in the notes: ``W1, b1, ..., WL, bL``, and
``gamma{l}, beta{l}`` for the batch norm that follows Dense layer ``l``. After
``build`` every parameter (and every gradient) is a view into one contiguous buffer,
so an optimizer can sweep all of them in a few passes over memory; the keys and the
buffers are a :class:`~glassnet.parameters.ParameterBuffers` the model holds
(``model.buffers``).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from weakref import WeakValueDictionary

import numpy as np

from glassnet import initializers as initializers_module
from glassnet import losses as losses_module
from glassnet import regularizers as regularizers_module
from glassnet.backend import (
    backend_name,
    default_device,
    namespace_for,
    resolve_dtype,
    resolve_rng,
    to_namespace,
    to_numpy,
)
from glassnet.layers import BatchNorm, Dense, Flatten, Layer, layer_from_config
from glassnet.out_of_core import is_on_disk, rows_for_inference
from glassnet.parameters import ParameterBuffers
from glassnet.targets import TargetScale, values_in_user_units
from glassnet.validation import check_array

_PREDICT_CHUNK = 8192


def _checked_classes(classes) -> list | None:
    """``classes`` as a list of distinct labels, all text or all numbers."""
    if classes is None:
        return None
    if isinstance(classes, str | bytes) or not hasattr(classes, "__iter__"):
        raise TypeError(f"classes must be a list of labels; received {classes!r}")
    values = [c.item() if isinstance(c, np.generic) else c for c in classes]
    values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
    text = all(isinstance(v, str) for v in values)
    numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )
    if not values or not (text or numbers):
        raise ValueError(
            "classes must be a non-empty list of labels, all text or all numbers; "
            f"received {values!r}"
        )
    if len(set(values)) != len(values):
        raise ValueError(f"classes must be distinct; received {values!r}")
    return values


#: the longest column name a model records (``column_names``), in characters
MAX_COLUMN_NAME_LENGTH = 1000


def _checked_column_names(names) -> list[str] | None:
    """``names`` as a list of distinct column names, each a text of at most
    MAX_COLUMN_NAME_LENGTH characters (a model file's are checked here too)."""
    if names is None:
        return None
    if isinstance(names, str | bytes) or not hasattr(names, "__iter__"):
        raise TypeError(
            f"column_names must be a list of column names; received "
            f"{reprlib.repr(names)}"
        )
    values = list(names)
    for index, value in enumerate(values):
        if type(value) is not str:
            raise TypeError(
                f"column_names[{index}] must be a text (a column name); received "
                f"{reprlib.repr(value)} of type {type(value).__name__}"
            )
        if len(value) > MAX_COLUMN_NAME_LENGTH:
            raise ValueError(
                f"column_names[{index}] has {len(value)} characters; a column name "
                f"has at most {MAX_COLUMN_NAME_LENGTH}: {reprlib.repr(value)}"
            )
    if not values:
        raise ValueError("column_names must name at least one column; received []")
    if len(set(values)) != len(values):
        repeated = sorted({v for v in values if values.count(v) > 1})[:5]
        raise ValueError(f"column_names repeats the column name(s) {repeated}")
    return values


def _from_frame_library(value) -> bool:
    """Whether ``value`` is a pandas or polars object (by its type's module:
    nothing is imported)."""
    return type(value).__module__.partition(".")[0] in ("pandas", "polars")


#: output activations whose cross-entropy is computed from the logits Z[L]
_LOGIT_OUTPUTS = ("sigmoid", "softmax")


class Sequential:
    """``Sequential([Dense(20, "relu"), Dense(1, "sigmoid")])``.

    Logistic regression is the one-unit special case ``Sequential([Dense(1,
    "sigmoid", initializer="zeros")])``.

    The model is the whole pipeline: preprocessing layers at the front
    (``Flatten``, ``Rescaling``, ``Standardization``) run in every path, and
    ``classes`` (optional) is the list of labels the outputs stand for: output
    ``i`` of a softmax layer is ``classes[i]``, a single sigmoid unit's 0 / 1 are
    ``classes[0]`` / ``classes[1]``. With it, ``predict`` returns labels from the
    list and ``fit`` / ``evaluate`` take labels from it; it is saved in the model
    file.

    ``target_scale`` (regression; a :class:`~glassnet.targets.TargetScale`,
    usually set by ``model.adapt_targets(y_train)``) is the mean and spread of
    the training targets: ``fit`` and ``evaluate`` use ``(y - mu) / s`` as the
    targets (the cost is in those units) and ``predict`` returns ``mu + s a[L]``,
    in the units of ``y``; it is saved in the model file (D29).

    ``initializer`` (a name of :mod:`glassnet.initializers`, e.g.
    ``"glorot_uniform"``) initializes every Dense layer that did not choose its
    own (instead of the layers' default, he for ReLU and xavier otherwise).

    ``column_names`` (optional) names the input columns, one per feature; ``fit``
    on a pandas or polars DataFrame records its column names, they are saved in
    the model file, and a DataFrame given to ``predict``, ``predict_proba``,
    ``evaluate`` or ``fit`` is then read by those names (reordered columns are
    fine; a missing or unknown column is refused naming it:
    :mod:`glassnet.data.frames`, D35). Arrays are taken by position as always.
    """

    def __init__(
        self,
        layers=(),
        *,
        name: str = "sequential",
        classes=None,
        initializer=None,
        target_scale=None,
        column_names=None,
    ):
        self.layers: list[Layer] = []
        self.name = name
        #: the model-wide initializer of Dense layers that chose none (or None)
        self.initializer = (
            None if initializer is None else initializers_module.get(initializer)
        )
        self._classes = None
        self._target_scale = None
        self._column_names = None
        self.built = False
        self.n_x: int | None = None
        self.dtype: np.dtype | None = None
        #: the array namespace holding the parameters (NumPy unless moved with .to)
        self.xp = np
        self.device = None
        self.stop_training = False
        for layer in layers:
            self.add(layer)
        self.classes = classes
        self.target_scale = target_scale
        self.column_names = column_names

    @property
    def classes(self) -> list | None:
        """The labels the outputs stand for (None: the output indices themselves)."""
        return self._classes

    @classes.setter
    def classes(self, value) -> None:
        self._classes = _checked_classes(value)
        if self.built:
            self._check_classes_fit_output()

    @property
    def column_names(self) -> list[str] | None:
        """The input columns' names, in the order the model takes them (None:
        unnamed; set by ``fit`` on a DataFrame, saved in the model file)."""
        return self._column_names

    @column_names.setter
    def column_names(self, value) -> None:
        names = _checked_column_names(value)
        if names is not None and self.built and len(names) != self.n_x:
            raise ValueError(
                f"column_names names {len(names)} columns but the model takes "
                f"{self.n_x} features"
            )
        self._column_names = names

    def rows_by_name(self, X, name: str = "X"):
        """``X`` as rows: a pandas / polars DataFrame by its column names (the
        model's ``column_names`` order when it has them; a missing or unknown
        column refused), anything else unchanged (:mod:`glassnet.data.frames`)."""
        if not _from_frame_library(X) or self._takes_tables():
            return X  # (no import: arrays cost nothing here)
        from glassnet.data.frames import frame_rows

        return frame_rows(X, self._column_names, name=name)[0]

    @property
    def target_scale(self) -> TargetScale | None:
        """A regression model's training-target mean and spread (None: the
        targets are used as given)."""
        return self._target_scale

    @target_scale.setter
    def target_scale(self, value) -> None:
        self._target_scale = None if value is None else TargetScale.from_config(value)
        if self.built:
            self._check_target_scale_fits_output()

    def adapt_targets(self, y) -> Sequential:
        """Fit :attr:`target_scale` on the training targets ``y`` ``(m,)`` or
        ``(m, k)`` (like ``Standardization.adapt`` for the inputs); returns self."""
        self.target_scale = TargetScale.from_targets(y)
        return self

    def _check_target_scale_fits_output(self) -> None:
        scale = self._target_scale
        if scale is None:
            return
        if self.output_activation != "linear":
            raise ValueError(
                "a target scale applies to a linear (regression) output; this "
                f"model's output is {self.output_activation}"
            )
        if scale.n_outputs != self.n_out:
            raise ValueError(
                f"the target scale has {scale.n_outputs} output(s) but the model "
                f"gives {self.n_out}"
            )

    def _check_classes_fit_output(self) -> None:
        classes, activation = self._classes, self.output_activation
        if classes is None:
            return
        expected = self.n_out
        if activation == "sigmoid" and self.n_out == 1:
            expected = 2
        elif activation not in ("softmax", "sigmoid"):
            raise ValueError(
                f"classes name the outputs of a classifier; this model's output is "
                f"{activation}"
            )
        if len(classes) != expected:
            raise ValueError(
                f"{len(classes)} classes for a {activation} output that gives "
                f"{expected}: {classes!r}"
            )

    def add(self, layer: Layer) -> None:
        """Append a layer (before ``build``)."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential takes glassnet layers; received {type(layer).__name__}"
            )
        if self.built:
            raise RuntimeError("cannot add a layer to a built model")
        if (
            self.initializer is not None
            and isinstance(layer, Dense)
            and layer.default_initializer
            and not layer.built
        ):
            layer.initializer = self.initializer
        self.layers.append(layer)

    # -- building ---------------------------------------------------------------
    def build(
        self,
        n_x: int,
        *,
        rng=None,
        dtype="float32",
        backend="numpy",
        device=None,
        initialize: bool = True,
    ) -> Sequential:
        """Create every layer's parameters for ``n_x`` input features.

        Weights are drawn from ``rng`` layer by layer, W[1] first (int, Generator
        or RandomState; ``RandomState(s)`` reproduces the course's
        ``np.random.seed(s)``), then placed on ``backend`` ("numpy", "torch",
        "cupy") and ``device`` (default: CUDA when available for torch/cupy).
        ``initialize=False`` draws nothing and leaves the weights zero, for
        weights copied in next (a model file's: loading allocates each array
        once, in the flat buffer).
        """
        self.xp = namespace_for(backend)
        self.device = default_device(backend) if device is None else device
        if not self.layers:
            raise ValueError("a Sequential model needs at least one layer")
        rng = resolve_rng(rng)
        self.dtype = resolve_dtype(dtype)
        names = self._column_names
        if names is not None and len(names) != int(n_x):
            raise ValueError(
                f"column_names names {len(names)} columns but the model is built "
                f"for {int(n_x)} input features"
            )
        self.n_x = int(n_x)
        self._drop_biases_before_batch_norm()
        options = {} if initialize else {"initialize": False}
        n = self.n_x
        for index, layer in enumerate(self.layers):
            if layer.built:  # a layer reused from another model keeps its weights
                if layer.n_in != n:
                    raise ValueError(
                        f"layer {index} ({type(layer).__name__}) was built for "
                        f"{layer.n_in} inputs but receives {n} here; the new layers "
                        "must match the size of what comes before them"
                    )
                if layer.dtype != self.dtype:
                    raise ValueError(
                        f"layer {index} holds {layer.dtype} weights; the model is "
                        f"{self.dtype}"
                    )
                n = layer.n_out
            else:
                n = layer.build(n, rng, self.dtype, **options)
        self.buffers = ParameterBuffers(self.layers, self.dtype, self.xp, self.device)
        self.built = True
        self._check_classes_fit_output()
        self._check_target_scale_fits_output()
        return self

    def _drop_biases_before_batch_norm(self) -> None:
        """A linear Dense layer right before a BatchNorm has no bias (beta is it)."""
        following_layers = self.layers[1:] + [None]
        for layer, following in zip(self.layers, following_layers, strict=True):
            if (
                isinstance(layer, Dense)
                and isinstance(following, BatchNorm)
                and layer.activation.name == "linear"
                and not layer.built
            ):
                layer.use_bias = False
                layer.param_names = ("W",)

    def planned_arrays(self, n_x: int) -> tuple[dict, dict]:
        """``(params, state)``: the shape of every array ``build(n_x)`` creates,
        keyed as :attr:`params` and :attr:`state` (``W1``, ``mean0``, ...),
        computed from the layers' settings without allocating anything (a model
        file's arrays are checked against them before the model is built).
        Raises ValueError where ``build`` would (an image shape that does not fit,
        two layers owning one key)."""
        if not self.layers:
            raise ValueError("a Sequential model needs at least one layer")
        self._drop_biases_before_batch_norm()
        params, state = {}, {}
        n, l = int(n_x), 0
        for layer in self.layers:
            l += isinstance(layer, Dense)
            n_out, layer_params, layer_state = layer.planned_arrays(n)
            for table, arrays in ((params, layer_params), (state, layer_state)):
                for name, shape in arrays.items():
                    key = f"{name}{l}"
                    if key in params or key in state:
                        raise ValueError(
                            f"two layers would both own parameter {key!r}; put a "
                            "Dense layer between them"
                        )
                    table[key] = shape
            n = n_out
        return params, state

    def _require_built(self) -> None:
        if not self.built:
            raise RuntimeError(
                "the model is not built yet: call fit(...) or build(n_x) first"
            )

    def check_columns(self, X) -> None:
        """Refuse an ``X`` that is not ``(n[0], m)``, the engine's column layout."""
        if X.ndim == 2 and X.shape[0] == self.n_x:
            return
        hint = ""
        if X.ndim == 2 and X.shape[1] == self.n_x:
            hint = " (examples are rows here: pass X.T)"
        raise ValueError(
            f"X must be (n[0], m) = ({self.n_x}, m) in the engine's column layout; "
            f"received shape {tuple(X.shape)}{hint}"
        )

    # -- parameters -------------------------------------------------------------
    @property
    def params(self) -> dict[str, np.ndarray]:
        """Flat dict ``{"W1": W[1], "b1": b[1], ...}`` of the live arrays."""
        self._require_built()
        return {
            key: layer.params[name]
            for key, (layer, name) in self.buffers.param_keys.items()
        }

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Flat dict ``{"W1": dW[1], ...}`` filled by the last backward pass."""
        self._require_built()
        return {
            key: layer.grads[name]
            for key, (layer, name) in self.buffers.param_keys.items()
        }

    def trainable_keys(self) -> list[str]:
        """Keys of the parameters of trainable layers."""
        return [
            k for k, (layer, _) in self.buffers.param_keys.items() if layer.trainable
        ]

    @property
    def state(self) -> dict[str, np.ndarray]:
        """Non-trainable arrays (batch norm running statistics), keyed like params."""
        self._require_built()
        return {
            key: layer.state[name]
            for key, (layer, name) in self.buffers.state_keys.items()
        }

    @property
    def flat_params(self):
        """The one buffer every parameter is a view of, in key order."""
        self._require_built()
        return self.buffers.flat_params

    @property
    def flat_grads(self):
        """The one buffer every gradient is a view of, in key order."""
        self._require_built()
        return self.buffers.flat_grads

    @property
    def backend(self) -> str:
        """ "numpy", "torch" or "cupy"."""
        return backend_name(self.xp)

    def to(self, backend: str = "numpy", device=None) -> Sequential:
        """Move the parameters to another backend / device (weights unchanged)."""
        self._require_built()
        weights = self.get_weights()
        self.xp = namespace_for(backend)
        self.device = default_device(backend) if device is None else device
        for layer in self.layers:
            layer.clear_cache()
            if hasattr(layer, "_device_generator"):
                layer._device_generator = None
        self.buffers.place(self.xp, self.device, weights)
        return self

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and state array."""
        return {
            k: np.array(to_numpy(v), copy=True)
            for k, v in {**self.params, **self.state}.items()
        }

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Copy arrays into the model (same keys and shapes as ``get_weights``)."""
        if not isinstance(weights, Mapping):
            raise TypeError(
                f"weights must be a dict of name -> array, as get_weights returns; "
                f"received a {type(weights).__name__}"
            )
        current = {**self.params, **self.state}
        missing = set(current) - set(weights)
        extra = set(weights) - set(current)
        if missing or extra:
            raise ValueError(
                f"weights do not match the model: missing {sorted(missing)}, "
                f"unexpected {sorted(extra)}"
            )
        for key, target in current.items():
            value = np.asarray(to_numpy(weights[key]))
            if value.shape != tuple(target.shape):
                raise ValueError(
                    f"weight {key!r} must have shape {target.shape}; "
                    f"received {value.shape}"
                )
            target[...] = to_namespace(value, self.xp, self.device, self.dtype)

    # -- passes (engine layout: columns are examples) ------------------------------
    def forward(self, X, training: bool = False):
        """AL = the output for ``X (n[0], m)``; caches for backward when training."""
        self._require_built()
        self.check_columns(X)
        A = X
        for layer in self.layers:
            A = layer.forward(A, training)
        return A

    def forward_logits(self, X, training: bool = False):
        """``(ZL, AL)`` for ``X (n[0], m)``: the output and, when the output layer
        is a Dense sigmoid or softmax layer, its logits ``Z[L] (n[L], m)`` (else
        None), from which :meth:`compute_cost` computes the cross-entropy stably.
        """
        self._require_built()
        self.check_columns(X)
        A = X
        for layer in self.layers[:-1]:
            A = layer.forward(A, training)
        last = self.layers[-1]
        if isinstance(last, Dense) and last.activation.name in _LOGIT_OUTPUTS:
            return last.forward_logits(A, training)
        return None, last.forward(A, training)

    @property
    def output_activation(self) -> str:
        """Name of the last layer's activation ("linear" if it has none)."""
        last = self.layers[-1]
        activation = getattr(last, "activation", None)
        return "linear" if activation is None else activation.name

    @property
    def n_out(self) -> int:
        self._require_built()
        return self.layers[-1].n_out

    def default_loss(self) -> losses_module.Loss:
        """The loss implied by the output activation (sigmoid -> binary CE, ...)."""
        return losses_module.for_output(self.output_activation, self.n_out)

    def first_trainable_index(self) -> int:
        """Index of the first layer with parameters to train (0 when none is):
        back-propagation stops there, since nothing below it needs a gradient."""
        for index, layer in enumerate(self.layers):
            if layer.trainable and layer.params:
                return index
        return 0

    def backward(self, AL, Y, loss=None, *, regularizer=None, inplace=False) -> None:
        """Fill every trainable layer's grads from the loss at ``AL``.

        When the output layer is Dense with the loss's matching activation the loss
        gives ``dZ[L] = A[L] - Y`` directly; otherwise ``dA[L]`` is back-propagated
        through the activation's derivative. ``regularizer`` (L2 / L1) adds its term
        to the dW of every Dense layer without its own. The pass stops at the first
        trainable layer, which skips ``dA_prev = W^T dZ`` (never used).
        ``inplace=True`` (the fit loop) lets the loss write dZ over AL.
        """
        loss = self.default_loss() if loss is None else loss
        regularizer = regularizers_module.get(regularizer)
        Y = loss.check_targets(AL, Y)
        first = self.first_trainable_index()
        top = len(self.layers) - 1
        last = self.layers[top]
        if isinstance(last, Dense) and loss.matching_activation == last.activation.name:
            dZ = loss.output_dZ_inplace(AL, Y) if inplace else loss.output_dZ(AL, Y)
            dA = last.backward(
                dZ=dZ, regularizer=regularizer, input_gradient=top > first
            )
            top -= 1
        else:
            dA = loss.dA(AL, Y)
        for index in range(top, first - 1, -1):
            layer = self.layers[index]
            if isinstance(layer, Dense):
                dA = layer.backward(
                    dA, regularizer=regularizer, input_gradient=index > first
                )
            else:
                dA = layer.backward(dA)

    def compute_cost(self, AL, Y, loss=None, *, regularizer=None, logits=None) -> float:
        """J = the loss at AL plus the regularization term of every Dense layer
        (its own regularizer, else ``regularizer``), e.g. for L2::

            J = (1/m) sum_i L(a_i, y_i) + lambda/(2m) sum_l ||W[l]||_F^2

        ``logits``: ``Z[L] (n[L], m)`` from :meth:`forward_logits`; with them a
        cross-entropy is computed stably from Z (finite where ``log a`` would
        round to ``-inf``) when the loss matches the output activation (see
        :mod:`glassnet.losses`); without them, from A with the notes' formula.
        """
        loss = self.default_loss() if loss is None else loss
        regularizer = regularizers_module.get(regularizer)
        Y = loss.check_targets(AL, Y)
        m = AL.shape[1]
        cost = loss.cost(AL, Y, self._matching_logits(loss, logits))
        for layer in self.layers:
            if isinstance(layer, Dense):
                cost += layer.regularization_cost(m, regularizer)
        return cost

    def cost_array(self, AL, Y, loss=None, *, regularizer=None, logits=None):
        """J as a 0-d array of the model's backend (no device-to-host copy; the
        device paths of fit accumulate it on the device); ``logits`` as for
        :meth:`compute_cost`."""
        loss = self.default_loss() if loss is None else loss
        regularizer = regularizers_module.get(regularizer)
        m = AL.shape[1]
        cost = loss.cost_array(AL, Y, self._matching_logits(loss, logits))
        for layer in self.layers:
            if isinstance(layer, Dense):
                term = layer.regularization_cost_array(m, regularizer)
                if term is not None:
                    cost = cost + term
        return cost

    def _matching_logits(self, loss, logits):
        """``logits`` when the loss's cost may use them: the output layer is Dense
        with the loss's matching activation (where ``dZ = A - Y`` too); else None."""
        last = self.layers[-1]
        if (
            logits is None
            or not isinstance(last, Dense)
            or last.activation.name != loss.matching_activation
        ):
            return None
        return logits

    # -- public, row-major API ---------------------------------------------------
    def as_rows(self, X):
        """``X`` as rows ``(m, n[0])``: image-shaped examples ``(m, h, w[, c])`` are
        flattened in C order by the model's leading ``Flatten`` layer; a raw table
        (text categories, empty cells; a Table, DataFrame or rows of its columns)
        is encoded by the model's leading table layers, each one's ``rows`` in
        turn (D40); other input is returned unchanged, for the checks that
        follow."""
        table_layers = self.table_layers()
        if table_layers:
            encoded = self.__dict__.setdefault("_encoded_rows", WeakValueDictionary())
            if encoded.get(id(X)) is X:  # rows this model encoded (checked again)
                return X
            for layer in table_layers:
                X = layer.rows(X)
            X = np.ascontiguousarray(X, dtype=self.dtype or np.float64)
            encoded[id(X)] = X
            return X
        if getattr(X, "ndim", 2) <= 2:
            return X
        for layer in self.layers:
            if isinstance(layer, Flatten):
                return layer.rows(X)
            if layer.params:
                break
        raise ValueError(
            f"X must be 2-D rows (m, n[0]); received a {X.ndim}-D array of shape "
            f"{tuple(X.shape)}: put a Flatten layer first for images (gn.Flatten()), "
            "or pass X.reshape(len(X), -1)"
        )

    def table_layers(self) -> list:
        """The leading table layers (Imputation, CategoryEncoding) that turn a raw
        table into rows at the boundary; empty for a model of numeric rows."""
        from glassnet.layers.table import TABLE_TYPES

        layers = []
        for layer in self.layers:
            if not isinstance(layer, TABLE_TYPES):
                break
            layers.append(layer)
        return layers

    @property
    def feature_names(self) -> list[str] | None:
        """The names of the input features ``n[0]``: after the table layers (e.g.
        ``"age"``, ``"sex=male"``, ``"age (was missing)"``), else the DataFrame
        columns the model was fitted on (``column_names``); None for a model that
        has neither."""
        from glassnet.layers.table import CategoryEncoding

        for layer in self.table_layers():
            if isinstance(layer, CategoryEncoding):
                return layer.feature_names
        names = getattr(self, "column_names", None)
        return None if names is None else list(names)

    def class_codes(self, labels) -> np.ndarray:
        """The output indices (m,) of ``labels`` (m,), each one of ``classes``."""
        if self._classes is None:
            raise ValueError("this model has no classes to look labels up in")
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(
                f"labels must be one per example (m,); received shape {labels.shape}"
            )
        lookup = {label: code for code, label in enumerate(self._classes)}
        values, inverse = np.unique(labels, return_inverse=True)
        codes = []
        for value in values.tolist():
            value = value.decode("utf-8") if isinstance(value, bytes) else value
            if value not in lookup:
                raise ValueError(
                    f"label {value!r} is not one of the model's classes "
                    f"{self._classes!r}"
                )
            codes.append(lookup[value])
        return np.asarray(codes, dtype=np.int64)[inverse.reshape(-1)]

    def labels_of(self, predictions) -> np.ndarray:
        """Output indices (or 0/1 of one sigmoid unit) -> labels from ``classes``
        (unchanged without classes, and for multi-label or value outputs)."""
        predictions = np.asarray(predictions)
        if self._classes is None or predictions.ndim != 1:
            return predictions
        if self.output_activation not in ("softmax", "sigmoid"):
            return predictions
        return np.asarray(self._classes)[predictions]

    def _check_input(self, X) -> np.ndarray:
        self._require_built()
        if is_on_disk(X):  # read and converted a chunk at a time (D39)
            return rows_for_inference(self, X)
        X = check_array(self.as_rows(X), name="X", ndim=2, dtype=self.dtype)
        if X.shape[1] != self.n_x:
            raise ValueError(
                f"X has {X.shape[1]} features per example but the model was built "
                f"for {self.n_x}; received X of shape {X.shape}"
            )
        return X

    def predict_proba(self, X) -> np.ndarray:
        """Output activations for ``X (m, n[0])``, shape ``(m, n[L])`` (for a
        model with a ``target_scale``, in its standardized units; ``predict``
        gives the values)."""
        return self.predict_with_logits(X)[1]

    def predict_with_logits(self, X):
        """``(Z, A)`` for rows ``X (m, n[0])``: the output layer's logits ``Z[L]``
        and activations ``A[L]``, both ``(m, n[L])`` (Z is None unless the output
        layer is a Dense sigmoid / softmax layer); what ``evaluate`` scores."""
        X = self._check_input(self.rows_by_name(X))
        logits, outputs = [], []
        for start in range(0, X.shape[0], _PREDICT_CHUNK):
            chunk = self._on_device(X[start : start + _PREDICT_CHUNK].T)
            Z, A = self.forward_logits(chunk, training=False)
            outputs.append(to_numpy(A).T)
            logits.append(None if Z is None else to_numpy(Z).T)
        A = np.ascontiguousarray(np.concatenate(outputs, axis=0))
        if logits[0] is None:
            return None, A
        return np.ascontiguousarray(np.concatenate(logits, axis=0)), A

    def _on_device(self, array):
        """A NumPy array in the model's namespace and on its device."""
        if self.xp is np:
            return array
        return to_namespace(np.ascontiguousarray(array), self.xp, self.device)

    def predict(self, X) -> np.ndarray:
        """Labels (classification: 1 where a > 0.5, or the argmax; ``classes[i]``
        when the model has classes) or values (in the units of the training
        targets when the model has a ``target_scale``)."""
        A = self.predict_proba(X)
        return self.labels_of(self.outputs_to_predictions(A))

    def outputs_to_predictions(self, A) -> np.ndarray:
        """Row-major output activations ``(m, n[L])`` -> predictions (a linear
        output's through the target scale, ``mu + s A``, when there is one)."""
        activation = self.output_activation
        if activation == "softmax":
            return np.argmax(A, axis=1)
        if activation == "sigmoid":
            labels = (A > 0.5).astype(np.int64)
            return labels[:, 0] if labels.shape[1] == 1 else labels
        return values_in_user_units(self, A)

    def embed(self, X, layer: int = -2) -> np.ndarray:
        """Activations ``(m, n[layer])`` after layer index ``layer`` (default: the
        last hidden layer), e.g. to cluster what the network learned."""
        X = self._check_input(self.rows_by_name(X))
        upto = layer % len(self.layers)
        A = self._on_device(X.T)
        for item in self.layers[: upto + 1]:
            A = item.forward(A, training=False)
        return np.ascontiguousarray(to_numpy(A).T)

    def fit(self, X, y, **options):
        """Train on rows ``X (m, n[0])``, ``y (m,)``: :func:`glassnet.training.fit`.
        ``X`` may be a pandas / polars DataFrame (its column names are recorded
        as ``column_names`` when the model has none, else its columns are read
        by them) and ``y`` a Series; so may ``validation_data``'s."""
        from glassnet.training import fit

        X, y, names = self._frames_in(X, y)
        validation = options.get("validation_data")
        if isinstance(validation, (tuple, list)) and len(validation) == 2:
            X_val, y_val, _ = self._frames_in(
                *validation, name="validation X", names=names
            )
            options["validation_data"] = (X_val, y_val)
        if names is not None and self._column_names is None:
            self.column_names = names  # before training: checkpoints, callbacks
        return fit(self, X, y, **options)

    def _frames_in(self, X, y, *, name: str = "X", names=None):
        """``(rows, targets, column names)`` of DataFrame / Series input (the
        names None for arrays); columns by the model's names when it has them,
        else by ``names`` (the training frame's, for its validation frame)."""
        if not (_from_frame_library(X) or _from_frame_library(y)):
            return X, y, None
        from glassnet.data.frames import frame_rows, target_values

        if self._takes_tables():  # a raw table: the table layers read it by name
            return X, target_values(y), None
        rows, found = frame_rows(X, self._column_names or names, name=name)
        return rows, target_values(y), found

    def _takes_tables(self) -> bool:
        """Whether the model's leading table layers read raw tables (D40)."""
        table_layers = getattr(self, "table_layers", None)
        return bool(table_layers and table_layers())

    def evaluate(self, X, y, *, metrics=None, loss=None) -> dict:
        """``{"cost": J, metric: value, ...}`` on rows ``X``, ``y`` (metrics None:
        accuracy for a classifier; r2, rmse and mae for a linear output); a
        DataFrame ``X`` is read by the model's column names, ``y`` may be a
        Series."""
        from glassnet.evaluation import evaluate

        X, y, _ = self._frames_in(X, y)
        return evaluate(self, X, y, metrics=metrics, loss=loss)

    # -- description and files -----------------------------------------------------
    def summary(self, print_fn=print) -> str:
        """Each layer's parameter shapes in the notes' notation; returns the text."""
        self._require_built()
        lines = [f"Model {self.name!r}: n[0] = {self.n_x} input features"]
        for layer, l in zip(self.layers, self.buffers.layer_numbers, strict=False):
            frozen = "" if layer.trainable else "  (frozen)"
            lines.append(f"  {type(layer).__name__}{frozen}")
            lines.extend(f"    {text}" for text in layer.describe_shapes(l))
        total = math.prod(self.flat_params.shape)
        trainable = sum(math.prod(self.params[k].shape) for k in self.trainable_keys())
        lines.append(
            f"  parameters: {total} ({trainable} trainable), dtype {self.dtype}, "
            f"backend {self.backend}"
        )
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def get_config(self) -> dict:
        """JSON description of the architecture (no arrays), with the classes
        or the target scale."""
        config = {
            "name": self.name,
            "n_x": self.n_x,
            "dtype": None if self.dtype is None else self.dtype.name,
            "layers": [
                {"type": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }
        if self._classes is not None:
            config["classes"] = list(self._classes)
        if self._target_scale is not None:
            config["target_scale"] = self._target_scale.get_config()
        if self._column_names is not None:
            config["column_names"] = list(self._column_names)
        return config

    @classmethod
    def from_config(cls, config: dict, *, build: bool = True) -> Sequential:
        """Rebuild the architecture (weights initialized; load them separately).
        A layer record that is wrong raises ValueError naming the layer."""
        layers = []
        for index, record in enumerate(config["layers"]):
            try:
                layers.append(layer_from_config(record))
            except ValueError as error:
                raise ValueError(f"layer {index}: {error}") from None
        model = cls(
            layers,
            name=config.get("name", "sequential"),
            classes=config.get("classes"),
            target_scale=config.get("target_scale"),
            column_names=config.get("column_names"),
        )
        if build and config.get("n_x") is not None:
            model.build(config["n_x"], rng=0, dtype=config.get("dtype") or "float32")
        return model

    def astype(self, dtype) -> Sequential:
        """A copy of the built model in ``dtype`` ("float32" or "float64"), on the
        same backend and device, with the weights and batch-norm statistics
        converted (e.g. float64 for a gradient check, or for predictions that do
        not depend on the other rows of a batch)."""
        self._require_built()
        dtype = resolve_dtype(dtype)
        copy = Sequential.from_config(
            {**self.get_config(), "dtype": dtype.name}, build=False
        )
        copy.build(  # no initial weights drawn: they are copied in below
            self.n_x,
            dtype=dtype,
            backend=self.backend,
            device=self.device,
            initialize=False,
        )
        copy.set_weights({k: v.astype(dtype) for k, v in self.get_weights().items()})
        return copy

    def save(self, path, **options) -> None:
        """Write a safe model file (JSON manifest + arrays; no pickle)."""
        from glassnet.persistence import save_model

        save_model(self, path, **options)

    def to_onnx(self, path, dtype=None, *, rows: bool = False):
        """Write the inference pass as an ONNX file (opset 17) taking rows (or the
        images a leading Flatten takes), giving ``predict_proba``'s probabilities
        (``predict``'s values for a regression model); ``dtype`` "float32" or
        "float64" (default: the model's). :func:`glassnet.onnx_export.export_onnx`
        (``pip install "glassnet[onnx]"``); returns the path. A model with table
        layers takes one input per table column instead
        (:func:`glassnet.layers.table.export_table_onnx`, D40)."""
        if self.table_layers():  # one input per table column (D40)
            from glassnet.layers.table import export_table_onnx

            return export_table_onnx(self, path, dtype)
        from glassnet.onnx_export import export_onnx

        return export_onnx(self, path, dtype, rows=rows)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["xp"] = backend_name(self.xp)  # a module does not pickle; its name does
        state.pop("_encoded_rows", None)  # weak references to encoded rows (D40)
        return state

    def __setstate__(self, state) -> None:
        """Unpickling / deepcopy: re-home the copied arrays in new flat buffers."""
        # pickled before models had classes, or a target scale
        state = {
            "_classes": None,
            "_target_scale": None,
            "_column_names": None,
            **state,
        }
        if isinstance(state.get("xp"), str):
            state["xp"] = namespace_for(state["xp"])
        self.__dict__.update(state)
        if self.built:
            self.buffers.consolidate()

    def __repr__(self):
        from glassnet.notebook import model_repr

        return model_repr(self)

    def _repr_html_(self) -> str:
        """The summary as an HTML table (Jupyter shows it for a cell's value)."""
        from glassnet.notebook import model_html

        return model_html(self)
