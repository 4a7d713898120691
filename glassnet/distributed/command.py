"""``glassnet train``'s side of data-parallel training.

``glassnet train --nproc N`` (N > 1) starts N copies of the same command line with
:func:`glassnet.distributed.launch` and waits for them. A copy, like every process
``torchrun -m glassnet train ...`` starts, finds ``WORLD_SIZE`` > 1 in its
environment, joins the run (:func:`join_run`) and trains; only process 0 takes
the run folder's lock, writes the run folder and the checkpoints, scores the splits
and prints. Every process reads the data itself (the same file, or a copy of it at
the same path on each machine), and ``--resume RUN`` reads RUN's checkpoint.
"""

from __future__ import annotations

import atexit
import sys

from glassnet.distributed.group import init, is_distributed_environment

__all__ = [
    "join_run",
    "launch_train",
    "needs_launch",
    "placement",
    "train_other_process",
]


def needs_launch(args) -> bool:
    """Whether this ``glassnet train`` starts the processes itself: ``--nproc`` N
    > 1 given, outside a run's processes (under torchrun, torchrun starts them)."""
    nproc = getattr(args, "nproc", None)
    if nproc is None:
        return False
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"--nproc must be an integer >= 1; received {nproc!r}")
    return nproc > 1 and not is_distributed_environment()


def launch_train(args, out) -> int:
    """Run this command line as ``args.nproc`` processes, writing to ``out`` (one
    folder for all: process 0's)."""
    import importlib.util

    from glassnet.distributed.launch import launch
    from glassnet.errors import MissingDependencyError

    if importlib.util.find_spec("torch") is None:  # before N processes fail on it
        raise MissingDependencyError(
            "glassnet train --nproc needs torch (torch.distributed), which is not "
            'installed: pip install "glassnet[torch]"'
        )
    argv = getattr(args, "argv", None)
    if argv is None:
        argv = sys.argv[1:]
    launch([sys.executable, "-m", "glassnet", *argv, "--out", str(out)], args.nproc)
    return 0


def join_run(args):
    """The :class:`ProcessGroup` of this process when the environment describes a
    data-parallel run (left when the process exits), else None. With ``--device
    cuda`` the group carries CUDA tensors (nccl), each process on its own GPU."""
    if not is_distributed_environment():
        return None
    group = init(device=getattr(args, "device", None))
    atexit.register(group.close)
    return group


def placement(args, group) -> dict:
    """``{"backend", "device"}`` for ``train_run``: NumPy unless ``--device`` is
    given, then the torch backend on that device (this process's GPU in a run of
    several processes)."""
    device = getattr(args, "device", None)
    if device is None:
        return {"backend": None, "device": None}
    if group is not None and group.device is not None:
        device = group.device
    return {"backend": "torch", "device": device}


def train_other_process(config, args, group) -> int:
    """A process other than 0: train (the same steps as process 0), write and
    print nothing."""
    from glassnet.runs import train_run

    train_run(
        config,
        verbose=False,
        resume=args.resume,
        distributed=group,
        **placement(args, group),
    )
    group.close()
    return 0
