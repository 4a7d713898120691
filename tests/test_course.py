"""Course reproduction: the examples/course scripts against course-results.md.

Each script trains through the public API in float64 and returns its numbers from
``run(data_dir=None)``; here they are compared with the published values (row
numbers are those of ``shared/course-results.md``). Costs the notebooks print in
full are checked to 1e-9 relative; costs printed with ``%f`` (6 decimals) are
checked to half a unit of the last printed digit; accuracies are multiples of 1/m
and are checked exactly (to 1e-12). Rows that read the course files skip when the
data folder (conftest's ``DATA_DIR``: ``$GLASSNET_DATA``, else ``../shared/data``
from the repository root) is absent; the generated-data rows (the planar flower,
circles, moons, gradient checking) always run.

The reproductions train for thousands of iterations (about 2 minutes together), so
they are marked ``slow``; the gradient-checking rows (milliseconds) stay in the
fast tier, ``pytest -m "not slow"``, as its course-number check, with the planar
flower trained by ``glassnet train --data flower`` (a second).
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
from conftest import DATA_DIR, require_data

COURSE_DIR = Path(__file__).resolve().parents[1] / "examples" / "course"
if str(COURSE_DIR) not in sys.path:
    sys.path.insert(0, str(COURSE_DIR))  # the scripts import course_common


def _load(name: str):
    """Import ``examples/course/<name>.py`` as module ``course_<name>``."""
    module_name = f"course_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(
        module_name, COURSE_DIR / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """Run the reproductions with one BLAS thread: the matrices are small, and on a
    busy 2-core machine OpenBLAS's second thread made the 4-layer cat net ~8x slower
    (177 s against 23 s). The results are the same either way."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _require(relative: str) -> Path:
    """The data folder to pass to a script; skips when ``relative`` is absent."""
    require_data(relative)
    return DATA_DIR


def printed(published: float, decimals: int = 6):
    """Agrees with a value the notebook printed with ``decimals`` decimals."""
    return pytest.approx(published, abs=0.5 * 10.0**-decimals + 1e-12)


def full(published: float):
    """Agrees with a value the notebook printed in full (``repr``)."""
    return pytest.approx(published, rel=1e-9)


def exact(published: float):
    """An accuracy (a multiple of 1/m): equal up to the last printed digit."""
    return pytest.approx(published, abs=1e-12)


# ---------------------------------------------------------------- row 1


@pytest.fixture(scope="module")
def logistic():
    return _load("cat_logistic_regression").run(
        _require("catvnoncat/train_catvnoncat.h5"), verbose=False
    )


