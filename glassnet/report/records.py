"""What a report is built from: a run folder's files (``config.json``,
``results.json``, ``history.csv``, an optional tagged ``tags.csv``) or a search
folder's (``search.json``, ``trials.jsonl``), read and checked; a missing or
malformed file is the user's error and names the file."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

REPORT_FILE = "report.html"
TAGS_FILE = "tags.csv"
"""A run folder's tagged error-analysis spreadsheet (``glassnet errors`` reads
it); the report shows its tally when it is there."""


@dataclass
class RunRecord:
    """A run folder's files: ``config`` (config.json), ``summary``
    (results.json: results, split, early_stopping, ...), ``history``."""

    folder: Path
    config: dict
    summary: dict
    history: object

    @property
    def results(self) -> dict:
        return self.summary["results"]


def folder_kind(folder) -> str:
    """``"run"`` (results.json and config.json) or ``"search"`` (search.json);
    anything else is refused, naming what was looked for."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    if (folder / "results.json").is_file() and (folder / "config.json").is_file():
        return "run"
    if (folder / "search.json").is_file():
        return "search"
    raise FileNotFoundError(
        f"{folder} is neither a run folder (results.json and config.json) nor a "
        "search folder (search.json)"
    )


def read_run(folder) -> RunRecord:
    """The files of the run folder ``folder``."""
    from glassnet.cli.run_folders import read_json_object, read_results

    folder = Path(folder)
    read_results(folder)  # "results" checked: splits of finite numbers
    summary = read_json_object(folder / "results.json", "results file")
    config = read_json_object(folder / "config.json", "config file")
    return RunRecord(folder, config, summary, read_history(folder / "history.csv"))


def read_history(path):
    """A :class:`glassnet.callbacks.History` from ``history.csv`` (``epoch``,
    then one column per logged value, as ``History.to_csv`` writes it)."""
    from glassnet.callbacks import History

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no history file {path} (the run's epochs)")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or not rows[0] or rows[0][0] != "epoch":
        raise ValueError(f"{path} must start with a header row 'epoch,cost,...'")
    header = rows[0]
    history = History()
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{path} line {number} has {len(row)} values; the header has "
                f"{len(header)}"
            )
        try:
            epoch, values = int(row[0]), [float(v) for v in row[1:]]
        except ValueError:
            raise ValueError(
                f"{path} line {number} holds a value that is not a number"
            ) from None
        history.epoch.append(epoch)
        for key, value in zip(header[1:], values, strict=True):
            history.history.setdefault(key, []).append(value)
    return history


def finite(value) -> bool:
    """A finite number (not a bool)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
