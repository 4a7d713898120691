"""The :class:`Dataset` container and the task inference for label vectors.

A dataset is a set of examples stored as ROWS (DESIGN.md section 1): ``X`` is
``(m, n_features)`` (or ``(m, h, w, c)`` for images kept as images), ``y`` is
``(m,)`` integer class codes ``0..C-1`` (binary / multiclass), ``(m,)`` float targets
(regression) or ``(m, k)`` 0/1 indicators (multilabel). ``classes[code]`` is the
original name of a class. Datasets that come with their own test set (the course cat
pictures, the football data, circles) carry it in ``X_test``/``y_test``.

Datasets are loaded by name or path with :func:`glassnet.data.load_dataset`
(:mod:`glassnet.data.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.data.preprocessing import encode_labels
from glassnet.errors import GlassnetError
from glassnet.validation import check_choice

__all__ = ["TASKS", "Dataset", "DatasetNotFoundError", "infer_task"]

TASKS = ("binary", "multiclass", "regression", "multilabel")
CLASSIFICATION_TASKS = ("binary", "multiclass")
# A float label vector whose values are all whole numbers and take at most this many
# distinct values is read as class labels; otherwise as regression targets.
MAX_INFERRED_CLASSES = 20


class DatasetNotFoundError(GlassnetError, FileNotFoundError, ValueError):
    """A dataset name or path that could not be found (both a FileNotFoundError and a
    ValueError, so either ``except`` catches it)."""


def _label_array(y, name: str, task: str | None) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be (m,) labels or targets or (m, k) multi-label indicators;"
            f" received shape {y.shape}"
        )
    if y.ndim == 2 and task in CLASSIFICATION_TASKS:
        raise ValueError(
            f"{name} for task {task!r} must be 1-D (m,); received shape {y.shape}"
        )
    return y


def as_text(values, name: str):
    """Byte strings as text: an ``S`` array, or objects that are bytes, decoded as
    UTF-8 (labels read from ``.npz`` or HDF5 files often are bytes, which a run
    could not save as JSON). Anything else is returned as it is."""
    if isinstance(values, (list, tuple)):
        if not any(isinstance(v, (bytes, np.bytes_)) for v in values):
            return values
        return [_decoded(v, name) for v in values]
    array = np.asarray(values)
    if array.dtype.kind == "S":
        decoded = [_decoded(v, name) for v in array.ravel().tolist()]
        return np.array(decoded, dtype=str).reshape(array.shape)
    if array.dtype.kind == "O" and any(isinstance(v, bytes) for v in array.flat):
        decoded = np.empty(array.shape, dtype=object)
        decoded.flat[:] = [_decoded(v, name) for v in array.flat]
        return decoded
    return values


def _decoded(value, name: str):
    if not isinstance(value, (bytes, np.bytes_)):
        return value
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name} holds bytes that are not UTF-8 text ({value[:20]!r}: {error})"
        ) from None


def infer_task(y) -> str:
    """Guess the task from labels: ``(m, k)`` 0/1 -> multilabel; strings, booleans,
    integers or few whole-number floats -> binary/multiclass; other floats ->
    regression."""
    y = _label_array(y, "y", None)
    if y.ndim == 2:
        values = y[np.isfinite(y)] if y.dtype.kind == "f" else y
        if np.isin(values, (0, 1)).all():
            return "multilabel"
        return "regression"
    if y.dtype.kind in "biuUSO":
        n_classes = len(np.unique(y))
    elif y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            return "regression"
        n_classes = len(np.unique(y))
        if n_classes > MAX_INFERRED_CLASSES:
            return "regression"
    else:
        raise ValueError(f"y has unsupported dtype {y.dtype}")
    return "binary" if n_classes <= 2 else "multiclass"


def _summary(array) -> str:
    if array is None:
        return "None"
    return f"array{tuple(array.shape)} {array.dtype}"


@dataclass(repr=False)
class Dataset:
    """Examples as rows plus what is needed to use them.

    ``X`` (m, n) or (m, h, w, c); ``y`` (m,) codes / targets or (m, k) multi-label;
    ``task`` in :data:`TASKS`; ``classes`` names the class codes (classification) or
    the label columns (multilabel); ``X_test``/``y_test`` hold a fixed test set when
    the data come with one; ``image_shape`` is ``(h, w, c)`` when the rows are
    flattened images (C order), for augmentation and display.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    classes: list | None = None
    feature_names: list[str] | None = None
    name: str = ""
    description: str = ""
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    image_shape: tuple[int, ...] | None = field(default=None)

    def __post_init__(self):
        check_choice("task", self.task, TASKS)
        self.X = np.asarray(self.X)
        self.y = _label_array(self.y, "y", self.task)
        if self.X.ndim not in (2, 3, 4):
            raise ValueError(
                "Dataset.X must be (m, n) rows or (m, h, w[, c]) images; received "
                f"shape {self.X.shape}"
            )
        if len(self.X) != len(self.y):
            raise ValueError(
                f"X and y must have the same number of examples (rows); received "
                f"X with {len(self.X)} and y with {len(self.y)}"
            )
        if (self.X_test is None) != (self.y_test is None):
            raise ValueError("X_test and y_test must be given together")
        if self.X_test is not None:
            self.X_test = np.asarray(self.X_test)
            self.y_test = _label_array(self.y_test, "y_test", self.task)
            if self.X_test.shape[1:] != self.X.shape[1:]:
                raise ValueError(
                    f"X_test examples have shape {self.X_test.shape[1:]} but X "
                    f"examples have shape {self.X.shape[1:]}"
                )
            if len(self.X_test) != len(self.y_test):
                raise ValueError(
                    f"X_test and y_test must have the same number of rows; received "
                    f"{len(self.X_test)} and {len(self.y_test)}"
                )
        if self.classes is not None:
            self.classes = list(self.classes)
        if self.task == "multilabel" and self.y.ndim != 2:
            raise ValueError(
                f"multilabel y must be (m, k) indicators; received shape {self.y.shape}"
            )
        if self.task in CLASSIFICATION_TASKS:
            self._check_codes()
        if self.feature_names is not None:
            names = as_text(list(self.feature_names), "feature_names")
            self.feature_names = [str(name) for name in names]
            if self.X.ndim == 2 and len(self.feature_names) != self.X.shape[1]:
                raise ValueError(
                    f"feature_names has {len(self.feature_names)} names but X has "
                    f"{self.X.shape[1]} columns"
                )
        if self.image_shape is not None:
            self.image_shape = tuple(int(d) for d in self.image_shape)
            if int(np.prod(self.image_shape)) != int(np.prod(self.X.shape[1:])):
                raise ValueError(
                    f"image_shape {self.image_shape} does not match examples of "
                    f"shape {self.X.shape[1:]}"
                )

    def _check_codes(self):
        for name, y in (("y", self.y), ("y_test", self.y_test)):
            if y is None or y.size == 0:
                continue
            if y.dtype.kind not in "biu":
                raise ValueError(
                    f"{name} for task {self.task!r} must hold integer class codes; "
                    f"received dtype {y.dtype} (build it with Dataset.from_arrays to "
                    "encode labels)"
                )
            if self.classes is None:
                self.classes = list(range(int(y.max()) + 1))
            if y.min() < 0 or y.max() >= len(self.classes):
                raise ValueError(
                    f"{name} codes must be in [0, {len(self.classes)}) for classes "
                    f"{self.classes}; received values {int(y.min())}..{int(y.max())}"
                )

    @classmethod
    def from_arrays(
        cls,
        X,
        y,
        *,
        task: str | None = None,
        classes=None,
        X_test=None,
        y_test=None,
        **fields,
    ) -> Dataset:
        """Build a Dataset from raw arrays, inferring the task and encoding labels.

        Classification labels of any kind (strings, 1/2/3, ...) become codes
        ``0..C-1`` with ``classes`` the original labels. When ``classes`` is given and
        ``y`` already holds codes ``0..len(classes)-1`` (e.g. the cat file's 0/1 with
        ``list_classes``), ``classes`` names them.
        """
        y = _label_array(as_text(y, "y"), "y", task)
        if y_test is not None:
            y_test = _label_array(as_text(y_test, "y_test"), "y_test", task)
        if classes is not None:
            classes = as_text(list(classes), "classes")
        if task is None:
            if y_test is not None and y_test.shape[1:] == y.shape[1:]:
                task = infer_task(np.concatenate([y, y_test]))
            else:
                task = infer_task(y)
        check_choice("task", task, TASKS)
        if task in CLASSIFICATION_TASKS:
            y, y_test, classes = _encode_pair(y, y_test, classes)
            if task == "binary" and len(classes) > 2:
                raise ValueError(
                    f"task 'binary' needs at most 2 classes; received {len(classes)}: "
                    f"{classes}"
                )
        elif task == "regression":
            y = y.astype(np.float64)
            y_test = None if y_test is None else y_test.astype(np.float64)
        else:
            y = y.astype(np.float64)
            y_test = None if y_test is None else y_test.astype(np.float64)
            if classes is None:
                classes = list(range(y.shape[1]))
        return cls(
            X=X,
            y=y,
            task=task,
            classes=classes,
            X_test=X_test,
            y_test=y_test,
            **fields,
        )

    @property
    def n_examples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Numbers per example (``h*w*c`` for images kept as images)."""
        return int(np.prod(self.X.shape[1:]))

    @property
    def has_test(self) -> bool:
        return self.X_test is not None

    def __repr__(self) -> str:
        parts = [
            f"name={self.name!r}",
            f"task={self.task!r}",
            f"X={_summary(self.X)}",
            f"y={_summary(self.y)}",
        ]
        if self.classes is not None:
            shown = (
                self.classes
                if len(self.classes) <= 10
                else (self.classes[:10] + ["..."])
            )
            parts.append(f"classes={shown}")
        if self.has_test:
            parts.append(f"X_test={_summary(self.X_test)}")
        if self.image_shape is not None:
            parts.append(f"image_shape={self.image_shape}")
        return f"Dataset({', '.join(parts)})"


def _encode_pair(y, y_test, classes):
    is_codes = classes is not None and all(
        v is None or (v.dtype.kind in "biu" or _whole(v)) for v in (y, y_test)
    )
    if is_codes:
        classes = list(classes)
        codes = [None if v is None else v.astype(np.int64) for v in (y, y_test)]
        for name, v in zip(("y", "y_test"), codes, strict=True):
            if v is not None and v.size and (v.min() < 0 or v.max() >= len(classes)):
                raise ValueError(
                    f"{name} holds codes {int(v.min())}..{int(v.max())} but classes "
                    f"names {len(classes)}: {classes}"
                )
        return codes[0], codes[1], classes
    if y_test is None:
        codes, found = encode_labels(y, classes)
        return codes, None, found
    if classes is None:
        _, classes = encode_labels(np.concatenate([y, y_test]))
    y_codes, classes = encode_labels(y, classes)
    test_codes, _ = encode_labels(y_test, classes)
    return y_codes, test_codes, classes


def _whole(v: np.ndarray) -> bool:
    return (
        v.dtype.kind == "f"
        and bool(np.isfinite(v).all())
        and bool((v == np.round(v)).all())
    )
