"""glassnet's own threads (glassnet/_pool.c, _products.c): float32 products split
across them give np.matmul's bits with one BLAS thread, the compiled passes give
the same bits on any number of threads, and ``parallel`` hands BLAS its limit back."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import glassnet as gn
from glassnet import _kernels

needs_fastops = pytest.mark.skipif(
    not _kernels.AVAILABLE, reason="glassnet._fastops was not built (no C compiler)"
)
needs_sgemm = pytest.mark.skipif(
    not (_kernels.AVAILABLE and _kernels._find_sgemm()),
    reason="NumPy's BLAS is not OpenBLAS with a cblas_sgemm symbol",
)


@pytest.fixture
def threads():
    """Set the pool's size for one test (BLAS held to one thread meanwhile)."""
    with threadpool_limits(1, user_api="blas"):
        yield _kernels._fastops.set_threads
        _kernels._fastops.set_threads(1)


def operands(rng, M, K, N, a_order, b_order):
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    A[rng.random(A.shape) < 0.2] = 0.0
    B[rng.random(B.shape) < 0.2] = -0.0
    return np.asarray(A, order=a_order), np.asarray(B, order=b_order)


@needs_sgemm
@pytest.mark.parametrize(
    ("M", "K", "N"),
    [
        (512, 784, 1024),  # the MLP's first layer at batch 1024: bands of columns
        (512, 1024, 784),  # its dW: bands of rows (C only 1.5 times as wide)
        (256, 512, 128),  # bands just above the split limit
        (300, 481, 369),  # uneven bands
        (1100, 2, 7),  # too small to split
        (10, 256, 1024),  # too few rows to split
        (130, 3000, 130),
        (512, 784, 32),  # batch 32: split only with a transposed operand
        (64, 295, 138),  # bands of columns: 64 and 74
        (200, 150, 90),  # bands of 1.35M multiply-adds, above the transposed limit
        (175, 175, 14),
    ],
)
@pytest.mark.parametrize(("a_order", "b_order"), [("C", "C"), ("F", "C"), ("C", "F")])
@pytest.mark.parametrize("scale", [1.0, 1 / 128, 1 / 777])
def test_split_products_are_numpys_bits_at_one_blas_thread(
    M, K, N, a_order, b_order, scale, threads
):
    rng = np.random.default_rng(M + K + N)
    A, B = operands(rng, M, K, N, a_order, b_order)
    expected = np.matmul(A, B)  # BLAS is on one thread here
    expected *= scale
    for count in (1, 2, 3):
        threads(count)
        out = np.full((M, N), np.nan, np.float32)
        assert _kernels.matmul(A, B, out, scale) is out
        np.testing.assert_array_equal(out.view(np.int32), expected.view(np.int32))


@needs_sgemm
def test_products_from_several_python_threads_while_the_pool_resizes(threads):
    """A thread that finds the pool busy (or being resized) runs its bands itself:
    every result is still the whole product."""
    import threading

    rng = np.random.default_rng(8)
    A, B = operands(rng, 512, 784, 256, "C", "F")
    expected = np.matmul(A, B)
    threads(2)
    failures = []

    def multiply():
        out = np.empty_like(expected)
        for _ in range(15):
            out[:] = np.nan
            _kernels.matmul(A, B, out)
            if not np.array_equal(out, expected):
                failures.append("differs")

    def resize():
        for count in (1, 2, 3, 2) * 5:
            threads(count)

    workers = [threading.Thread(target=multiply) for _ in range(3)]
    workers.append(threading.Thread(target=resize))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    assert failures == []


@needs_sgemm
def test_split_products_carry_infinities_and_nans_like_numpy(threads):
    rng = np.random.default_rng(3)
    A, B = operands(rng, 512, 600, 256, "C", "F")
    A[5, 7], A[300, 1], B[2, 100] = np.inf, np.nan, -np.inf
    with np.errstate(invalid="ignore"):
        expected = np.matmul(A, B)
        threads(2)
        out = np.empty_like(expected)
        _kernels.matmul(A, B, out)
    np.testing.assert_array_equal(out, expected)


