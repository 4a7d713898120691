"""The processes of one data-parallel run: who this process is, and how they talk.

A run of N processes is described by the environment that ``glassnet train
--nproc N`` and ``torchrun`` both set in every process::

    RANK          this process's number, 0 .. WORLD_SIZE - 1 (0 writes the files)
    WORLD_SIZE    N, the number of processes, on every machine together
    LOCAL_RANK    its number on this machine (its GPU, with nccl)
    MASTER_ADDR   the address of process 0's machine; MASTER_PORT its port

:func:`init` joins the run (``torch.distributed.init_process_group``, with a
timeout) and returns a :class:`ProcessGroup`, the one object the training loop
talks through: ``all_reduce_sum`` (in place, on the flat gradient buffer, once a
step), ``all_gather_object`` (the epoch's training predictions) and ``barrier``.
``gloo`` carries NumPy (CPU) arrays, ``nccl`` CUDA tensors. A collective that fails
because another process died or stopped answering raises
:class:`DistributedError`, a one-line error, instead of hanging: a killed peer
closes its connections and the others fail at once; a peer that hangs without
dying is caught by the timeout.
"""

from __future__ import annotations

import datetime
import os

from glassnet.errors import GlassnetError

__all__ = [
    "DEFAULT_TIMEOUT",
    "DistributedError",
    "ProcessGroup",
    "environment",
    "init",
    "is_distributed_environment",
]

#: seconds a process waits for the others (joining, or in one collective) before
#: it gives up; ``GLASSNET_DISTRIBUTED_TIMEOUT`` (seconds) sets another
DEFAULT_TIMEOUT = 300.0

_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(GlassnetError, RuntimeError):
    """Another process of a data-parallel run died, hung or disagrees with this
    one; the message says which step failed and what torch.distributed said."""


