"""``glassnet select``: pick a run folder by one optimizing metric under satisficing
constraints (the notes' single-number evaluation), size and latency included."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glassnet.cli.run_folders import read_results


def register(sub) -> None:
    select = sub.add_parser(
        "select", help="pick a run: optimize one metric, satisfy the others"
    )
    select.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    select.add_argument(
        "--optimize",
        default="dev_accuracy",
        help="the metric to make best: SPLIT_METRIC, size_mb or latency_ms "
        "(default dev_accuracy; names with error, loss, cost, size or latency are "
        "minimized)",
    )
    select.add_argument(
        "--satisfy",
        action="append",
        default=[],
        metavar="METRIC<=VALUE",
        help="a constraint every candidate must meet (<, <=, >=, >, ==); repeatable",
    )
    select.set_defaults(handler=run_select)


def run_select(args) -> int:
    from glassnet.strategy import select_model

    candidates = [_candidate(Path(run)) for run in args.runs]
    selection = select_model(
        candidates, optimize=args.optimize, satisfy=args.satisfy or None
    )
    print(selection)
    return 0


def _candidate(folder: Path) -> dict:
    """A run's metrics as ``SPLIT_METRIC`` names, plus its model's size and latency."""
    metrics = {"name": folder.name}
    for split, row in read_results(folder).items():
        metrics.update({f"{split}_{k}": v for k, v in row.items()})
    model_file = folder / "model.glassnet"
    if model_file.exists():
        metrics["size_mb"] = model_file.stat().st_size / 2**20
        metrics["latency_ms"] = _latency_ms(model_file)
    return metrics


def _latency_ms(model_file: Path) -> float:
    from glassnet.persistence import load_model
    from glassnet.strategy import measure_model

    model = load_model(model_file)
    X = np.zeros((1, model.n_x), dtype=model.dtype)
    return float(measure_model(model, X)["latency_ms"])