@needs_fastops
@pytest.mark.parametrize(
    "case",
    ["float64", "strided", "overlap", "mixed dtypes", "tiny"],
)
def test_matmul_takes_numpy_for_what_blas_cannot_take_directly(case):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((64, 80)).astype(np.float32)
    B = rng.standard_normal((80, 48)).astype(np.float32)
    out = np.empty((64, 48), np.float32)
    if case == "float64":
        A, B = A.astype(np.float64), B.astype(np.float64)
        out = np.empty(out.shape, np.float64)
    elif case == "strided":
        A = np.repeat(A, 2, axis=1)[:, ::2]
    elif case == "overlap":
        B = rng.standard_normal((80, 80)).astype(np.float32)
        A = B[:64]
        expected = A @ B / 3
        out = B[:64]  # out is A itself: NumPy copies before writing
        _kernels.matmul(A, B, out, scale=1 / 3)
        np.testing.assert_allclose(out, expected, rtol=1e-6)
        return
    elif case == "mixed dtypes":
        B = B.astype(np.float64)
    elif case == "tiny":
        A, B, out = A[:1], B, out[:1]
    with threadpool_limits(1, user_api="blas"):
        expected = np.matmul(A, B, out=np.empty_like(out))
        expected *= 0.5
        got = _kernels.matmul(A, B, out, scale=0.5)
    np.testing.assert_array_equal(got, expected)


@needs_sgemm
@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (
            (np.ones((2, 2)), np.ones((2, 2), "f"), np.ones((2, 2), "f"), 1.0),
            TypeError,
            "2-d float32",
        ),
        (
            (np.ones(4, "f"), np.ones((4, 2), "f"), np.ones((1, 2), "f"), 1.0),
            TypeError,
            "2-d float32",
        ),
        (
            (np.ones((2, 3), "f"), np.ones((2, 2), "f"), np.ones((2, 2), "f"), 1.0),
            ValueError,
            "do not match",
        ),
        (
            (
                np.ones((4, 4), "f")[:, ::2],
                np.ones((2, 2), "f"),
                np.ones((4, 2), "f"),
                1.0,
            ),
            ValueError,
            "C- or F-contiguous",
        ),
        ((np.ones((2, 2), "f"), np.ones((2, 2), "f")), TypeError, "4 arguments"),
    ],
)
def test_the_compiled_matmul_refuses_what_it_cannot_take(arguments, error, message):
    with pytest.raises(error, match=message):
        _kernels._fastops.matmul(*arguments)


@needs_fastops
def test_the_pool_refuses_a_bad_size():
    with pytest.raises(ValueError, match="1 to 64"):
        _kernels._fastops.set_threads(0)


@needs_fastops
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8"])
def test_gather_rows_is_fancy_indexing(dtype, threads):
    rng = np.random.default_rng(5)
    X = (rng.random((3000, 37)) * 200).astype(dtype)
    index = rng.permutation(3000)[:2500]
    for count in (1, 2):
        threads(count)
        out = np.empty((2500, 37), dtype)
        assert _kernels.gather_rows(X, index, out) is out
        np.testing.assert_array_equal(out, X[index])
    out = np.empty((2, 37), dtype)
    with pytest.raises(IndexError, match="index 3000 is out of bounds for 3000 rows"):
        _kernels.gather_rows(X, np.array([1, 3000]), out)
    # other index dtypes and layouts take np.take
    np.testing.assert_array_equal(
        _kernels.gather_rows(X, index[:2].astype(np.int32), out), X[index[:2]]
    )


@needs_fastops
def test_the_passes_give_the_same_bits_on_any_number_of_threads(threads):
    rng = np.random.default_rng(6)
    size = 300_007  # bands of whole 1024-parameter pieces, a short last one
    W0, dW = (rng.standard_normal(size).astype(np.float32) for _ in range(2))
    v0 = rng.standard_normal(size).astype(np.float32) * 1e-3
    s0 = np.abs(rng.standard_normal(size)).astype(np.float32) * 1e-6
    s0[1000:1100] = 1e-40  # a block that divides (denormal moments)
    Z0 = rng.standard_normal((700, 300)).astype(np.float32)
    b = rng.standard_normal((700, 1)).astype(np.float32)
    dA0 = rng.standard_normal(Z0.shape).astype(np.float32)
    results = []
    for count in (1, 2, 3):
        threads(count)
        W, v, s = W0.copy(), v0.copy(), s0.copy()
        optimizer = gn.Adam(1e-3)
        optimizer.t = 7
        optimizer._kernel(W, dW, [v, s], np.float32)
        Z, dA, db = Z0.copy(), dA0.copy(), np.empty_like(b)
        _kernels.bias_relu(Z, b)
        _kernels.relu_backward_sum(dA, Z, db)
        results.append((W, v, s, Z, dA, db))
    for other in results[1:]:
        for got, want in zip(other, results[0], strict=True):
            np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def _train_mlp(epochs=2):
    rng = np.random.default_rng(7)
    X = rng.random((384, 784), dtype=np.float32)
    y = rng.integers(0, 10, 384)
    model = gn.Sequential([gn.Dense(512, "relu"), gn.Dense(10, "softmax")])
    model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=128,
        optimizer="adam",
        rng=0,
        dtype="float32",
        verbose=False,
    )
    return model.flat_params.copy()


