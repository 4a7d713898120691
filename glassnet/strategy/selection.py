"""Model selection with one optimizing metric and N-1 satisficing metrics.

From the notes: with N metrics, optimize one (as good as possible) and merely
satisfy the others (good enough is enough), e.g.

    maximize accuracy   subject to   latency_ms <= 100 and size_mb <= 5

:func:`select_model` applies that rule to a list of candidates and explains, for every
loser, which constraint it broke or by how much it trailed on the optimizing metric.
:func:`measure_model` measures the usual satisficing metrics of a model.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..validation import check_choice, check_positive_int

OPERATORS = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}
LOWER_IS_BETTER_WORDS = ("error", "loss", "cost", "latency", "size")
_CONSTRAINT = re.compile(r"^\s*([^<>=!\s]+)\s*(<=|>=|==|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric operator threshold``, e.g. ``latency_ms <= 100``."""

    metric: str
    operator: str
    threshold: float

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the constraint."""
        return OPERATORS[self.operator](value, self.threshold)

    def excess(self, value: float) -> float:
        """How far ``value`` is from satisfying the constraint (0 when it does)."""
        return 0.0 if self.holds(value) else abs(value - self.threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.operator} {self.threshold:g}"


def parse_constraint(text: str) -> Constraint:
    """Parse ``"latency_ms<=100"`` (operators ``<=, <, >=, >, ==``) to a Constraint."""
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            "a constraint must read 'metric<op>number' with <op> one of "
            f"{', '.join(OPERATORS)} (e.g. 'latency_ms<=100'); received {text!r}"
        )
    metric, op, number = match.groups()
    try:
        threshold = float(number)
    except ValueError:
        raise ValueError(
            f"the threshold in constraint {text!r} must be a number; "
            f"received {number!r}"
        ) from None
    return Constraint(metric, op, threshold)


def _constraint_from(metric: str, spec) -> Constraint:
    """Build a Constraint from a ``satisfy`` entry: ``(op, value)`` or ``"<=100"``."""
    if isinstance(spec, str):
        return parse_constraint(f"{metric}{spec}")
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        op, threshold = spec
        check_choice("operator", op, OPERATORS)
        if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool):
            raise TypeError(
                f"the threshold for {metric} must be a number; received {threshold!r}"
            )
        return Constraint(metric, op, float(threshold))
    raise ValueError(
        f"satisfy[{metric!r}] must be (operator, number) like ('<=', 100) or a "
        f"string like '<=100'; received {spec!r}"
    )


def _constraints(satisfy) -> list[Constraint]:
    """Normalize ``satisfy`` (dict, or iterable of strings / Constraints)."""
    if satisfy is None:
        return []
    if isinstance(satisfy, str):
        satisfy = [satisfy]
    if isinstance(satisfy, Mapping):
        return [_constraint_from(str(k), v) for k, v in satisfy.items()]
    return [c if isinstance(c, Constraint) else parse_constraint(c) for c in satisfy]


def lower_is_better(metric: str) -> bool:
    """Whether ``metric`` is minimized: its name has error, loss, latency or size."""
    name = metric.casefold()
    return any(word in name for word in LOWER_IS_BETTER_WORDS)


def _name_of(candidate, position: int) -> str:
    if isinstance(candidate, Mapping):
        return str(candidate.get("name", f"candidate {position}"))
    name = getattr(candidate, "name", None)
    if name is None and isinstance(getattr(candidate, "metrics", None), Mapping):
        name = candidate.metrics.get("name")
    return str(name) if name is not None else f"candidate {position}"


def _value_of(candidate, metric: str, name: str) -> float:
    """A candidate's value for ``metric`` (dict key, ``.metrics[...]`` or attribute)."""
    if isinstance(candidate, Mapping):
        source, found = candidate, metric in candidate
        value = candidate.get(metric)
    else:
        source = getattr(candidate, "metrics", None)
        if isinstance(source, Mapping) and metric in source:
            found, value = True, source[metric]
        else:
            found = hasattr(candidate, metric)
            value = getattr(candidate, metric, None)
            source = (
                source
                if isinstance(source, Mapping)
                else getattr(candidate, "__dict__", {})
            )
    if not found:
        have = sorted(str(k) for k in source if k != "name")
        raise ValueError(f"candidate {name!r} has no metric {metric!r}; it has {have}")
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(
            f"candidate {name!r}: {metric} must be a number; received {value!r}"
        )
    return float(value)


