"""``glassnet predict``: a saved model's predictions for feature rows in a file."""

from __future__ import annotations

import numpy as np

from glassnet.cli.model_files import load_model_and_extra, preprocess, read_features


def register(sub) -> None:
    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", metavar="MODEL", help="a .glassnet model file")
    predict.add_argument(
        "file",
        metavar="FILE",
        help=".csv (features, optionally with the label column where training had it), "
        ".npy or .npz (key X)",
    )
    predict.add_argument("--proba", action="store_true", help="print probabilities")
    predict.set_defaults(handler=run_predict)


def run_predict(args) -> int:
    model, extra = load_model_and_extra(args.model)
    X = preprocess(read_features(args.file, model.n_x, extra), extra, model.n_x)
    if args.proba:
        for row in model.predict_proba(X):
            print(",".join(f"{v:.6g}" for v in np.atleast_1d(row)))
        return 0
    classes = extra.get("classes")
    for value in model.predict(X):
        if classes and np.ndim(value) == 0 and model.output_activation != "linear":
            print(classes[int(value)])
        else:
            print(value if np.ndim(value) == 0 else ",".join(map(str, value)))
    return 0
