"""glassnet.metrics against scikit-learn and hand-worked examples."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk
from sklearn.exceptions import UndefinedMetricWarning as SkUndefined

from glassnet import metrics as gm

SET_WISE = ("precision_score", "recall_score", "f1_score")


def _call(module, name, warning, *args, **kwargs):
    """Call a metric; return (value or 'ValueError', whether `warning` was raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = getattr(module, name)(*args, **kwargs)
        except ValueError:
            value = "ValueError"
    return value, any(issubclass(w.category, warning) for w in caught)


@st.composite
def label_problems(draw):
    k = draw(st.integers(1, 4))
    m = draw(st.integers(1, 14))
    y_true = draw(st.lists(st.integers(0, k - 1), min_size=m, max_size=m))
    # predictions drawn from a subset of the classes, so some are never predicted
    predicted_classes = draw(
        st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True)
    )
    y_pred = draw(st.lists(st.sampled_from(predicted_classes), min_size=m, max_size=m))
    kind = draw(st.sampled_from(["int", "str", "bool"] if k <= 2 else ["int", "str"]))
    labels = None
    if draw(st.booleans()):
        # a subset of the classes, possibly including one absent from the data
        labels = draw(
            st.lists(st.integers(0, k), min_size=1, max_size=k + 1, unique=True)
        )
    convert = {
        "int": lambda v: np.asarray(v, dtype=int),
        "str": lambda v: np.asarray([f"c{i}" for i in v]),
        "bool": lambda v: np.asarray(v, dtype=bool),
    }[kind]
    pos_label = {"int": 1, "str": "c1", "bool": True}[kind]
    if labels is not None and kind == "bool":
        labels = [bool(i) for i in labels if i < 2]
    return (
        convert(y_true),
        convert(y_pred),
        convert(labels) if labels else None,
        (pos_label),
    )


@settings(max_examples=150, deadline=None)
@given(
    problem=label_problems(),
    average=st.sampled_from(["binary", "macro", "micro", "weighted", None]),
    zero_division=st.sampled_from(["warn", 0, 1, math.nan]),
    name=st.sampled_from(SET_WISE),
)
def test_set_wise_metrics_agree_with_sklearn(problem, average, zero_division, name):
    y_true, y_pred, labels, pos_label = problem
    kwargs = dict(
        labels=labels, pos_label=pos_label, average=average, zero_division=zero_division
    )
    expected, sk_warned = _call(sk, name, SkUndefined, y_true, y_pred, **kwargs)
    got, warned = _call(gm, name, gm.UndefinedMetricWarning, y_true, y_pred, **kwargs)
    if isinstance(expected, str):
        assert got == "ValueError"
        return
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, equal_nan=True)
    # undefined cases: both return the same defined value, and glassnet warns too
    assert warned == sk_warned


