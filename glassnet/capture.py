"""Whole-step CUDA-graph capture for the torch backend.

On a GPU a mini-batch of a small network is launch-bound: the forward pass, the
cost, the backward pass and the optimizer update are a few hundred tiny kernels,
each costing microseconds to launch for nanoseconds of arithmetic. ``fit(...,
capture=True)`` records one step, exactly the engine's code for a step::

    X, Y   = X_device[index], Y_device[index]        # the batch, gathered on the GPU
    AL     = model.forward(X.T, training=True)
    total += model.cost_array(AL, Y.T, loss, regularizer=regularizer) * batch_size
    model.backward(AL, Y.T, loss, regularizer=regularizer, inplace=True)
    t     += 1                          # Adam's step count (set from the host first)
    optimizer.update_on_device(params, grads, alpha, t)

into a ``torch.cuda.CUDAGraph`` once, then replays it for every full mini-batch:
per step the host only copies the batch's indices into a static tensor and writes
the learning rate into a static 0-d tensor (so a schedule needs no re-capture).
The last, partial mini-batch of an epoch runs eagerly.

Limits (checked, with clear errors): the torch backend on a CUDA device; no active
Dropout (its masks would be recorded once) and no augmentation; per-layer
learning-rate multipliers are not captured.
"""

from __future__ import annotations


class CapturedStep:
    """One training step recorded as a CUDA graph; :meth:`run` replays it."""

    def __init__(
        self,
        model,
        loss,
        optimizer,
        params,
        grads,
        X_device,
        Y_device,
        batch_size: int,
        regularizer=None,
    ):
        import torch

        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.regularizer = regularizer
        self.params, self.grads = params, grads
        self.X_device, self.Y_device = X_device, Y_device
        self.batch_size = batch_size
        device = model.device
        self.index = torch.zeros(batch_size, dtype=torch.int64, device=device)
        self.total = torch.zeros((), dtype=torch.float64, device=device)
        self.alpha = torch.tensor(
            float(optimizer.learning_rate), dtype=torch.float64, device=device
        )
        self.t = torch.tensor(float(optimizer.t), dtype=torch.float64, device=device)
        for key, W in params.items():  # moments exist before the capture
            for slot in optimizer.slots.values():
                if key not in slot:
                    slot[key] = torch.zeros_like(W)
        saved = self._save()
        stream = torch.cuda.Stream(device=device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):  # warm-up: lazy initializations happen here
            for _ in range(2):
                self._step()
        torch.cuda.current_stream(device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self._step()
        self._restore(saved)  # the warm-up and capture steps leave no trace

    def _step(self) -> None:
        X = self.X_device[self.index]
        Y = self.Y_device[self.index]
        ZL, AL = self.model.forward_logits(X.T, training=True)
        J = self.model.cost_array(
            AL, Y.T, self.loss, regularizer=self.regularizer, logits=ZL
        )
        self.total += J * self.batch_size
        self.model.backward(
            AL, Y.T, self.loss, regularizer=self.regularizer, inplace=True
        )
        self.t += 1
        self.optimizer.update_on_device(self.params, self.grads, self.alpha, self.t)

    def _save(self) -> dict:
        tensors = [self.model.flat_params, *self.model.state.values()]
        tensors += [a for slot in self.optimizer.slots.values() for a in slot.values()]
        return {"tensors": [(x, x.clone()) for x in tensors], "t": self.t.clone()}

    def _restore(self, saved: dict) -> None:
        for target, copy in saved["tensors"]:
            target.copy_(copy)
        self.t.copy_(saved["t"])
        self.total.zero_()

    def run(self, index, learning_rate: float) -> None:
        """Replay the step on the mini-batch ``index`` (a device int64 tensor)."""
        self.index.copy_(index)
        self.alpha.fill_(learning_rate)
        self.t.fill_(float(self.optimizer.t))  # eager steps may have run in between
        self.graph.replay()
        self.optimizer.t += 1

    def take_total(self) -> float:
        """The summed cost of the replayed steps since the last call (one sync)."""
        value = float(self.total)
        self.total.zero_()
        return value


def check_capturable(model, *, augment, multipliers) -> None:
    """Raise ValueError unless ``fit(capture=True)`` can record this model's step."""
    from glassnet.layers import Dropout

    if model.backend != "torch" or getattr(model.device, "type", str(model.device)) != (
        "cuda"
    ):
        raise ValueError(
            "capture=True needs the torch backend on a CUDA device; the model is on "
            f"backend {model.backend!r}, device {model.device!r}"
        )
    for layer in model.layers:
        if isinstance(layer, Dropout) and layer.active:
            raise ValueError(
                "capture=True cannot record dropout (its masks would be drawn once); "
                f"received keep_prob={layer.keep_prob}"
            )
    if augment is not None:
        raise ValueError("capture=True cannot record data augmentation")
    if multipliers:
        raise ValueError(
            "capture=True does not take per-layer learning-rate multipliers"
        )
