"""The settings of one training run: :class:`RunConfig`, what ``glassnet train``'s
options, a JSON config file and a search space's values all become, checked once
(:meth:`RunConfig.validate`) with messages that name the value."""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field

import numpy as np

from glassnet import initializers, optimizers, schedules
from glassnet.validation import check_choice, check_in_range, check_positive_int


@dataclass
class RunConfig:
    """Everything a run depends on (the CLI's options, the search's space).

    The defaults (one hidden layer of 100 ReLU units, Adam at 1e-3, 200 epochs of
    mini-batches of 32, no early stopping; the input layers of
    :func:`glassnet.networks.preprocessing_layers` in the model) were chosen with
    ``benchmarks/accuracy.py``: over three seeds they are at least as accurate as
    scikit-learn's default ``MLPClassifier()`` on digits, breast_cancer, wine, iris,
    mnist and catvnoncat (benchmarks/README.md). Early stopping on the dev cost is
    off by default: on catvnoncat the dev cost is lowest after two epochs while the
    accuracy still improves for a hundred.
    """

    data: str = "digits"
    layers: tuple = (100,)
    activation: str = "relu"
    initializer: str | None = None
    epochs: int = 200
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float | None = None
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    schedule: str | None = None
    decay_rate: float | None = None
    time_interval: int | None = None
    seed: int = 0
    split_seed: int = 0
    #: (train, dev, test) fractions of ``data``; None: the notes' rule of thumb
    split: tuple | None = None
    #: separate files (or names) for the dev and the test set
    dev_data: str | None = None
    test_data: str | None = None
    dtype: str = "float32"
    l2: float = 0.0
    l1: float = 0.0
    keep_prob: float | tuple = 1.0
    batchnorm: bool = False
    early_stopping: int | None = None
    augment: bool = False
    standardize: bool = True
    label_column: str | int | None = None  # a name or an index (load_csv)
    #: {column name: "numeric" | "categorical" | "ignored"}: roles that win over
    #: the inferred ones (--categorical, --numeric, --ignore; D40)
    column_roles: dict | None = None
    human_error: float | None = None
    checkpoint_every: int | None = None
    metrics: tuple = field(default=("accuracy", "f1"))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict) -> RunConfig:
        """Build from a dict (a JSON config, a search space, a saved run), refusing
        unknown names (listing the allowed ones) and values of the wrong type, both
        with a ValueError."""
        unknown = set(values) - set(cls.field_names())
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {sorted(unknown)}; allowed: "
                f"{', '.join(cls.field_names())}"
            )
        for name, value in values.items():
            _check_type(name, value, none_allowed=getattr(cls, name, 0) is None)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> RunConfig:
        """Normalize and check every field (clear messages naming the value)."""
        self.layers = parse_layers(self.layers)
        self.epochs = check_positive_int("epochs", self.epochs)
        self.batch_size = check_positive_int("batch_size", self.batch_size)
        if self.checkpoint_every is not None:  # 0 would silently write none
            self.checkpoint_every = check_positive_int(
                "checkpoint_every", self.checkpoint_every
            )
        check_choice("optimizer", self.optimizer, optimizers.NAMES)
        if self.initializer is not None:
            check_choice("initializer", self.initializer, initializers.NAMES)
        if self.schedule is not None:
            check_choice("schedule", self.schedule, schedules.NAMES)
        if self.learning_rate is not None:
            check_in_range(
                "learning_rate", self.learning_rate, 0, None, low_inclusive=False
            )
        for name in ("l2", "l1"):
            check_in_range(name, getattr(self, name), 0, None)
        keep = self.keep_prob
        keep = tuple(keep) if isinstance(keep, (list, tuple)) else (keep,)
        for value in keep:
            check_in_range("keep_prob", value, 0, 1, low_inclusive=False)
        if len(keep) not in (1, len(self.layers)):
            raise ValueError(
                f"keep_prob needs one value or one per hidden layer "
                f"({len(self.layers)}); received {list(keep)}"
            )
        self.keep_prob = keep[0] if len(keep) == 1 else keep
        if self.schedule == "inverse_sqrt_step" and self.time_interval is not None:
            raise ValueError(
                "time_interval does not apply to the inverse_sqrt_step schedule (it "
                f"decays every step); received time_interval={self.time_interval}"
            )
        if self.split is not None:
            self.split = parse_split(self.split)
        if self.human_error is not None:
            check_in_range("human_error", self.human_error, 0, 1)
        if self.early_stopping is not None:
            check_in_range("early_stopping", self.early_stopping, 1, None, integer=True)
        if self.column_roles is not None:
            self.column_roles = _checked_roles(self.column_roles)
        return self

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        if self.column_roles is not None:
            values["column_roles"] = dict(self.column_roles)
        values["layers"] = list(self.layers)
        values["metrics"] = list(self.metrics)
        if self.split is not None:
            values["split"] = list(self.split)
        if isinstance(self.keep_prob, tuple):
            values["keep_prob"] = list(self.keep_prob)
        return values


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_text(value) -> bool:
    return isinstance(value, str)


