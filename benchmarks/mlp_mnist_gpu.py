"""MLP-MNIST on a CUDA GPU: glassnet's torch and CuPy backends against PyTorch.

The CPU-speed workload (60000 x 784 float32 in [0, 1), 784-512-256-10 ReLU,
softmax cross-entropy, Adam(1e-3)) at batch 128, 1024 and 8192, median seconds per
epoch over a few epochs after a warm-up epoch:

* glassnet, torch backend (eager): the same engine code as on the CPU, parameters and
  data on the GPU, mini-batches gathered there (one ``fit`` call; a callback times
  each epoch);
* glassnet, torch backend with whole-step CUDA-graph capture (``fit(capture=True)``),
  when this glassnet has it;
* glassnet, CuPy backend, when CuPy is installed;
* PyTorch eager (nn.Sequential, foreach Adam) and PyTorch's own whole-step graph
  (``torch.cuda.graph`` around forward, backward and a capturable Adam).

    python benchmarks/mlp_mnist_gpu.py [--epochs 3] [--batch-sizes 128,1024,8192]

Needs a CUDA GPU; prints the card's name with the table.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import time

import numpy as np

SIZES = (784, 512, 256, 10)


def make_data(m=60000):
    rng = np.random.default_rng(0)
    return rng.random((m, 784), dtype=np.float32), rng.integers(0, 10, m)


def _sync(backend="torch"):
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()
        return
    import torch

    torch.cuda.synchronize()


def time_glassnet(X, y, batch, epochs, backend, capture=False):
    """One fit call, as a user trains (the data go to the device once); each epoch
    is timed by a callback that waits for the device at the epoch's ends."""
    import glassnet as gn

    class EpochTimer(gn.Callback):
        def __init__(self):
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            _sync(backend)
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            _sync(backend)
            self.times.append(time.perf_counter() - self.start)

    model = gn.Sequential(
        [
            gn.Dense(512, "relu"),
            gn.Dense(256, "relu"),
            gn.Dense(10, "softmax", initializer="he"),
        ]
    )
    model.build(784, rng=0, backend=backend)
    timer = EpochTimer()
    options = {"capture": True} if capture else {}
    model.fit(
        X,
        y,
        epochs=epochs + 1,
        batch_size=batch,
        optimizer=gn.Adam(1e-3),
        rng=0,
        verbose=False,
        callbacks=[timer],
        **options,
    )
    return statistics.median(timer.times[1:])  # the first epoch warms up (captures)


def _torch_model():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(784, 512),
        torch.nn.ReLU(),
        torch.nn.Linear(512, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    ).cuda()


def time_pytorch_eager(X, y, batch, epochs):
    import torch

    model = _torch_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_function = torch.nn.CrossEntropyLoss()
    X_d, y_d = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
    m = len(X)
    times = []
    for epoch in range(epochs + 1):
        order = torch.randperm(m, device="cuda")
        _sync()
        start = time.perf_counter()
        total = torch.zeros((), device="cuda")
        for first in range(0, m, batch):
            index = order[first : first + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(X_d[index]), y_d[index])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(index)
        float(total)
        _sync()
        if epoch:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_pytorch_graph(X, y, batch, epochs):
    import torch

    model = _torch_model()
    optimizer = torch.optim.Adam(
        model.parameters(), lr=torch.tensor(1e-3, device="cuda"), capturable=True
    )
    loss_function = torch.nn.CrossEntropyLoss()
    X_d, y_d = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
    m = len(X) // batch * batch  # static shapes: whole batches only
    index = torch.zeros(batch, dtype=torch.long, device="cuda")
    total = torch.zeros((), device="cuda")

    def step():
        optimizer.zero_grad(set_to_none=False)
        loss = loss_function(model(X_d[index]), y_d[index])
        loss.backward()
        optimizer.step()
        total.add_(loss.detach() * batch)

    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    times = []
    for epoch in range(epochs + 1):
        order = torch.randperm(len(X), device="cuda")
        _sync()
        start = time.perf_counter()
        total.zero_()
        for first in range(0, m, batch):
            index.copy_(order[first : first + batch])
            graph.replay()
        float(total)
        _sync()
        if epoch:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", default="128,1024,8192")
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to measure")
        return 1
    import glassnet as gn

    X, y = make_data()
    has_capture = "capture" in inspect.signature(gn.training.fit).parameters
    try:
        import cupy  # noqa: F401

        has_cupy = True
    except ImportError:
        has_cupy = False
    print(
        f"{torch.cuda.get_device_name()}; torch {torch.__version__}; median seconds "
        f"per epoch over {args.epochs} epochs after a warm-up epoch"
    )
    rows = [
        ("PyTorch eager", time_pytorch_eager),
        ("PyTorch whole-step graph", time_pytorch_graph),
        ("glassnet torch", lambda *a: time_glassnet(*a, backend="torch")),
    ]
    if has_capture:
        rows.append(
            (
                "glassnet torch + capture",
                lambda *a: time_glassnet(*a, backend="torch", capture=True),
            )
        )
    if has_cupy:
        rows.append(("glassnet cupy", lambda *a: time_glassnet(*a, backend="cupy")))
    batches = [int(b) for b in args.batch_sizes.split(",")]
    results = {}
    for name, function in rows:
        for batch in batches:
            try:
                results[name, batch] = function(X, y, batch, args.epochs)
            except Exception as error:  # report and go on with the other rows
                print(
                    f"{name} at batch {batch} failed: {type(error).__name__}: {error}"
                )
                results[name, batch] = float("nan")
    print(f"{'':<28}" + "".join(f"{'batch ' + str(b):>14}" for b in batches))
    for name, _ in rows:
        print(f"{name:<28}" + "".join(f"{results[name, b]:>13.4f}s" for b in batches))
    eager = {b: results["PyTorch eager", b] for b in batches}
    for name, _ in rows[2:]:
        print(
            f"{name + ' / PyTorch eager':<40}"
            + "".join(f"{results[name, b] / eager[b]:>10.2f}x" for b in batches)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
