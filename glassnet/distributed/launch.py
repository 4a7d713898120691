"""Start N processes of one data-parallel run on this machine, and watch them.

``glassnet train --nproc N`` runs :func:`launch`: N copies of the same command, each
with the environment ``torchrun`` would give it (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR=127.0.0.1`` and a free
``MASTER_PORT``), so the processes find each other exactly as under ``torchrun``
(which is the way to several machines). Each process gets ``1/N`` of the CPUs for
its BLAS and glassnet's threads (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``, unless already set), as ``torchrun`` does.

The watchdog: when one process ends with an error (or is killed), the others get
``grace`` seconds to end on their own (a killed peer makes their next collective
fail at once, with their own one-line error), then SIGTERM, then SIGKILL; the
launcher then raises :class:`~glassnet.distributed.group.DistributedError` naming
the process and how it ended. Each process is killed by Linux if the launcher
itself dies (``PR_SET_PDEATHSIG``), so none is left behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

from glassnet.distributed.group import DistributedError

__all__ = ["free_port", "launch", "process_environment"]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the operating system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def process_environment(rank: int, nproc: int, port: int, environ=None) -> dict:
    """The environment of process ``rank`` of ``nproc`` on this machine."""
    environment = dict(os.environ if environ is None else environ)
    environment.update(
        RANK=str(rank),
        WORLD_SIZE=str(nproc),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(nproc),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    threads = str(max(1, _cpus() // nproc))
    for name in _THREAD_VARIABLES:
        environment.setdefault(name, threads)
    return environment


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _how(status: int) -> str:
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"was killed by {name}"
    return f"exited with status {status}"


def _stop(processes, grace: float) -> None:
    """SIGTERM to the processes still running, SIGKILL after ``grace`` seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_failure(processes):
    """``(rank, status)`` of a failed process, or None: one killed by a signal
    first (the others fail because of it), else the lowest rank."""
    failed = [
        (rank, process.poll())
        for rank, process in enumerate(processes)
        if process.poll() not in (None, 0)
    ]
    killed = [(rank, status) for rank, status in failed if status < 0]
    return (killed or failed or [None])[0]


def launch(
    command,
    nproc: int,
    *,
    environ=None,
    grace: float = 5.0,
    quiet_ranks: bool = True,
    poll: float = 0.05,
) -> None:
    """Run ``command`` (a list, e.g. ``[sys.executable, "-m", "glassnet", ...]``)
    as ``nproc`` processes of one run on this machine; return when all end.

    Process 0's output is shown; the others' standard output is dropped when
    ``quiet_ranks`` (their errors still show). Raises :class:`DistributedError`
    when a process fails (see the module for the watchdog)."""
    if not (isinstance(nproc, int) and not isinstance(nproc, bool) and nproc >= 1):
        raise ValueError(f"nproc must be an integer >= 1; received {nproc!r}")
    port = free_port()
    processes = []
    try:
        for rank in range(nproc):
            processes.append(
                subprocess.Popen(
                    list(command),
                    env=process_environment(rank, nproc, port, environ),
                    stdout=subprocess.DEVNULL if rank and quiet_ranks else None,
                    preexec_fn=_die_with_parent,
                )
            )
        while any(process.poll() is None for process in processes):
            if _first_failure(processes) is not None:
                break
            time.sleep(poll)
        failure = _first_failure(processes)
        if failure is not None:
            deadline = time.monotonic() + grace  # time to end on their own
            while time.monotonic() < deadline and any(
                process.poll() is None for process in processes
            ):
                time.sleep(poll)
    finally:  # an interrupt, an error, or a failed process: stop the rest
        _stop(processes, grace)
    if failure is not None:
        rank, status = failure
        raise DistributedError(
            f"process {rank} of {nproc} {_how(status)}; the other processes were "
            "stopped (the first error above says why)"
        )