@pytest.mark.slow
def test_row1_logistic_regression_accuracies(logistic):
    assert logistic["train_accuracy"] == pytest.approx(99.04306220095694, rel=1e-12)
    assert logistic["test_accuracy"] == pytest.approx(70.0, rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize(
    "iteration, cost", [(0, 0.693147), (100, 0.584508), (1900, 0.140872)]
)
def test_row1_logistic_regression_costs(logistic, iteration, cost):
    assert len(logistic["costs"]) == 2000
    assert logistic["costs"][iteration] == printed(cost)


@pytest.mark.slow
def test_row1_first_cost_is_log_2(logistic):
    # w = 0, b = 0: every a = 1/2, so J = ln 2 exactly
    assert logistic["costs"][0] == pytest.approx(math.log(2), rel=1e-15)


# ---------------------------------------------------------------- rows 2, 3, 3b, 3c


@pytest.fixture(scope="module")
def planar():
    return _load("planar_data").run(verbose=False)


@pytest.mark.slow
def test_row2_logistic_regression_baseline(planar):
    result = planar["logistic_regression"]
    assert result["sklearn_accuracy"] == exact(47.0)  # the notebook's own call
    assert result["train_accuracy"] == exact(47.0)  # the same model in glassnet
    assert result["test_accuracy"] is None  # the flower has no test set


@pytest.mark.slow
@pytest.mark.parametrize("iteration, cost", [(0, 0.693048), (1000, 0.288083)])
def test_row3_planar_costs(planar, iteration, cost):
    assert len(planar["two_layer"]["costs"]) == 10000
    assert planar["two_layer"]["costs"][iteration] == printed(cost)


@pytest.mark.slow
def test_row3_planar_late_costs(planar):
    costs = planar["two_layer"]["costs"]
    # EO 0.218607 at 9000; lr 1.2 oscillates late and rounding grows (0.218554
    # here, 0.218560 in the independent re-implementation): course-results.md's
    # tolerance for row 3 is 1e-4 on late costs
    assert costs[9000] == pytest.approx(0.218607, abs=1e-4)
    # up to 7000 the re-implementation's printout agrees to 6 decimals
    assert costs[7000] == printed(0.217504)


@pytest.mark.slow
def test_row3_planar_accuracy(planar):
    accuracy = planar["two_layer"]["train_accuracy"]
    assert accuracy == exact(90.75)
    assert int(accuracy) == 90  # the notebook's "%d"


PLANAR_HIDDEN_SIZES = {1: 67.5, 2: 67.25, 3: 90.75, 4: 90.5, 5: 91.25}


@pytest.mark.slow
@pytest.mark.parametrize("n_h, accuracy", list(PLANAR_HIDDEN_SIZES.items()))
def test_row3b_hidden_layer_sizes(planar, n_h, accuracy):
    assert planar["hidden_sizes"][n_h] == exact(accuracy)


@pytest.mark.slow
def test_row3b_larger_hidden_layers(planar):
    # K printed 90.0 and 90.25 for 20 and 50 units; the independent
    # re-implementation gets 90.5 and 90.75, and the A version prints 90.75 for 50.
    # After 10,000 steps at learning rate 1.2 the 50-unit network's last 2 of 400
    # predictions depend on the BLAS kernel's rounding: OpenBLAS's Haswell kernel
    # gives A's 90.75, its SkylakeX kernel (AVX-512, this project's CI machines
    # since 2026-12-02) K's 90.25. Either is a course value; nothing else is.
    assert planar["hidden_sizes"][20] == exact(90.5)
    assert planar["hidden_sizes"][50] in (exact(90.25), exact(90.75))


@pytest.mark.slow
def test_row3c_current_version_seed_3(planar):
    accuracy = planar["current_version"]["train_accuracy"]
    # the course prints "90 %" (%d of the accuracy); the exact value after
    # 10,000 steps at lr 1.2 depends on the BLAS kernel's rounding (row 3b):
    # 90.75 with OpenBLAS's Haswell kernel, 90.5 with SkylakeX's
    assert accuracy in (exact(90.5), exact(90.75))
    assert int(accuracy) == 90
    # another seed, other weights: not the same run as row 3
    assert planar["current_version"]["costs"][1000] != pytest.approx(0.288083, abs=1e-3)


def test_the_flower_is_a_bundled_name_for_glassnet_train(tmp_path):
    from test_cli import cli, ok

    outcome = ok(
        cli(
            "train",
            "--data",
            "flower",
            "--layers",
            "8",
            "--activation",
            "tanh",
            "--epochs",
            "60",
            "--lr",
            "0.05",
            "--out",
            tmp_path / "run",
            "--quiet",
        )
    )
    assert "train" in outcome.stdout
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert (
        results["results"]["train"]["examples"]
        + results["results"]["dev"]["examples"]
        + results["results"]["test"]["examples"]
        == 400
    )
    # the petals are learned (a linear model stays at 47 %, row 2)
    assert results["results"]["train"]["accuracy"] > 0.85
    assert results["results"]["dev"]["accuracy"] > 0.75


# ---------------------------------------------------------------- rows 4 and 5


@pytest.fixture(scope="module")
def two_layer():
    return _load("cat_two_layer_net").run(
        _require("catvnoncat/train_catvnoncat.h5"), verbose=False
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "iteration, cost",
    [
        (0, 0.6930497356599888),
        (100, 0.6464320953428849),
        (2400, 0.048554785628770206),
        (2499, 0.04421498215868956),
    ],
)
def test_row4_two_layer_costs(two_layer, iteration, cost):
    assert len(two_layer["costs"]) == 2500
    assert two_layer["costs"][iteration] == full(cost)


@pytest.mark.slow
def test_row4_two_layer_accuracies(two_layer):
    assert two_layer["train_accuracy"] == exact(1.0)
    assert two_layer["test_accuracy"] == exact(0.72)


@pytest.fixture(scope="module")
def l_layer():
    return _load("cat_l_layer_net").run(
        _require("catvnoncat/train_catvnoncat.h5"), verbose=False
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "iteration, cost", [(0, 0.771749), (100, 0.672053), (2400, 0.092878)]
)
def test_row5_l_layer_costs(l_layer, iteration, cost):
    assert len(l_layer["costs"]) == 2500
    assert l_layer["costs"][iteration] == printed(cost)


@pytest.mark.slow
def test_row5_l_layer_last_cost(l_layer):
    # The EO writes 0.088439: the current notebook prints np.squeeze(cost) in full,
    # 0.088439943441702, which the EO truncates (rounded to 6 decimals: 0.088440).
    assert l_layer["costs"][2499] == pytest.approx(0.088439, abs=1e-6)
    assert l_layer["costs"][2499] == full(0.088439943441702)


@pytest.mark.slow
@pytest.mark.parametrize(
    "iteration, cost",
    [
        # full-precision printouts of executed copies of the current notebook
        # (not in course-results.md, which lists the 6-decimal EO)
        (0, 0.7717493284237686),
        (100, 0.6720534400822914),
        (2400, 0.09287821526472398),
    ],
)
def test_row5_l_layer_full_precision_costs(l_layer, iteration, cost):
    assert l_layer["costs"][iteration] == full(cost)


@pytest.mark.slow
def test_row5_l_layer_accuracies(l_layer):
    assert l_layer["train_accuracy"] == pytest.approx(0.985645933014, abs=1e-12)
    assert l_layer["train_accuracy"] == exact(206 / 209)
    assert l_layer["test_accuracy"] == exact(0.8)


# ---------------------------------------------------------------- rows 6-8


@pytest.fixture(scope="module")
def initialization():
    return _load("initialization").run(verbose=False)


@pytest.mark.slow
def test_row6_zeros_initialization(initialization):
    result = initialization["zeros"]
    assert len(result["costs"]) == 15000
    assert all(
        c == pytest.approx(0.6931471805599453, rel=1e-12) for c in result["costs"]
    )
    assert result["train_accuracy"] == exact(0.5)
    assert result["test_accuracy"] == exact(0.5)


@pytest.mark.slow
def test_row7_large_random_initialization(initialization):
    result = initialization["random"]
    # the notebook's inf: the script asks for the notes' formula from A by name
    assert math.isinf(result["costs"][0])
    assert result["train_accuracy"] == exact(0.83)
    assert result["test_accuracy"] == exact(0.86)
    # glassnet's default cost, from the logits, is finite for the same weights
    assert result["cost_0_from_logits"] == pytest.approx(1773.5859549373833, rel=1e-9)
    he = initialization["he"]
    assert he["cost_0_from_logits"] == pytest.approx(he["costs"][0], rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize(
    "iteration, cost",
    [(0, 0.8830537463419761), (1000, 0.6879825919728063), (14000, 0.07357895962677366)],
)
def test_row8_he_initialization_costs(initialization, iteration, cost):
    assert initialization["he"]["costs"][iteration] == full(cost)


@pytest.mark.slow
def test_row8_he_initialization_accuracies(initialization):
    assert initialization["he"]["train_accuracy"] == exact(0.9933333333333333)
    assert initialization["he"]["test_accuracy"] == exact(0.96)


# ---------------------------------------------------------------- rows 9-11

REGULARIZATION = {
    "none": (
        [0.6557412523481002, 0.16329987525724216, 0.13851642423255986],
        0.9478672985781991,
        0.915,
    ),
    "l2": (
        [0.6974484493131264, 0.2684918873282239, 0.2680916337127301],
        0.9383886255924171,
        0.93,
    ),
    "dropout": (
        [0.6543912405149825, 0.06101698657490559, 0.060582435798513114],
        0.9289099526066351,
        0.95,
    ),
}


@pytest.fixture(scope="module")
def regularization():
    return _load("regularization").run(_require("football/data.mat"), verbose=False)


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(REGULARIZATION))
def test_rows9_to_11_regularization(regularization, variant):
    costs, train, test = REGULARIZATION[variant]
    result = regularization[variant]
    assert len(result["costs"]) == 30000
    for iteration, cost in zip((0, 10000, 20000), costs, strict=True):
        assert result["costs"][iteration] == full(cost), iteration
    assert result["train_accuracy"] == exact(train)
    assert result["test_accuracy"] == exact(test)


# ---------------------------------------------------------------- rows 12, 12b, 13


@pytest.fixture(scope="module")
def gradient_checking():
    return _load("gradient_checking").run(verbose=False)


def test_row12_one_dimensional_x2(gradient_checking):
    assert gradient_checking["one_d_x2"] == pytest.approx(
        2.919335883291695e-10, rel=1e-6
    )
    # the K/A Expected Output cell
    assert gradient_checking["one_d_x2"] == pytest.approx(2.9193358103083e-10, rel=1e-6)


def test_row12b_one_dimensional_x3(gradient_checking):
    assert gradient_checking["one_d_x3"] == pytest.approx(
        7.814075313343006e-11, rel=1e-6
    )


def test_row13_n_dimensional_buggy(gradient_checking):
    assert gradient_checking["n_d_buggy"] == full(0.2850931567761623)
    per_parameter = gradient_checking["n_d_buggy_per_parameter"]
    # the planted bugs are the two worst parameters
    assert sorted(per_parameter, key=per_parameter.get)[-2:] == ["W2", "b1"]


def test_row13_n_dimensional_fixed(gradient_checking):
    # A prints 1.1890913023330276e-07; the digits after the third depend on how J
    # is rounded (the two-sided difference divides round-off by 2e-7)
    assert gradient_checking["n_d_fixed"] == pytest.approx(1.189e-07, rel=5e-3)
    assert gradient_checking["n_d_fixed"] < 2e-7  # the A/R threshold


# ---------------------------------------------------------------- row 15

OPTIMIZATION = {
    "gd": ([0.702405, 0.668101, 0.573367], 0.7166666666666667),
    "momentum": ([0.702413, 0.668167, 0.573444], 0.7166666666666667),
    "adam": ([0.702166, 0.167845, 0.136066], 0.9433333333333334),
}


@pytest.fixture(scope="module")
def optimization(tmp_path_factory):
    plot = tmp_path_factory.mktemp("plots") / "moons_optimizers.png"
    results = _load("optimization_methods").run(verbose=False, plot=plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the comparison chart
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", list(OPTIMIZATION))
def test_row15_optimization_methods(optimization, name):
    costs, train = OPTIMIZATION[name]
    result = optimization[name]
    assert len(result["costs"]) == 5000
    for epoch, cost in zip((0, 1000, 4000), costs, strict=True):
        assert result["costs"][epoch] == printed(cost), epoch
    assert result["train_accuracy"] == exact(train)


# ---------------------------------------------------------------- row 16

DECAY = {
    # variant: (published accuracy, epoch-1000 cost printed by executed copies of
    # the notebook; the cost is not in course-results.md)
    "gd_update_lr": (0.6533333333333333, 0.661884),
    "gd_schedule": (0.9433333333333334, 0.127161),
    "momentum_schedule": (0.9533333333333334, 0.128974),
    "adam_schedule": (0.94, 0.130074),
}


@pytest.fixture(scope="module")
def decay():
    return _load("learning_rate_decay").run(verbose=False)


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(DECAY))
def test_row16_learning_rate_decay(decay, variant):
    train, cost_1000 = DECAY[variant]
    result = decay[variant]
    assert result["train_accuracy"] == exact(train)
    assert result["costs"][1000] == printed(cost_1000)


@pytest.mark.slow
def test_row16_notebook_applies_decay_one_epoch_late(decay):
    rates = decay["gd_update_lr"]["learning_rates"]
    assert rates[:3] == pytest.approx([0.1, 0.1, 0.05])
    rates = decay["gd_schedule"]["learning_rates"]
    assert rates[1000] == pytest.approx(0.1) and rates[1001] == pytest.approx(0.05)


@pytest.mark.slow
def test_row16_unlagged_schedule_misses_update_lr_row():
    # gn.InverseTime as is (epoch e at decay(e)) ends at 0.65, not 0.6533...: the
    # documented reason learning_rate_decay.py wraps it with notebook_lag
    result = _load("learning_rate_decay").run(
        verbose=False, variants=("gd_update_lr",), lag=False
    )
    assert result["gd_update_lr"]["train_accuracy"] == exact(0.65)
