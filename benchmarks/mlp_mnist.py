"""MLP-MNIST speed benchmark: glassnet against PyTorch eager and scikit-learn.

Workload "mlp" (the CPU-speed issue): 60000 x 784 float32 pixel-like inputs uniform in
[0, 1) from a fixed seed, 10 classes, network 784-512-256-10 ReLU, softmax
cross-entropy, Adam(1e-3), three shuffled epochs, at batch sizes 32, 128 and 1024.
Workload "tiny": 784-64-10 at batch 64, for the per-step overhead.

Every (framework, batch size) runs in a fresh process, frameworks alternating, for
several rounds. The parent prints, per batch size, the median epoch time with its
min-max, the ratios glassnet / PyTorch and glassnet / scikit-learn, each process's
peak resident memory, and the share of glassnet's time that the matrix products
alone take (the "numpy-matmul" worker times exactly glassnet's products, the OpenBLAS
floor). The "reference" worker is a plain course-style NumPy float32 loop with the
same weights and batch order: glassnet's loss after each epoch must equal it within
1e-4 relative (the speed does not come from doing less work). The check compares with
the loop run once more on one BLAS thread ("reference-serial"): OpenBLAS's threads
round the products differently, so the threaded loop's loss depends on the machine's
core count (by 1.9e-4 at batch 32 on 2 cores), while glassnet's products give the same
bits on any number of threads (docs/architecture.md D22). The threaded loop's
difference is printed too, next to its own distance from the serial one.

    python benchmarks/mlp_mnist.py                      # the full run (minutes)
    python benchmarks/mlp_mnist.py --examples 2048 --epochs 1 --rounds 1 \\
        --batch-sizes 128 --frameworks glassnet,reference   # a smoke run
    python benchmarks/mlp_mnist.py --busy-neighbour --epochs 8   # the pool's check

``--busy-neighbour`` keeps glassnet's thread pool honest (issue 21): another process
spins on one core (a pure-Python loop, pinned to the last CPU this process may use
where the system allows it, killed at the end) while one worker process trains two
copies of the "mlp" network at ``--batch`` (128), alternating epoch by epoch between
glassnet's default (its pool, as many threads as the BLAS limit and the CPUs allow)
and glassnet inside ``threadpoolctl.threadpool_limits(1)`` (one thread). It prints
the median epochs and the ratio "default / one thread" against the goal, at most
1.05. ``--pool-vs-one`` is the same comparison without the neighbour (quiet, the
pool must keep its lead: a ratio below 1).

Timings are for the machine they run on; see benchmarks/README.md for results.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

LAYERS = {"mlp": (784, 512, 256, 10), "tiny": (784, 64, 10)}
SEED = 0


def make_data(m: int, n_x: int = 784, classes: int = 10):
    rng = np.random.default_rng(SEED)
    X = rng.random((m, n_x), dtype=np.float32)
    y = rng.integers(0, classes, m)
    return X, y


def batch_orders(m: int, epochs: int):
    rng = np.random.default_rng(SEED + 1)
    return [rng.permutation(m) for _ in range(epochs)]


def initial_weights(sizes):
    """He-initialized float32 weights drawn exactly as glassnet's build draws them."""
    rng = np.random.default_rng(SEED + 2)
    weights = []
    for n_prev, n in zip(sizes[:-1], sizes[1:], strict=False):
        W = rng.standard_normal((n, n_prev)) * np.sqrt(2.0 / n_prev)
        weights.append((W.astype(np.float32), np.zeros((n, 1), np.float32)))
    return weights


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- workers: each runs in its own process and prints one JSON line ---------------