@needs_sgemm
def test_training_on_the_pool_gives_the_pure_numpy_weights(monkeypatch):
    """Two threads of ours (products split by rows, passes split by bands) train to
    the weights of the pure NumPy path with one BLAS thread, bit for bit."""
    with threadpool_limits(2, user_api="blas"):
        pooled = _train_mlp()
    with threadpool_limits(1, user_api="blas"):
        compiled_one_thread = _train_mlp()
        monkeypatch.setattr(_kernels, "AVAILABLE", False)
        numpy_only = _train_mlp()
    np.testing.assert_array_equal(pooled, compiled_one_thread)
    np.testing.assert_array_equal(pooled, numpy_only)


def _benchmark_module():
    """benchmarks/mlp_mnist.py, imported (its course loop is the loss check's)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "mlp_mnist.py"
    spec = importlib.util.spec_from_file_location("mlp_mnist", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_sgemm
def test_training_on_the_pool_is_the_course_loop_bit_for_bit():
    """The speed is not bought with other arithmetic: float32 training on two threads
    of ours ends on the weights of the notes' plain loop (the benchmark's reference,
    which its loss check compares with) on one BLAS thread, to the last bit."""
    rng = np.random.default_rng(11)
    X = rng.random((32 * 20, 784), dtype=np.float32)
    y = rng.integers(0, 10, len(X))
    model = gn.Sequential(
        [gn.Dense(300, "relu"), gn.Dense(64, "relu"), gn.Dense(10, "softmax")]
    )
    model.build(784, rng=np.random.default_rng(3), dtype="float32")
    course_weights = [  # trained in place by the course loop below
        (layer.params["W"].copy(), layer.params["b"].copy()) for layer in model.layers
    ]
    with threadpool_limits(2, user_api="blas"):
        model.fit(
            X, y, batch_size=32, optimizer=gn.Adam(1e-3), shuffle=False, verbose=False
        )
    benchmark = _benchmark_module()
    batches = ((X[i : i + 32].T, y[i : i + 32]) for i in range(0, len(X), 32))
    with threadpool_limits(1, user_api="blas"):
        moments = benchmark.adam_moments(course_weights)
        benchmark.course_loop(course_weights, batches, moments)
    for layer, (W, b) in zip(model.layers, course_weights, strict=True):
        np.testing.assert_array_equal(layer.params["W"], W)
        np.testing.assert_array_equal(layer.params["b"], b)


def _blas_threads():
    """The thread limit of NumPy's OpenBLAS (the one glassnet calls)."""
    library = _kernels._numpy_openblas()
    return [
        i["num_threads"] for i in threadpool_info() if i["filepath"] == library.filepath
    ]


@needs_sgemm
def test_parallel_holds_blas_to_one_thread_and_gives_the_limit_back(monkeypatch):
    monkeypatch.setattr(_kernels, "_free_cpus", lambda cpus: cpus)  # a quiet machine
    with threadpool_limits(2, user_api="blas"):
        with _kernels.parallel():
            assert set(_blas_threads()) == {1}
            assert _kernels._threads == 2
            with _kernels.parallel():  # nested: changes nothing
                assert _kernels._threads == 2
        assert set(_blas_threads()) == {2}
        assert _kernels._threads == 1
        with pytest.raises(RuntimeError), _kernels.parallel():
            raise RuntimeError("stop")
        assert set(_blas_threads()) == {2}
        assert _kernels._threads == 1
    with threadpool_limits(1, user_api="blas"), _kernels.parallel():
        assert _kernels._threads == 1  # the user's limit: no threads of ours
    with threadpool_limits(64, user_api="blas"):
        with _kernels.parallel():  # no more threads than CPUs
            assert 1 <= _kernels._threads <= _kernels._cpus()
        assert set(_blas_threads()) == {64}