@settings(max_examples=60, deadline=None)
@given(problem=label_problems())
def test_accuracy_and_confusion_matrix_agree_with_sklearn(problem):
    y_true, y_pred, labels, _ = problem
    assert gm.accuracy_score(y_true, y_pred) == pytest.approx(
        sk.accuracy_score(y_true, y_pred)
    )
    assert gm.error_rate(y_true, y_pred) == pytest.approx(
        1 - sk.accuracy_score(y_true, y_pred)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = sk.confusion_matrix(y_true, y_pred, labels=labels)
        except ValueError:
            with pytest.raises(ValueError):
                gm.confusion_matrix(y_true, y_pred, labels=labels)
            return
    np.testing.assert_array_equal(
        gm.confusion_matrix(y_true, y_pred, labels=labels), expected
    )


def test_f1_is_the_harmonic_mean_of_precision_and_recall():
    # TP = 2 (rows 0, 1), FP = 1 (row 5), FN = 2 (rows 2, 3)
    # P = 2/3, R = 2/4 = 1/2, F1 = 2 (2/3)(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    y_true = [1, 1, 1, 1, 0, 0]
    y_pred = [1, 1, 0, 0, 0, 1]
    assert gm.precision_score(y_true, y_pred) == pytest.approx(2 / 3)
    assert gm.recall_score(y_true, y_pred) == pytest.approx(1 / 2)
    assert gm.f1_score(y_true, y_pred) == pytest.approx(4 / 7)
    np.testing.assert_array_equal(gm.confusion_matrix(y_true, y_pred), [[1, 1], [2, 2]])


def test_undefined_precision_warns_and_uses_zero_division():
    y_true, y_pred = [0, 1, 1], [0, 0, 0]  # nothing predicted positive
    with pytest.warns(gm.UndefinedMetricWarning, match="precision is ill-defined"):
        assert gm.precision_score(y_true, y_pred) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gm.precision_score(y_true, y_pred, zero_division=1) == 1.0
        assert gm.f1_score(y_true, y_pred, zero_division=1) == 0.0  # 2TP/(...) = 0
    assert issubclass(gm.UndefinedMetricWarning, UserWarning)


def test_string_labels_and_label_order():
    y_true = ["cat", "dog", "pig", "cat", "dog", "pig"]
    y_pred = ["cat", "pig", "dog", "cat", "cat", "dog"]
    per_class = gm.precision_score(
        y_true, y_pred, average=None, labels=["pig", "dog", "cat"]
    )
    np.testing.assert_allclose(per_class, [0.0, 0.0, 2 / 3])
    assert gm.f1_score(y_true, y_pred, average="macro") == pytest.approx(
        sk.f1_score(y_true, y_pred, average="macro")
    )
    matrix = gm.confusion_matrix(y_true, y_pred, labels=["pig", "cat"])
    np.testing.assert_array_equal(matrix, [[0, 0], [0, 2]])


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([0, 1, 1], [0, 1], "same number of examples; received y_true with 3"),
        ([], [], "y_true is empty"),
        (np.zeros((3, 2)), [0, 1, 1], r"1-D array of class labels.*\(3, 2\)"),
        ([0, 1], [0.2, 0.9], "continuous values"),
        (["a", "b"], [0, 1], "y_true holds strings but y_pred holds numbers"),
        ([0, None], [0, 1], "labels of one kind"),
    ],
)
def test_bad_inputs_are_named(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        gm.accuracy_score(y_true, y_pred)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="unknown average 'mean'"):
        gm.f1_score([0, 1], [0, 1], average="mean")
    with pytest.raises(ValueError, match="zero_division must be"):
        gm.recall_score([0, 1], [0, 1], zero_division=2)
    with pytest.raises(ValueError, match="average='binary' needs at most two"):
        gm.precision_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="pos_label='yes' is not one of"):
        gm.precision_score(["a", "b"], ["a", "b"], pos_label="yes")
    with pytest.raises(ValueError, match="must not repeat"):
        gm.confusion_matrix([0, 1], [0, 1], labels=[0, 0])


def test_column_vector_of_labels_is_accepted():
    y = np.array([[0], [1], [1]])
    assert gm.accuracy_score(y, np.array([0, 1, 0])) == pytest.approx(2 / 3)


def test_registry_names_and_multiclass_fallback():
    for name in (
        "accuracy",
        "error",
        "precision",
        "recall",
        "f1",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "f1_micro",
    ):
        assert name in gm.metric_names()
        assert gm.get_metric(name).__name__ in (name, "accuracy_score", "error_rate")
    multi_true, multi_pred = [0, 1, 2, 2, 1], [0, 2, 2, 2, 1]
    assert gm.get_metric("f1")(multi_true, multi_pred) == pytest.approx(
        sk.f1_score(multi_true, multi_pred, average="macro")
    )
    binary_true, binary_pred = [0, 1, 1, 0], [1, 1, 0, 0]
    assert gm.get_metric("precision")(binary_true, binary_pred) == pytest.approx(0.5)
    assert gm.get_metric("f1_micro")(multi_true, multi_pred) == pytest.approx(0.8)
    assert gm.get_metric("error")(multi_true, multi_pred) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        gm.get_metric("auc")
    assert gm.get_metric(len) is len


class _ThresholdModel:
    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(int)


def test_score_model_calls_predict():
    X = np.array([[1.0], [-1.0], [2.0], [-3.0]])
    y = np.array([1, 0, 0, 0])
    assert gm.score_model(_ThresholdModel(), X, y) == pytest.approx(0.75)
    assert gm.score_model(_ThresholdModel(), X, y, metric="recall") == 1.0
    with pytest.raises(TypeError, match="predict"):
        gm.score_model(object(), X, y)
