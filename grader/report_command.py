"""``cnnkit report OUT``: rebuild the class report of a graded batch (no grading)."""
import sys
from pathlib import Path

from .errors import GraderUsageError
from .settings import SETTINGS


def add_class_report_options(parser):
    """Options shared by ``cnnkit grade`` and ``cnnkit report``."""
    parser.add_argument("--similarity-threshold", type=float, default=None, metavar="SCORE",
                        help=SETTINGS["similarity_threshold"].describe())
    parser.add_argument("--archive", default=None, metavar="FOLDER",
                        help="earlier terms' submissions (one folder per student) to compare "
                             "this batch against")
    parser.add_argument("--roster", default=None, metavar="CSV",
                        help="CSV mapping student_id to Canvas's Student, ID, SIS User ID, "
                             "SIS Login ID, Section: also write OUT/canvas.csv")
    parser.add_argument("--canvas-assignment-id", default=None, metavar="ID",
                        help="Canvas's id of the assignment, for canvas.csv's column header")


def register(subparsers):
    report = subparsers.add_parser(
        "report", help="rebuild OUT/class.html and the exports from a graded batch",
        description="Rebuild OUT/class.html (score plots, pass rate per kind of hidden case, "
                    "common failures, statuses, copy detection), OUT/scores.csv and, with "
                    "--roster, OUT/canvas.csv, from OUT's grade.json files and summary.json. "
                    "Nobody is graded again. Copy detection runs again when --submissions is "
                    "given; otherwise the pairs stored in OUT/similarity.json are shown.")
    report.add_argument("out", metavar="OUT", help="report folder of a graded batch")
    report.add_argument("--submissions", default=None, metavar="SUBMISSIONS",
                        help="the batch's submissions (one folder per student): compare "
                             "their code again")
    add_class_report_options(report)
    report.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    report.set_defaults(func=run_report)


def code_folders(folder, what, assignment="cnn"):
    """``{student_id: folder holding nndl/}`` of a batch laid out as ``cnnkit grade`` reads it."""
    from .collect.step import package_root, student_folders
    from .testbank import get_assignment
    root = Path(folder)
    if not root.is_dir():
        raise GraderUsageError(f"{what} {folder}: not a folder (one subfolder per student, or "
                               "an nbgrader course's submitted/ folder)")
    assign = get_assignment(assignment)
    found = {}
    for student, path, problem in student_folders(root, assign):
        code = package_root(path, assign) if path is not None and not problem else None
        if code is not None:
            found[student] = code
    return found


def class_report_settings(args, assignment="cnn"):
    """Check the shared options; GraderUsageError naming the bad one."""
    from .report import exports, similarity
    if args.similarity_threshold is not None:
        similarity.check_threshold(args.similarity_threshold)
    if args.roster is not None:
        try:
            exports.read_roster(args.roster)
        except ValueError as err:
            raise GraderUsageError(f"--roster: {err}") from None
    archive = code_folders(args.archive, "--archive", assignment) if args.archive else None
    return {"threshold": args.similarity_threshold, "archive": archive, "roster": args.roster,
            "canvas_id": args.canvas_assignment_id}


def show(report, stream=None):
    stream = stream or sys.stdout
    print(f"class report: {report.out / 'class.html'}", file=stream)
    for name in report.files[1:]:
        print(f"  {name}", file=stream)
    if report.similarity_seconds is not None:
        print(f"copy detection: {len(report.flagged)} flagged pair(s)", file=stream)
        for a, b, score in report.flagged[:20]:
            print(f"  {a} ~ {b}: {score:.2f}", file=stream)
    if report.canvas and report.canvas.not_in_roster:
        print(f"canvas.csv: not in the roster, left out: {', '.join(report.canvas.not_in_roster)}",
              file=stream)


def run_report(args):
    from .report.class_report import load_out, write_class_report
    try:
        records, summary = load_out(args.out)
        settings = class_report_settings(args, summary.get("assignment", "cnn"))
        submissions = (code_folders(args.submissions, "--submissions",
                                    summary.get("assignment", "cnn"))
                       if args.submissions else None)
        report = write_class_report(args.out, records, summary, submissions=submissions,
                                    progress=not args.no_progress, **settings)
    except (GraderUsageError, ValueError) as err:
        print(f"cnnkit report: error: {err}", file=sys.stderr)
        return 2
    show(report)
    return 0