@needs_sgemm
def test_parallel_goes_on_without_threads_when_the_system_refuses_them(monkeypatch):
    real = _kernels._fastops

    class Refusing:
        def __getattr__(self, name):
            return getattr(real, name)

        def set_threads(self, count):
            if count > 1:
                raise OSError("set_threads: could not start 2 threads (1 run)")
            return real.set_threads(count)

    monkeypatch.setattr(_kernels, "_fastops", Refusing())
    monkeypatch.setattr(_kernels, "_free_cpus", lambda cpus: cpus)  # a quiet machine
    with threadpool_limits(2, user_api="blas"), _kernels.parallel():
        assert _kernels._threads == 1
        assert set(_blas_threads()) == {2}  # BLAS keeps its own threads


@needs_sgemm
def test_parallel_uses_no_pool_while_another_process_takes_a_cpu(monkeypatch):
    """A busy neighbour at the start of fit: one thread, BLAS held to one too (its
    own threads would wait on the neighbour the same way), the limit given back."""
    monkeypatch.setattr(_kernels, "_free_cpus", lambda cpus: 1)
    with threadpool_limits(2, user_api="blas"):
        with _kernels.parallel():
            assert _kernels._threads == 1
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {2}
    with threadpool_limits(1, user_api="blas"), _kernels.parallel():
        assert set(_blas_threads()) == {1}


@pytest.mark.parametrize(
    ("loadavg", "cpus", "free"),
    [
        ("0.50 0.40 0.30 1/120 999\n", 2, 2),  # only this thread runs
        ("1.50 1.40 1.30 2/120 999\n", 2, 1),  # one other thread
        ("3.00 3.00 3.00 5/300 999\n", 2, 1),  # more than the CPUs: at least 1
        ("3.00 3.00 3.00 3/300 999\n", 8, 6),
        ("garbage", 4, 4),  # unreadable: every CPU
    ],
)
def test_free_cpus_counts_the_threads_running_elsewhere(
    monkeypatch, loadavg, cpus, free
):
    monkeypatch.setattr(
        _kernels, "open", lambda *a, **k: io.StringIO(loadavg), raising=False
    )
    assert _kernels._free_cpus(cpus) == free


def test_free_cpus_without_proc_is_every_cpu(monkeypatch):
    def refuse(*args, **kwargs):
        raise FileNotFoundError("/proc/loadavg")

    monkeypatch.setattr(_kernels, "open", refuse, raising=False)
    assert _kernels._free_cpus(3) == 3


@pytest.mark.slow  # a process spinning on one CPU while the pool trains
@needs_sgemm
def test_the_pool_under_a_busy_neighbour_gives_the_one_thread_weights(monkeypatch):
    """With a neighbour spinning on one CPU, the pool's rounds stall and it runs
    them on the calling thread for a while (glassnet/_pool.c): the weights are
    still the one-thread weights, bit for bit."""
    monkeypatch.setattr(_kernels, "_free_cpus", lambda cpus: cpus)  # pool forced on
    cpu = max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else -1
    spinner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys\n"
            "cpu = int(sys.argv[1])\n"
            "if cpu >= 0: os.sched_setaffinity(0, {cpu})\n"
            "while True: pass",
            str(cpu),
        ]
    )
    try:
        with threadpool_limits(2, user_api="blas"):
            pooled = _train_mlp(
                epochs=40
            )  # ~1800 rounds: several of the pool's windows
    finally:
        spinner.kill()
        spinner.wait()
    with threadpool_limits(1, user_api="blas"):
        one_thread = _train_mlp(epochs=40)
    np.testing.assert_array_equal(pooled, one_thread)


