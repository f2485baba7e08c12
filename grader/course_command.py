"""``cnnkit course new``: an instructor's own nbgrader course, from the installed template."""
import sys

from .errors import GraderUsageError


def register(subparsers):
    course = subparsers.add_parser(
        "course", help="create an instructor's course folder from the installed template",
        description="Course folders, the analogue of `nbgrader quickstart`.")
    actions = course.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser(
        "new", help="write nbgrader_config.py and source/<assignment>/ into DIR",
        description="Write an nbgrader course into DIR: nbgrader_config.py and "
                    "source/<assignment>/ (the instructor's notebooks and student package, "
                    "with their solution regions), plus the files derived from "
                    "cnnkit.reference so the source notebooks run in place. Then, in DIR: "
                    "`nbgrader generate_assignment cnn`, `cnnkit assign source/cnn "
                    "release/cnn`, and `cnnkit grade ... --course DIR`.")
    new.add_argument("folder", metavar="DIR", help="the course folder (new or empty)")
    new.add_argument("--assignment", default="cnn", help="assignment to copy (default: cnn)")
    new.add_argument("--force", action="store_true",
                     help="write over the course files in a non-empty DIR; other files are kept")
    new.set_defaults(func=run_new)


def run_new(args):
    from .course import new_course
    try:
        written = new_course(args.folder, assignment=args.assignment, force=args.force)
    except GraderUsageError as err:
        print(f"cnnkit course new: error: {err}", file=sys.stderr)
        return 2
    print(f"course written to {args.folder}: {len(written)} files "
          f"(nbgrader_config.py, source/{args.assignment}/)")
    print(f"next: cd {args.folder} && nbgrader generate_assignment {args.assignment}")
    return 0
