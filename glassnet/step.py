"""One step of mini-batch gradient descent, as the notes write it.

Everything ``fit`` does is a loop around this function. For a mini-batch
``X (n[0], m)`` (examples are columns) and its targets ``Y (n[L], m)``::

    A[L]   = forward(X)             caches (A[l-1], Z[l], A[l]) per layer
    J      = cost(A[L], Y)          + lambda/(2m) sum_l ||W[l]||_F^2 with L2
                                    (cross-entropies from Z[L], stably)
    grads  = backward(A[L], Y)      dZ[L] = A[L] - Y; then, layer by layer,
                                    dW[l] = (1/m) dZ[l] A[l-1]^T (+ (lambda/m) W[l])
                                    db[l] = (1/m) sum_i dZ[l]
                                    dA[l-1] = W[l]^T dZ[l]
    params = update(params, grads)  the optimizer's rule, e.g. Adam's
                                    W = W - alpha v_hat / (sqrt(s_hat) + eps)

where the equations live:

- forward and backward of a layer: :mod:`glassnet.layers.dense` (and ``batchnorm``,
  ``dropout``, ``activation``); the activations g and g': :mod:`glassnet.activations`;
- the cost and ``dZ[L] = A[L] - Y``: :mod:`glassnet.losses`; the regularization
  terms: :mod:`glassnet.regularizers`;
- the updates: :mod:`glassnet.optimizers.algorithms` (``reference_step``).

To step through it yourself, with nothing compiled or threaded::

    import glassnet as gn
    model = gn.Sequential([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")])
    model.build(2, rng=0, dtype="float64")
    optimizer = gn.Adam(0.01)
    J = gn.train_step(model, X.T, Y.T, optimizer, fast=False)   # X (m, 2), Y (m, 1)
    model.grads["W1"]                                             # dW[1] of that step

``fast=True`` (what ``fit`` runs by default) computes the same numbers with the
accelerations: the layers reuse their buffers and apply activations in place,
``dZ[L]`` is written over ``A[L]``, and the optimizer sweeps the model's flat
buffer with its compiled loop (``fit(fast=False)`` runs this function with
``fast=False`` instead; ``glassnet.show_config()`` says what is compiled here).
"""

from __future__ import annotations

import contextlib

from glassnet import _kernels
from glassnet.backend import is_numpy
from glassnet.layers import Dense

__all__ = ["fast_path", "train_step"]


def train_step(
    model,
    X,
    Y,
    optimizer,
    *,
    loss=None,
    regularizer=None,
    params=None,
    grads=None,
    multipliers=None,
    fast: bool = True,
    on_output=None,
    reduce_gradients=None,
):
    """One step on the mini-batch ``X (n[0], m)``, ``Y (n[L], m)``; returns J.

    ``params`` / ``grads`` (default: all of the model's) are the arrays the
    optimizer updates, ``multipliers`` their learning-rate factors. ``on_output``,
    if given, sees ``A[L]`` before the backward pass (fit's training metrics).
    J is a float on NumPy, a 0-d array of the model's backend otherwise (so a
    device need not wait for the host every step). ``fast=False`` runs the notes'
    reference: fresh arrays everywhere and the optimizer's ``reference_step``.
    ``reduce_gradients(model)``, if given, runs between the backward pass and the
    update: data-parallel training sums the processes' weighted gradients there
    (:mod:`glassnet.distributed.data_parallel`).
    """
    with contextlib.nullcontext() if fast else _kernels.reference_only():
        # Z[L] too: the cross-entropy is computed stably from it (losses.py)
        ZL, AL = model.forward_logits(X, training=True)
        if is_numpy(model.xp):
            J = model.compute_cost(AL, Y, loss, regularizer=regularizer, logits=ZL)
        else:
            J = model.cost_array(AL, Y, loss, regularizer=regularizer, logits=ZL)
        if on_output is not None:
            on_output(AL)
        # fast: dZ[L] = A[L] - Y is written over A[L]
        model.backward(AL, Y, loss, regularizer=regularizer, inplace=fast)
        if reduce_gradients is not None:  # every process's dW, summed
            reduce_gradients(model)
        optimizer.update(
            model.params if params is None else params,
            model.grads if grads is None else grads,
            multipliers=multipliers,
            reference=not fast,
        )
    return J


@contextlib.contextmanager
def fast_path(model, enabled: bool = True):
    """Within the block, the model's Dense layers reuse their buffers in training
    passes (NumPy only; see ``Dense.reuse_buffers``). On the way out, however the
    block ends, the buffers and every layer's cache are dropped and the layers
    allocate fresh arrays again, so nothing a user holds is overwritten later."""
    buffered = enabled and is_numpy(model.xp)
    dense_layers = [layer for layer in model.layers if isinstance(layer, Dense)]
    try:
        for layer in dense_layers:
            layer.reuse_buffers = buffered
        yield
    finally:
        for layer in model.layers:
            layer.clear_cache()
        for layer in dense_layers:
            layer.reuse_buffers = False
