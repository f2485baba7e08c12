"""``cnnkit gradescope``: a thin layer over :func:`cnnkit.grader.gradescope.bundle.build_autograder`."""
import sys

from ..errors import GraderUsageError


def register(subparsers):
    from ..grade_command import add_course_options
    from ..settings import SETTINGS
    from .bundle import DEFAULT_MEMORY_MB
    from .results import VISIBILITIES
    parser = subparsers.add_parser(
        "gradescope", help="build the autograder zip to upload to Gradescope",
        description="Build the zip to upload as a Gradescope programming assignment's "
                    "autograder (base image Ubuntu 22.04): setup.sh installs cnnkit from a "
                    "wheelhouse in the zip, run_autograder grades each submission with the "
                    "hidden tests in a sandbox and writes results.json.")
    parser.add_argument("--assignment", default="cnn", help="assignment name (default: cnn)")
    parser.add_argument("--out", required=True, metavar="ZIP", help="the zip to write")
    add_course_options(parser, secret_note=", packed into the zip")
    parser.add_argument("--python", default=None, metavar="PATH",
                        help="a CPython 3.10 interpreter to build cnnkit's wheel with "
                             "(default: python3.10 on PATH, then pyenv's 3.10)")
    parser.add_argument("--timeout", type=float, default=SETTINGS["timeout"].default,
                        help=SETTINGS["timeout"].describe())
    memory = SETTINGS["memory_mb"]
    parser.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, metavar="MB",
                        help=f"{memory.help}, {memory.low:g}-{memory.high:g} (default: "
                             f"{DEFAULT_MEMORY_MB}, within Gradescope's 768 MB container)")
    parser.add_argument("--details", default="after_due_date", choices=VISIBILITIES,
                        help="when students see the hidden cases' details "
                             "(default: after_due_date)")
    parser.set_defaults(func=run)


def run(args):
    from .bundle import build_autograder
    try:
        bundle = build_autograder(args.out, assignment=args.assignment, course=args.course,
                                  secret=args.secret, heldout=args.heldout, data=args.data,
                                  python=args.python, timeout=args.timeout,
                                  memory_mb=args.memory, details=args.details,
                                  say=lambda text: print(f"  {text}", file=sys.stderr))
    except GraderUsageError as err:
        print(f"cnnkit gradescope: error: {err}", file=sys.stderr)
        return 2
    size = bundle.path.stat().st_size / 1e6
    print(f"wrote {bundle.path} ({size:.1f} MB) in {bundle.seconds:g} s; secret "
          f"{bundle.secret_fingerprint}")
    print("upload it as the autograder of a Gradescope programming assignment "
          "(base image: Ubuntu 22.04)")
    return 0
