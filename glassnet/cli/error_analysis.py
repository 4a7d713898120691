"""``glassnet errors``: the error-analysis tally of tagged dev-set errors (the notes'
spreadsheet), with each tag's ceiling on the dev error."""

from __future__ import annotations

from pathlib import Path


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
        help="dev error (fraction) for the ceiling of each tag",
    )
    errors.set_defaults(handler=run_errors)


def run_errors(args) -> int:
    from glassnet.strategy import error_analysis

    if not Path(args.tags).exists():
        raise FileNotFoundError(f"no such file: {args.tags}")
    print(error_analysis(args.tags, dev_error=args.dev_error))
    return 0
