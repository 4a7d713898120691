"""The optional compiled loops (glassnet/_fastops.c) give NumPy's numbers bitwise,
refuse what they cannot take, and leave training results unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import glassnet as gn
from glassnet import _kernels

needs_fastops = pytest.mark.skipif(
    not _kernels.AVAILABLE, reason="glassnet._fastops was not built (no C compiler)"
)


def special_values(dtype, shape, rng):
    """Random values with zeros of both signs, infinities and NaNs mixed in."""
    values = rng.standard_normal(shape).astype(dtype)
    flat = values.reshape(-1)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    count = min(40, flat.size // 2)
    flat[rng.choice(flat.size, count, replace=False)] = rng.choice(specials, count)
    return values


@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None,
    reason="no C compiler on this machine, so the extension is not expected",
)
def test_the_extension_is_built_where_a_compiler_exists():
    if os.environ.get("GLASSNET_NO_COMPILED"):
        pytest.skip("GLASSNET_NO_COMPILED is set")
    assert _kernels.AVAILABLE, "pip install should have built glassnet._fastops"


@needs_fastops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(512, 128), (7, 3), (1, 1), (10, 1000)])
def test_bias_relu_equals_numpy(dtype, shape):
    rng = np.random.default_rng(0)
    Z = special_values(dtype, shape, rng)
    b = rng.standard_normal((shape[0], 1)).astype(dtype)
    b[0] = -0.0  # -0.0 + -0.0 is -0.0, and NumPy's maximum(-0.0, 0) is +0.0
    expected = np.maximum(Z + b, 0)
    _kernels.bias_relu(Z, b)
    np.testing.assert_array_equal(Z, expected)
    np.testing.assert_array_equal(np.signbit(Z), np.signbit(expected))


@needs_fastops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flush_equals_numpys_masked_assignment(dtype):
    rng = np.random.default_rng(2)
    a = special_values(dtype, 100_003, rng)
    a *= 10.0 ** rng.uniform(-45, 5, a.size)  # many below the threshold
    a[:4] = [1e-30, -1e-30, np.nextafter(np.float32(1e-30), 1), -0.0]
    expected = a.copy()
    expected[np.abs(expected) < 1e-30] = 0
    _kernels.flush(a, 1e-30)
    np.testing.assert_array_equal(a.view(np.uint8), expected.view(np.uint8))


@needs_fastops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_backward_equals_numpy(dtype):
    rng = np.random.default_rng(1)
    dA = special_values(dtype, (300, 67), rng)
    A = special_values(dtype, (300, 67), rng)
    with np.errstate(invalid="ignore"):  # inf * 0
        expected = np.multiply(dA, A > 0)
    result = gn.activations.relu_backward_inplace(dA, A)
    assert result is dA
    np.testing.assert_array_equal(dA, expected)
    np.testing.assert_array_equal(np.signbit(dA), np.signbit(expected))


@needs_fastops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(512, 1024), (256, 128), (10, 77), (3, 5), (4, 129)])
def test_relu_backward_sum_equals_numpy_mask_and_pairwise_sum(dtype, shape):
    rng = np.random.default_rng(3)
    dA = special_values(dtype, shape, rng)
    dA[0] = -0.0  # a row of negative zeros sums to +0.0, as np.sum gives
    A = special_values(dtype, shape, rng)
    with np.errstate(invalid="ignore"):
        expected = np.multiply(dA, A > 0)
    expected_db = np.sum(expected, axis=1, keepdims=True)
    db = np.empty((shape[0], 1), dtype)
    _kernels.relu_backward_sum(dA, A, db)
    np.testing.assert_array_equal(dA, expected)
    np.testing.assert_array_equal(np.signbit(dA), np.signbit(expected))
    np.testing.assert_array_equal(db, expected_db)
    assert not np.signbit(db[0, 0])


def wide_range_values(rng, size, low, high, signed=True):
    """float32 values with random significands and exponents from 2^low to 2^high."""
    values = np.ldexp(rng.uniform(1, 2, size), rng.integers(low, high, size))
    if signed:
        values *= rng.choice([-1.0, 1.0], size)
    return values.astype("float32")


@needs_fastops
@pytest.mark.parametrize(
    ("beta1", "beta2", "steps"),
    [
        (0.9, 0.999, [1, 2, 3, 10, 64, 100, 154, 155, 1000, 5000, 17000, 20000]),
        (0.5, 0.5, [1, 2, 30]),
        (0.99, 0.9999, [1, 7, 500, 100000]),
        (0.0, 0.0, [1, 2]),
        (0.999999, 0.99999999, [1, 3]),  # k below 2^-24: the loop divides
    ],
)
def test_float32_adam_divides_exactly_at_every_magnitude(beta1, beta2, steps):
    """The float32 pass replaces v / k and s / k by a multiplication with a
    correction (see _fastops.c); it must stay bitwise NumPy's division for moments
    from the denormal range to near overflow, zeros of both signs, inf and NaN."""
    rng = np.random.default_rng(5)
    size = 200_003  # not a multiple of the 64-parameter blocks: a short last block
    W0 = rng.standard_normal(size).astype("float32")
    # moments in the range where the multiplication is used, except in `wide`, where
    # they go from the denormal range to near overflow (those blocks divide)
    wide = slice(100_000, 120_000)
    v0 = wide_range_values(rng, size, -95, 95)
    s0 = wide_range_values(rng, size, -95, 95, signed=False)
    v0[wide] = wide_range_values(rng, 20_000, -130, 110)
    s0[wide] = wide_range_values(rng, 20_000, -140, 120, signed=False)
    dW = rng.standard_normal(size).astype("float32")
    dW[: size // 2] = 0  # then v and s only decay: their magnitudes are set above
    dW[120_000:121_000] = wide_range_values(rng, 1000, -100, 60)
    v0[:5000:7] = 0.0  # zeros do not leave the fast blocks
    v0[1:5000:7] = -0.0
    dW[1:5000:7] = -0.0  # -0 beta1 + -0 c1 = -0, and -0 / k = -0, so that
    W0[1:5000:7] = -0.0  # W = -0 - (-0 alpha) / (...) = +0
    s0[:5000:3] = 0.0
    for values in (v0[wide], s0[wide], dW[120_000:121_000]):
        values[rng.choice(values.size, 50, replace=False)] = rng.choice(
            np.array([0.0, -0.0, np.inf, -np.inf, np.nan], "float32"), 50
        )
    for t in steps:
        optimizer = gn.Adam(1e-3, beta1=beta1, beta2=beta2)
        optimizer.t = t
        expected = [W0.copy(), v0.copy(), s0.copy()]
        temp1, temp2 = np.empty_like(W0), np.empty_like(W0)
        with np.errstate(all="ignore"):
            optimizer._step(expected[0], dW, expected[1:], temp1, temp2)
            result = [W0.copy(), v0.copy(), s0.copy()]
            optimizer._kernel(result[0], dW, result[1:], np.float32)
        for got, want in zip(result, expected, strict=True):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def _compiler():
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


@pytest.mark.slow  # compiles and runs a C program
@pytest.mark.skipif(_compiler() is None, reason="no C compiler on this machine")
def test_exact_division_by_multiplication_matches_division(tmp_path):
    """glassnet/_exact_division.h against the division, over all 2^23 significands,
    for a sample of Adam's bias-correction divisors (every 25th of 1 - 0.9^t and
    1 - 0.999^t), 30 random divisors and the edges of its ranges. The full check:
    STRIDE 1 and RANDOM 3000 (~40 s), no difference."""
    root = Path(__file__).resolve().parent.parent
    program = tmp_path / "exact_division_check"
    base = [
        _compiler(),
        "-O3",
        "-ffp-contract=off",
        "-std=c99",
        "-I",
        root / "glassnet",
    ]
    source = [root / "tests" / "exact_division_check.c", "-o", program, "-lm"]
    # -march=native gives hardware FMA; without it fmaf is a (slower, exact) call
    built = subprocess.run([*base, "-march=native", *source], capture_output=True)
    sample = ["25", "30"]  # every 25th divisor and 30 random ones: 481, ~1.5 s
    if built.returncode != 0:
        subprocess.run([*base, *source], check=True)
        sample = ["200", "5"]  # ~10x slower per divisor without the instruction
    result = subprocess.run(
        [program, "0.9", "0.999", *sample, "7"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(" divisors, 0 differences")


@needs_fastops
def test_relu_backward_of_strided_arrays_takes_the_numpy_path():
    rng = np.random.default_rng(2)
    dA = rng.standard_normal((6, 8)).astype("float32")
    A = rng.standard_normal((8, 6)).astype("float32").T  # not C-contiguous
    expected = dA * (A > 0)
    np.testing.assert_array_equal(gn.activations.relu_backward_inplace(dA, A), expected)


@needs_fastops
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: _kernels.adam(*[np.zeros(4, "int32")] * 4, *[0.5] * 8),
            TypeError,
            "format 'i'",
        ),
        (
            lambda: _kernels.gradient_descent(
                np.zeros(4, "float32"), np.zeros(4, "float64"), 0.1
            ),
            TypeError,
            "one dtype",
        ),
        (
            lambda: _kernels.gradient_descent(
                np.zeros(4, "float32"), np.zeros(5, "float32"), 0.1
            ),
            ValueError,
            "has 5 elements; array 0 has 4",
        ),
        (
            lambda: _kernels.relu_backward(
                np.zeros((4, 4), "float32"), np.zeros((4, 4), "float32").T[::2]
            ),
            ValueError,
            "not C-contiguous",
        ),
        (
            lambda: _kernels.bias_relu(
                np.zeros((4, 3), "float32"), np.zeros((3, 1), "float32")
            ),
            ValueError,
            "received Z with 2 dimensions and b with 3 elements",
        ),
        (
            lambda: _kernels.relu_backward_sum(
                np.zeros((4, 3), "float32"),
                np.zeros((4, 3), "float32"),
                np.zeros((3, 1), "float32"),
            ),
            ValueError,
            "db with 3 elements",
        ),
        (
            lambda: _kernels.gradient_descent(np.zeros(4, "float32")),
            TypeError,
            "takes 3 arguments",
        ),
        (
            lambda: _kernels.gradient_descent(
                np.zeros(4, "float32"), np.zeros(4, "float32"), "fast"
            ),
            TypeError,
            "must be real number",
        ),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


@needs_fastops
def test_read_only_parameters_are_refused():
    W = np.zeros(4, "float32")
    W.flags.writeable = False
    with pytest.raises((BufferError, ValueError)):
        _kernels.gradient_descent(W, np.zeros(4, "float32"), 0.1)


def _train(dtype, batch_size, epochs):
    data = gn.data.load_dataset("digits")
    X, y = data.X, data.y
    model = gn.Sequential(
        [gn.Dense(32, "relu"), gn.Dense(16, "relu"), gn.Dense(10, "softmax")]
    )
    model.fit(
        X[:600],
        y[:600],
        epochs=epochs,
        batch_size=batch_size,
        optimizer="adam",
        rng=0,
        dtype=dtype,
        verbose=False,
    )
    return model.flat_params.copy()


@needs_fastops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("batch_size", "epochs"),
    [(64, 3), (1, 1), (7, 1), (300, 3)],  # db sums of < 8, <= 128 and > 128 terms
)
def test_training_gives_the_same_weights_without_the_compiled_loops(
    dtype, batch_size, epochs, monkeypatch
):
    # at one BLAS thread: OpenBLAS's own threads (the NumPy path's products when
    # the limit is 2) round differently from one thread, which glassnet's threads
    # reproduce (docs/architecture.md, D22)
    with threadpool_limits(1, user_api="blas"):
        compiled = _train(dtype, batch_size, epochs)
        monkeypatch.setattr(_kernels, "AVAILABLE", False)
        plain = _train(dtype, batch_size, epochs)
    np.testing.assert_array_equal(compiled, plain)


@pytest.mark.slow  # a fresh Python process
def test_glassnet_no_compiled_turns_the_loops_off():
    code = "import glassnet._kernels as k; print(k.AVAILABLE)"
    environment = {**os.environ, "GLASSNET_NO_COMPILED": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


# --- the gather's indices: copied before use, integers only --------------------------

RACE = """
import sys, threading
import numpy as np
from glassnet import _fastops
rows, k = 4000, 4000
X = np.repeat(np.arange(rows, dtype=np.float32)[:, None], 256, axis=1)
index = np.arange(k, dtype=np.intp) % rows
out = np.empty((k, 256), np.float32)
good, bad = 7, 1 << 40
stop = False

