"""``glassnet select``: pick a run folder by one optimizing metric under satisficing
constraints (the notes' single-number evaluation), size and latency included. It
warns when the runs were not trained and scored on the same data."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from glassnet.cli.run_folders import read_json_object, read_results


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

    folders = [Path(run) for run in args.runs]
    candidates = [_candidate(folder) for folder in folders]
    _warn_if_data_differs(folders, candidates)
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


def _data_of(folder: Path) -> str | None:
    """The data a run was split from and scored on, from its config.json (None
    when the folder has none): the data set, its label column, the split
    fractions, separate dev / test files and the split seed."""
    file = folder / "config.json"
    if not file.is_file():
        return None
    config = read_json_object(file, "run config")
    text = str(config.get("data"))
    if config.get("label_column") is not None:
        text += f" (label column {config['label_column']})"
    if config.get("split") is not None:
        text += f", split {config['split']}"
    for part in ("dev", "test"):
        if config.get(f"{part}_data") is not None:
            text += f", {part} set {config[f'{part}_data']}"
    return f"{text}, split seed {config.get('split_seed')}"


def _warn_if_data_differs(folders, candidates) -> None:
    """Warn when the runs were not scored on the same data: a different data set,
    label column or split seed (config.json), or splits of different sizes."""
    groups: dict[str, list[str]] = {}
    for folder, candidate in zip(folders, candidates, strict=True):
        data = _data_of(folder)
        if data is not None:
            groups.setdefault(data, []).append(candidate["name"])
    if len(groups) > 1:
        described = "; ".join(f"{', '.join(v)}: {k}" for k, v in groups.items())
        warnings.warn(
            f"the runs compared were trained and scored on different data "
            f"({described}); their metrics are not comparable",
            stacklevel=2,
        )
        return
    for split in ("dev", "test", "train"):
        counts = {
            c["name"]: c[f"{split}_examples"]
            for c in candidates
            if f"{split}_examples" in c
        }
        if len(set(counts.values())) > 1:
            described = ", ".join(f"{k} {v:g}" for k, v in counts.items())
            warnings.warn(
                f"the runs compared have {split} sets of different sizes "
                f"({described}); they were not scored on the same examples",
                stacklevel=2,
            )
            return


def _latency_ms(model_file: Path) -> float:
    from glassnet.persistence import load_model
    from glassnet.strategy import measure_model

    model = load_model(model_file)
    X = np.zeros((1, model.n_x), dtype=model.dtype)
    return float(measure_model(model, X)["latency_ms"])
