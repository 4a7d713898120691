"""Input fuzzing at the public boundary: Sequential, the estimators and the CLI.

Whatever arrays arrive, glassnet either succeeds or raises ``ValueError`` or
``TypeError`` with a message, never another exception type. Which one, by case:

=====================================================  ==============================
input                                                  expected
=====================================================  ==============================
2-D numeric X (bool, int, uint, float16/32/64, object  success
holding numbers, numeric strings, nested lists),
finite, >= 1 row
X 0-d, 1-D or 3-D; X with 0 rows or 0 columns          ValueError
complex X (even with zero imaginary parts)             ValueError
X with text that is not a number, or None              ValueError
nested lists with rows of different lengths            ValueError
X with NaN or infinity                                 ValueError
X finite in float64 but beyond float32 (1e300) for a   ValueError
float32 model (every model here is float32)
a Python int no float can hold (10**400), in X or y    ValueError (not OverflowError)
X with a different number of features than the model   ValueError
scipy.sparse X                                         TypeError
y of another length than X; y 3-D; y with NaN/inf      ValueError
y finite in float64 but beyond the model's float32     ValueError (not a
                                                       DivergenceError from fit, nor
                                                       an infinite cost)
y with text labels (Sequential, GlassRegressor)        ValueError
labels outside the output layer's range (Sequential)   ValueError
0-d y: Sequential and GlassClassifier                  ValueError
0-d y: GlassRegressor (scikit-learn's own check)       TypeError
a classifier given one class (e.g. one row)            ValueError
=====================================================  ==============================

When X and y are both wrong, either one's error may be reported first. The valid
values are small (|v| <= 10), so no DivergenceError is expected from fit either.

The CLI runs as real ``python -m glassnet`` processes on garbage files: status 2
and exactly one stderr line ``glassnet: error: ...`` (never a traceback, a warning,
or the CLI's "unexpected <Exception>" label), or status 0 on success.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassnet as gn

N_X = 3
OUTPUTS = {"sigmoid": 1, "softmax": 3, "linear": 1}
OK = "ok"
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = pytest.mark.filterwarnings("ignore")  # warnings are allowed in the library


# --- strategies ---------------------------------------------------------------------

SMALL = st.floats(-10, 10, allow_nan=False, width=16)  # exact in every float dtype
NUMERIC_KINDS = [
    "bool",
    "int8",
    "int16",
    "int64",
    "uint8",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "object",
    "str",
    "list",
]


def _as_kind(values: np.ndarray, kind: str):
    if kind == "bool":
        return values > 0
    if kind in ("int8", "int16", "int64"):
        return np.round(values).astype(kind)
    if kind in ("uint8", "uint64"):
        return np.abs(np.round(values)).astype(kind)
    if kind == "object":
        return values.astype(object)
    if kind == "str":
        return values.astype(str)
    if kind == "list":
        return values.tolist()
    return values.astype(kind)


@st.composite
def numbers(draw, shape, elements=SMALL):
    values = draw(hnp.arrays(np.float64, shape, elements=elements))
    return _as_kind(values, draw(st.sampled_from(NUMERIC_KINDS)))


@st.composite
def features(draw, m: int, n: int | None = None):
    """``(X, expected)``: expected is OK or the exception class for X alone."""
    n = draw(st.integers(1, 4)) if n is None else n
    case = draw(
        st.sampled_from(
            ["valid"] * 9
            + ["rank", "empty", "complex", "text", "nonfinite"]
            + ["overflow", "bigint", "ragged", "sparse"]
        )
    )
    if case == "valid":
        return draw(numbers((m, n))), OK
    if case == "rank":
        shape = draw(st.sampled_from([(), (m,), (m, n, 2), (m, 1, n), (1,), (m * n,)]))
        return draw(numbers(shape)), ValueError
    if case == "empty":
        shape = draw(st.sampled_from([(0, n), (m, 0), (0, 0), (0,)]))
        kind = draw(st.sampled_from(["float64", "int64", "object", "bool"]))
        return np.empty(shape, dtype=kind), ValueError
    if case == "complex":
        values = draw(
            hnp.arrays(
                np.complex128,
                (m, n),
                elements=st.complex_numbers(
                    max_magnitude=10, allow_nan=False, allow_infinity=False
                ),
            )
        )
        return values, ValueError
    if case == "text":
        values = np.asarray(draw(numbers((m, n))), dtype=object)
        bad = draw(st.sampled_from(["abc", "", "1,5", None, b"\xff", "nan?", [1]]))
        values[draw(st.integers(0, m - 1)), draw(st.integers(0, n - 1))] = bad
        if isinstance(bad, str) and draw(st.booleans()):
            values = values.astype(str)
        return values, ValueError
    if case == "nonfinite":
        dtype = draw(st.sampled_from(["float16", "float32", "float64", "object"]))
        values = draw(hnp.arrays(np.float64, (m, n), elements=SMALL))
        bad = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        values[draw(st.integers(0, m - 1)), draw(st.integers(0, n - 1))] = bad
        return values.astype(dtype), ValueError
    if case == "overflow":
        values = draw(hnp.arrays(np.float64, (m, n), elements=SMALL))
        huge = draw(st.sampled_from([1e300, -1e300, 3.5e38, -1e39]))
        values[draw(st.integers(0, m - 1)), draw(st.integers(0, n - 1))] = huge
        return values, ValueError
    if case == "bigint":  # a Python int no float can hold
        values = np.asarray(draw(numbers((m, n))), dtype=object)
        huge = draw(st.sampled_from([10**400, -(10**309)]))
        values[draw(st.integers(0, m - 1)), draw(st.integers(0, n - 1))] = huge
        return (values.tolist() if draw(st.booleans()) else values), ValueError
    if case == "ragged":  # nested lists whose rows differ in length
        rows = [list(range(n)) for _ in range(m + 1)]
        rows[draw(st.integers(0, m))] = list(range(n + 1))
        return rows, ValueError
    values = draw(hnp.arrays(np.float64, (m, n), elements=SMALL))
    return scipy.sparse.csr_matrix(values), TypeError


@st.composite
def targets(draw, m: int, output: str):
    """``(y, expected)`` for a Sequential with ``output`` (fit, evaluate)."""
    case = draw(
        st.sampled_from(
            ["valid"] * 6
            + ["length", "rank0", "rank3", "nonfinite", "overflow", "range", "text"]
        )
    )
    if case == "valid":
        if output == "linear":
            return draw(numbers((m,))), OK
        labels = draw(
            hnp.arrays(
                np.int64,
                (m,),
                elements=st.integers(0, OUTPUTS[output] - 1)
                if output == "softmax"
                else st.integers(0, 1),
            )
        )
        kind = draw(st.sampled_from(["int64", "float32", "float64", "object", "str"]))
        return _as_kind(labels.astype(np.float64), kind), OK
    if case == "length":
        return np.zeros(
            m + draw(st.sampled_from([1, 2, -1 if m > 1 else 1]))
        ), ValueError
    if case == "rank0":
        return np.array(1.0), ValueError
    if case == "rank3":
        return np.zeros((m, 1, 1)), ValueError
    if case == "nonfinite":
        y = np.zeros(m)
        y[draw(st.integers(0, m - 1))] = draw(
            st.sampled_from([np.nan, np.inf, -np.inf])
        )
        return y, ValueError
    if case == "overflow":
        y = np.zeros(m)
        as_object = draw(st.booleans())
        y = y.astype(object) if as_object else y
        huge = [1e300, -1e39] + ([10**400] if as_object else [])  # a float array
        y[draw(st.integers(0, m - 1))] = draw(st.sampled_from(huge))  # holds no 10**400
        return y, ValueError
    if case == "range":
        y = np.zeros(m)
        y[draw(st.integers(0, m - 1))] = draw(st.sampled_from([-1, 3, 7, 0.5, 1.5]))
        if output == "linear" or (
            output == "sigmoid" and 0 <= y.min() and y.max() <= 1
        ):
            return y, OK
        return y, ValueError
    y = np.array(["1"] * m, dtype=object)
    y[draw(st.integers(0, m - 1))] = draw(st.sampled_from(["cat", "", "one"]))
    return y, ValueError


def _combine(x_expected, y_expected) -> tuple:
    """The exception classes allowed when X and y are each checked."""
    if x_expected is OK and y_expected is OK:
        return ()
    if x_expected is OK:
        return (y_expected,)
    if y_expected is OK:
        return (x_expected,)
    return (x_expected, y_expected)


def check_outcome(action, expected: tuple, what: str):
    """Run ``action``; succeed if ``expected`` is empty, else raise one of it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = action()
    except (ValueError, TypeError) as error:
        assert expected, (
            f"{what}: expected success, got {type(error).__name__}: {error}"
        )
        assert isinstance(error, expected), (
            f"{what}: expected {[e.__name__ for e in expected]}, got "
            f"{type(error).__name__}: {error}"
        )
        assert str(error), f"{what}: {type(error).__name__} without a message"
        return None
    except Exception as error:  # noqa: BLE001 - this is what the test is about
        raise AssertionError(
            f"{what}: unexpected {type(error).__name__}: {error}"
        ) from error
    assert not expected, f"{what}: expected {[e.__name__ for e in expected]}, succeeded"
    return result


