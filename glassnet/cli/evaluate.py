"""``glassnet evaluate``: a saved model's cost and accuracy on labelled data."""

from __future__ import annotations

import numpy as np

from glassnet.cli.model_files import load_model_and_extra, preprocess, results_table
from glassnet.cli.options import LABEL_COLUMN_HELP


def register(sub) -> None:
    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on data")
    evaluate.add_argument("model", metavar="MODEL", help="a .glassnet model file")
    evaluate.add_argument(
        "--data",
        required=True,
        metavar="NAME_OR_PATH",
        help="bundled name or file, with labels",
    )
    evaluate.add_argument("--label-column", help=LABEL_COLUMN_HELP)
    evaluate.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    from glassnet.data import load_dataset

    model, extra = load_model_and_extra(args.model)
    dataset = load_dataset(args.data, label_column=args.label_column)
    splits = {"data": (dataset.X, dataset.y)}
    if dataset.X_test is not None:
        splits["test"] = (dataset.X_test, dataset.y_test)
    metrics = () if model.output_activation == "linear" else ("accuracy",)
    rows = []  # all splits first: an error leaves no half-printed table
    for name, (X, y) in splits.items():
        X = preprocess(X, extra, model.n_x)
        y = _labels_as_trained(y, dataset, extra)
        result = model.evaluate(X, y, metrics=metrics)
        rows.append((name, len(X), result["cost"], result.get("accuracy")))
    print(results_table(rows))
    return 0


def _labels_as_trained(y, dataset, extra):
    """Class codes of ``dataset`` re-coded in the order of the model's classes (the
    same names may sort to other codes in another file)."""
    from glassnet.data import encode_labels

    classes = extra.get("classes")
    if not classes or dataset.classes is None or extra.get("task") == "regression":
        return y
    names = [dataset.classes[int(c)] for c in y]
    return encode_labels(np.asarray(names), classes=classes)[0]