def mutate():  # flips the last index between a row and an address far outside X
    while not stop:
        index[-1] = bad
        index[-1] = good

thread = threading.Thread(target=mutate)
thread.start()
wrong = 0
try:
    for _ in range(50):
        index[-1] = good
        try:
            _fastops.gather_rows(X, index, out)
        except IndexError:  # the bad value was there when the copy was taken
            continue
        wrong += out[-1, 0] != good or out[-2, 0] != k - 2
finally:
    stop = True
    thread.join()
print(wrong)
"""


@pytest.mark.slow  # a fresh Python process
@needs_fastops
def test_the_gather_uses_the_indices_it_checked_while_another_thread_changes_them():
    """The rows are copied without the GIL; another thread changes the last index to
    a value far out of bounds meanwhile. The gather copies the indices before it
    checks them and uses only the copy, so each call either raises IndexError or
    copies the rows it checked. (Before the copy, checking the array and reading it
    again after releasing the GIL crashed this script with a segmentation fault,
    within its 50 gathers, every time.)"""
    result = subprocess.run(
        [sys.executable, "-c", RACE], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


@needs_fastops
def test_the_gather_copies_the_checked_indices_even_when_out_holds_them():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((50, 4))
    out = np.empty((3, 4))
    index = out.reshape(-1)[:3].view(np.intp)  # the indices live in out's memory
    index[:] = [4, 49, 0]
    expected = X[[4, 49, 0]]
    _kernels._fastops.gather_rows(X, index, out)
    np.testing.assert_array_equal(out, expected)


@needs_fastops
@pytest.mark.parametrize(
    "dtype", ["float64", "float32", "int32", "uint64", ">i8", "bool", "int16"]
)
def test_the_compiled_gather_reads_only_intp_indices(dtype):
    X = np.arange(20.0).reshape(10, 2)
    out = np.empty((2, 2))
    index = np.array([1, 2]).astype(dtype)
    with pytest.raises(TypeError, match=f"np.intp .*received dtype {index.dtype}"):
        _kernels._fastops.gather_rows(X, index, out)


@needs_fastops
def test_the_compiled_gather_takes_intp_in_either_spelling():
    X = np.arange(20.0).reshape(10, 2)
    for dtype in (np.intp, np.longlong):  # 'l' and 'q' on 64-bit Linux
        if np.dtype(dtype).itemsize != np.dtype(np.intp).itemsize:
            continue
        out = np.empty((2, 2))
        _kernels._fastops.gather_rows(X, np.array([9, 0], dtype), out)
        np.testing.assert_array_equal(out, X[[9, 0]])


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32", "bool", "complex128"])
def test_gather_rows_refuses_indices_that_are_not_integers(
    dtype, compiled, monkeypatch
):
    if not compiled:
        monkeypatch.setattr(_kernels, "AVAILABLE", False)
    elif not _kernels.AVAILABLE:
        pytest.skip("glassnet._fastops was not built")
    X = np.arange(20.0).reshape(10, 2)
    index = np.array([1.0, 2.0]).astype(dtype)
    with pytest.raises(TypeError, match=f"integers; received dtype {index.dtype}"):
        _kernels.gather_rows(X, index, np.empty((2, 2)))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", ["int8", "int32", "uint16", "uint64", ">i8", "<u4"])
def test_gather_rows_converts_other_integer_indices_exactly(
    dtype, compiled, monkeypatch
):
    if not compiled:
        monkeypatch.setattr(_kernels, "AVAILABLE", False)
    elif not _kernels.AVAILABLE:
        pytest.skip("glassnet._fastops was not built")
    X = np.arange(300.0).reshape(100, 3)
    index = np.array([99, 0, 42]).astype(dtype)
    out = np.empty((3, 3))
    assert _kernels.gather_rows(X, index, out) is out
    np.testing.assert_array_equal(out, X[[99, 0, 42]])


def test_gather_rows_refuses_unsigned_indices_beyond_intp():
    X = np.arange(20.0).reshape(10, 2)
    index = np.array([1, 2**63 + 5], np.uint64)  # would wrap to a negative intp
    with pytest.raises(IndexError, match=str(2**63 + 5)):
        _kernels.gather_rows(X, index, np.empty((2, 2)))


@needs_fastops
def test_a_gather_into_its_own_source_is_refused_by_c_and_copied_by_numpy():
    X = np.arange(40.0).reshape(20, 2)
    with pytest.raises(ValueError, match="overlaps"):
        _kernels._fastops.gather_rows(X, np.array([5, 6]), X[:2])
    expected = X[[5, 19, 0]]
    _kernels.gather_rows(X, np.array([5, 19, 0]), X[:3])  # NumPy copies first
    np.testing.assert_array_equal(X[:3], expected)


# --- why the loops are off, and the warning at the first fit ------------------------


def test_the_reason_is_recorded_and_no_warning_is_given_when_the_loops_run():
    if _kernels.AVAILABLE:
        assert _kernels.UNAVAILABLE_REASON is None
        assert _kernels.warn_if_unavailable() is False
    else:
        assert _kernels.UNAVAILABLE_REASON


def test_missing_loops_warn_once_per_process(monkeypatch):
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    monkeypatch.setattr(_kernels, "UNAVAILABLE_REASON", "No module named 'x'")
    monkeypatch.setattr(_kernels, "DISABLED_BY_USER", False)
    monkeypatch.setattr(_kernels, "_warned", False)
    with pytest.warns(_kernels.PerformanceWarning, match="No module named 'x'"):
        assert _kernels.warn_if_unavailable() is True
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _kernels.warn_if_unavailable() is False  # once per process
    assert issubclass(_kernels.PerformanceWarning, UserWarning)


@pytest.mark.slow  # a fresh Python process
def test_glassnet_no_compiled_records_why_and_does_not_warn():
    code = (
        "import warnings; warnings.simplefilter('error'); "
        "import glassnet._kernels as k; "
        "print(k.AVAILABLE, k.warn_if_unavailable(), k.UNAVAILABLE_REASON, sep='|')"
    )
    environment = {**os.environ, "GLASSNET_NO_COMPILED": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    available, warned, reason = result.stdout.strip().split("|")
    assert (available, warned) == ("False", "False")
    assert "GLASSNET_NO_COMPILED" in reason


@pytest.mark.slow  # a fresh Python process
def test_a_failed_import_is_recorded_with_its_message():
    code = (
        "import sys, warnings\n"
        "sys.modules['glassnet._fastops'] = None  # import fails\n"
        "import glassnet._kernels as k\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    k.warn_if_unavailable()\n"
        "    k.warn_if_unavailable()\n"
        "print(k.AVAILABLE, k.UNAVAILABLE_REASON, len(w), w[0].category.__name__, "
        "sep='|')\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "GLASSNET_NO_COMPILED"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    available, reason, count, category = result.stdout.strip().split("|")
    assert available == "False"
    assert "glassnet._fastops could not be imported" in reason
    assert (count, category) == ("1", "PerformanceWarning")


@pytest.mark.slow  # runs setup.py in a fresh process
def test_setup_warns_when_the_optional_extension_does_not_build(tmp_path):
    """A build without a working C compiler says so, and why, and that glassnet
    will run its NumPy code."""
    root = Path(__file__).resolve().parent.parent
    environment = {**os.environ, "CC": "false-cc-for-glassnet-test"}
    result = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_ext",
            "--build-lib",
            str(tmp_path / "lib"),
            "--build-temp",
            str(tmp_path / "temp"),
        ],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr  # optional: the install goes on
    assert "glassnet's optional compiled loops (glassnet._fastops) were not built" in (
        result.stderr
    )
    assert "false-cc-for-glassnet-test" in result.stderr  # why
    assert "pure NumPy code" in result.stderr


# --- the reference switch: nothing compiled or threaded inside -----------------------


@pytest.fixture
def refusing_loops(monkeypatch):
    """Make every compiled entry point fail if called."""
    if not _kernels.AVAILABLE:
        pytest.skip("glassnet._fastops was not built")

    class Refusing:
        def __getattr__(self, name):
            raise AssertionError(f"_fastops.{name} was called")

    monkeypatch.setattr(_kernels, "_fastops", Refusing())


def test_reference_only_runs_nothing_compiled(refusing_loops):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((300, 200)).astype(np.float32)
    B = rng.standard_normal((200, 100)).astype(np.float32)
    X = rng.standard_normal((50, 8)).astype(np.float32)
    with _kernels.reference_only():
        assert not _kernels.compiled_enabled()
        assert not _kernels.usable(A)
        assert _kernels.planned_threads() == 1
        out = np.empty((300, 100), np.float32)
        _kernels.matmul(A, B, out, scale=0.25)
        expected = np.matmul(A, B)
        expected *= 0.25
        np.testing.assert_array_equal(out, expected)
        rows = np.empty((3, 8), np.float32)
        _kernels.gather_rows(X, np.array([4, 0, 49]), rows)
        np.testing.assert_array_equal(rows, X[[4, 0, 49]])
        with pytest.raises(IndexError):  # NumPy's checked take
            _kernels.gather_rows(X, np.array([50]), rows[:1])
        with _kernels.parallel():
            assert _kernels._threads == 1


def test_reference_only_nests_and_is_restored_after_an_exception():
    enabled = _kernels.AVAILABLE
    with _kernels.reference_only():
        with _kernels.reference_only():
            assert not _kernels.compiled_enabled()
        assert not _kernels.compiled_enabled()  # still inside the outer one
        with pytest.raises(KeyError), _kernels.reference_only():
            raise KeyError("x")
        assert not _kernels.compiled_enabled()
    assert _kernels.compiled_enabled() is enabled
    with pytest.raises(RuntimeError), _kernels.reference_only():
        raise RuntimeError("stop")
    assert _kernels.compiled_enabled() is enabled


@needs_fastops
def test_reference_only_holds_for_its_own_thread():
    import threading

    seen = []
    with _kernels.reference_only():
        worker = threading.Thread(
            target=lambda: seen.append(_kernels.compiled_enabled())
        )
        worker.start()
        worker.join()
        assert not _kernels.compiled_enabled()
    assert seen == [True]


@needs_fastops
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_inside_reference_only_gives_the_compiled_weights(dtype):
    with threadpool_limits(1, user_api="blas"):
        compiled = _train(dtype, 64, 2)
        with _kernels.reference_only():
            reference = _train(dtype, 64, 2)
    np.testing.assert_array_equal(compiled, reference)
