"""The ``glassnet`` command: each subcommand is a thin shell over the library.

Every subcommand has its own module here (``train``, ``predict``, ``evaluate``,
``gradcheck``, ``search``, ``diagnose``, ``errors`` in :mod:`.error_analysis`,
``select``, ``cluster``, ``transfer``, ``export``), each with
``register(subparsers)`` and its handler; :mod:`.options`, :mod:`.run_folders` and
:mod:`.model_files` hold what several of them share.

Exit statuses:

* 0: done; 1: ``gradcheck`` ran and the gradients disagree;
* 2 (:data:`EXIT_USAGE`): a user error, printed as one line ``glassnet: error:
  <message>`` on stderr: a bad option (argparse), a bad value or file
  (:class:`ValueError`, :class:`OSError` such as a missing file, a permission
  denied or a full disk, :class:`MemoryError`), or any of glassnet's own errors
  (:class:`glassnet.errors.GlassnetError`: an unsafe model file, a missing dataset,
  a diverging run);
* 70 (:data:`EXIT_INTERNAL`, ``EX_SOFTWARE`` of sysexits.h): anything else (a
  TypeError, KeyError, AttributeError, RuntimeError, AssertionError, ...) is a bug
  in glassnet, not in the input: ``glassnet: internal error: <Type>: <message>``,
  the traceback, and a request to report it with glassnet's version;
* 130: interrupted (Ctrl-C).

``--debug`` re-raises every error with its traceback. Warnings raised while a
command runs are printed afterwards, one line each, and only when the command
succeeds (a failing command prints its one error line alone).
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from glassnet.cli import (
    cluster,
    diagnose,
    error_analysis,
    evaluate,
    export,
    gradcheck,
    predict,
    report,
    search,
    select,
    train,
    transfer,
)
from glassnet.errors import GlassnetError

EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE
EXIT_INTERRUPTED = 130

# the subcommands, in the order ``glassnet --help`` lists them
COMMANDS = (
    train,
    predict,
    evaluate,
    gradcheck,
    search,
    report,
    diagnose,
    error_analysis,
    select,
    cluster,
    transfer,
    export,
)

# Errors about the input, its files or the machine's resources: one line, status 2.
# OSError covers FileNotFoundError, PermissionError, IsADirectoryError,
# NotADirectoryError, a full disk and an unreachable scheduler (ConnectionError).
USER_ERRORS = (GlassnetError, ValueError, OSError, MemoryError)


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
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv=None) -> int:
    """Run ``glassnet ARGV`` (``sys.argv[1:]`` by default); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # train --nproc's copies
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. ``glassnet predict ... | head``
        return 0
    except Exception as error:
        if args.debug:
            raise
        if isinstance(error, USER_ERRORS):
            print(f"glassnet: error: {_first_line(error)}", file=sys.stderr)
            return EXIT_USAGE
        _report_bug(error)
        return EXIT_INTERNAL


def _run(args) -> int:
    """The subcommand's handler; its warnings are printed once it succeeds."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        status = int(args.handler(args) or 0)
    for message in dict.fromkeys(str(w.message).splitlines()[0] for w in caught):
        print(f"glassnet: warning: {message}", file=sys.stderr)
    return status


def _first_line(error: BaseException) -> str:
    text = str(error)
    return text.splitlines()[0] if text.strip() else type(error).__name__


def _report_bug(error: BaseException) -> None:
    """An unexpected error: its type and message, the traceback, a bug report."""
    from glassnet import __version__

    text = str(error)
    message = f": {text.splitlines()[0]}" if text.strip() else ""
    print(f"glassnet: internal error: {type(error).__name__}{message}", file=sys.stderr)
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    print(
        f"glassnet: this is a bug in glassnet {__version__}, not in your input; "
        "please report it with the command you ran and the traceback above",
        file=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
