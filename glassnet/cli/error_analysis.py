"""``glassnet errors``: the error-analysis tally of tagged dev-set errors (the notes'
spreadsheet), with each tag's ceiling on the dev error. The dev error is given in
percent (``--dev-error 10``; a fraction with ``--fractions``, as for ``diagnose``) or
read from a run folder's results.json (``--run``)."""

from __future__ import annotations

from pathlib import Path

from glassnet.cli.diagnose import given_errors, unit_rule
from glassnet.cli.run_folders import read_results


def register(sub) -> None:
    errors = sub.add_parser("errors", help="error-analysis tally of tagged errors")
    errors.add_argument(
        "tags",
        metavar="TAGS.csv",
        help="one row per misclassified dev example, one column of 1/0 (or "
        "yes/no) per tag; a comments column is allowed",
    )
    errors.add_argument(
        "--dev-error",
        type=float,
        metavar="ERROR",
        help="dev error for the ceiling of each tag, in percent (a fraction with "
        "--fractions)",
    )
    errors.add_argument(
        "--fractions",
        action="store_true",
        help="read --dev-error as a fraction in [0, 1] instead of percent",
    )
    errors.add_argument(
        "--run",
        metavar="RUN",
        help="a run folder: the dev error is 1 - its dev accuracy (results.json)",
    )
    errors.set_defaults(handler=run_errors)


def run_errors(args) -> int:
    from glassnet.strategy import error_analysis

    if not Path(args.tags).exists():
        raise FileNotFoundError(f"no such file: {args.tags}")
    dev_error = given_errors(args, ("dev-error",), args.fractions).get("dev_error")
    if args.run is not None:
        if dev_error is not None:
            raise ValueError("give --dev-error or --run, not both")
        dev = read_results(args.run).get("dev", {})
        if "accuracy" not in dev:
            raise ValueError(
                f"{args.run}/results.json has no dev accuracy to take the dev error "
                "from"
            )
        dev_error = 1 - dev["accuracy"]
        print(f"dev error of {args.run}: 1 - dev accuracy, from its results.json")
    elif dev_error is not None:
        print(unit_rule(args.fractions))
    print(error_analysis(args.tags, dev_error=dev_error))
    return 0