def worker_glassnet(X, y, sizes, batch, epochs):
    """One ``fit`` call for all epochs, as a user trains; the first epoch's time
    runs from the call, so it includes fit's checks of X and y."""
    import glassnet as gn

    layers = [gn.Dense(n, "relu") for n in sizes[1:-1]]
    model = gn.Sequential([*layers, gn.Dense(sizes[-1], "softmax", initializer="he")])
    model.build(sizes[0], rng=np.random.default_rng(SEED + 2), dtype="float32")
    orders = batch_orders(len(X), epochs)
    ends = []

    class EpochEnds(gn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    start = time.perf_counter()
    history = model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch,
        optimizer=gn.Adam(1e-3),
        verbose=False,
        shuffle=lambda epoch, m: orders[epoch],
        callbacks=[EpochEnds()],
    )
    times = np.diff([start, *ends]).tolist()
    return times, list(history["cost"])


def adam_moments(params) -> dict:
    """Adam's state for :func:`course_loop`: zero moments shaped like ``params``."""
    return {
        "v": [[np.zeros_like(W), np.zeros_like(b)] for W, b in params],
        "s": [[np.zeros_like(W), np.zeros_like(b)] for W, b in params],
        "t": 0,
    }


def course_loop(params, batches, moments) -> float:
    """The notes' equations as a plain NumPy loop (no buffers, no fusion).

    Trains ``params``, a list of (W, b) per layer changed in place, on ``batches`` of
    (A (n[0], m), labels (m,)): ReLU layers, a softmax output with cross-entropy,
    ``dW = dZ A_prev^T / m``, ``db = sum(dZ) / m``, Adam(1e-3) with the course's
    ``s = beta2 s + (1 - beta2) dW^2``; ``moments`` (:func:`adam_moments`) carries
    Adam's state between calls. Returns the summed cost, sum over batches of J m.
    glassnet's float32 training is this loop on one BLAS thread, bit for bit
    (tests/test_products.py)."""
    L = len(params)
    v, s = moments["v"], moments["s"]
    beta1, beta2, epsilon, alpha = 0.9, 0.999, 1e-8, 1e-3
    total = 0.0
    for A, Y in batches:
        m = A.shape[1]
        caches = [A]
        for l, (W, b) in enumerate(params):
            Z = W @ A + b
            if l < L - 1:
                A = np.maximum(Z, 0)
            else:
                E = np.exp(Z - Z.max(axis=0, keepdims=True))
                A = E / E.sum(axis=0, keepdims=True)
            caches.append(A)
        total += -np.sum(np.log(A[Y, np.arange(m)])) / m * m
        dZ = A.copy()
        dZ[Y, np.arange(m)] -= 1
        moments["t"] += 1
        t = moments["t"]
        for l in reversed(range(L)):
            W, b = params[l]
            A_prev = caches[l]
            dW = dZ @ A_prev.T / m
            db = dZ.sum(axis=1, keepdims=True) / m
            if l > 0:
                dZ = (W.T @ dZ) * (A_prev > 0)
            for i, (p, g) in enumerate(((W, dW), (b, db))):
                v[l][i] = beta1 * v[l][i] + (1 - beta1) * g
                # the course's (1 - beta2) * np.power(dW, 2): the square first
                s[l][i] = beta2 * s[l][i] + (1 - beta2) * np.square(g)
                v_hat = v[l][i] / (1 - beta1**t)
                s_hat = s[l][i] / (1 - beta2**t)
                p -= alpha * v_hat / (np.sqrt(s_hat) + epsilon)
    return total


def worker_reference(X, y, sizes, batch, epochs):
    """:func:`course_loop` in float32 on the benchmark's weights and batch order (the
    batch gathers timed with it)."""
    params = initial_weights(sizes)
    moments = adam_moments(params)
    times, losses = [], []
    for order in batch_orders(len(X), epochs):
        start = time.perf_counter()
        batches = (
            (X[index].T, y[index])
            for index in (order[f : f + batch] for f in range(0, len(X), batch))
        )
        total = course_loop(params, batches, moments)
        times.append(time.perf_counter() - start)
        losses.append(total / len(X))
    return times, losses


