"""python -m scripts.report: write the report from the dataset, its
statistics and the chart specs."""

import argparse
import sys
from pathlib import Path

from scripts.analyse.stats import DatasetError
from scripts.core.files import write_text
from scripts.core.study import EXPECTED_VCPUS
from scripts.report.page import Inputs, ReportError, render


def description(text: str) -> tuple[str, str]:
    name, sep, words = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=DESCRIPTION")
    return name, words


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.report",
        description="Write the self-contained HTML report (no network needed to view it) "
                    "from the dataset, its statistics and chart specs alone.")
    parser.add_argument("--dataset", type=Path, required=True,
                        help="folder with cells.parquet and top_frames.parquet")
    parser.add_argument("--summary", type=Path, required=True,
                        help="summary.parquet from scripts.analyse.stats")
    parser.add_argument("--charts", type=Path, required=True,
                        help="folder with the NAME.vl.json specs from scripts.report.charts")
    parser.add_argument("--reference", metavar="SERVER",
                        help="the server every other is compared with (default: the first "
                             "measured, by name)")
    parser.add_argument("--describe", type=description, nargs="*", default=[],
                        metavar="NAME=DESCRIPTION",
                        help="a server's design in a few words, shown beside its name")
    parser.add_argument("--exclude-flagged", action="store_true",
                        help="leave flagged cells out of every figure, saying so")
    parser.add_argument("--study-2022", type=Path, metavar="PARQUET",
                        help="study_2022.parquet from scripts.analyse.table2022: adds the 2022 "
                             "study's section")
    parser.add_argument("--profiles", type=Path, metavar="FOLDER",
                        help="the folder with the profile tables (scripts.parse.profiles) and, in "
                             "--charts, their charts: adds where the CPU goes")
    parser.add_argument("--switch-costs", type=Path, metavar="PARQUET",
                        help="switch_costs.parquet from scripts.measure.switchcost: what one "
                             "context switch costs on the host")
    parser.add_argument("--main-load", metavar="LABEL",
                        help="the load shape H1 and H2 are answered at (default: the one "
                             "with the most groups)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    inputs = Inputs(args.dataset, args.summary, args.charts, args.reference,
                    dict(args.describe), list(EXPECTED_VCPUS), args.exclude_flagged,
                    args.study_2022, args.main_load, args.profiles, args.switch_costs)
    try:
        page = render(inputs)
    except DatasetError as exc:
        print(f"report: {exc} (a dataset written by an older papaya-bench: "
              "rebuild it from its raw cells)", file=sys.stderr)
        return 1
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    write_text(args.out, page)
    print(f"report: {args.out} ({len(page) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
