"""``glassnet export``: a saved model as an ONNX file, to deploy without glassnet
(:mod:`glassnet.onnx_export`; architecture D32)."""

from __future__ import annotations

import json
import warnings

from glassnet.cli.model_files import read_saved_model


def register(sub) -> None:
    export = sub.add_parser(
        "export", help="export a saved model to ONNX (onnxruntime and others)"
    )
    export.add_argument(
        "model", metavar="MODEL", help="a .glassnet model file or a run folder"
    )
    export.add_argument(
        "--onnx",
        required=True,
        metavar="OUT",
        help="the ONNX file to write (opset 17; input: rows, or the images the "
        "model takes; output: probabilities, or a regression model's values)",
    )
    export.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="input, weights and output type (default: the model's)",
    )
    export.add_argument(
        "--rows",
        action="store_true",
        help="an image model takes flat rows (batch, h*w*c) instead of images",
    )
    export.set_defaults(handler=run_export)


def run_export(args) -> int:
    from glassnet.layers import Rescaling, Standardization
    from glassnet.onnx_export import build_onnx, metadata_of, write_onnx

    saved = read_saved_model(args.model)
    scaled = (Rescaling, Standardization)
    if saved.legacy and not any(isinstance(x, scaled) for x in saved.model.layers):
        warnings.warn(
            f"{args.model} is a model file of format 1, from before the scaling was "
            "in the model: the ONNX graph takes the values as glassnet read them for "
            "it (uint8 pixels divided by 255)",
            stacklevel=1,
        )
    if saved.model.table_layers():  # one input per table column (D40)
        from glassnet.layers._table_onnx import build_table_onnx

        if args.rows:
            raise ValueError(
                f"{args.model} takes a table (its columns by name), not image rows; "
                "leave out --rows"
            )
        proto = build_table_onnx(saved.model, args.dtype)
    else:
        proto = build_onnx(saved.model, args.dtype, rows=args.rows)
    path = write_onnx(proto, args.onnx)
    metadata = metadata_of(proto)
    print(f"wrote {path} (ONNX opset {metadata['opset']})")
    print(f"input:  {metadata['input_layout'].split(':')[0]}")
    print(f"output: {metadata['output']}; {metadata['prediction_rule']}")
    if "classes" in metadata:
        print(f"classes: {', '.join(map(str, json.loads(metadata['classes'])))}")
    return 0
