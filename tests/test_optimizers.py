"""Optimizers against hand-written NumPy loops of the formulas in optimizers.py."""

from __future__ import annotations

import numpy as np
import pytest
from contracts import copy_params, random_grad_sequence, random_params, run_optimizer

import glassnet as gn
from glassnet import optimizers
from glassnet.optimizers.base import Optimizer

STEPS = 10


# --- reference loops: the formulas of the optimizers.py docstring, written out ----


def reference_gd(params, grad_sequence, *, learning_rate):
    params = copy_params(params)
    for grads in grad_sequence:
        for k in params:
            params[k] = params[k] - learning_rate * grads[k]
    return params


def reference_momentum(params, grad_sequence, *, learning_rate, beta):
    params = copy_params(params)
    v = {k: np.zeros_like(p) for k, p in params.items()}
    for grads in grad_sequence:
        for k in params:
            v[k] = beta * v[k] + (1 - beta) * grads[k]
            params[k] = params[k] - learning_rate * v[k]
    return params


def reference_rmsprop(params, grad_sequence, *, learning_rate, beta2, epsilon):
    params = copy_params(params)
    s = {k: np.zeros_like(p) for k, p in params.items()}
    for grads in grad_sequence:
        for k in params:
            s[k] = beta2 * s[k] + (1 - beta2) * grads[k] ** 2
            params[k] = params[k] - learning_rate * grads[k] / (np.sqrt(s[k]) + epsilon)
    return params


def reference_adam(params, grad_sequence, *, learning_rate, beta1, beta2, epsilon):
    params = copy_params(params)
    v = {k: np.zeros_like(p) for k, p in params.items()}
    s = {k: np.zeros_like(p) for k, p in params.items()}
    for t, grads in enumerate(grad_sequence, start=1):
        for k in params:
            v[k] = beta1 * v[k] + (1 - beta1) * grads[k]
            s[k] = beta2 * s[k] + (1 - beta2) * grads[k] ** 2
            v_hat = v[k] / (1 - beta1**t)
            s_hat = s[k] / (1 - beta2**t)
            params[k] = params[k] - learning_rate * v_hat / (np.sqrt(s_hat) + epsilon)
    return params


CASES = [
    (gn.GradientDescent, reference_gd, {"learning_rate": 0.3}),
    (gn.Momentum, reference_momentum, {"learning_rate": 0.05, "beta": 0.8}),
    (
        gn.RMSprop,
        reference_rmsprop,
        {"learning_rate": 0.01, "beta2": 0.9, "epsilon": 1e-6},
    ),
    (
        gn.Adam,
        reference_adam,
        {"learning_rate": 0.02, "beta1": 0.7, "beta2": 0.95, "epsilon": 1e-4},
    ),
]
IDS = ["gd", "momentum", "rmsprop", "adam"]


