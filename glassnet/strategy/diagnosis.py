"""Bias / variance / data-mismatch diagnosis from the errors on each split.

The notes' ladder, with human-level error as the proxy for Bayes error:

    human-level error
        | avoidable bias  = train - human
    training error
        | variance        = train_dev - train   (dev - train without a training-dev set)
    training-dev error
        | data mismatch   = dev - train_dev
    dev error
        | dev overfitting = test - dev
    test error

With every split present the four gaps add up to ``test - human``. The largest gap is
the problem to work on first; :data:`REMEDIES` lists what the notes suggest for each.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ..metrics import error_rate, get_metric
from ..validation import check_choice

SPLITS = ("human", "train", "train_dev", "dev", "test")
SPLIT_LABELS = {
    "human": "human-level",
    "train": "training",
    "train_dev": "training-dev",
    "dev": "dev",
    "test": "test",
}
COMPONENTS = ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting")
COMPONENT_LABELS = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "dev_overfitting": "dev overfitting",
}
REMEDIES: dict[str, tuple[str, ...]] = {
    "avoidable_bias": (
        "train a bigger network (more hidden units or layers)",
        "train longer / use a better optimization algorithm (momentum, RMSprop, Adam)",
        "try another architecture / run a hyperparameter search",
    ),
    "variance": (
        "get more training data",
        "add regularization (L2, dropout, data augmentation)",
        "try another architecture / run a hyperparameter search",
    ),
    "data_mismatch": (
        "do manual error analysis of how the training and dev/test data differ",
        "make the training data more like dev/test (e.g. artificial data synthesis)",
        "collect more training data like the dev/test data",
    ),
    "dev_overfitting": ("get a bigger dev set (you have overfit the dev set)",),
}
"""Component name -> what the notes suggest doing about it."""


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


@dataclass(frozen=True)
class Diagnosis:
    """Errors (as fractions), the gaps between them, and what to do next.

    A component is ``None`` when a split it needs was not given. ``problem`` is the
    name (a key of :data:`COMPONENT_LABELS`) of the largest positive component, or
    ``None`` when no component is positive.
    """

    human: float | None
    train: float | None
    train_dev: float | None
    dev: float | None
    test: float | None
    avoidable_bias: float | None
    variance: float | None
    data_mismatch: float | None
    dev_overfitting: float | None
    problem: str | None
    remedies: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def components(self) -> dict[str, float]:
        """The computed components, in ladder order."""
        values = {name: getattr(self, name) for name in COMPONENTS}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def errors(self) -> dict[str, float]:
        """The given errors, in ladder order."""
        values = {name: getattr(self, name) for name in SPLITS}
        return {name: value for name, value in values.items() if value is not None}

    def table(self) -> str:
        """A text table of the ladder (errors in %, gaps in points) and the advice."""
        gap_of = {
            "train": "avoidable_bias",
            "train_dev": "variance",
            "dev": "data_mismatch" if self.train_dev is not None else "variance",
            "test": "dev_overfitting",
        }
        lines = [f"{'split':<13}{'error':>8}  {'gap':>7}  component"]
        for split in SPLITS:
            value = getattr(self, split)
            error_text = "-" if value is None else _percent(value)
            if split == "human" and value is None:
                error_text = "(0.0%)"
            gap_text, name_text = "", ""
            component = gap_of.get(split)
            if value is not None and component is not None:
                gap = getattr(self, component)
                if gap is not None:
                    gap_text = _points(gap)
                    name_text = COMPONENT_LABELS[component]
                    if component == self.problem:
                        name_text += "   <- largest"
            row = (
                f"{SPLIT_LABELS[split]:<13}{error_text:>8}  {gap_text:>7}  {name_text}"
            )
            lines.append(row.rstrip())
        lines.append("(gaps in percentage points)")
        lines.append("")
        if self.problem is None:
            lines.append("Problem: none of the gaps is positive")
        else:
            size = 100 * getattr(self, self.problem)
            label = COMPONENT_LABELS[self.problem]
            lines.append(f"Problem: {label} ({size:.1f} percentage points)")
            lines.append("Try:")
            lines.extend(f"  - {remedy}" for remedy in self.remedies)
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        from glassnet.notebook import diagnosis_repr

        return diagnosis_repr(self)

    def _repr_html_(self) -> str:
        """The ladder and the next steps as HTML (Jupyter shows it)."""
        from glassnet.notebook import diagnosis_html

        return diagnosis_html(self)


def _read_errors(given: dict, percent) -> tuple[dict[str, float], bool]:
    """Check the given errors and convert them to fractions; return the scale used."""
    for name, value in given.items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{name} error must be a number; received {name}={value!r}")
        if not np.isfinite(value):
            raise ValueError(f"{name} error must be finite; received {name}={value!r}")
    if percent is None:
        percent = any(value > 1 for value in given.values())
    elif not isinstance(percent, bool):
        raise TypeError(f"percent must be None, True or False; received {percent!r}")
    high = 100 if percent else 1
    for name, value in given.items():
        if not 0 <= value <= high:
            scale = (
                "a percentage in [0, 100]"
                if percent
                else "a fraction in [0, 1] (pass percent=True for percentages)"
            )
            raise ValueError(f"{name} error must be {scale}; received {name}={value!r}")
    return {name: float(value) / high for name, value in given.items()}, percent


def diagnose(
    *, human=None, train=None, train_dev=None, dev=None, test=None, percent=None
) -> Diagnosis:
    """Split the gap between human-level and test error into its causes.

        avoidable_bias  = train - human        (human taken as 0 when not given)
        variance        = train_dev - train    (dev - train without train_dev)
        data_mismatch   = dev - train_dev
        dev_overfitting = test - dev

    Errors are fractions in [0, 1] or percentages in [0, 100]: ``percent=None`` reads
    them as percentages when any value exceeds 1, ``percent=True/False`` forces the
    scale. The returned :class:`Diagnosis` stores fractions; its ``problem`` is the
    largest positive component (the first in ladder order on a tie).

    Example (the notes): ``diagnose(human=1, train=10, dev=15, test=20)`` gives
    avoidable bias 9 points, the largest, so the advice is a bigger network, longer
    training or a better optimizer, or another architecture.
    """
    given = {
        name: value
        for name, value in zip(
            SPLITS, (human, train, train_dev, dev, test), strict=True
        )
        if value is not None
    }
    errors, _ = _read_errors(given, percent)
    h, tr = errors.get("human"), errors.get("train")
    td, d, te = errors.get("train_dev"), errors.get("dev"), errors.get("test")
    notes: list[str] = []
    components: dict[str, float | None] = dict.fromkeys(COMPONENTS)
    if tr is not None:
        components["avoidable_bias"] = tr - (h if h is not None else 0.0)
        if h is None:
            notes.append(
                "human-level error was not given: avoidable bias is measured against "
                "0 (it is then the whole training error, an upper bound)"
            )
        elif tr < h:
            notes.append(
                "training error is below human-level error: past human level the "
                "Bayes-error proxy is uncertain; progress gets harder"
            )
        if td is not None:
            components["variance"] = td - tr
        elif d is not None:
            components["variance"] = d - tr
            notes.append(
                "no training-dev error was given: variance is measured as dev - "
                "train and also contains any data mismatch; hold out a training-dev "
                "set (same distribution as training) to separate the two"
            )
    if td is not None and d is not None:
        components["data_mismatch"] = d - td
    if d is not None and te is not None:
        components["dev_overfitting"] = te - d
    computed = {k: v for k, v in components.items() if v is not None}
    if not computed:
        raise ValueError(
            "diagnose needs errors for neighbouring splits (e.g. train and dev, or "
            f"dev and test); received only {sorted(given) or 'nothing'}"
        )
    for name, value in computed.items():
        if value < 0 and name != "avoidable_bias":
            notes.append(
                f"{COMPONENT_LABELS[name]} is negative ({_points(value)} points): the "
                "later split scored better; usually noise from a small set or an "
                "easier distribution"
            )
    largest = max(computed, key=computed.get)
    problem = largest if computed[largest] > 0 else None
    return Diagnosis(
        human=h,
        train=tr,
        train_dev=td,
        dev=d,
        test=te,
        **components,
        problem=problem,
        remedies=list(REMEDIES[problem]) if problem else [],
        notes=notes,
    )


def diagnose_model(model, splits: dict, *, human=None, metric="error") -> Diagnosis:
    """Compute each split's error from ``model.predict`` and :func:`diagnose` it.

    ``splits`` maps split names (``"train"``, ``"train_dev"``, ``"dev"``, ``"test"``)
    to ``(X, y)`` pairs with ``X (m, n)`` and labels ``y (m,)``. ``metric`` is
    ``"error"`` (``1 - accuracy``), another registry name from
    :mod:`glassnet.metrics` (scored as ``1 - metric``, e.g. ``"f1"``), or a
    ``callable(y_true, y_pred)`` that already returns an error. ``human`` is a
    fraction in [0, 1].
    """
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise TypeError(
            "model must have a predict(X) method; received an object of type "
            f"{type(model).__name__}"
        )
    if not isinstance(splits, dict) or not splits:
        raise ValueError(
            "splits must be a non-empty dict like {'train': (X, y), 'dev': (X, y)}; "
            f"received {type(splits).__name__}"
        )
    if callable(metric):
        error_of = metric
    elif metric == "error":
        error_of = error_rate
    else:
        score = get_metric(metric)

        def error_of(y_true, y_pred):
            return 1.0 - score(y_true, y_pred)

    errors = {}
    for name, pair in splits.items():
        check_choice("split", name, SPLITS[1:])
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"splits[{name!r}] must be an (X, y) pair")
        X, y = pair
        errors[name] = float(error_of(y, predict(X)))
    return diagnose(human=human, percent=False, **errors)