@pytest.mark.slow  # a forked child process
@needs_sgemm
@pytest.mark.skipif(sys.platform == "win32", reason="fork() is POSIX")
def test_a_forked_child_starts_its_own_pool():
    code = textwrap.dedent(
        """
        import os, numpy as np
        from threadpoolctl import threadpool_limits
        from glassnet import _kernels
        _kernels._find_sgemm()
        A = np.ones((512, 784), np.float32); B = np.ones((784, 1024), np.float32)
        out = np.empty((512, 1024), np.float32)
        with threadpool_limits(1):
            _kernels._fastops.set_threads(2)
            _kernels._fastops.matmul(A, B, out, 1.0)
            pid = os.fork()
            if pid == 0:
                _kernels._fastops.set_threads(2)
                out[:] = 0
                _kernels._fastops.matmul(A, B, out, 1.0)
                os._exit(0 if (out == 784).all() else 3)
            _, status = os.waitpid(pid, 0)
            _kernels._fastops.set_threads(1)
        print(os.waitstatus_to_exitcode(status))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


# --- no address from Python: the extension looks sgemm up itself ---------------------

PROBE_EVERY_FUNCTION = """
import sys
from glassnet import _fastops
names = sorted(n for n in dir(_fastops) if callable(getattr(_fastops, n)))
for name in names:
    for arguments in [(12345,), (12345, True), (12345, 1, 1), (12345, 1, 1, 1.0)]:
        try:
            getattr(_fastops, name)(*arguments)
        except (TypeError, ValueError, OSError, BufferError, RuntimeError):
            pass
print("survived", len(names))
"""


@pytest.mark.slow  # a fresh Python process
@needs_fastops
def test_no_function_of_the_extension_takes_an_address():
    """set_sgemm(address) is gone; every entry point, called with integers where
    an address would go, raises instead of jumping (a crash ends the subprocess)."""
    assert not hasattr(_kernels._fastops, "set_sgemm")
    result = subprocess.run(
        [sys.executable, "-c", PROBE_EVERY_FUNCTION],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("survived")
    with pytest.raises(TypeError, match="str, bytes or os.PathLike"):
        _kernels._fastops.load_sgemm(12345, False)


@needs_fastops
def test_load_sgemm_refuses_a_library_that_is_not_loaded(tmp_path):
    fake = tmp_path / "libnot_loaded.so"
    fake.write_bytes(b"\x7fELF not really")  # never opened as a library
    for path in (fake, tmp_path / "missing.so", str(Path(__file__))):
        with pytest.raises(OSError, match="is not a library loaded in this process"):
            _kernels._fastops.load_sgemm(path, False)


@needs_sgemm
def test_load_sgemm_finds_no_sgemm_in_a_library_without_one(threads):
    """A loaded library without the symbols (the extension itself) changes nothing,
    and the products still run on NumPy's sgemm, bit for bit."""
    assert _kernels._fastops.load_sgemm(_kernels._fastops.__file__, False) is None
    rng = np.random.default_rng(12)
    A, B = operands(rng, 512, 784, 256, "C", "F")
    expected = np.matmul(A, B)
    threads(2)
    out = np.empty_like(expected)
    _kernels.matmul(A, B, out)
    np.testing.assert_array_equal(out, expected)


@needs_sgemm
def test_the_sgemm_found_is_numpys_openblas_by_its_fixed_name():
    assert _kernels.SGEMM_SYMBOL in (
        "scipy_cblas_sgemm64_",
        "cblas_sgemm64_",
        "scipy_cblas_sgemm",
        "cblas_sgemm",
    )
    assert _kernels.SGEMM_REASON is None
    library = _kernels._numpy_openblas()
    columns = _kernels._BANDED_KERNELS[library.architecture.lower()]
    # the same library again: the same symbol, nothing changes
    assert _kernels._fastops.load_sgemm(library.filepath, columns) == (
        _kernels.SGEMM_SYMBOL
    )


def test_a_kernel_not_known_to_keep_the_bits_is_not_banded(monkeypatch):
    """Only OpenBLAS kernels whose bands were measured to keep np.matmul's bits are
    split (OpenBLAS's Haswell kernel rounds a band of columns differently)."""

    class Library:
        filepath = "/nowhere/libopenblas.so"
        architecture = "SomeFutureCore"
        num_threads = 2

    class Controller:
        def select(self, internal_api):
            return type("Selection", (), {"lib_controllers": [Library()]})()

    import threadpoolctl

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", Controller)
    monkeypatch.setattr(_kernels, "_openblas", None)
    monkeypatch.setattr(_kernels, "SGEMM_SYMBOL", None)
    monkeypatch.setattr(_kernels, "_fastops", object())  # never asked
    assert _kernels._numpy_openblas() is False
    assert "somefuturecore kernel" in _kernels.SGEMM_REASON


# --- the pool's benchmark: default against one thread with a busy neighbour ----------


@pytest.mark.slow  # the benchmark script in a real process
def test_the_busy_neighbour_benchmark_runs_in_a_tiny_configuration():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "mlp_mnist.py"
    result = subprocess.run(
        [sys.executable, str(path), "--busy-neighbour", "--examples", "256"]
        + ["--epochs", "2", "--batch", "128"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "busy neighbour: one process spinning" in result.stdout
    assert "glassnet one thread" in result.stdout
    match = re.search(r"default / one thread (\S+) \(goal: at most 1.05", result.stdout)
    assert match is not None and float(match.group(1)) > 0, result.stdout
