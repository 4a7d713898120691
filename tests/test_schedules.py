"""Learning-rate schedules: the formulas, staircase, monotonicity, errors."""

from __future__ import annotations

import math

import pytest
from contracts import PROPERTY
from hypothesis import given
from hypothesis import strategies as st

import glassnet as gn
from glassnet import schedules


def test_inverse_time_hand_worked():
    # alpha = alpha_0 / (1 + decay_rate k): 0.5 / (1 + 1 * 3) = 0.125
    schedule = gn.InverseTime(0.5, decay_rate=1.0)
    assert schedule(0) == 0.5
    assert schedule(3) == pytest.approx(0.125, rel=1e-15)
    # staircase every 2 epochs: epoch 3 -> k = floor(3/2) = 1 -> 0.5 / 2 = 0.25
    stair = gn.InverseTime(0.5, decay_rate=1.0, time_interval=2)
    assert [stair(e) for e in range(5)] == pytest.approx(
        [0.5, 0.5, 0.25, 0.25, 0.5 / 3]
    )


def test_exponential_hand_worked():
    # alpha = alpha_0 base^k: 0.2 * 0.5^3 = 0.025
    schedule = gn.Exponential(0.2, base=0.5)
    assert schedule(0) == 0.2
    assert schedule(3) == pytest.approx(0.025, rel=1e-15)
    # time_interval 2: epoch 5 -> k = 2 -> 0.2 * 0.25 = 0.05
    assert gn.Exponential(0.2, base=0.5, time_interval=2)(5) == pytest.approx(0.05)
    assert gn.Exponential(0.2).base == 0.95  # the notes' default


def test_inverse_sqrt_epoch_hand_worked():
    # alpha = alpha_0 decay_rate / sqrt(k + 1): 0.3 * 1 / sqrt(4) = 0.15 at epoch 3
    schedule = gn.InverseSqrtEpoch(0.3, decay_rate=1.0)
    assert schedule(0) == pytest.approx(0.3)
    assert schedule(3) == pytest.approx(0.15, rel=1e-15)
    # 0.3 * 0.5 / sqrt(1 + floor(7/4)) = 0.15 / sqrt(2)
    stair = gn.InverseSqrtEpoch(0.3, decay_rate=0.5, time_interval=4)
    assert stair(7) == pytest.approx(0.15 / math.sqrt(2), rel=1e-15)


def test_inverse_sqrt_step_hand_worked():
    # alpha = alpha_0 decay_rate / sqrt(t), t = step + 1: 0.3 / sqrt(9) = 0.1
    schedule = gn.InverseSqrtStep(0.3, decay_rate=1.0)
    assert schedule(0, 0) == pytest.approx(0.3)
    assert schedule(0, step=8) == pytest.approx(0.1, rel=1e-15)
    assert schedule(5, step=8) == schedule(0, step=8)  # the epoch does not matter


@pytest.mark.parametrize(
    "schedule, formula",
    [
        (gn.InverseTime(0.1, 0.7), lambda e, s: 0.1 / (1 + 0.7 * e)),
        (gn.InverseTime(0.1, 0.7, 3), lambda e, s: 0.1 / (1 + 0.7 * (e // 3))),
        (gn.Exponential(0.1, 0.9), lambda e, s: 0.1 * 0.9**e),
        (gn.Exponential(0.1, 0.9, 2), lambda e, s: 0.1 * 0.9 ** (e // 2)),
        (gn.InverseSqrtEpoch(0.1, 0.5), lambda e, s: 0.1 * 0.5 / math.sqrt(e + 1)),
        (
            gn.InverseSqrtEpoch(0.1, 0.5, 5),
            lambda e, s: 0.1 * 0.5 / math.sqrt(e // 5 + 1),
        ),
        (gn.InverseSqrtStep(0.1, 0.5), lambda e, s: 0.1 * 0.5 / math.sqrt(s + 1)),
    ],
)
def test_matches_the_formula(schedule, formula):
    for epoch in range(12):
        for step in (0, 1, 7, 100):
            assert schedule(epoch, step) == pytest.approx(
                formula(epoch, step), rel=1e-14
            )


def _schedules():
    rate = st.floats(1e-6, 10.0)
    interval = st.one_of(st.none(), st.integers(1, 6))
    return st.one_of(
        st.builds(gn.InverseTime, rate, st.floats(0, 100), interval),
        st.builds(gn.Exponential, rate, st.floats(1e-3, 1.0), interval),
        st.builds(gn.InverseSqrtEpoch, rate, st.floats(0, 1.0), interval),
        st.builds(gn.InverseSqrtStep, rate, st.floats(0, 1.0)),
    )


@PROPERTY
@given(
    schedule=_schedules(),
    epochs=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
    steps=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
)
def test_schedules_never_increase(schedule, epochs, steps):
    e1, e2 = sorted(epochs)
    s1, s2 = sorted(steps)
    first, later = schedule(e1, s1), schedule(e2, s2)
    assert later <= first
    assert 0 <= later <= schedule.learning_rate
    assert schedule(0, 0) <= schedule.learning_rate


def test_get_by_name_and_config():
    schedule = schedules.get("inverse_time", learning_rate=0.2, decay_rate=1.0)
    assert isinstance(schedule, gn.InverseTime) and schedule(1) == pytest.approx(0.1)
    config = gn.Exponential(0.3, 0.8, time_interval=2).get_config()
    again = schedules.get(config)
    assert again.get_config() == config
    assert schedules.get(None) is None

    def custom(epoch, step):
        return 0.1

    assert schedules.get(custom) is custom


def test_unknown_name_and_bad_arguments():
    with pytest.raises(ValueError, match="'cosine'"):
        schedules.get("cosine", learning_rate=0.1)
    with pytest.raises(ValueError, match="received decay_rate=-1"):
        gn.InverseTime(0.1, decay_rate=-1)
    with pytest.raises(ValueError, match="received decay_rate=-0.5"):
        gn.InverseSqrtEpoch(0.1, decay_rate=-0.5)
    with pytest.raises(ValueError, match="received decay_rate=-0.5"):
        gn.InverseSqrtStep(0.1, decay_rate=-0.5)
    with pytest.raises(ValueError, match="received base=1.5"):
        gn.Exponential(0.1, base=1.5)
    with pytest.raises(ValueError, match="received base=0"):
        gn.Exponential(0.1, base=0)
    with pytest.raises(ValueError, match="received learning_rate=-0.1"):
        gn.InverseTime(-0.1)
    with pytest.raises(ValueError, match="time_interval"):
        gn.InverseTime(0.1, time_interval=0)
    with pytest.raises(ValueError, match="inverse_time"):
        schedules.get("inverse_time", learning_rate=0.1, rate=2)
