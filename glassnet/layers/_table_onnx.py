"""The table layers in ONNX (D40): a model that takes raw tables, exported.

A model with table layers takes one ONNX input per column it uses, named as the
column: ``(batch, 1)`` numbers (``float`` or ``double``, NaN an empty cell) for
a numeric column, ``(batch, 1)`` strings for a categorical one (stripped; the
empty string an empty cell). The table layers become ONNX nodes in front of the
rows graph that :func:`glassnet.onnx_export.build_onnx` makes for the rest of the
model (joined with ``onnx.compose.merge_models``)::

    Imputation, numeric     empty = IsNaN(x); x <- Where(empty, fill, x)
                            was-missing column: Cast(empty)
    Imputation, categorical codes = LabelEncoder(x): category c -> c, "" -> the
                            fill's code, anything else -> k (ai.onnx.ml)
                            was-missing column: LabelEncoder("" -> 1, else 0)
    CategoryEncoding        OneHot(codes, depth k + 1); a never-seen value the
                            training frequencies when none was pooled (Where)
    then                    Concat of the encoded columns -> the rows graph

so the file gives ``model.predict_proba(table)`` (or ``predict``'s values) from
the raw cells alone. :func:`table_inputs` turns a Table or DataFrame into those
inputs for onnxruntime. (Private: :mod:`glassnet.layers.table` exposes
``export_table_onnx`` and ``table_inputs``, importing onnx only when called.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["build_table_onnx", "export_table_onnx", "table_inputs"]

#: the ai.onnx.ml opset paired with the default domain's opset 17
ML_OPSET = 3


def _rest_of(model, skip: int):
    """A copy of ``model`` without its first ``skip`` layers (the table layers),
    built on the encoded rows, with the same weights, classes and target scale."""
    from glassnet.model import Sequential

    config = model.get_config()
    config["layers"] = config["layers"][skip:]
    rest = Sequential.from_config(config, build=False)
    rest.build(model.n_x, dtype=model.dtype, initialize=False)
    rest.set_weights(model.get_weights())
    return rest


class _Nodes:
    """The preprocessing graph's nodes and constants, names prefixed ``table/``."""

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"table/{self.count}/{hint}"

    def constant(self, values, hint: str, dtype=None) -> str:
        name = self.name(hint)
        array = np.asarray(values, dtype=dtype or self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs, hint: str, domain: str = "", **attributes) -> str:
        output = self.name(hint)
        self.nodes.append(
            self.onnx.helper.make_node(
                op, list(inputs), [output], domain=domain or None, **attributes
            )
        )
        return output


def _numeric(nodes: _Nodes, record: dict, x: str) -> tuple[str, str]:
    """``(filled, was_missing)`` tensor names of a numeric column."""
    empty = nodes.node("IsNaN", [x], "empty")
    filled = nodes.node(
        "Where", [empty, nodes.constant([[record["fill"]]], "fill"), x], "filled"
    )
    flag = nodes.node("Cast", [empty], "was_missing", to=_onnx_type(nodes))
    return filled, flag


def _codes(nodes: _Nodes, record: dict, categories, x: str) -> tuple[str, str]:
    """``(codes, was_missing)`` of a categorical column: the index of each value
    among ``categories`` (k for any other; an empty cell the fill's index)."""
    k = len(categories)
    fill = record["fill"]
    fill_code = categories.index(fill) if fill in categories else k
    codes = nodes.node(
        "LabelEncoder",
        [x],
        "codes",
        domain="ai.onnx.ml",
        keys_strings=[*categories, ""],
        values_int64s=[*range(k), fill_code],
        default_int64=k,
    )
    empty = nodes.node(
        "LabelEncoder",
        [x],
        "empty",
        domain="ai.onnx.ml",
        keys_strings=[""],
        values_int64s=[1],
        default_int64=0,
    )
    flag = nodes.node("Cast", [empty], "was_missing", to=_onnx_type(nodes))
    return codes, flag


def _one_hot(nodes: _Nodes, record: dict, codes: str) -> str:
    """``(batch, k + 1)`` one-hot rows of ``codes`` (the training frequencies for
    a never-seen value when nothing was pooled, as ``CategoryEncoding.rows``)."""
    k = len(record["categories"])
    depth = nodes.constant([k + 1], "depth", np.int64)
    values = nodes.constant([0, 1], "off_on", np.float32)  # onnxruntime's OneHot
    hot = nodes.node("OneHot", [codes, depth, values], "one_hot", axis=-1)
    hot = nodes.node("Squeeze", [hot, nodes.constant([1], "axis", np.int64)], "rows")
    if nodes.dtype != np.float32:  # has no double output: cast the 0s and 1s
        hot = nodes.node("Cast", [hot], "rows", to=_onnx_type(nodes))
    if record["pooled"]:
        return hot
    unseen = nodes.node("Equal", [codes, nodes.constant([[k]], "k", np.int64)], "new")
    average = nodes.constant([record["frequencies"]], "frequencies")
    return nodes.node("Where", [unseen, average, hot], "encoded")


def _onnx_type(nodes: _Nodes) -> int:
    return nodes.onnx.helper.np_dtype_to_tensor_dtype(nodes.dtype)


