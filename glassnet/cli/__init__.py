"""The ``glassnet`` command: each subcommand is a thin shell over the library.

Expected errors (bad options, missing files, unsafe model files, diverging runs)
print one line on stderr and exit with status 2; ``--debug`` shows the traceback.
Warnings raised while a command runs are printed afterwards, one line each, and only
when the command succeeds (a failing command prints its one error line alone).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from glassnet.cli import commands, train, transfer

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_USAGE, f"glassnet: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from glassnet import __version__

    parser = _Parser(
        prog="glassnet",
        description="Deep learning that reads like the notes: train, evaluate, "
        "check gradients, diagnose and search.",
    )
    parser.add_argument(
        "--version", action="version", version=f"glassnet {__version__}"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks for errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    train.register(sub)
    commands.register(sub)
    transfer.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            status = int(args.handler(args) or 0)
        for message in dict.fromkeys(str(w.message).splitlines()[0] for w in caught):
            print(f"glassnet: warning: {message}", file=sys.stderr)
        return status
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # every error becomes one line unless --debug
        if args.debug:
            raise
        expected = isinstance(
            error, (ValueError, TypeError, OSError, RuntimeError, KeyError, LookupError)
        )
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not expected:
            message = (
                f"unexpected {type(error).__name__}: {message} (rerun with --debug)"
            )
        print(f"glassnet: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