def _model(output: str) -> gn.Sequential:
    return gn.Sequential([gn.Dense(4, "relu"), gn.Dense(OUTPUTS[output], output)])


_BUILT: dict[str, gn.Sequential] = {}


def built_model(output: str) -> gn.Sequential:
    if output not in _BUILT:
        _BUILT[output] = _model(output).build(N_X, rng=0)
    return _BUILT[output]


# --- Sequential ---------------------------------------------------------------------


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.data())
def test_sequential_fit_fuzz(data):
    output = data.draw(st.sampled_from(list(OUTPUTS)), label="output")
    m = data.draw(st.integers(1, 6), label="m")
    X, x_expected = data.draw(features(m), label="X")
    y, y_expected = data.draw(targets(m, output), label="y")
    batch_size = data.draw(st.sampled_from([None, 1, 4, 64]), label="batch_size")
    model = _model(output)
    history = check_outcome(
        lambda: model.fit(X, y, epochs=2, batch_size=batch_size, verbose=False, rng=0),
        _combine(x_expected, y_expected),
        f"Sequential({output}).fit",
    )
    if history is not None:
        assert len(history) == 2
        assert all(np.isfinite(v).all() for v in model.params.values())


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.data())
def test_sequential_predict_and_predict_proba_fuzz(data):
    output = data.draw(st.sampled_from(list(OUTPUTS)), label="output")
    m = data.draw(st.integers(1, 6), label="m")
    wrong_width = data.draw(st.booleans(), label="wrong_width")
    n = data.draw(st.sampled_from([1, 2, 4, 5])) if wrong_width else N_X
    X, expected = data.draw(features(m, n), label="X")
    if wrong_width and expected is OK:
        expected = ValueError
    model = built_model(output)
    allowed = _combine(expected, OK)
    proba = check_outcome(lambda: model.predict_proba(X), allowed, "predict_proba")
    labels = check_outcome(lambda: model.predict(X), allowed, "predict")
    if proba is not None:
        assert proba.shape == (m, OUTPUTS[output])
        assert np.isfinite(proba).all()
        assert len(labels) == m


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.data())
def test_sequential_evaluate_fuzz(data):
    output = data.draw(st.sampled_from(list(OUTPUTS)), label="output")
    m = data.draw(st.integers(1, 6), label="m")
    X, x_expected = data.draw(features(m, N_X), label="X")
    y, y_expected = data.draw(targets(m, output), label="y")
    model = built_model(output)
    result = check_outcome(
        lambda: model.evaluate(X, y), _combine(x_expected, y_expected), "evaluate"
    )
    if result is not None:
        assert np.isfinite(result["cost"])