def _preprocessing_graph(onnx, model, dtype, output: str):
    """The graph from the raw columns to ``output``, the encoded rows."""
    imputation, encoding = model.table_layers()[:2]
    nodes = _Nodes(onnx, dtype)
    helper = onnx.helper
    inputs, tensors, codes = [], {}, {}
    categories = {c["name"]: c["categories"] for c in encoding.columns}
    for record in imputation.columns:
        name = record["name"]
        if record["role"] == "ignored":
            continue
        if record["role"] == "numeric":
            inputs.append(
                helper.make_tensor_value_info(name, _onnx_type(nodes), ["batch", 1])
            )
            tensors[name], flag = _numeric(nodes, record, name)
        else:
            string = onnx.TensorProto.STRING
            inputs.append(helper.make_tensor_value_info(name, string, ["batch", 1]))
            kept = categories.get(name) or []
            codes[name], flag = _codes(nodes, record, kept, name)
        if record["indicator"]:
            tensors[name + " (was missing)"] = flag
    blocks = []
    for record in encoding.columns:
        name = record["name"]
        if record["categories"] is None:
            blocks.append(tensors[name])
        else:
            blocks.append(_one_hot(nodes, record, codes[name]))
    nodes.nodes.append(helper.make_node("Concat", blocks, [output], axis=1))
    rows = helper.make_tensor_value_info(
        output, _onnx_type(nodes), ["batch", model.n_x]
    )
    return helper.make_graph(nodes.nodes, "table", inputs, [rows], nodes.initializers)


def build_table_onnx(model, dtype=None):
    """The ONNX ``ModelProto`` of a built model whose first layers are
    ``Imputation`` and ``CategoryEncoding``: one input per column it uses (see
    the module's docstring), the rows graph of :func:`glassnet.onnx_export.build_onnx`
    for the rest, checked by ``onnx.checker``."""
    from glassnet.backend import resolve_dtype
    from glassnet.layers.table import CategoryEncoding, Imputation
    from glassnet.onnx_export import INPUT_NAME, ExportError, _require_onnx, build_onnx

    onnx = _require_onnx()
    table = model.table_layers() if getattr(model, "built", False) else []
    if [type(layer) for layer in table] != [Imputation, CategoryEncoding]:
        raise ExportError(
            "build_table_onnx exports a built model whose first layers are "
            "Imputation and CategoryEncoding (gn.table_layers)"
        )
    dtype = resolve_dtype(model.dtype if dtype is None else dtype)
    rows = build_onnx(_rest_of(model, len(table)), dtype)
    taken = {*(i.name for i in rows.graph.input), *(o.name for o in rows.graph.output)}
    taken |= {name for node in rows.graph.node for name in node.output}
    taken |= {tensor.name for tensor in rows.graph.initializer}
    clash = [n for n in table[0].used_names if n in taken or n.startswith("table/")]
    if clash:
        raise ExportError(
            f"cannot export: column {clash[0]!r} has the name of a tensor of the "
            "exported graph; rename the column"
        )
    graph = _preprocessing_graph(onnx, model, dtype, "table/rows")
    front = onnx.helper.make_model(
        graph,
        opset_imports=[
            onnx.helper.make_opsetid("", rows.opset_import[0].version),
            onnx.helper.make_opsetid("ai.onnx.ml", ML_OPSET),
        ],
        ir_version=rows.ir_version,
    )
    merged = onnx.compose.merge_models(front, rows, io_map=[("table/rows", INPUT_NAME)])
    metadata = {entry.key: entry.value for entry in rows.metadata_props}
    metadata["input_layout"] = (
        "table: one (batch, 1) input per column, numbers (NaN empty) or strings "
        "(stripped, '' empty), named as the columns"
    )
    onnx.helper.set_model_props(merged, metadata)
    merged.producer_name, merged.producer_version = (
        rows.producer_name,
        rows.producer_version,
    )
    onnx.checker.check_model(merged, full_check=True)
    return merged


def export_table_onnx(model, path, dtype=None):
    """Write :func:`build_table_onnx`'s graph to ``path`` (atomically); returns
    the path."""
    from glassnet.onnx_export import write_onnx

    return write_onnx(build_table_onnx(model, dtype), path)


def table_inputs(model, X, dtype=None) -> dict:
    """The exported graph's inputs for a raw table ``X`` (a Table, DataFrame, dict
    of columns, or rows of the model's columns): ``{column: (m, 1) array}``,
    numbers in ``dtype`` (default the model's) with NaN where empty, text
    stripped with ``""`` where empty."""
    from glassnet.data.columns import numeric_values, text_values
    from glassnet.layers.table import _as_table, _select

    imputation = model.table_layers()[0]
    table = _as_table(X, imputation.input_names, imputation.used_names)
    used = [c for c in imputation.columns if c["role"] != "ignored"]
    feeds = {}
    for record, column in zip(
        used, _select(table, [c["name"] for c in used]), strict=True
    ):
        name = record["name"]
        if record["role"] == "numeric":
            values = numeric_values(column, name).astype(dtype or model.dtype)
        else:
            values = np.array([v or "" for v in text_values(column).tolist()], object)
        feeds[name] = values.reshape(-1, 1)
    return feeds
