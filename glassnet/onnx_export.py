"""A trained ``Sequential`` as an ONNX graph, to run where glassnet is not installed.

``export_onnx(model, path, dtype=None)`` (``model.to_onnx(path)``, ``glassnet export
MODEL --onnx OUT``) writes the model's inference pass, one ONNX node (or two) per
layer, built with ``onnx.helper`` and checked with ``onnx.checker.check_model``.

The graph takes **rows**, the public layout: ``X (batch, n[0])``, or the images
``(batch, h, w, c)`` (``(batch, h, w)`` for one channel) that a model starting
with a ``Flatten`` takes, flattened in C order like ``Sequential.as_rows``; the
batch dimension is dynamic. Inside glassnet examples are columns, ``Z = W A_prev +
b``; on rows the same equation is ``Z^T = A_prev^T W^T + b^T``, so the exporter
transposes the weights, never the data. Per layer (``LAYER_EXPORTS``, the table a
new layer type adds its entry to)::

    Dense(n, g)      Z = A_prev W^T + b^T        MatMul (W^T: (n[l-1], n[l])), Add
                     A = g(Z)                    ACTIVATION_EXPORTS[g]
    Activation(g)    A = g(A_prev)
    BatchNorm        (Z - running_mean) / sqrt(running_var + epsilon) * gamma + beta
                                                 BatchNormalization (inference)
    Dropout          A = A_prev                  Identity (inference)
    Flatten          A = A_prev                  Identity (rows already)
    Rescaling        A = scale A_prev + offset   Mul, Add
    Standardization  A = (A_prev - mu) / spread  Sub, Div

Activations (``ACTIVATION_EXPORTS``): relu -> Relu, leaky_relu -> LeakyRelu
(alpha = slope), tanh -> Tanh, sigmoid -> Sigmoid, softmax -> Softmax (axis -1,
over each row's units), linear -> nothing. glassnet has no elu, selu, softplus or
gelu.

The output is what ``model.predict_proba`` returns for a sigmoid or softmax output
(``"probabilities"``, ``(batch, n[L])``) and what ``model.predict`` returns
otherwise (``"predictions"``: a regression model's values in the units of y,
``mu + s A[L]`` through its target scale; ``(batch,)`` for one output). The
model's metadata (``metadata_props``) holds the class labels (``classes``, JSON:
output ``i`` / the argmax is ``classes[i]``; a single sigmoid unit's ``a > 0.5`` is
``classes[1]``), the glassnet version, the input layout and the rule that turns
outputs into predictions.

Opset 17 (ONNX IR version 8), run by onnxruntime 1.17 and later. Refused with an
:class:`ExportError` naming the layer: a layer type outside the table (a custom
``Layer`` subclass), an activation not in glassnet's registry (a custom Python
``Activation``), a ``BatchNorm`` that normalizes with the batch's own statistics at
inference (``use_batch_statistics=True``: its output depends on the other rows),
a ``Standardization`` never adapted, and a model not built.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from glassnet import activations
from glassnet.backend import resolve_dtype, to_numpy
from glassnet.errors import GlassnetError, require
from glassnet.layers import (
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Flatten,
    Rescaling,
    Standardization,
)

__all__ = [
    "ACTIVATION_EXPORTS",
    "ExportError",
    "IR_VERSION",
    "LAYER_EXPORTS",
    "OPSET",
    "build_onnx",
    "export_onnx",
    "metadata_of",
    "write_onnx",
]

#: the ONNX operator set the graphs use (onnxruntime >= 1.17 runs it)
OPSET = 17
#: the IR version of opset 17 (ONNX 1.12), so older runtimes read the file too
IR_VERSION = 8
INPUT_NAME = "X"


class ExportError(GlassnetError, ValueError):
    """A model (a layer, an activation, a setting) that has no ONNX export."""


def _require_onnx():
    """The onnx package, or MissingDependencyError naming the extra."""
    return require("onnx", "exporting to ONNX", "onnx")


class GraphBuilder:
    """The nodes and initializers of one graph, in the export's ``dtype``.

    Each method adds what its name says and returns the name of the tensor it
    produced, so the layers' exports chain: ``A = graph.node("Relu", [Z], ...)``.
    """

    def __init__(self, onnx, dtype: np.dtype):
        self.onnx = onnx
        self.dtype = dtype
        self.tensor_type = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._names: set[str] = set()

    def reserve(self, name: str) -> str:
        """Claim ``name`` (the graph's input) so no node output takes it."""
        self._names.add(name)
        return name

    def _unique(self, name: str) -> str:
        candidate, count = name, 1
        while candidate in self._names:
            count += 1
            candidate = f"{name}_{count}"
        self._names.add(candidate)
        return candidate

    def constant(self, name: str, values, dtype=None) -> str:
        """An initializer ``name`` holding ``values`` (in the graph's dtype)."""
        array = np.asarray(values, dtype=dtype or self.dtype)
        name = self._unique(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes) -> str:
        """A node ``op(inputs) -> output`` (``output`` made unique)."""
        output = self._unique(output)
        self.nodes.append(
            self.onnx.helper.make_node(
                op, inputs, [output], name=f"{op}_{output}", **attributes
            )
        )
        return output


# -- activations: g(Z) on rows (batch, n[l]) ------------------------------------------


def _relu(graph, activation, Z, name):
    return graph.node("Relu", [Z], name)


def _leaky_relu(graph, activation, Z, name):
    """LeakyRelu(alpha = slope); ONNX attributes are float32, so where the slope
    is not a float32 number, a float64 graph computes max(Z, slope Z) (the same
    for 0 <= slope < 1) with the slope in float64."""
    slope = float(activation.options["slope"])
    if graph.dtype == np.float32 or float(np.float32(slope)) == slope:
        return graph.node("LeakyRelu", [Z], name, alpha=slope)
    scaled = graph.node("Mul", [Z, graph.constant("slope", slope)], f"{name}_slope_Z")
    return graph.node("Max", [Z, scaled], name)


def _tanh(graph, activation, Z, name):
    return graph.node("Tanh", [Z], name)


def _sigmoid(graph, activation, Z, name):
    return graph.node("Sigmoid", [Z], name)


def _softmax(graph, activation, Z, name):
    # glassnet's softmax runs over each column's units; on rows, over the last axis
    return graph.node("Softmax", [Z], name, axis=-1)


def _linear(graph, activation, Z, name):
    return Z


#: activation name -> function(graph, activation, Z, output name) -> A
ACTIVATION_EXPORTS = {
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "softmax": _softmax,
    "linear": _linear,
}


def _activation_nodes(graph, activation, Z, name, where: str) -> str:
    """A = g(Z) for one of glassnet's own activations; others are refused."""
    exporter = ACTIVATION_EXPORTS.get(activation.name)
    builtin = activations._REGISTRY.get(activation.name, (None,))[0]
    if exporter is None or activation._forward is not builtin:
        raise ExportError(
            f"cannot export {where}: its activation {activation.name!r} is not one "
            f"of glassnet's own (a custom Python function has no ONNX operator); "
            f"activations that export: {', '.join(ACTIVATION_EXPORTS)}"
        )
    return exporter(graph, activation, Z, name)


# -- layers: rows in, rows out --------------------------------------------------------


def _weights(layer, name: str) -> np.ndarray:
    return to_numpy(layer.params[name])


def _state(layer, name: str) -> np.ndarray:
    return to_numpy(layer.state[name]).reshape(-1)


def _dense(graph, layer, A_prev, l, where):
    """Z = A_prev W^T + b^T (the notes' Z = W A_prev + b, on rows); A = g(Z)."""
    W_T = graph.constant(f"W{l}_T", _weights(layer, "W").T)
    if not layer.use_bias:
        Z = graph.node("MatMul", [A_prev, W_T], f"Z{l}")
    else:
        product = graph.node("MatMul", [A_prev, W_T], f"A_prev_W{l}_T")
        b = graph.constant(f"b{l}", _weights(layer, "b").reshape(-1))
        Z = graph.node("Add", [product, b], f"Z{l}")
    return _activation_nodes(graph, layer.activation, Z, f"A{l}", where)


def _activation(graph, layer, A_prev, l, where):
    return _activation_nodes(graph, layer.activation, A_prev, f"A{l}", where)


def _batch_norm(graph, layer, A_prev, l, where):
    """Inference: (Z - running_mean) / sqrt(running_var + epsilon) gamma + beta."""
    if layer.use_batch_statistics:
        raise ExportError(
            f"cannot export {where}: it normalizes with each batch's own statistics "
            "at inference (use_batch_statistics=True), so a row's output depends on "
            "the other rows; a BatchNorm using its running statistics exports"
        )
    inputs = [
        A_prev,
        graph.constant(f"gamma{l}", _weights(layer, "gamma").reshape(-1)),
        graph.constant(f"beta{l}", _weights(layer, "beta").reshape(-1)),
        graph.constant(f"running_mean{l}", _state(layer, "running_mean")),
        graph.constant(f"running_var{l}", _state(layer, "running_var")),
    ]
    return graph.node(
        "BatchNormalization", inputs, f"Z_tilde{l}", epsilon=float(layer.epsilon)
    )


def _identity(graph, layer, A_prev, l, where):
    """Dropout at inference, and Flatten on rows: A = A_prev."""
    return graph.node("Identity", [A_prev], f"{type(layer).__name__.lower()}{l}")


def _rescaling(graph, layer, A_prev, l, where):
    """A = scale A_prev + offset."""
    A = graph.node("Mul", [A_prev, graph.constant("scale", layer.scale)], "rescaled")
    if layer.offset:
        A = graph.node("Add", [A, graph.constant("offset", layer.offset)], "rescaled")
    return A


def _standardization(graph, layer, A_prev, l, where):
    """X_norm = (X - mu) / spread."""
    if not layer.adapted:
        raise ExportError(
            f"cannot export {where}: it is not adapted (call layer.adapt(X_train))"
        )
    mu = graph.constant(f"mean{l}", _state(layer, "mean"))
    spread = graph.constant(f"spread{l}", _state(layer, "spread"))
    centered = graph.node("Sub", [A_prev, mu], "centered")
    return graph.node("Div", [centered, spread], "standardized")


#: layer class -> function(graph, layer, A_prev, l, where) -> A (the layer's ONNX
#: nodes on rows). A new layer type plugs in here; exact classes only, so a
#: subclass that changes ``forward`` is refused rather than exported wrong.
LAYER_EXPORTS = {
    Dense: _dense,
    Activation: _activation,
    BatchNorm: _batch_norm,
    Dropout: _identity,
    Flatten: _identity,
    Rescaling: _rescaling,
    Standardization: _standardization,
}


# -- the model: input, layers, output ------------------------------------------------


def input_image_shape(model) -> tuple[int, ...] | None:
    """The example shape of a model that takes images (its leading Flatten's
    ``image_shape``, without a trailing channel of 1), else None: the input layout
    ``Sequential.as_rows`` accepts."""
    for layer in model.layers:
        if isinstance(layer, Flatten):
            shape = layer.image_shape
            if shape is not None and len(shape) == 3 and shape[-1] == 1:
                shape = shape[:-1]
            return shape
        if layer.params:
            return None
    return None


def _output_kind(model) -> str:
    return (
        "probabilities"
        if model.output_activation in ("sigmoid", "softmax")
        else "predictions"
    )


def _predictions(graph, model, A) -> tuple[str, list]:
    """A regression model's values ``mu + s A[L]`` (through its target scale),
    ``(batch,)`` for one output; returns the tensor and its shape."""
    scale = model.target_scale
    if scale is not None:
        A = graph.node("Mul", [A, graph.constant("target_spread", scale.spread)], "ys")
        A = graph.node("Add", [A, graph.constant("target_mean", scale.mean)], "y")
    if model.n_out == 1:
        axes = graph.constant("output_axis", [1], dtype=np.int64)
        return graph.node("Squeeze", [A, axes], "predictions"), ["batch"]
    return graph.node("Identity", [A], "predictions"), ["batch", model.n_out]


def _layer_description(model, index: int) -> str:
    layer = model.layers[index]
    return f"layer {index} ({type(layer).__name__}) of model {model.name!r}"


def _layer_nodes(graph, model, A) -> str:
    """Each layer's nodes in order; refuses a layer type outside the table."""
    for index, (layer, l) in enumerate(
        zip(model.layers, model.buffers.layer_numbers, strict=True)
    ):
        where = _layer_description(model, index)
        exporter = LAYER_EXPORTS.get(type(layer))
        if exporter is None:
            raise ExportError(
                f"cannot export {where}: no ONNX export for layer type "
                f"{type(layer).__name__!r}; layers that export: "
                f"{', '.join(cls.__name__ for cls in LAYER_EXPORTS)}"
            )
        A = exporter(graph, layer, A, l, where)
    return A


def _metadata(model, dtype, input_shape, output_shape, kind) -> dict[str, str]:
    from glassnet import __version__

    def shape_text(shape):
        return str(tuple(shape)).replace("'", "")

    layout = "images" if len(input_shape) > 2 else "rows"
    activation = model.output_activation
    if kind == "predictions":
        rule = "values: predict's output, in the units of y"
    elif activation == "softmax":
        rule = "argmax: the class of a row is classes[argmax(probabilities)]"
    else:
        rule = "threshold 0.5: a unit's label is 1 (classes[1]) where its value > 0.5"
    metadata = {
        "glassnet_version": __version__,
        "model_name": str(model.name),
        "opset": str(OPSET),
        "input_layout": (
            f"{layout} {INPUT_NAME} {shape_text(input_shape)} {dtype.name}: one "
            "example per row (images in C order), values as stored; the model's "
            "own first layers scale them"
        ),
        "output": f"{kind} {shape_text(output_shape)} {dtype.name}",
        "prediction_rule": rule,
    }
    if model.classes is not None:
        metadata["classes"] = json.dumps(list(model.classes))
    return metadata


def build_onnx(model, dtype=None, *, rows: bool = False):
    """The ONNX ``ModelProto`` of a built ``model`` (checked), in ``dtype``
    ("float32" or "float64"; default: the model's). ``rows=True`` makes an image
    model take flat rows ``(batch, h*w*c)`` instead of images."""
    onnx = _require_onnx()
    if not getattr(model, "built", False):
        raise ExportError(
            f"cannot export model {getattr(model, 'name', model)!r}: it is not built "
            "(fit it, or call model.build(n_x))"
        )
    dtype = resolve_dtype(model.dtype if dtype is None else dtype)
    graph = GraphBuilder(onnx, dtype)
    image_shape = None if rows else input_image_shape(model)
    input_shape = ["batch", *(image_shape or (model.n_x,))]
    A = graph.reserve(INPUT_NAME)
    if image_shape is not None:  # images -> rows in C order, as Sequential.as_rows
        A = graph.node("Flatten", [A], "rows", axis=1)
    A = _layer_nodes(graph, model, A)
    kind = _output_kind(model)
    if kind == "probabilities":
        output, output_shape = (
            graph.node("Identity", [A], "probabilities"),
            ["batch", model.n_out],
        )
    else:
        output, output_shape = _predictions(graph, model, A)
    return _model_proto(
        onnx, model, graph, (input_shape, output, output_shape, kind), dtype
    )


def _model_proto(onnx, model, graph, shapes, dtype):
    from glassnet import __version__

    input_shape, output, output_shape, kind = shapes
    helper = onnx.helper
    proto_graph = helper.make_graph(
        graph.nodes,
        str(model.name),
        [helper.make_tensor_value_info(INPUT_NAME, graph.tensor_type, input_shape)],
        [helper.make_tensor_value_info(output, graph.tensor_type, output_shape)],
        graph.initializers,
    )
    proto = helper.make_model(
        proto_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="glassnet",
        producer_version=__version__,
        doc_string=(
            f"glassnet model {model.name!r}: {kind} from {INPUT_NAME} "
            f"(rows; {math.prod(input_shape[1:])} values per example)"
        ),
    )
    metadata = _metadata(model, dtype, input_shape, output_shape, kind)
    helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, dtype=None, *, rows: bool = False) -> Path:
    """Write ``model``'s ONNX graph to ``path`` (atomically); returns the path.

    ``dtype``: "float32" or "float64" (the input, weights and output; default the
    model's own). ``rows=True``: an image model takes flat rows. See the module's
    docstring for the graph, the outputs and what is refused."""
    return write_onnx(build_onnx(model, dtype, rows=rows), path)


def write_onnx(proto, path) -> Path:
    """Write a ``ModelProto`` to ``path`` atomically (a reader never sees half a
    file); returns the path."""
    from glassnet._atomic_files import write_atomically

    target = Path(path)
    data = proto.SerializeToString()
    write_atomically(target, lambda handle: handle.write(data))
    return target


def metadata_of(proto) -> dict[str, str]:
    """The ``metadata_props`` of an exported model as a dict."""
    return {entry.key: entry.value for entry in proto.metadata_props}
