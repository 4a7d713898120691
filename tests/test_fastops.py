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
    compiled = _train(dtype, batch_size, epochs)
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    plain = _train(dtype, batch_size, epochs)
    np.testing.assert_array_equal(compiled, plain)


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
