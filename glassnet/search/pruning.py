"""Pruning hopeless trials: successive halving by rungs, decided in plan order.

``prune = {"eta": 4, "rungs": 3}`` (optionally ``"max_budget"``) splits each trial's
training into ``R = rungs`` rungs. With ``B`` the trial's full budget (its config's
``epochs``, or ``max_budget`` for objectives without epochs), rung ``k = 0 .. R - 1``
trains for

    b_k = max(1, round(B / eta^(R - 1 - k)))      epochs (b_{R-1} = B),

so with ``B = 200, eta = 4, R = 3`` (the default) the rungs are 12, 50 and 200
epochs. All the trials of a batch run rung 0; of the ``n_k`` trials that reached
rung ``k``, the ``max(1, floor(n_k / eta))`` best on the search's metric (ties to
the lower index) go on to rung ``k + 1`` and the others are pruned: they stop
there, and the journal records them with the rung they reached. A protected trial
(trial 0, the defaults of ``glassnet train``) always goes on, so the last rung
compares every finalist with the defaults at the full budget. A failed trial is
failed, not pruned.

Why this is independent of the number of workers: a decision at rung ``k`` is taken
once every trial of the batch has finished rung ``k`` (a synchronous barrier), on
the ranking of their metrics, which depend only on (config, seed, budget). Nothing
depends on which trial finished first. Each rung trains from scratch with the
rung's budget, so a rung is one ordinary trial (``objective(config, seed, b_k)``),
journaled, fingerprinted and resumed like any other, on any executor (dask
workers share no files to pass checkpoints through). The price is the survivors'
repeated early epochs: at most ``1 / eta + 1 / eta^2 + ...`` of their training.

Why eta 4 and floor: of 16 trials, 4 (and trial 0) reach 50 epochs and 1 (and trial
0) the last rung, so the last rung is two full trainings, one wave on 2 workers.
With eta 3 and ``ceil`` (the first version) 3 or 4 finalists made that rung two
waves of the longest trainings, and on mnist the pruned search took as long as
running every trial to its end (benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from glassnet.validation import check_in_range, check_positive_int

__all__ = ["check_prune", "rung_budget", "survivors", "DEFAULT_PRUNE"]

DEFAULT_PRUNE = {"eta": 4, "rungs": 3}


def check_prune(prune) -> dict | None:
    """``prune`` checked and completed: ``{"eta", "rungs", "max_budget"}`` or None."""
    if prune is None or prune is False:
        return None
    if prune is True:
        prune = DEFAULT_PRUNE
    if not isinstance(prune, Mapping):
        raise TypeError(f"prune must be a dict, True or None; received {prune!r}")
    allowed = {"eta", "rungs", "max_budget"}
    if set(prune) - allowed:
        raise ValueError(
            f"prune takes the keys {sorted(allowed)}; received {sorted(prune)}"
        )
    eta = int(check_in_range("prune eta", prune.get("eta", 4), 2, integer=True))
    rungs = check_positive_int("prune rungs", prune.get("rungs", 3))
    high = prune.get("max_budget")
    if high is not None:
        high = check_positive_int("prune max_budget", high)
    return {"eta": eta, "rungs": rungs, "max_budget": high}


def full_budget(config: Mapping, prune: Mapping) -> int:
    """``B``: the trial's ``epochs`` (or the prune's ``max_budget``)."""
    if prune["max_budget"] is not None:
        return prune["max_budget"]
    epochs = config.get("epochs")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(
            "pruning needs each trial's full budget: an integer 'epochs' in the "
            f"space (received epochs={epochs!r}) or prune max_budget"
        )
    return epochs


def rung_budget(config: Mapping, prune: Mapping, rung: int) -> int:
    """``b_k = max(1, round(B / eta^(R - 1 - k)))`` (the module docstring)."""
    power = prune["rungs"] - 1 - rung
    return max(1, round(full_budget(config, prune) / prune["eta"] ** power))


def survivors(done, metric: str, mode: str, eta: int, protected=()) -> list[int]:
    """Indices of the trials of ``done`` (one rung's records) that go on: the
    ``max(1, floor(n / eta))`` best successful ones and the protected ones that
    succeeded."""
    from glassnet.search.results import rank_trials

    ranked = rank_trials(done, metric, mode)
    kept = {t["index"] for t in ranked[: max(1, len(done) // eta)]}
    kept |= {t["index"] for t in ranked if t["index"] in set(protected)}
    return sorted(kept)
