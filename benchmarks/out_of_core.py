"""Training from disk against training in memory (issue 23, point 1).

Writes MLP-MNIST-shaped data (float32 rows of 784 pixel-like values in [0, 1),
10 classes; 1.3 million rows = 4.08 GB by default) to one ``.npy`` file, then
trains glassnet train's default network on it (784-100-10 ReLU, softmax, Adam
1e-3, batches of 128, shuffled) in fresh processes:

- ``disk``: ``glassnet.data.on_disk.open_rows(X.npy)``: the rows stay on disk and
  each batch is read with ``pread`` (its indices sorted) into reused buffers;
  the streaming pass (finiteness, moments) is timed apart;
- ``memory``: ``np.load(X.npy)`` (the whole file in memory), when it fits.

Each process reports its epoch times and its peak resident memory (VmHWM, read
from ``/proc/self/status``). The processes alternate (disk, memory, disk, ...)
so that the machine's drift hits both. The file is deleted at the end.

    python benchmarks/out_of_core.py                     # 4.08 GB, ~10 minutes
    python benchmarks/out_of_core.py --rows 100000 --epochs 1     # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_FEATURES, N_CLASSES = 784, 10

CHILD = r"""
import json, sys, time
import numpy as np
import glassnet as gn
from glassnet.data import on_disk

def peak_mib():
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM"))
    return int(line.split()[1]) / 1024

mode, folder = sys.argv[1], sys.argv[2]
epochs, batch_size = int(sys.argv[3]), int(sys.argv[4])
y = np.load(folder + "/y.npy")
report = {"mode": mode}
start = time.perf_counter()
if mode == "disk":
    X = on_disk.open_rows(folder + "/X.npy")
    X.scan()  # the one streaming pass: finiteness and moments
    report["scan_s"] = time.perf_counter() - start
else:
    X = np.load(folder + "/X.npy")
    report["load_s"] = time.perf_counter() - start
model = gn.Sequential([gn.Dense(100, "relu"), gn.Dense(N_CLASSES, "softmax")])
model.build(X.shape[1], rng=0)
times = []
class EpochTimer(gn.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.start)
history = model.fit(X, y, epochs=epochs, batch_size=batch_size, optimizer="adam",
                    rng=1, verbose=False, callbacks=[EpochTimer()])
report["epoch_s"] = times
report["cost"] = history.history["cost"]
report["peak_mib"] = peak_mib()
print("REPORT " + json.dumps(report))
""".replace("N_CLASSES", str(N_CLASSES))


def write_data(folder: Path, rows: int, seed: int = 0) -> None:
    """X.npy (rows, 784) float32 in [0, 1) written block by block (the writer
    never holds the array) and y.npy; classes are 10 prototypes plus noise."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(0, 1, (N_CLASSES, N_FEATURES)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, rows)
    np.save(folder / "y.npy", y)
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, N_FEATURES)}
    block = 65_536
    with open(folder / "X.npy", "wb") as handle:
        np.lib.format.write_array_header_2_0(handle, header)
        for start in range(0, rows, block):
            labels = y[start : start + block]
            noise = rng.random((len(labels), N_FEATURES), dtype=np.float32)
            values = 0.5 * prototypes[labels] + 0.5 * noise
            values.tofile(handle)


def run_child(mode: str, folder: Path, epochs: int, batch_size: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(folder), str(epochs), str(batch_size)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
    return json.loads(line[len("REPORT ") :])


def fits_in_memory(nbytes: int) -> bool:
    import psutil

    return nbytes * 1.5 < psutil.virtual_memory().available


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_300_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--folder", default=None, help="where to write (a temp dir)")
    options = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="glassnet-ooc-", dir=options.folder))
    try:
        start = time.perf_counter()
        write_data(folder, options.rows)
        nbytes = os.path.getsize(folder / "X.npy")
        print(
            f"wrote {nbytes / 1e9:.2f} GB ({options.rows} x {N_FEATURES} float32) "
            f"in {time.perf_counter() - start:.0f} s to {folder}"
        )
        modes = ["disk", "memory"] if fits_in_memory(nbytes) else ["disk"]
        reports = []
        for _ in range(options.rounds):
            for mode in modes:
                report = run_child(mode, folder, options.epochs, options.batch_size)
                print(json.dumps(report))
                reports.append(report)
        print_table(reports, nbytes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def print_table(reports, nbytes: int) -> None:
    print("\n| mode | data | epoch times (s) | peak RSS (MiB) | one-off (s) |")
    print("|---|---|---|---|---|")
    for report in reports:
        one_off = report.get("scan_s", report.get("load_s"))
        what = "streaming pass" if "scan_s" in report else "np.load"
        epochs = ", ".join(f"{t:.1f}" for t in report["epoch_s"])
        print(
            f"| {report['mode']} | {nbytes / 1e9:.2f} GB | {epochs} | "
            f"{report['peak_mib']:.0f} | {one_off:.1f} ({what}) |"
        )
    disk = [t for r in reports if r["mode"] == "disk" for t in r["epoch_s"][1:]]
    memory = [t for r in reports if r["mode"] == "memory" for t in r["epoch_s"][1:]]
    if disk and memory:
        ratio = np.median(disk) / np.median(memory)
        print(
            f"\nepoch time from disk / in memory (epochs after the first): {ratio:.2f}"
        )
    same = {json.dumps(r["cost"]) for r in reports}
    print(f"every run's epoch costs identical: {len(same) == 1}")


if __name__ == "__main__":
    main()
