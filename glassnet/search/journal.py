"""The search journal: one JSON line per finished trial, safe against a kill.

A search with ``out=<directory>`` keeps two files there:

- ``search.json``: the search's own settings (objective name, space, seed, trials,
  rounds, metric, ...), written atomically (temporary file + ``os.replace``) before
  the first trial. Resuming with different settings raises ``ValueError`` naming the
  settings that differ instead of mixing two searches in one journal.
- ``trials.jsonl``: one record per finished trial, appended by the process that
  runs the search (never by the workers). Each record is one line written with one
  ``os.write`` on a file opened with ``O_APPEND`` and then ``fsync``-ed, so a record
  is either complete or, if the process is killed mid-write, a torn last line with
  no newline. :func:`read_journal` ignores such a line and :func:`repair_journal`
  cuts it off before new records are appended.

A record holds ``trial_id``, ``round``, ``rung``, ``index``, ``config``, ``seed``,
``budget``, ``status`` (``"ok"``/``"failed"``), ``metrics``, ``error``,
``duration_s`` and ``fingerprint`` (a hash of config, seed and budget, which a
resumed search checks against its own plan).

A pruned trial (:mod:`glassnet.search.pruning`) gets a second line with the same
``trial_id``: its last rung's record again with ``"pruned": true`` (its ``rung``
is the rung it reached). A later line for a ``trial_id`` supersedes an earlier
one; the pruning decision is written once its rung has finished, so a search killed
between the two lines takes the decision again, the same way, when resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from glassnet import _atomic_files

__all__ = [
    "TRIALS_FILE",
    "SETTINGS_FILE",
    "fingerprint",
    "append_record",
    "json_copy",
    "read_journal",
    "repair_journal",
    "prepare_directory",
    "read_settings",
    "write_json_atomically",
]

TRIALS_FILE = "trials.jsonl"
SETTINGS_FILE = "search.json"
FORMAT = "glassnet-search/1"


def fingerprint(config: Mapping, seed: int, budget: int | None) -> str:
    """SHA-256 of the canonical JSON of ``(config, seed, budget)``."""
    text = json.dumps(
        {"config": config, "seed": seed, "budget": budget},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def json_copy(value, what: str = "value"):
    """``value`` as it will read back from JSON; ``TypeError`` naming ``what`` if
    it is not JSON (a set, an object, NaN)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise TypeError(
            f"{what} must be JSON values (str, finite number, bool, None, lists or "
            f"dicts of them); received {value!r}"
        ) from None


def append_record(path: str | Path, record: Mapping) -> None:
    """Append ``record`` as one line: one ``os.write`` with ``O_APPEND``, then fsync."""
    line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
    data = line.encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(descriptor, data)
        if written != len(data):
            raise OSError(
                f"short write to {path}: {written} of {len(data)} bytes (disk full?)"
            )
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_journal(path: str | Path) -> list[dict]:
    """All complete records of a journal, in the order written.

    A last line without its newline (a write torn by a kill) is ignored; a broken
    line before the end raises ``ValueError`` with its line number.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")[:-1]  # the part after the last newline is torn
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{path} line {number} is not a JSON record ({error}); the journal "
                "was edited or damaged: fix or remove that line"
            ) from None
        if not isinstance(record, dict) or "trial_id" not in record:
            raise ValueError(f"{path} line {number} is not a trial record")
        records.append(record)
    return records


def repair_journal(path: str | Path) -> int:
    """Cut a torn last line (no newline) off the journal; return the bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    with path.open("r+b") as handle:
        data = handle.read()
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return len(data) - keep


def write_json_atomically(path: str | Path, value) -> Path:
    """Write ``value`` as JSON to ``path`` atomically (the folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _atomic_files.write_json_atomically(path, value)


def read_settings(directory: str | Path) -> dict:
    """The settings stored in ``<directory>/search.json``."""
    path = Path(directory) / SETTINGS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: {directory} holds no search")
    settings = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(settings, dict) or settings.get("format") != FORMAT:
        raise ValueError(f"{path} is not a glassnet search settings file")
    return settings


def prepare_directory(directory: str | Path, settings: Mapping) -> list[dict]:
    """Make ``directory`` ready for a search with ``settings``; return its records.

    A fresh directory gets ``search.json``; an existing one must hold the same
    settings (else ``ValueError`` naming the differences). A torn last journal line
    is cut off so new records start on a line of their own.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    wanted = json.loads(json.dumps({"format": FORMAT, **settings}, allow_nan=False))
    journal = directory / TRIALS_FILE
    if (directory / SETTINGS_FILE).exists():
        stored = read_settings(directory)
        differences = [
            f"{key}: stored {stored.get(key)!r}, now {wanted.get(key)!r}"
            for key in sorted(set(stored) | set(wanted))
            if stored.get(key) != wanted.get(key)
        ]
        if differences:
            raise ValueError(
                f"{directory} holds a different search ({'; '.join(differences)}); "
                "resume it with the same settings, or pass a new out directory"
            )
    elif journal.exists() and journal.stat().st_size:
        raise ValueError(
            f"{journal} exists but {SETTINGS_FILE} does not, so it cannot be checked "
            "against this search; pass a new out directory"
        )
    else:
        write_json_atomically(directory / SETTINGS_FILE, wanted)
    repair_journal(journal)
    return read_journal(journal)