def worker_reference_serial(X, y, sizes, batch, epochs):
    """The reference loop with NumPy's BLAS on one thread: bits that do not depend
    on the machine's core count (the loss check's reference)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return worker_reference(X, y, sizes, batch, epochs)


def worker_numpy_matmul(X, y, sizes, batch, epochs):
    """Only the matrix products of one training step (the floor for NumPy); the
    batch gather is done but not timed."""
    params = initial_weights(sizes)
    times = []
    buffer = np.empty((batch, X.shape[1]), np.float32)
    for order in batch_orders(len(X), epochs):
        elapsed = 0.0
        for first in range(0, len(X), batch):
            index = order[first : first + batch]
            A = np.take(X, index, axis=0, out=buffer[: len(index)], mode="clip").T
            start = time.perf_counter()
            caches = [A]
            for W, _ in params:
                A = W @ A
                caches.append(A)
            dZ = A
            for l in reversed(range(len(params))):
                W, _ = params[l]
                _ = dZ @ caches[l].T
                if l > 0:
                    dZ = W.T @ dZ
            elapsed += time.perf_counter() - start
        times.append(elapsed)
    return times, []


def worker_pytorch(X, y, sizes, batch, epochs, fused=False):
    import torch

    torch.manual_seed(SEED)
    modules = []
    for (W, _b), last in zip(
        initial_weights(sizes), [False] * (len(sizes) - 2) + [True], strict=False
    ):
        linear = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.zero_()
        modules.append(linear)
        if not last:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    loss_function = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    times, losses = [], []
    for order in batch_orders(len(X), epochs):
        order_t = torch.from_numpy(order)
        start = time.perf_counter()
        total = 0.0
        for first in range(0, len(X), batch):
            index = order_t[first : first + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(X_t[index]), y_t[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        times.append(time.perf_counter() - start)
        losses.append(total / len(X))
    return times, losses


def worker_sklearn(X, y, sizes, batch, epochs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=sizes[1:-1],
        solver="adam",
        batch_size=batch,
        max_iter=1,
        learning_rate_init=1e-3,
        random_state=SEED,
        warm_start=True,
        tol=0,
    )
    times, losses = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            start = time.perf_counter()
            model.fit(X, y)
            times.append(time.perf_counter() - start)
            losses.append(float(model.loss_))
    return times, losses


def worker_pool_vs_one(X, y, sizes, batch, epochs):
    """glassnet's default (its pool) and glassnet on one thread, two copies of one
    network trained side by side in this process, alternating epoch by epoch (the
    first of each pair alternates too); returns each one's epoch times and the
    threads the default shares."""
    import contextlib

    from threadpoolctl import threadpool_limits

    import glassnet as gn
    from glassnet import _kernels

    settings = {
        "default": contextlib.nullcontext,
        "one thread": lambda: threadpool_limits(1, user_api="blas"),
    }
    models, optimizers = {}, {}
    for name in settings:
        layers = [gn.Dense(n, "relu") for n in sizes[1:-1]]
        models[name] = gn.Sequential([*layers, gn.Dense(sizes[-1], "softmax")])
        models[name].build(sizes[0], rng=np.random.default_rng(SEED + 2))
        optimizers[name] = gn.Adam(1e-3)
    times = {name: [] for name in settings}
    used = []  # the threads the default's fit took (fewer when a CPU was busy)

    class Threads(gn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            used.append(_kernels._threads)

    for epoch, order in enumerate(batch_orders(len(X), epochs)):
        names = list(settings) if epoch % 2 == 0 else list(settings)[::-1]
        for name in names:
            with settings[name]():
                start = time.perf_counter()
                models[name].fit(
                    X,
                    y,
                    epochs=1,
                    batch_size=batch,
                    optimizer=optimizers[name],
                    verbose=False,
                    shuffle=lambda epoch, m, order=order: order,
                    callbacks=[Threads()] if name == "default" else [],
                )
                times[name].append(time.perf_counter() - start)
    return {"epochs": times, "threads": sorted(set(used))}, []


WORKERS = {
    "glassnet": worker_glassnet,
    "pytorch": worker_pytorch,
    "pytorch-fused": lambda *a: worker_pytorch(*a, fused=True),
    "sklearn": worker_sklearn,
    "reference": worker_reference,
    "reference-serial": worker_reference_serial,
    "numpy-matmul": worker_numpy_matmul,
    "pool-vs-one": worker_pool_vs_one,
}


def run_worker(args) -> None:
    sizes = LAYERS[args.workload]
    X, y = make_data(args.examples, sizes[0], sizes[-1])
    times, losses = WORKERS[args.worker](X, y, sizes, args.batch, args.epochs)
    losses = [float(value) for value in losses]
    print(json.dumps({"times": times, "losses": losses, "peak_mb": peak_rss_mb()}))


# --- parent ------------------------------------------------------------------------


def available(framework: str) -> bool:
    if framework.startswith("pytorch"):
        try:
            import torch  # noqa: F401
        except ImportError:
            return False
    return True


def spawn(framework, workload, batch, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        framework,
        "--workload",
        workload,
        "--batch",
        str(batch),
        "--epochs",
        str(args.epochs),
        "--examples",
        str(args.examples),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{framework} worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarize(name, runs):
    times = [t for run in runs for t in run["times"]]
    later = [t for run in runs for t in run["times"][1:]]  # warm-up epochs left out
    return {
        "framework": name,
        "median": statistics.median(times),
        "steady": statistics.median(later) if later else None,
        "min": min(times),
        "max": max(times),
        "peak_mb": max(run["peak_mb"] for run in runs),
        "losses": runs[0]["losses"],
        "times": [run["times"] for run in runs],  # per process, per epoch
    }


def report(workload, batch, results) -> list[str]:
    lines = [f"\n{workload} batch {batch}: median epoch seconds (min-max), peak MB"]
    for item in results.values():
        lines.append(
            f"  {item['framework']:<18}{item['median']:8.3f} s "
            f"({item['min']:.3f}-{item['max']:.3f})  {item['peak_mb']:7.0f} MB"
        )
    glass = results.get("glassnet")
    if glass:
        for other in ("pytorch", "pytorch-fused", "sklearn", "reference"):
            if other in results:
                ratio = glass["median"] / results[other]["median"]
                lines.append(f"  glassnet / {other:<14}{ratio:6.2f}x")
        steady = {
            name: item["steady"]
            for name, item in results.items()
            if item["steady"] is not None
        }
        if "glassnet" in steady and len(steady) > 1:
            text = ", ".join(f"{name} {value:.3f} s" for name, value in steady.items())
            lines.append(f"  after each process's first epoch: {text}")
            if "pytorch" in steady:
                ratio = steady["glassnet"] / steady["pytorch"]
                lines.append(f"  glassnet / pytorch after the first epoch {ratio:.2f}x")
        if "numpy-matmul" in results:
            share = results["numpy-matmul"]["median"] / glass["median"]
            lines.append(
                f"  matrix products alone are {share:.0%} of glassnet's epoch "
                f"(glassnet / floor {1 / share:.2f}x)"
            )
            if "sklearn" in results:
                bound = results["sklearn"]["median"] / results["numpy-matmul"]["min"]
                lines.append(
                    f"  the products alone, in their fastest epoch, are {bound:.2f}x "
                    "faster than scikit-learn's median epoch"
                )
        if "reference-serial" in results and glass["losses"]:
            serial = results["reference-serial"]["losses"]
            worst = _worst_relative(glass["losses"], serial)
            verdict = "ok" if worst <= 1e-4 else "MISMATCH"
            lines.append(
                f"  loss per epoch vs float32 reference loop (one BLAS thread): max "
                f"relative difference {worst:.2e} ({verdict})"
            )
            if "reference" in results:
                threaded = results["reference"]["losses"]
                lines.append(
                    f"  vs the reference loop on BLAS's threads "
                    f"{_worst_relative(glass['losses'], threaded):.2e}; that loop vs "
                    f"itself on one thread {_worst_relative(threaded, serial):.2e}"
                )
    return lines


def _worst_relative(losses, reference) -> float:
    pairs = zip(losses, reference, strict=False)
    return max(abs(a - b) / abs(b) for a, b in pairs)


# --- the pool's check: default against one thread, with a busy neighbour -----------

SPINNER = """
import os, sys
cpu, parent = int(sys.argv[1]), os.getppid()
if cpu >= 0 and hasattr(os, "sched_setaffinity"):
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        pass
while os.getppid() == parent:  # spins until killed, or its parent is gone
    for _ in range(1_000_000):
        pass