def is_distributed_environment(environ=None) -> bool:
    """Whether the environment describes a run of more than one process
    (``WORLD_SIZE`` > 1, as ``torchrun`` and ``glassnet train --nproc`` set it)."""
    environ = os.environ if environ is None else environ
    try:
        return int(environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return True  # environment() will name the bad value


def _integer(environ, name: str, low: int, high: int | None = None) -> int:
    text = environ.get(name)
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(
            f"the environment variable {name}={text!r} must be an integer {allowed} "
            "(torchrun and glassnet train --nproc set it)"
        )
    return value


def environment(environ=None) -> dict:
    """``{"rank", "world_size", "local_rank", "master_addr", "master_port"}`` from
    the environment, checked (ValueError naming the variable and its value)."""
    environ = os.environ if environ is None else environ
    missing = [name for name in _VARIABLES if name not in environ]
    if missing:
        raise ValueError(
            f"a data-parallel process needs the environment variables "
            f"{', '.join(_VARIABLES)}; {', '.join(missing)} not set (start the "
            "processes with glassnet train --nproc N, or torchrun)"
        )
    world_size = _integer(environ, "WORLD_SIZE", 1)
    return {
        "rank": _integer(environ, "RANK", 0, world_size - 1),
        "world_size": world_size,
        "local_rank": _integer(environ, "LOCAL_RANK", 0)
        if "LOCAL_RANK" in environ
        else 0,
        "master_addr": environ["MASTER_ADDR"],
        "master_port": _integer(environ, "MASTER_PORT", 1, 65535),
    }


def _timeout_seconds(timeout) -> float:
    if timeout is None:
        text = os.environ.get("GLASSNET_DISTRIBUTED_TIMEOUT")
        if text is None:
            return DEFAULT_TIMEOUT
        try:
            timeout = float(text)
        except ValueError:
            timeout = -1.0
        if not timeout > 0:
            raise ValueError(
                f"GLASSNET_DISTRIBUTED_TIMEOUT={text!r} must be a number of seconds > 0"
            )
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(
            f"timeout must be a number of seconds > 0; received {timeout!r}"
        )
    return float(timeout)


def _torch_distributed():
    from glassnet.errors import require

    torch = require("torch", "data-parallel training", "torch")
    import torch.distributed as dist

    if not dist.is_available():
        raise DistributedError(
            f"this torch ({torch.__version__}) was built without torch.distributed"
        )
    return torch, dist


def init(*, device=None, backend=None, timeout=None) -> ProcessGroup:
    """Join the data-parallel run the environment describes (see the module).

    ``device``: where the gradients live. None or "cpu": NumPy models (or torch on
    the CPU), carried by ``gloo``; "cuda": this process's GPU, ``cuda:LOCAL_RANK``,
    carried by ``nccl`` (``group.device`` is then the device to train on).
    ``backend`` overrides the choice ("gloo" or "nccl"). ``timeout`` (seconds;
    default :data:`DEFAULT_TIMEOUT`) bounds every wait for the other processes.
    """
    torch, dist = _torch_distributed()
    where = environment()
    seconds = _timeout_seconds(timeout)
    place = None
    if device is not None and str(device) != "cpu":
        place = torch.device(device)
        if place.type == "cuda" and place.index is None:
            place = torch.device("cuda", where["local_rank"])
        if place.type == "cuda":
            torch.cuda.set_device(place)
    if backend is None:
        backend = "nccl" if place is not None and place.type == "cuda" else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl'; received {backend!r}")
    if backend == "nccl" and not (place is not None and place.type == "cuda"):
        raise ValueError("backend 'nccl' carries CUDA tensors: give device='cuda'")
    if dist.is_initialized():
        raise DistributedError(
            "torch.distributed is already initialized in this process; call "
            "glassnet.distributed.init() once (group.close() ends it)"
        )
    try:
        dist.init_process_group(
            backend,
            init_method=f"tcp://{where['master_addr']}:{where['master_port']}",
            rank=where["rank"],
            world_size=where["world_size"],
            timeout=datetime.timedelta(seconds=seconds),
        )
    except (RuntimeError, ValueError, OSError) as error:  # DistStoreError included
        raise DistributedError(
            f"process {where['rank']} of {where['world_size']} could not join the "
            f"run at {where['master_addr']}:{where['master_port']} within "
            f"{seconds:g} s: {_first_line(error)}"
        ) from None
    return ProcessGroup(
        rank=where["rank"],
        world_size=where["world_size"],
        local_rank=where["local_rank"],
        backend=backend,
        device=place,
        timeout=seconds,
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:400] if text else type(error).__name__


class ProcessGroup:
    """One process's handle on the run (made by :func:`init`): ``rank``,
    ``world_size``, ``local_rank``, ``backend``, ``device`` (None: the CPU),
    ``is_main`` (rank 0, the process that writes files and prints)."""

    def __init__(self, *, rank, world_size, local_rank, backend, device, timeout):
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.backend, self.device, self.timeout = backend, device, timeout
        self.closed = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def __repr__(self) -> str:
        return (
            f"ProcessGroup(rank={self.rank}, world_size={self.world_size}, "
            f"backend={self.backend!r})"
        )

    def _call(self, what: str, function, *arguments):
        """Run one collective; a failure (a peer died, hung past the timeout, or
        the group was closed) becomes a :class:`DistributedError`."""
        if self.closed:
            raise DistributedError(f"{what}: the process group is closed")
        try:
            return function(*arguments)
        except (RuntimeError, OSError, ValueError) as error:
            raise DistributedError(
                f"process {self.rank} of {self.world_size} lost the other processes "
                f"during {what} (a process died, was killed or stopped answering "
                f"within {self.timeout:g} s; see its own error): {_first_line(error)}"
            ) from None

    def all_reduce_sum(self, array, what: str = "the gradient all_reduce") -> None:
        """``array`` (a 1-D NumPy array or torch tensor) becomes, in place, the sum
        of every process's ``array``: the flat gradient buffer, once a step."""
        import numpy as np
        import torch
        import torch.distributed as dist

        tensor = torch.from_numpy(array) if isinstance(array, np.ndarray) else array
        self._call(what, dist.all_reduce, tensor, dist.ReduceOp.SUM)

    def all_reduce_extremes(self, values, what: str = "the start-of-training check"):
        """``(minimum, maximum)`` over the processes of a float64 NumPy vector
        ``values`` (the same length everywhere): equal when every process holds
        the same values."""
        import numpy as np
        import torch
        import torch.distributed as dist

        low = torch.from_numpy(np.array(values, dtype=np.float64))
        high = low.clone()
        if self.backend == "nccl":
            low, high = low.to(self.device), high.to(self.device)
        self._call(what, dist.all_reduce, low, dist.ReduceOp.MIN)
        self._call(what, dist.all_reduce, high, dist.ReduceOp.MAX)
        return low.cpu().numpy(), high.cpu().numpy()

    def all_gather_object(self, value, what: str = "gathering the predictions"):
        """Every process's ``value`` (picklable), in rank order."""
        import torch.distributed as dist

        gathered = [None] * self.world_size
        self._call(what, dist.all_gather_object, gathered, value)
        return gathered

    def barrier(self, what: str = "a barrier") -> None:
        import torch.distributed as dist

        self._call(what, dist.barrier)

    def close(self) -> None:
        """Leave the run (``destroy_process_group``); safe to call twice."""
        if self.closed:
            return
        self.closed = True
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