# --- the table above, case by case ---------------------------------------------------

_X = np.arange(12.0).reshape(4, 3) / 10
_Y = np.array([0, 1, 0, 1])


def _put(array, value, dtype=None):
    array = np.array(array, dtype=dtype)
    array.flat[1] = value
    return array


X_CASES = {
    # name: (X, expected for Sequential, expected for the estimators)
    "bool": (_X > 0.5, OK, OK),
    "uint8": (_X.astype(np.uint8), OK, OK),
    "float16": (_X.astype(np.float16), OK, OK),
    "object-numbers": (_X.astype(object), OK, OK),
    "numeric-strings": (_X.astype(str), OK, OK),
    "nested-lists": (_X.tolist(), OK, OK),
    "one-row": (_X[:1], OK, ValueError),  # the classifier then sees one class
    "0-d": (np.array(1.0), ValueError, ValueError),
    "1-D": (_X[:, 0], ValueError, ValueError),
    "3-D": (_X.reshape(4, 3, 1), ValueError, ValueError),
    "no-rows": (np.empty((0, 3)), ValueError, ValueError),
    "no-columns": (np.empty((4, 0)), ValueError, ValueError),
    "complex": (_X.astype(complex), ValueError, ValueError),
    "text": (_put(_X, "abc", object), ValueError, ValueError),
    "None": (_put(_X, None, object), ValueError, ValueError),
    "NaN": (_put(_X, np.nan), ValueError, ValueError),
    "inf": (_put(_X, -np.inf, np.float32), ValueError, ValueError),
    "beyond-float32": (_put(_X, 1e300), ValueError, ValueError),
    "python-int-beyond-float64": (_put(_X, 10**400, object), ValueError, ValueError),
    "ragged": ([[1.0, 2.0, 3.0], [1.0, 2.0]], ValueError, ValueError),
    "sparse": (scipy.sparse.csr_matrix(_X), TypeError, TypeError),
}
Y_CASES = {
    # name: (y, expected for Sequential(sigmoid), ... linear, ... GlassRegressor)
    "labels": (_Y, OK, OK, OK),
    "too-long": (np.append(_Y, 1), ValueError, ValueError, ValueError),
    "0-d": (np.array(1.0), ValueError, ValueError, TypeError),
    "3-D": (_Y.reshape(4, 1, 1), ValueError, ValueError, ValueError),
    "NaN": (_put(_Y, np.nan, float), ValueError, ValueError, ValueError),
    "inf": (_put(_Y, np.inf, float), ValueError, ValueError, ValueError),
    "beyond-float32": (_put(_Y, 1e300, float), ValueError, ValueError, ValueError),
    "python-int-beyond-float64": (
        _put(_Y, 10**400, object),
        ValueError,
        ValueError,
        ValueError,
    ),
    "text": (np.array(["a", "b", "a", "b"]), ValueError, ValueError, ValueError),
    "label-2-for-sigmoid": (_put(_Y, 2), ValueError, OK, OK),
}


