"""Option texts and argparse types that several subcommands share."""

from __future__ import annotations

import argparse

LABEL_COLUMN_HELP = (
    "label column of a CSV file, a name or an index (default: the column named "
    "label, y, target or class, else the last)"
)


def at_least(low: int):
    """An argparse type: an integer >= ``low`` (argparse names the option)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer; received {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}; received {value}"
            )
        return value

    parse.__name__ = f"integer >= {low}"
    return parse
