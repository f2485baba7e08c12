"""``cnnkit assign``: build the student release (or the solution build) of an assignment."""
import sys

from .collect.rules import submission_files
from .release.build import AssignError, build_package, sync_derived


def register(subparsers):
    parser = subparsers.add_parser(
        "assign",
        help="generate the student release of an assignment source folder",
        description=(
            "Generate the student release of SOURCE (e.g. assignments/source/cnn) in OUT: "
            "solution regions become NotImplementedError stubs, hidden tests are removed, "
            "notebooks go through nbgrader's preprocessors, and the prerequisite modules, "
            "fast layers and visible checks' expected values are derived from "
            "cnnkit.reference. With --sync, write only the derived files into SOURCE so its "
            "notebooks run in place."))
    parser.add_argument("source", metavar="SOURCE", help="assignment source folder")
    parser.add_argument("out", metavar="OUT", nargs="?",
                        help="output folder (new or empty; see --force)")
    parser.add_argument("--solutions", action="store_true",
                        help="keep the solutions: build a correct submission instead of the release")
    parser.add_argument("--force", action="store_true",
                        help="delete OUT first if it is not empty")
    parser.add_argument("--sync", action="store_true",
                        help="write the derived files into SOURCE (no OUT)")
    parser.set_defaults(func=run)


def run(args):
    try:
        if args.sync:
            if args.out or args.solutions:
                print("cnnkit assign: --sync takes only SOURCE", file=sys.stderr)
                return 2
            written = sync_derived(args.source, generated=submission_files)
            print(f"wrote {len(written)} derived files into {args.source}")
            return 0
        if not args.out:
            print("cnnkit assign: OUT is required (or use --sync)", file=sys.stderr)
            return 2
        report = build_package(args.source, args.out, solutions=args.solutions,
                               overwrite=args.force, generated=submission_files)
    except AssignError as err:
        print(f"cnnkit assign: {err}", file=sys.stderr)
        return 1
    kind = "solution build" if report.solutions else "release"
    print(f"{kind} of {args.source} written to {report.out}: {len(report.files)} files, "
          f"{len(report.notebooks)} notebooks, {len(report.stubs)} stubs, "
          f"{len(report.derived)} files derived from cnnkit.reference, "
          f"{len(report.cases)} visible-check cases")
    return 0
