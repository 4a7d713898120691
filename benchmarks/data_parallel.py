"""Data-parallel training throughput: 1 process against N (torch.distributed).

Workload: MLP-MNIST-shaped data (``--examples`` x 784 float32 pixel-like inputs
uniform in [0, 1) from a fixed seed, 10 random classes), network 784-512-256-10
ReLU, softmax cross-entropy, Adam(1e-3), global batch ``--batch-size``. Each
configuration runs in fresh processes started by ``glassnet.distributed.launch``
(N processes, gloo on 127.0.0.1; one process trains without a group); every
process trains one warm-up epoch, then ``--epochs`` timed epochs, and process 0
reports the median epoch. The table gives seconds per epoch, examples per second
(the global batch's examples: every process's shard counts once) and the speed-up
against one process; the last column checks that the N-process weights are the
one-process weights (relative distance ``||w_N - w_1|| / ||w_1||``: float32
products round differently on a half batch, and those differences grow over
hundreds of steps; ``--dtype float64`` shows the agreement to rounding).

    python benchmarks/data_parallel.py                       # 1 and 2 processes
    python benchmarks/data_parallel.py --nproc 1,2 --examples 4096 --epochs 1
    python benchmarks/data_parallel.py --backend torch --nproc 1,2   # GPUs: one each

With ``--backend torch`` every process trains on its own GPU (``cuda:LOCAL_RANK``,
nccl); without a GPU the script says so and stops. On a machine with 2 cores, 2
processes share the cores the single process already uses (glassnet's own threads
and BLAS, D22), so the best to expect there is the communication's cost; the
script prints the machine's CPUs and load so the numbers can be read honestly.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_mnist import SEED, make_data  # noqa: E402  (the MLP benchmark's data)

LAYERS = (512, 256, 10)


def _model():
    import glassnet as gn

    return gn.Sequential(
        [gn.Dense(LAYERS[0], "relu"), gn.Dense(LAYERS[1], "relu")]
        + [gn.Dense(LAYERS[2], "softmax")]
    )


def worker(args) -> None:
    """One process: warm-up epoch, timed epochs; process 0 writes the result."""
    import glassnet as gn
    from glassnet import distributed

    group = None
    if distributed.is_distributed_environment():
        device = "cuda" if args.backend == "torch" else None
        group = distributed.init(device=device)
    device = None
    if args.backend == "torch":
        device = group.device if group is not None else "cuda"
    X, y = make_data(args.examples)
    X = X.astype(args.dtype)
    model = _model()
    options = dict(
        batch_size=args.batch_size,
        optimizer=gn.Adam(1e-3),
        rng=SEED,
        verbose=False,
        distributed=group,
        dtype=args.dtype,
        backend=args.backend,
        device=device,
    )
    model.fit(X, y, epochs=1, **options)  # warm-up (buffers, threads, the link)
    epochs = []
    for _ in range(args.epochs):
        started = time.perf_counter()
        model.fit(X, y, epochs=1, **options)
        epochs.append(time.perf_counter() - started)
    if group is None or group.is_main:
        weights = gn.backend.to_numpy(model.flat_params)
        np.save(Path(args.out) / "weights.npy", weights)
        record = {"epoch_seconds": epochs}
        (Path(args.out) / "result.json").write_text(json.dumps(record))
    if group is not None:
        group.close()


def _run(nproc: int, args, folder: Path) -> dict:
    from glassnet.distributed import launch

    folder.mkdir()
    command = [sys.executable, __file__, "--worker", "--out", str(folder)]
    command += ["--examples", str(args.examples), "--epochs", str(args.epochs)]
    command += ["--batch-size", str(args.batch_size), "--backend", args.backend]
    command += ["--dtype", args.dtype]
    launch(command, nproc)
    record = json.loads((folder / "result.json").read_text())
    record["weights"] = np.load(folder / "weights.npy")
    return record


def _machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpus} CPUs usable, load average {load:.2f} at the start"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", default="1,2", help="process counts, e.g. 1,2")
    parser.add_argument("--examples", type=int, default=16384)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    if args.backend == "torch":
        import torch

        if not torch.cuda.is_available():
            print("--backend torch trains on GPUs (nccl); this machine has none")
            return 0
    counts = [int(n) for n in args.nproc.split(",")]
    print(
        f"data-parallel MLP-MNIST 784-{'-'.join(map(str, LAYERS))}, "
        f"{args.examples} examples, global batch {args.batch_size}, "
        f"{args.dtype}, backend {args.backend}; {_machine()}"
    )
    print(
        f"{'processes':>9} {'s/epoch':>9} {'(min-max)':>15} {'examples/s':>11} "
        f"{'speed-up':>9} {'vs 1 process':>13}"
    )
    first = None
    with tempfile.TemporaryDirectory() as scratch:
        for nproc in counts:
            record = _run(nproc, args, Path(scratch) / f"n{nproc}")
            seconds = record["epoch_seconds"]
            median = statistics.median(seconds)
            first = first or (median, record["weights"])
            distance = np.linalg.norm(record["weights"] - first[1]) / np.linalg.norm(
                first[1]
            )
            print(
                f"{nproc:>9} {median:>9.3f} {min(seconds):>7.3f}-{max(seconds):<7.3f} "
                f"{args.examples / median:>11.0f} {first[0] / median:>9.2f} "
                f"{distance:>13.1e}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