@dataclass(frozen=True)
class Selection:
    """The chosen candidate and one explanatory row per candidate."""

    best: object
    best_name: str
    optimize: str
    higher_is_better: bool
    constraints: tuple[Constraint, ...]
    table: list[dict] = field(default_factory=list)

    def render(self) -> str:
        """Text table: winner first, then feasible losers, then infeasible ones."""
        direction = "max" if self.higher_is_better else "min"
        title = f"optimize: {self.optimize} ({direction})"
        if self.constraints:
            title += "; satisfy: " + ", ".join(map(str, self.constraints))
        width = max(len("candidate"), *(len(row["name"]) for row in self.table))
        lines = [title, f"{'candidate':<{width}}  {self.optimize:>10}  verdict"]
        for row in self.table:
            value = f"{row['value']:.6g}"
            lines.append(f"{row['name']:<{width}}  {value:>10}  {row['reason']}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _violations(checks: dict) -> list[str]:
    return [
        f"{metric} = {c['value']:g} (needs {c['operator']} {c['threshold']:g}, "
        f"off by {c['excess']:g})"
        for metric, c in checks.items()
        if not c["ok"]
    ]


def select_model(
    candidates, *, optimize="f1", satisfy=None, higher_is_better=None
) -> Selection:
    """Pick the candidate with the best ``optimize`` value among those meeting every
    ``satisfy`` constraint.

    ``candidates`` are dicts (``"name"`` plus metric values) or objects with a
    ``.metrics`` dict or metric attributes. ``satisfy`` maps metric -> ``(op,
    threshold)`` (ops ``<=, <, >=, >, ==``) or ``"<=100"``, or is a list of strings
    like ``"latency_ms<=100"``. ``higher_is_better=None`` minimizes metrics whose
    name contains error, loss, latency or size and maximizes the rest. Ties go to
    the earlier candidate; NaN optimizing values rank last. Raises ValueError for an
    empty list or when no candidate satisfies every constraint (the message lists
    the near-misses: those breaking the fewest constraints, and by how much).
    """
    candidates = list(candidates)
    if not candidates:
        raise ValueError("candidates is empty; give at least one model to choose from")
    constraints = _constraints(satisfy)
    if higher_is_better is None:
        higher_is_better = not lower_is_better(optimize)
    sign = 1.0 if higher_is_better else -1.0
    rows = []
    for position, candidate in enumerate(candidates):
        name = _name_of(candidate, position)
        value = _value_of(candidate, optimize, name)
        checks = {}
        for constraint in constraints:
            got = _value_of(candidate, constraint.metric, name)
            checks[constraint.metric] = {
                "value": got,
                "operator": constraint.operator,
                "threshold": constraint.threshold,
                "ok": constraint.holds(got),
                "excess": constraint.excess(got),
            }
        rows.append({"name": name, "value": value, "constraints": checks})
        rows[-1]["feasible"] = all(c["ok"] for c in checks.values())
    feasible = [i for i, row in enumerate(rows) if row["feasible"]]
    if not feasible:
        fewest = min(len(_violations(row["constraints"])) for row in rows)
        near = sorted(
            (r for r in rows if len(_violations(r["constraints"])) == fewest),
            key=lambda r: sum(
                c["excess"] / max(abs(c["threshold"]), 1e-12)
                for c in r["constraints"].values()
            ),
        )
        listed = "; ".join(
            f"{row['name']!r} breaks {', '.join(_violations(row['constraints']))}"
            for row in near[:5]
        )
        raise ValueError(
            "no candidate satisfies all constraints "
            f"({', '.join(map(str, constraints))}); closest ({fewest} broken, "
            f"smallest relative miss first): "
            f"{listed}"
        )

    def rank_key(i):
        value = rows[i]["value"]
        return (math.isnan(value), -sign * value if not math.isnan(value) else 0, i)

    order = sorted(feasible, key=rank_key)
    winner = rows[order[0]]
    for rank, i in enumerate(order, start=1):
        row = rows[i]
        row["rank"] = rank
        gap = abs(row["value"] - winner["value"])
        if rank == 1:
            row["reason"] = f"best {optimize} among candidates meeting all constraints"
        elif math.isnan(row["value"]):
            row["reason"] = f"{optimize} is NaN"
        elif gap == 0:
            row["reason"] = f"ties the winner on {optimize}; listed after it"
        else:
            word = "lower" if higher_is_better else "higher"
            row["reason"] = f"{optimize} {gap:.4g} {word} than {winner['name']}"
    for row in rows:
        if not row["feasible"]:
            row["rank"] = None
            row["reason"] = "breaks " + "; ".join(_violations(row["constraints"]))
    table = [rows[i] for i in order] + [r for r in rows if not r["feasible"]]
    return Selection(
        best=candidates[order[0]],
        best_name=winner["name"],
        optimize=optimize,
        higher_is_better=bool(higher_is_better),
        constraints=tuple(constraints),
        table=table,
    )


def _model_bytes(model) -> int:
    """Bytes of ``model.save(path)`` output, else the nbytes of ``model.params``."""
    save = getattr(model, "save", None)
    if callable(save):
        with tempfile.TemporaryDirectory() as directory:
            save(os.path.join(directory, "model"))
            return sum(
                os.path.getsize(os.path.join(root, file))
                for root, _, files in os.walk(directory)
                for file in files
            )
    params = getattr(model, "params", None)
    if callable(params):
        params = params()
    if isinstance(params, Mapping):
        return int(sum(np.asarray(value).nbytes for value in params.values()))
    raise TypeError(
        "model needs a save(path) method or a params dict to measure its size; "
        f"received an object of type {type(model).__name__}"
    )


def measure_model(model, X, *, repeats=5) -> dict[str, float]:
    """Satisficing metrics of a model: ``{"latency_ms", "size_mb"}``.

    ``latency_ms`` is the median wall time, in milliseconds, of ``repeats`` calls of
    ``model.predict`` on a batch of one example (rows of ``X (m, n)`` in turn, after
    one warm-up call). ``size_mb`` is the size in MiB (2**20 bytes) of the files
    ``model.save(path)`` writes or, without ``save``, the summed ``nbytes`` of
    ``model.params.values()``.
    """
    repeats = check_positive_int("repeats", repeats)
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise TypeError(
            "model must have a predict(X) method; received an object of type "
            f"{type(model).__name__}"
        )
    X = np.asarray(X)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(
            f"X must be a non-empty array of examples (m, n); received shape {X.shape}"
        )
    predict(X[:1])
    times = []
    for k in range(repeats):
        i = k % len(X)
        start = time.perf_counter()
        predict(X[i : i + 1])
        times.append(time.perf_counter() - start)
    return {
        "latency_ms": float(np.median(times) * 1000.0),
        "size_mb": _model_bytes(model) / 2**20,
    }