def _fit_sequential(output):
    return lambda X, y: _model(output).fit(X, y, epochs=1, verbose=False, rng=0)


def _y_for(X):
    rows = len(X) if np.ndim(X) and not scipy.sparse.issparse(X) else 4
    return np.arange(rows) % 2


X_ENTRY_POINTS = {
    # name: (call(X, estimators), which expectation column applies)
    "Sequential.predict": (lambda X, e: built_model("sigmoid").predict(X), 0),
    "Sequential.predict_proba": (
        lambda X, e: built_model("softmax").predict_proba(X),
        0,
    ),
    "Sequential.evaluate": (
        lambda X, e: built_model("sigmoid").evaluate(X, _y_for(X)),
        0,
    ),
    "Sequential.fit": (lambda X, e: _fit_sequential("sigmoid")(X, _y_for(X)), 0),
    "GlassClassifier.predict": (lambda X, e: e[0].predict(X), 0),
    "GlassRegressor.predict": (lambda X, e: e[1].predict(X), 0),
    "GlassClassifier.fit": (
        lambda X, e: _estimator(gn.GlassClassifier).fit(X, _y_for(X)),
        1,
    ),
    "GlassRegressor.fit": (
        lambda X, e: _estimator(gn.GlassRegressor).fit(X, _y_for(X)),
        2,
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entry", X_ENTRY_POINTS)
@pytest.mark.parametrize("case", X_CASES)
def test_documented_error_type_for_each_kind_of_X(case, entry, fitted_estimators):
    X, for_sequential, for_classifier = X_CASES[case]
    for_regressor = OK if case == "one-row" else for_classifier
    call, column = X_ENTRY_POINTS[entry]
    expected = (for_sequential, for_classifier, for_regressor)[column]
    check_outcome(
        lambda: call(X, fitted_estimators),
        () if expected is OK else (expected,),
        f"{entry} with X {case}",
    )


Y_ENTRY_POINTS = {
    # name: (call(y), which expectation column applies)
    "Sequential(sigmoid).fit": (lambda y: _fit_sequential("sigmoid")(_X, y), 0),
    "Sequential(sigmoid).evaluate": (
        lambda y: built_model("sigmoid").evaluate(_X, y),
        0,
    ),
    "Sequential(linear).fit": (lambda y: _fit_sequential("linear")(_X, y), 1),
    "Sequential(linear).evaluate": (
        lambda y: built_model("linear").evaluate(_X, y),
        1,
    ),
    "GlassRegressor.fit": (lambda y: _estimator(gn.GlassRegressor).fit(_X, y), 2),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entry", Y_ENTRY_POINTS)
@pytest.mark.parametrize("case", Y_CASES)
def test_documented_error_type_for_each_kind_of_y(case, entry):
    y = Y_CASES[case][0]
    call, column = Y_ENTRY_POINTS[entry]
    expected = Y_CASES[case][1 + column]
    check_outcome(
        lambda: call(y),
        () if expected is OK else (expected,),
        f"{entry} with y {case}",
    )


# --- estimators ---------------------------------------------------------------------


@st.composite
def classifier_targets(draw, m: int):
    """``(y, expected)`` for GlassClassifier.fit: any label type, >= 2 classes."""
    case = draw(
        st.sampled_from(["valid", "valid", "valid", "length", "rank0", "nonfinite"])
    )
    if case == "valid":
        kind = draw(st.sampled_from(["int", "str", "bool", "float-whole", "object"]))
        codes = draw(hnp.arrays(np.int64, (m,), elements=st.integers(0, 2)))
        if m >= 2:
            codes[:2] = [0, 1]
        labels = {
            "int": codes * 5 - 3,
            "str": np.array(["cat", "dog", "emu"])[codes],
            "bool": codes % 2 == 1,
            "float-whole": codes.astype(np.float64),
            "object": np.array(["a", "b", "c"], dtype=object)[codes],
        }[kind]
        return labels, (OK if len(np.unique(labels)) >= 2 else ValueError)
    if case == "length":
        return np.arange(m + 1) % 2, ValueError
    if case == "rank0":
        return np.array(1), ValueError
    y = (np.arange(m) % 2).astype(np.float64)
    y[draw(st.integers(0, m - 1))] = draw(st.sampled_from([np.nan, np.inf]))
    return y, ValueError


@st.composite
def regressor_targets(draw, m: int):
    """``(y, expected)`` for GlassRegressor.fit."""
    case = draw(
        st.sampled_from(
            ["valid", "valid", "valid", "length", "rank0", "nonfinite", "overflow"]
            + ["text"]
        )
    )
    if case == "valid":
        k = draw(st.sampled_from([None, 1, 2]))
        shape = (m,) if k is None else (m, k)
        return draw(numbers(shape)), OK
    if case == "length":
        return np.zeros(m + 1), ValueError
    if case == "rank0":
        return np.array(1.0), TypeError  # scikit-learn: "Singleton array"
    y = np.zeros(m)
    if case == "text":
        return np.array(["x"] * m), ValueError
    bad = [np.nan, np.inf] if case == "nonfinite" else [1e300, -1e39, 10**400]
    y = y.astype(object)
    y[draw(st.integers(0, m - 1))] = draw(st.sampled_from(bad))
    return y, ValueError


def _estimator(cls):
    return cls(hidden_layer_sizes=(4,), epochs=2, batch_size=4, random_state=0)


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.data())
def test_glass_classifier_fit_fuzz(data):
    m = data.draw(st.integers(1, 6), label="m")
    X, x_expected = data.draw(features(m), label="X")
    y, y_expected = data.draw(classifier_targets(m), label="y")
    clf = _estimator(gn.GlassClassifier)
    fitted = check_outcome(
        lambda: clf.fit(X, y), _combine(x_expected, y_expected), "GlassClassifier.fit"
    )
    if fitted is not None:
        assert len(fitted.classes_) >= 2


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.data())
def test_glass_regressor_fit_fuzz(data):
    m = data.draw(st.integers(1, 6), label="m")
    X, x_expected = data.draw(features(m), label="X")
    y, y_expected = data.draw(regressor_targets(m), label="y")
    reg = _estimator(gn.GlassRegressor)
    fitted = check_outcome(
        lambda: reg.fit(X, y), _combine(x_expected, y_expected), "GlassRegressor.fit"
    )
    if fitted is not None:
        assert all(np.isfinite(v).all() for v in fitted.model_.params.values())


@pytest.fixture(scope="module")
def fitted_estimators():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, N_X))
    clf = _estimator(gn.GlassClassifier).fit(X, np.arange(12) % 3)
    reg = _estimator(gn.GlassRegressor).fit(X, rng.standard_normal(12))
    return clf, reg


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.data())
def test_estimator_predict_fuzz(fitted_estimators, data):
    clf, reg = fitted_estimators
    m = data.draw(st.integers(1, 6), label="m")
    wrong_width = data.draw(st.booleans(), label="wrong_width")
    n = data.draw(st.sampled_from([1, 2, 4])) if wrong_width else N_X
    X, expected = data.draw(features(m, n), label="X")
    if wrong_width and expected is OK:
        expected = ValueError
    allowed = _combine(expected, OK)
    labels = check_outcome(lambda: clf.predict(X), allowed, "GlassClassifier.predict")
    proba = check_outcome(
        lambda: clf.predict_proba(X), allowed, "GlassClassifier.predict_proba"
    )
    values = check_outcome(lambda: reg.predict(X), allowed, "GlassRegressor.predict")
    if labels is not None:
        assert set(labels.tolist()) <= {0, 1, 2}
        assert proba.shape == (m, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
        assert values.shape == (m,) and np.isfinite(values).all()


# --- the CLI on garbage files -------------------------------------------------------

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def glassnet(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glassnet", *map(str, args)],
        cwd=cwd,
        env=ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean_exit(result: subprocess.CompletedProcess, what: str) -> None:
    """Status 0, or status 2 with exactly one `glassnet: error:` line on stderr."""
    assert "Traceback" not in result.stderr + result.stdout, f"{what}:\n{result.stderr}"
    if result.returncode == 0:
        return
    lines = result.stderr.splitlines()
    assert result.returncode == 2, (
        f"{what}: status {result.returncode}\n{result.stderr}"
    )
    assert len(lines) == 1, f"{what}: {len(lines)} stderr lines:\n{result.stderr}"
    assert lines[0].startswith("glassnet: error: "), f"{what}: {lines[0]}"
    assert not re.match(r"glassnet: error: unexpected ", lines[0]), (
        f"{what}: {lines[0]}"
    )


def _random_csv(seed: int) -> bytes:
    """Lines of random cells: numbers, text, blanks, quotes, odd separators."""
    rng = np.random.default_rng(seed)
    cells = ["1", "-2.5", "0", "nan", "", "abc", "1e999", '"', ";", " 3 ", "0x1F", "é"]
    width = int(rng.integers(1, 5))
    lines = []
    for _ in range(int(rng.integers(1, 8))):
        count = width if rng.random() < 0.7 else int(rng.integers(0, 6))
        lines.append(",".join(rng.choice(cells, count).tolist()))
    return "\n".join(lines).encode()


def _npz_bytes(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _object_npz() -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([[1, None]] * 4, dtype=object), y=np.arange(4) % 2)
    return buffer.getvalue()


TRAIN_FILES = {
    "random-bytes.csv": lambda: np.random.default_rng(1).bytes(300),
    "random-cells-1.csv": lambda: _random_csv(1),
    "random-cells-2.csv": lambda: _random_csv(2),
    "empty.csv": lambda: b"",
    "header-only.csv": lambda: b"a,b,label\n",
    "nan.csv": lambda: b"a,b,label\n1,nan,0\n2,3,1\n4,5,0\n6,7,1\n",
    "zip-garbage.npz": lambda: b"PK\x03\x04" + np.random.default_rng(2).bytes(200),
    "random-bytes.npz": lambda: np.random.default_rng(3).bytes(200),
    "object.npz": _object_npz,
    "empty-X.npz": lambda: _npz_bytes(X=np.empty((0, 2)), y=np.empty(0)),
    "good.npz": lambda: _npz_bytes(
        X=np.random.default_rng(4).standard_normal((20, 3)), y=np.arange(20) % 2
    ),
}


@pytest.mark.slow  # a real glassnet process per file
@pytest.mark.timeout(150)
@pytest.mark.parametrize("name", TRAIN_FILES, ids=list(TRAIN_FILES))
def test_cli_train_on_garbage_files(tmp_path, name):
    data = tmp_path / name
    data.write_bytes(TRAIN_FILES[name]())
    result = glassnet(
        "train",
        "--data",
        data,
        "--out",
        tmp_path / "run",
        "--epochs",
        1,
        "--quiet",
        cwd=tmp_path,
    )
    assert_clean_exit(result, f"glassnet train --data {name}")
    if name == "good.npz":
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "run" / "model.glassnet").exists()
    elif name != "random-cells-1.csv" and name != "random-cells-2.csv":
        assert result.returncode == 2


PREDICT_FILES = {
    "empty.csv": lambda: b"",
    "header-only.csv": lambda: b"f1,f2,f3\n",
    "random-bytes.npy": lambda: np.random.default_rng(5).bytes(100),
    "zip-garbage.npz": lambda: b"PK\x03\x04" + np.random.default_rng(6).bytes(100),
}


@pytest.mark.slow  # a real glassnet process per file
@pytest.mark.timeout(150)
@pytest.mark.parametrize("name", PREDICT_FILES, ids=list(PREDICT_FILES))
def test_cli_predict_on_garbage_files(tmp_path, name):
    model = tmp_path / "model.glassnet"
    built_model("sigmoid").save(model)
    data = tmp_path / name
    data.write_bytes(PREDICT_FILES[name]())
    result = glassnet("predict", model, data, cwd=tmp_path)
    assert_clean_exit(result, f"glassnet predict MODEL {name}")
    assert result.returncode == 2