@pytest.mark.parametrize("cls, reference, hyper", CASES, ids=IDS)
def test_matches_the_reference_loop(cls, reference, hyper):
    params = random_params(0)
    sequence = random_grad_sequence(params, STEPS)
    expected = reference(params, sequence, **hyper)
    optimizer = cls(**hyper)
    live = copy_params(params)
    identity = {k: id(v) for k, v in live.items()}
    run_optimizer(optimizer, live, sequence)
    assert optimizer.t == STEPS
    for key in params:
        assert id(live[key]) == identity[key]  # updated in place
        np.testing.assert_allclose(live[key], expected[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [gn.GradientDescent, gn.Momentum, gn.RMSprop, gn.Adam])
def test_default_hyperparameters_match_the_course(cls):
    optimizer = cls()
    config = optimizer.get_config()
    expected = {
        gn.GradientDescent: {"learning_rate": 0.01},
        gn.Momentum: {"learning_rate": 0.01, "beta": 0.9},
        gn.RMSprop: {"learning_rate": 0.001, "beta2": 0.999, "epsilon": 1e-8},
        gn.Adam: {
            "learning_rate": 0.001,
            "beta1": 0.9,
            "beta2": 0.999,
            "epsilon": 1e-8,
        },
    }[cls]
    assert {k: v for k, v in config.items() if k != "name"} == expected
    assert optimizers.get(config).get_config() == config


def test_momentum_hand_worked_two_steps():
    # beta = 0.9, alpha = 0.1, W = 1, dW = 2 then 4
    # step 1: v = 0.9*0 + 0.1*2 = 0.2;    W = 1 - 0.1*0.2 = 0.98
    # step 2: v = 0.9*0.2 + 0.1*4 = 0.58; W = 0.98 - 0.1*0.58 = 0.922
    params = {"W1": np.array([[1.0]])}
    optimizer = gn.Momentum(0.1, beta=0.9)
    optimizer.update(params, {"W1": np.array([[2.0]])})
    assert params["W1"][0, 0] == pytest.approx(0.98, abs=1e-15)
    optimizer.update(params, {"W1": np.array([[4.0]])})
    assert params["W1"][0, 0] == pytest.approx(0.922, abs=1e-15)
    assert optimizer.slots["v"]["W1"][0, 0] == pytest.approx(0.58, abs=1e-15)


def test_adam_first_step_moves_every_weight_by_the_learning_rate():
    # t = 1: v_hat = dW, s_hat = dW^2, so the step is alpha dW / (|dW| + eps)
    #        = alpha sign(dW) up to eps / |dW|
    params = random_params(3)
    grads = random_grad_sequence(params, 1, seed=4)[0]
    for key in grads:  # keep |dW| away from 0 so eps / |dW| stays small
        grads[key] = np.where(np.abs(grads[key]) < 0.1, 0.5, grads[key])
    before = copy_params(params)
    gn.Adam(0.01).update(params, grads)
    for key in params:
        step = params[key] - before[key]
        np.testing.assert_allclose(step, -0.01 * np.sign(grads[key]), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls, reference, hyper", CASES, ids=IDS)
def test_state_round_trip_is_bitwise(cls, reference, hyper, dtype):
    params = random_params(5, dtype=dtype)
    sequence = random_grad_sequence(params, 2 * STEPS, seed=6)
    original = cls(**hyper)
    run_optimizer(original, params, sequence[:STEPS])
    meta, arrays = original.get_state()
    assert meta["t"] == STEPS
    saved_params = copy_params(params)
    fresh = cls(**hyper)
    fresh.set_state(dict(meta), {k: v.copy() for k, v in arrays.items()})
    run_optimizer(original, params, sequence[STEPS:])
    run_optimizer(fresh, saved_params, sequence[STEPS:])
    assert fresh.t == original.t == 2 * STEPS
    for key in params:
        np.testing.assert_array_equal(saved_params[key], params[key])
        assert saved_params[key].dtype == dtype


def test_state_keys_and_wrong_state():
    optimizer = gn.Adam()
    optimizer.update(random_params(0), random_grad_sequence(random_params(0), 1)[0])
    meta, arrays = optimizer.get_state()
    assert set(arrays) == {f"{slot}.{k}" for slot in "vs" for k in random_params(0)}
    with pytest.raises(ValueError, match="'m'"):
        gn.Momentum().set_state({"t": 1, "learning_rate": 0.1}, {"m.W1": np.zeros(1)})


@pytest.mark.parametrize(
    "make, name, value",
    [
        (lambda: gn.Momentum(beta=1.0), "beta", "1.0"),
        (lambda: gn.Momentum(beta=-0.1), "beta", "-0.1"),
        (lambda: gn.Adam(beta1=1.0), "beta1", "1.0"),
        (lambda: gn.Adam(beta2=1.5), "beta2", "1.5"),
        (lambda: gn.RMSprop(beta2=-0.5), "beta2", "-0.5"),
        (lambda: gn.GradientDescent(-0.1), "learning_rate", "-0.1"),
        (lambda: gn.Adam(learning_rate=-1e-3), "learning_rate", "-0.001"),
        (lambda: gn.Adam(epsilon=-1e-8), "epsilon", "-1e-08"),
        (lambda: gn.RMSprop(epsilon=-1.0), "epsilon", "-1.0"),
        (lambda: gn.ExponentialAverage(beta=1.0), "beta", "1.0"),
    ],
)
def test_bad_hyperparameters_name_the_value(make, name, value):
    with pytest.raises(ValueError, match=f"received {name}={value}"):
        make()


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match="'adamw'"):
        optimizers.get("adamw")
    with pytest.raises(ValueError, match="momentum"):
        optimizers.get("momentum", beta1=0.9)
    assert isinstance(optimizers.get("sgd"), gn.GradientDescent)
    adam = gn.Adam()
    assert optimizers.get(adam) is adam


# --- exponentially weighted averages ----------------------------------------------


def test_exponential_average_hand_worked():
    # beta = 0.5, theta = 2, 4, 4:
    # V1 = 0.5*0 + 0.5*2 = 1     corrected 1 / (1 - 0.5)      = 2
    # V2 = 0.5*1 + 0.5*4 = 2.5   corrected 2.5 / (1 - 0.25)   = 3.3333...
    # V3 = 0.5*2.5 + 0.5*4 = 3.25 corrected 3.25 / (1 - 0.125) = 3.7142857...
    corrected = gn.ExponentialAverage(0.5)
    raw = gn.ExponentialAverage(0.5, bias_correction=False)
    got_corrected = [corrected.update(x) for x in (2.0, 4.0, 4.0)]
    got_raw = [raw.update(x) for x in (2.0, 4.0, 4.0)]
    np.testing.assert_allclose(got_corrected, [2.0, 10 / 3, 26 / 7], rtol=1e-15)
    np.testing.assert_allclose(got_raw, [1.0, 2.5, 3.25], rtol=1e-15)
    np.testing.assert_allclose(
        gn.ExponentialAverage(0.5).smooth([2, 4, 4]), got_corrected, rtol=1e-15
    )
    assert corrected.t == 3


def test_bias_correction_makes_a_constant_sequence_exact():
    average = gn.ExponentialAverage(0.98)
    values = [average.update(7.0) for _ in range(50)]
    np.testing.assert_allclose(values, 7.0, rtol=1e-12)
    assert gn.ExponentialAverage(0.98, bias_correction=False).update(7.0) == (
        pytest.approx(0.14)
    )


# --- float32 denormal flushing ------------------------------------------------------


# with Momentum(beta=0) the moment is exactly the gradient: v = 0 v + 1 dW
DENORMAL_PROBE = [
    1e-30,
    3e-30,
    1.0,
    -1e-30,
    -2.5e-30,
    9e-31,
    1e-31,
    -5e-31,
    1e-38,
    1e-44,
]
#: enough updates for a flush to have happened whether the optimizer flushes after
#: every update or every 2, 4, ..., 128 updates
FLUSH_STEPS = 128


def _momentum_moment_after(dW, steps=FLUSH_STEPS, **options):
    params = {"W1": np.zeros_like(dW)}
    optimizer = gn.Momentum(0.0, beta=0.0, **options)
    for _ in range(steps):
        optimizer.update(params, {"W1": dW})
    np.testing.assert_array_equal(params["W1"], 0.0)  # learning rate 0
    return optimizer.slots["v"]["W1"]


def test_float32_flush_leaves_values_at_or_above_1e_30_untouched():
    dW = np.array(DENORMAL_PROBE, dtype=np.float32)
    v = _momentum_moment_after(dW)
    big = np.abs(dW) >= np.float32(1e-30)
    assert big.sum() == 5
    np.testing.assert_array_equal(v[big], dW[big])
    np.testing.assert_array_equal(v[~big], 0.0)


def test_no_flush_in_float64_or_when_turned_off():
    dW = np.array(DENORMAL_PROBE + [1e-310], dtype=np.float64)
    np.testing.assert_array_equal(_momentum_moment_after(dW), dW)
    dW32 = np.array(DENORMAL_PROBE, dtype=np.float32)
    np.testing.assert_array_equal(
        _momentum_moment_after(dW32, flush_denormals=False), dW32
    )


def test_dead_unit_moments_leave_the_subnormal_range_in_float32():
    params = {"W1": np.ones((4, 4), dtype=np.float32)}
    optimizer = gn.Adam(1e-3, beta1=0.5, beta2=0.5)
    optimizer.update(params, {"W1": np.full((4, 4), 0.5, dtype=np.float32)})
    zero = {"W1": np.zeros((4, 4), dtype=np.float32)}
    # 0.5^255 ~ 2e-77: without flushing the moments would be subnormal or 0 by now
    for _ in range(2 * FLUSH_STEPS - 1):
        optimizer.update(params, zero)
    for slot in ("v", "s"):
        a = np.abs(optimizer.slots[slot]["W1"])
        assert not ((a > 0) & (a < np.finfo(np.float32).tiny)).any()
        assert ((a == 0) | (a >= np.float32(1e-30))).all()
    assert np.isfinite(params["W1"]).all()


# --- a built model's flat buffers -------------------------------------------------


def _model_and_grads(units, n_x, dtype="float64", seed=0):
    model = gn.Sequential([gn.Dense(units, "relu"), gn.Dense(3, "softmax")])
    model.build(n_x, rng=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    sequence = [
        {k: rng.normal(size=v.shape).astype(dtype) for k, v in model.params.items()}
        for _ in range(STEPS)
    ]
    return model, sequence


@pytest.mark.parametrize("units, n_x", [(4, 3), (200, 200)], ids=["small", "big"])
@pytest.mark.parametrize("cls, reference, hyper", CASES, ids=IDS)
def test_updating_a_models_flat_buffers_matches_the_reference(
    cls, reference, hyper, units, n_x
):
    """params/grads that are views of a model's flat buffers (the fit loop's case;
    "big" has more than 40 000 parameters) follow the same formulas."""
    model, sequence = _model_and_grads(units, n_x)
    expected = reference(model.get_weights(), sequence, **hyper)
    optimizer = cls(**hyper)
    params, grads = model.params, model.grads
    for step in sequence:
        for key in grads:
            grads[key][...] = step[key]
        optimizer.update(params, grads)
    for key, value in model.params.items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-12, atol=1e-12)
        assert np.shares_memory(value, model.flat_params)
    meta, arrays = optimizer.get_state()
    for name, array in arrays.items():
        assert array.shape == model.params[name.partition(".")[2]].shape


@pytest.mark.parametrize("cls, reference, hyper", CASES, ids=IDS)
def test_model_state_round_trip_is_bitwise(cls, reference, hyper):
    model, sequence = _model_and_grads(200, 200, dtype="float32")
    twin = gn.Sequential.from_config(model.get_config())
    original = cls(**hyper)

    def steps(optimizer, target, chunk):
        for step in chunk:
            for key, grad in target.grads.items():
                grad[...] = step[key]
            optimizer.update(target.params, target.grads)

    steps(original, model, sequence[:5])
    twin.set_weights(model.get_weights())
    fresh = cls(**hyper)
    meta, arrays = original.get_state()
    fresh.set_state(dict(meta), {k: v.copy() for k, v in arrays.items()})
    steps(original, model, sequence[5:])
    steps(fresh, twin, sequence[5:])
    np.testing.assert_array_equal(twin.flat_params, model.flat_params)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "make",
    [
        lambda: gn.GradientDescent(0.01),
        lambda: gn.Momentum(0.01, beta=0.9),
        lambda: gn.RMSprop(0.01),
        lambda: gn.Adam(0.01),
    ],
)
def test_compiled_kernels_give_the_numpy_numbers_bitwise(make, dtype):
    from glassnet import _kernels

    if not _kernels.AVAILABLE:
        pytest.skip("glassnet._fastops was not built (no C compiler at install)")
    rng = np.random.default_rng(0)
    size = 2 * Optimizer.chunk_size + 3  # several NumPy blocks and a remainder
    compiled, plain = make(), make()
    plain.use_kernels = False
    W1 = rng.standard_normal(size).astype(dtype)
    W2 = W1.copy()
    for _ in range(10):
        g = rng.standard_normal(size).astype(dtype)
        compiled.update({"W": W1}, {"W": g})
        plain.update({"W": W2}, {"W": g})
    np.testing.assert_array_equal(W1, W2)
    for name in compiled.slots:
        np.testing.assert_array_equal(compiled.slots[name]["W"], plain.slots[name]["W"])