"""
POOL_GOAL = 1.05  # busy neighbour: default at most 5 % slower than one thread


def start_neighbour():
    """A process spinning on one core (the last CPU this process may use, pinned
    where possible); returns (process, cpu or None)."""
    cpu = None
    if hasattr(os, "sched_getaffinity"):
        cpu = max(os.sched_getaffinity(0))
    process = subprocess.Popen(
        [sys.executable, "-c", SPINNER, str(-1 if cpu is None else cpu)]
    )
    return process, cpu


def pool_check(args, neighbour: bool) -> int:
    """Time glassnet's default against one thread (``worker_pool_vs_one``), with a
    busy neighbour or quiet, and print the medians and their ratio."""
    spinner, cpu = start_neighbour() if neighbour else (None, None)
    try:
        result = spawn("pool-vs-one", "mlp", args.batch, args)["times"]
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    epochs = result["epochs"]
    where = f"pinned to CPU {cpu}" if cpu is not None else "not pinned"
    print(
        f"machine: {os.cpu_count()} cores; numpy {np.__version__}; "
        + (f"busy neighbour: one process spinning ({where})" if neighbour else "quiet")
    )
    print(
        f"mlp batch {args.batch}, {args.examples} examples, {len(epochs['default'])} "
        "epochs each, alternating: median epoch seconds (min-max)"
    )
    threads = " or ".join(str(n) for n in result["threads"])
    label = {"default": f"default ({threads} threads)", "one thread": None}
    for name, times in epochs.items():
        print(
            f"  glassnet {label[name] or name:<22}{statistics.median(times):8.3f} s "
            f"({min(times):.3f}-{max(times):.3f})"
        )
    ratio = statistics.median(epochs["default"]) / statistics.median(
        epochs["one thread"]
    )
    goal = POOL_GOAL if neighbour else 1.0
    verdict = "ok" if ratio <= goal else "MISSED"
    print(f"  default / one thread {ratio:.3f} (goal: at most {goal:.2f}; {verdict})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--workload", choices=sorted(LAYERS), default="mlp")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--batch-sizes", default="32,128,1024")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--examples", type=int, default=60000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--frameworks",
        default="glassnet,pytorch,pytorch-fused,sklearn,reference,numpy-matmul",
    )
    parser.add_argument("--no-tiny", action="store_true", help="skip the tiny network")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--busy-neighbour",
        action="store_true",
        help="glassnet's default against one thread, with a process spinning on "
        "one core (at --batch, --epochs epochs each)",
    )
    parser.add_argument(
        "--pool-vs-one", action="store_true", help="the same comparison, quiet"
    )
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    if args.busy_neighbour or args.pool_vs_one:
        return pool_check(args, neighbour=args.busy_neighbour)
    frameworks = [f for f in args.frameworks.split(",") if f and available(f)]
    skipped = set(args.frameworks.split(",")) - set(frameworks)
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"numpy {np.__version__}; skipped (not installed): {sorted(skipped) or '-'}"
    )
    plan = [("mlp", int(b)) for b in args.batch_sizes.split(",")]
    if not args.no_tiny:
        plan.append(("tiny", 64))
    everything = {}
    for workload, batch in plan:
        runs = {f: [] for f in frameworks}
        if batch != 128:  # fused Adam is only reported at batch 128, as in the issue
            runs.pop("pytorch-fused", None)
        if "reference" in runs:  # for the loss check; timed once
            runs["reference-serial"] = []
        for round_number in range(args.rounds):
            for framework in runs:
                if framework == "reference-serial" and round_number > 0:
                    continue
                runs[framework].append(spawn(framework, workload, batch, args))
        results = {f: summarize(f, r) for f, r in runs.items()}
        everything[f"{workload}-{batch}"] = results
        print("\n".join(report(workload, batch, results)), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(everything, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
