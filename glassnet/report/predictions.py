"""A classifier's predictions on one split, for the report's confusion matrix,
per-class scores and worst-misclassified examples.

The report needs the model and the data. Right after training they are in memory
(``write_run_folder`` passes them); for an existing run folder
:func:`load_run_inputs` reads ``model.glassnet`` and splits ``config.json``'s data
again as ``glassnet train`` did (:func:`glassnet.runs.prepare_data`: the same
data, split fractions and ``split_seed``), so ``glassnet report RUN`` derives the
numbers the run reported. Labels are the output indices (class codes) the splits
hold; ``class_names`` maps them to the model's classes.

For one softmax output with ``C`` units, the prediction is ``argmax_c a_c`` and
the probability of the true class ``a_y``; for one sigmoid unit, the prediction is
``1{a > 0.5}`` and ``p(y = 1) = a``. Other outputs (regression, multi-label) have
no confusion matrix: :func:`classify` returns None for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLIT = "dev"
"""The split the report's confusion matrix and examples come from."""


@dataclass
class Predictions:
    """Labels and probabilities of one split: ``y_true``, ``y_pred`` (class codes,
    ``(m,)``), ``p_true`` / ``p_pred`` (the model's probability of the true and of
    the predicted class), ``rows`` (the examples as stored, ``(m, n)``: an array,
    or rows kept on disk, of which only the shown examples are read)."""

    split: str
    y_true: np.ndarray
    y_pred: np.ndarray
    p_true: np.ndarray
    p_pred: np.ndarray
    class_names: list
    rows: np.ndarray
    image_shape: tuple | None
    feature_names: list | None = None

    @property
    def codes(self) -> list[int]:
        """Every class code, in order: ``0 .. C-1``."""
        return list(range(len(self.class_names)))

    def worst(self, count: int) -> np.ndarray:
        """Indices of up to ``count`` misclassified examples, the most confidently
        wrong first (lowest probability of the true class; ties by index)."""
        wrong = np.flatnonzero(self.y_true != self.y_pred)
        order = np.lexsort((wrong, self.p_true[wrong]))
        return wrong[order][:count]


def classify(model, X, y, *, split: str = SPLIT, class_names=None, image_shape=None):
    """:class:`Predictions` of ``model`` on rows ``X`` with class codes ``y``;
    None when the model is not a single-label classifier."""
    from glassnet.out_of_core import is_on_disk

    activation = getattr(model, "output_activation", None)
    y = np.asarray(y)
    if not is_on_disk(X):  # rows kept on disk stay there: predict streams them,
        X = np.asarray(X)  # and the page reads only the examples it shows
    if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
        return None
    y = y.reshape(-1).astype(np.int64)
    if activation == "softmax":
        A = np.asarray(model.predict_proba(X), dtype=np.float64)
        y_pred = np.argmax(A, axis=1)
        rows = np.arange(len(y))
        p_true, p_pred = A[rows, y], A[rows, y_pred]
        count = A.shape[1]
    elif activation == "sigmoid" and model.n_out == 1:
        a = np.asarray(model.predict_proba(X), dtype=np.float64)[:, 0]
        y_pred = (a > 0.5).astype(np.int64)
        p_true = np.where(y == 1, a, 1 - a)
        p_pred = np.where(y_pred == 1, a, 1 - a)
        count = 2
    else:
        return None
    names = list(class_names) if class_names else list(range(count))
    if len(names) != count:
        names = list(range(count))
    return Predictions(split, y, y_pred, p_true, p_pred, names, X, image_shape)


def load_run_inputs(folder) -> tuple[object, dict]:
    """``(model, prepared)`` for an existing run folder: its model file (checked
    as every command reads one) and its data split again from ``config.json``."""
    from glassnet.cli.model_files import read_saved_model
    from glassnet.cli.run_folders import read_json_object
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data

    folder = Path(folder)
    values = read_json_object(folder / "config.json", "config file")
    try:
        config = RunConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{folder / 'config.json'}: {error}") from None
    model = read_saved_model(folder).model
    return model, prepare_data(config)


def split_predictions(model, prepared: dict, split: str = SPLIT):
    """:func:`classify` on ``prepared``'s ``split`` (None without that split or for
    a model that is not a single-label classifier)."""
    part = prepared["splits"].get(split)
    if part is None:
        return None
    dataset = prepared["dataset"]
    names = getattr(model, "classes", None) or getattr(dataset, "classes", None)
    shape = getattr(dataset, "image_shape", None)
    X, y = part
    if shape is not None and int(np.prod(shape)) != X.shape[1]:
        shape = None
    if getattr(dataset, "task", None) not in ("binary", "multiclass"):
        return None
    found = classify(model, X, y, split=split, class_names=names, image_shape=shape)
    features = getattr(dataset, "feature_names", None)
    if found is not None and features is not None and len(features) == X.shape[1]:
        found.feature_names = [str(name) for name in features]
    return found