def _is_flag(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_list_of(test):
    return lambda value: isinstance(value, (list, tuple)) and all(map(test, value))


_INT = ("an integer", _is_int)
_NUMBER = ("a number", _is_number)
_TEXT = ("a string", _is_text)
_FLAG = ("true or false", _is_flag)

# What each setting may hold when it comes from a dict (a JSON config file, a search
# space, a saved run): a value of another type is the file's error, a ValueError
# naming it, never a TypeError from deep inside the run.
_SETTING_TYPES = {
    "data": ("a dataset name or path", _is_text),
    "layers": (
        'unit counts like "64,32" or [64, 32]',
        lambda value: _is_text(value) or _is_list_of(_is_int)(value),
    ),
    "activation": _TEXT,
    "initializer": _TEXT,
    "epochs": _INT,
    "batch_size": _INT,
    "optimizer": _TEXT,
    "learning_rate": _NUMBER,
    "beta1": _NUMBER,
    "beta2": _NUMBER,
    "epsilon": _NUMBER,
    "schedule": _TEXT,
    "decay_rate": _NUMBER,
    "time_interval": _INT,
    "seed": _INT,
    "split_seed": _INT,
    "split": (
        'three fractions like "0.8,0.1,0.1" or [0.8, 0.1, 0.1]',
        lambda value: _is_text(value) or _is_list_of(_is_number)(value),
    ),
    "dev_data": ("a dataset name or path", _is_text),
    "test_data": ("a dataset name or path", _is_text),
    "dtype": _TEXT,
    "l2": _NUMBER,
    "l1": _NUMBER,
    "keep_prob": (
        "a number or a list of numbers",
        lambda value: _is_number(value) or _is_list_of(_is_number)(value),
    ),
    "batchnorm": _FLAG,
    "early_stopping": _INT,
    "augment": _FLAG,
    "standardize": _FLAG,
    "label_column": ("a column name or index", lambda v: _is_text(v) or _is_int(v)),
    "human_error": _NUMBER,
    "checkpoint_every": _INT,
    "metrics": ("a list of metric names", _is_list_of(_is_text)),
    "column_roles": (
        'an object {"column": "numeric" | "categorical" | "ignored"}',
        lambda value: (
            isinstance(value, dict)
            and all(map(_is_text, value))
            and all(map(_is_text, value.values()))
        ),
    ),
}


def _checked_roles(value) -> dict:
    """``{column: role}`` with each role one of numeric, categorical, ignored."""
    from glassnet.data.columns import ROLES

    if not isinstance(value, dict):
        raise ValueError(
            f"column_roles must be an object {{column: role}}; received {value!r}"
        )
    for name, role in value.items():
        if not isinstance(name, str) or role not in ROLES:
            raise ValueError(
                f"column_roles: the role of {name!r} must be one of "
                f"{', '.join(ROLES)}; received {role!r}"
            )
    return dict(value)


def _check_type(name: str, value, *, none_allowed: bool) -> None:
    """Refuse a setting of the wrong type (ValueError: it came from a file)."""
    if value is None and none_allowed:
        return
    kind, test = _SETTING_TYPES.get(name, ("", lambda value: True))
    if not test(value):
        allowed = f"{kind} or null" if none_allowed else kind
        raise ValueError(f"{name} must be {allowed}; received {name}={value!r}")


def parse_split(value) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` or ``[0.8, 0.1, 0.1]`` -> ``(0.8, 0.1, 0.1)``: the train,
    dev and test fractions, each in [0, 1], summing to 1 (a fraction may be 0)."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        ratios = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        ratios = ()
    if len(ratios) != 3 or not all(0 <= r <= 1 for r in ratios):  # NaN fails too
        raise ValueError(
            "split must be three fractions TRAIN,DEV,TEST in [0, 1] like "
            f"0.8,0.1,0.1; received {value!r}"
        )
    if abs(sum(ratios) - 1) > 1e-6 or ratios[0] == 0:
        raise ValueError(
            f"split fractions must sum to 1 with a training share above 0; received "
            f"{value!r} (sum {sum(ratios):g})"
        )
    return ratios


def parse_layers(value) -> tuple[int, ...]:
    """``"64,32"`` or ``[64, 32]`` -> ``(64, 32)``; ``""`` -> ``()`` (no hidden).
    Every comma separates two sizes: ``"64,,32"`` and ``"64,"`` are refused."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")] if value.strip() else []
        try:
            value = [int(p) for p in parts]
        except ValueError:
            empty = " (a size between commas is missing)" if "" in parts else ""
            raise ValueError(
                f"layers must be comma-separated unit counts like 64,32; received "
                f"{value!r}{empty}"
            ) from None
    return tuple(check_positive_int("layer size", int(v)) for v in value)
