"""``glassnet gradcheck``: the gradient check of a small random network."""

from __future__ import annotations

import sys

import numpy as np

from glassnet.cli.options import at_least
from glassnet.run_config import parse_layers


def register(sub) -> None:
    check = sub.add_parser("gradcheck", help="gradient-check a small network")
    check.add_argument("--layers", default="5,3", help="hidden sizes (default 5,3)")
    check.add_argument(
        "--activation", default="relu", help="hidden activation (default relu)"
    )
    check.add_argument(
        "--output",
        default="sigmoid",
        choices=["sigmoid", "softmax", "linear"],
        help="output layer and its loss (default sigmoid)",
    )
    check.add_argument(
        "--classes", type=at_least(2), default=3, help="softmax output size (default 3)"
    )
    check.add_argument("--features", type=at_least(1), default=4, help="(default 4)")
    check.add_argument("--examples", type=at_least(1), default=10, help="(default 10)")
    check.add_argument("--l2", type=float, default=0.0, help="L2 lambd (default 0)")
    check.add_argument(
        "--batchnorm", action="store_true", help="batch norm in the hidden layers"
    )
    check.add_argument("--seed", type=int, default=1, help="(default 1)")
    check.set_defaults(handler=run_gradcheck)


def run_gradcheck(args) -> int:
    import glassnet as gn

    rng = np.random.default_rng(args.seed)
    model = _network(args)
    model.build(args.features, rng=rng, dtype="float64")
    X = rng.standard_normal((args.features, args.examples))
    Y = _targets(args, rng)
    regularizer = gn.L2(args.l2) if args.l2 else None
    result = gn.gradient_check(model, X, Y, regularizer=regularizer)
    print(model.summary(print_fn=None))
    print(result.table())
    if not result.difference < 2e-7:
        print("glassnet: gradient check failed", file=sys.stderr)
        return 1
    return 0


_TASKS = {"softmax": "multiclass", "sigmoid": "binary", "linear": "regression"}


def _network(args):
    from glassnet.model import Sequential
    from glassnet.networks import hidden_layers, output_layer

    layers = hidden_layers(
        parse_layers(args.layers), args.activation, batchnorm=args.batchnorm
    )
    n_out = args.classes if args.output == "softmax" else 1
    return Sequential([*layers, output_layer(_TASKS[args.output], n_out)])


def _targets(args, rng) -> np.ndarray:
    """Random targets for the output: class indices, 0/1 labels or values."""
    if args.output == "softmax":
        return rng.integers(0, args.classes, (1, args.examples)).astype(float)
    if args.output == "sigmoid":
        return rng.integers(0, 2, (1, args.examples)).astype(float)
    return rng.standard_normal((1, args.examples))
