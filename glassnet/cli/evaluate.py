"""``glassnet evaluate``: a saved model's cost and accuracy (R^2, RMSE and MAE for a
regression model, in the targets' units) on labelled data."""

from __future__ import annotations

from glassnet.cli.model_files import (
    columns_by_name,
    labels_for_model,
    preprocess,
    read_saved_model,
    results_table,
)
from glassnet.cli.options import LABEL_COLUMN_HELP


def register(sub) -> None:
    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on data")
    evaluate.add_argument("model", metavar="MODEL", help="a .glassnet model file")
    evaluate.add_argument(
        "--data",
        required=True,
        metavar="NAME_OR_PATH",
        help="bundled name or file, with labels, values as stored (the model does "
        "its own scaling)",
    )
    evaluate.add_argument("--label-column", help=LABEL_COLUMN_HELP)
    evaluate.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    from glassnet.runs import load_stored

    saved = read_saved_model(args.model)
    model = saved.model
    dataset = load_stored(
        args.data, label_column=args.label_column, legacy=saved.legacy
    )
    splits = {"data": (dataset.X, dataset.y)}
    if dataset.X_test is not None:
        splits["test"] = (dataset.X_test, dataset.y_test)
    rows = []  # all splits first: an error leaves no half-printed table
    for name, (X, y) in splits.items():
        # numeric columns the model has names for: by name (D35)
        X = columns_by_name(X, dataset.feature_names, model.column_names)
        # rows as stored (a table's columns by name, D40); the model scales
        X = preprocess(X, None, model.n_x, model=model, names=dataset.feature_names)
        # accuracy for a classifier; r2, rmse, mae for a regression model
        result = model.evaluate(X, labels_for_model(y, dataset, model))
        rows.append((name, len(X), result))
    print(results_table(rows, standardized=model.target_scale is not None))
    return 0
