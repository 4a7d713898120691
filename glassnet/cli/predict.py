"""``glassnet predict``: a saved model's predictions for feature rows in a file."""

from __future__ import annotations

import numpy as np

from glassnet.cli.model_files import read_features, read_saved_model


def register(sub) -> None:
    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", metavar="MODEL", help="a .glassnet model file")
    predict.add_argument(
        "file",
        metavar="FILE",
        help=".csv or .parquet (features, optionally with the label column where "
        "training had it; the training columns by name when the file names them), "
        ".npy, .npz (key X), .h5 (key X, or the course's train_set_x), .mat or an "
        "image folder, values as stored (the model does its own scaling)",
    )
    predict.add_argument(
        "--proba",
        action="store_true",
        help="print probabilities (a regression model has none: its values, in the "
        "targets' units, are printed either way)",
    )
    predict.set_defaults(handler=run_predict)


def run_predict(args) -> int:
    saved = read_saved_model(args.model)
    model = saved.model
    if model.table_layers():  # a raw table: its columns by name (D40)
        from glassnet.data.columns import read_table
        from glassnet.data.parquet_files import PARQUET_SUFFIXES, read_parquet_table

        parquet = str(args.file).lower().endswith(PARQUET_SUFFIXES)
        X = (read_parquet_table if parquet else read_table)(args.file)
    else:
        X = read_features(args.file, model.n_x, saved.extra, legacy=saved.legacy)
    if args.proba and model.output_activation != "linear":
        for row in model.predict_proba(X):
            print(",".join(f"{v:.6g}" for v in np.atleast_1d(row)))
        return 0
    for value in model.predict(X):  # labels from model.classes, when it has them
        print(value if np.ndim(value) == 0 else ",".join(map(str, value)))
    return 0
