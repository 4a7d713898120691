"""Data-parallel training on ``torch.distributed``: one model, N processes.

Each process takes its shard of every global mini-batch, computes its gradients
with glassnet's own engine (NumPy on the CPU, the torch backend on GPUs), and one
``all_reduce`` over the flat gradient buffer sums them, weighted by examples,
before the same optimizer step on every process (``gloo`` on the CPU, ``nccl`` on
GPUs). Process 0 writes the checkpoints, the run folder and the report.

From the command line::

    glassnet train --data mnist --nproc 2            # 2 processes on this machine
    glassnet train --data mnist --nproc 4 --device cuda   # 4 GPUs, nccl
    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 4 \\
        --master-addr 10.0.0.1 --master-port 29500 -m glassnet train --data ...

From Python, in every process (started by ``torchrun`` or ``glassnet.distributed.
launch``)::

    import glassnet as gn
    from glassnet import distributed

    with distributed.init() as group:          # gloo; init(device="cuda"): nccl
        model = gn.Sequential([gn.Dense(64, "relu"), gn.Dense(10, "softmax")])
        model.fit(X, y, epochs=10, rng=0, distributed=group)
        if group.is_main:
            model.save("model.glassnet")

Modules: :mod:`.group` (the environment, :func:`init`, :class:`ProcessGroup`,
:class:`DistributedError`), :mod:`.data_parallel` (the sharded epoch: shards,
weighted gradients, per-process random streams, batch norm's statistics),
:mod:`.launch` (N processes on this machine, and the watchdog).
``import glassnet.distributed`` does not import torch; :func:`init` does.
"""

from __future__ import annotations

from glassnet.distributed.group import (
    DistributedError,
    ProcessGroup,
    environment,
    init,
    is_distributed_environment,
)
from glassnet.distributed.launch import launch

__all__ = [
    "DistributedError",
    "ProcessGroup",
    "environment",
    "init",
    "is_distributed_environment",
    "launch",
]
