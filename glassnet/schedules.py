"""Learning-rate decay: functions of ``(epoch, step)`` returning the learning rate.

``epoch`` counts from 0 and ``step`` (mini-batch updates done before this one) from 0,
so the first epoch always trains at ``learning_rate`` (``alpha_0``). With
``time_interval=N`` the decay is applied every N epochs ("staircase"):
``k = floor(epoch / N)``, otherwise ``k = epoch``.

=================== =========================================  ==================
name                alpha =                                    argument(s)
=================== =========================================  ==================
inverse_time        alpha_0 / (1 + decay_rate * k)             decay_rate
exponential         alpha_0 * base ** k                        base (0.95)
inverse_sqrt_epoch  alpha_0 * decay_rate / sqrt(k + 1)         decay_rate (the k
                                                               of the notes' k/sqrt)
inverse_sqrt_step   alpha_0 * decay_rate / sqrt(t), t = step+1 decay_rate
=================== =========================================  ==================

Every schedule is non-increasing for ``decay_rate >= 0`` (``0 < base <= 1``), and
for the sqrt forms ``decay_rate <= 1`` keeps the first rate at most ``alpha_0``.
``fit`` calls the schedule before each mini-batch and records each epoch's rate in
the History.
"""

from __future__ import annotations

import math

from glassnet.validation import check_in_range, check_positive_int


class Schedule:
    """Callable ``schedule(epoch, step) -> learning_rate``."""

    name = "schedule"

    def __init__(self, learning_rate: float, time_interval: int | None = None):
        self.learning_rate = check_in_range("learning_rate", learning_rate, 0, None)
        self.time_interval = (
            None
            if time_interval is None
            else check_positive_int("time_interval", time_interval)
        )

    def _k(self, epoch: int) -> int:
        return epoch if self.time_interval is None else epoch // self.time_interval

    def __call__(self, epoch: int, step: int = 0) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "learning_rate": self.learning_rate,
            "time_interval": self.time_interval,
        }

    def __repr__(self):
        options = ", ".join(
            f"{k}={v!r}" for k, v in self.get_config().items() if k != "name"
        )
        return f"{type(self).__name__}({options})"


class InverseTime(Schedule):
    """alpha = alpha_0 / (1 + decay_rate * k)."""

    name = "inverse_time"

    def __init__(self, learning_rate, decay_rate=1.0, time_interval=None):
        super().__init__(learning_rate, time_interval)
        self.decay_rate = check_in_range("decay_rate", decay_rate, 0, None)

    def __call__(self, epoch, step=0):
        return self.learning_rate / (1 + self.decay_rate * self._k(epoch))

    def get_config(self):
        return {**super().get_config(), "decay_rate": self.decay_rate}


class Exponential(Schedule):
    """alpha = alpha_0 * base ** k (base 0.95 in the notes)."""

    name = "exponential"

    def __init__(self, learning_rate, base=0.95, time_interval=None):
        super().__init__(learning_rate, time_interval)
        self.base = check_in_range("base", base, 0, 1, low_inclusive=False)

    def __call__(self, epoch, step=0):
        return self.learning_rate * self.base ** self._k(epoch)

    def get_config(self):
        return {**super().get_config(), "base": self.base}


class InverseSqrtEpoch(Schedule):
    """alpha = alpha_0 * decay_rate / sqrt(k + 1)."""

    name = "inverse_sqrt_epoch"

    def __init__(self, learning_rate, decay_rate=1.0, time_interval=None):
        super().__init__(learning_rate, time_interval)
        self.decay_rate = check_in_range("decay_rate", decay_rate, 0, None)

    def __call__(self, epoch, step=0):
        return self.learning_rate * self.decay_rate / math.sqrt(self._k(epoch) + 1)

    def get_config(self):
        return {**super().get_config(), "decay_rate": self.decay_rate}


class InverseSqrtStep(Schedule):
    """alpha = alpha_0 * decay_rate / sqrt(t), t = step + 1 (mini-batch count)."""

    name = "inverse_sqrt_step"

    def __init__(self, learning_rate, decay_rate=1.0):
        super().__init__(learning_rate, None)
        self.decay_rate = check_in_range("decay_rate", decay_rate, 0, None)

    def __call__(self, epoch, step=0):
        return self.learning_rate * self.decay_rate / math.sqrt(step + 1)

    def get_config(self):
        return {**super().get_config(), "decay_rate": self.decay_rate}


_REGISTRY = {
    cls.name: cls
    for cls in (InverseTime, Exponential, InverseSqrtEpoch, InverseSqrtStep)
}
NAMES = tuple(_REGISTRY)


def get(value, learning_rate: float | None = None, **options):
    """A schedule from a name plus options, a config dict, a callable, or None."""
    if value is None or isinstance(value, Schedule):
        return value
    if callable(value):
        return value
    if isinstance(value, dict):
        options = {**{k: v for k, v in value.items() if k != "name"}, **options}
        value = value.get("name")
    if value not in _REGISTRY:
        raise ValueError(f"unknown schedule {value!r}; allowed: {', '.join(NAMES)}")
    if learning_rate is not None:
        options["learning_rate"] = learning_rate
    options = {k: v for k, v in options.items() if v is not None}
    try:
        return _REGISTRY[value](**options)
    except TypeError as error:
        raise ValueError(f"schedule {value!r}: {error}") from None
