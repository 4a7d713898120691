"""``glassnet report``: (re)build ``report.html`` for a run folder or a search
folder: one self-contained page (inline figures, nothing fetched) that a browser
opens from disk."""

from __future__ import annotations


def register(sub) -> None:
    report = sub.add_parser(
        "report", help="(re)build a run or search folder's report.html"
    )
    report.add_argument(
        "folder",
        metavar="RUN_OR_SEARCH_FOLDER",
        help="a run folder (results.json, config.json) or a search folder "
        "(search.json)",
    )
    report.add_argument(
        "--output",
        metavar="FILE",
        help="where to write the page (default: FOLDER/report.html)",
    )
    report.set_defaults(handler=run_report)


def run_report(args) -> int:
    from glassnet.report import write_report

    path = write_report(args.folder, output=args.output)
    print(f"report: {path}")
    return 0
