"""Run folders: where a training command writes one by default, and its JSON files
(``config.json``, ``results.json``) as ``diagnose``, ``errors``, ``select`` and
``train --resume`` read them: a missing, unreadable or malformed file is the user's
error and says which file and what is wrong."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path


def default_run_folder(data, kind: str = "") -> Path:
    """``runs/<data>[-<kind>]-<time>`` (``-2``, ``-3``, ... when that folder
    exists): where ``train`` and ``transfer`` write without ``--out``."""
    stem = Path(str(data)).stem
    name = "-".join(
        part for part in (stem, kind, time.strftime("%Y%m%d-%H%M%S")) if part
    )
    folder, number = Path("runs") / name, 1
    while folder.exists():
        number += 1
        folder = Path("runs") / f"{name}-{number}"
    return folder


def read_json_object(path, what: str) -> dict:
    """The JSON object in ``path`` (``what`` names it in errors, e.g. "config file")."""
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"no such {what}: {path}")
    try:
        values = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise ValueError(
            f"{path} must hold a JSON object; received a {type(values).__name__}"
        )
    return values


def check_run_folder(folder, needs: str = "results.json") -> Path:
    """``folder`` as a Path, refused unless it holds ``needs``."""
    folder = Path(folder)
    if not (folder / needs).is_file():
        raise FileNotFoundError(f"{folder} is not a run folder (no {needs})")
    return folder


def read_results(folder) -> dict:
    """``{split: {metric: number}}`` from a run folder's results.json."""
    path = check_run_folder(folder) / "results.json"
    results = read_json_object(path, "results file").get("results")
    if not isinstance(results, dict):
        raise ValueError(f'{path} has no "results" object of splits')
    for split, row in results.items():
        if not isinstance(row, dict) or not all(_is_number(v) for v in row.values()):
            raise ValueError(
                f"{path}: split {split!r} must map metric names to numbers; "
                f"received {row!r}"
            )
    return results


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
