"""``cnnkit grade`` and ``cnnkit demo``: thin layers over :func:`cnnkit.grader.api.grade_submissions`."""
import sys

from .errors import GraderUsageError, SandboxSelfTestError
from .report_command import add_class_report_options, class_report_settings
from .settings import SETTINGS

#: exit statuses of ``cnnkit grade`` and ``cnnkit demo``
EXIT_GRADED, EXIT_USAGE, EXIT_SELF_TEST, EXIT_NOT_GRADED = 0, 2, 3, 4


def add_course_options(parser, secret_note=""):
    """``--course``, ``--secret``, ``--data``, ``--heldout``: what a batch is graded against,
    shared by ``cnnkit grade`` and ``cnnkit gradescope``."""
    parser.add_argument("--course", default=None, metavar="DIR",
                        help="the instructor's course (from `cnnkit course new`): the notebook "
                             "check compares against the release of DIR/source/<assignment> "
                             "(default: the course template installed with cnnkit)")
    parser.add_argument("--secret", default=None, metavar="PATH",
                        help=f"course secret seeding the hidden cases{secret_note} (default: "
                             "$CNNKIT_SECRET or ~/.config/cnnkit/course.secret, created on "
                             "first use)")
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="CIFAR-10 archive or folder for the accuracy test's held-out "
                             "images (default: $CNNKIT_DATA, then the cnnkit cache)")
    parser.add_argument("--heldout", type=int, default=SETTINGS["heldout"].default,
                        help=SETTINGS["heldout"].describe())


def register(subparsers):
    grade = subparsers.add_parser(
        "grade", help="grade a folder of submissions with the hidden tests",
        description="Grade every student folder in SUBMISSIONS (one subfolder per student id, "
                    "or an nbgrader submitted/<student>/<assignment>/ tree) in sandboxes, and "
                    "write OUT/grades.csv, OUT/summary.json and OUT/<student>/results.json "
                    "(Gradescope), feedback.html. Re-running with the same OUT skips students "
                    "whose files did not change, and retries students the grader failed. "
                    "Exit status: 0 when every student was graded; 2 when the grader is "
                    "misused; 3 when the sandbox's start-up self-test failed (nobody was "
                    "graded; the message names the cause and the fix); 4 when the batch ran "
                    "but some students were not graded because the grader failed on them "
                    "(status grader_error; re-run to retry them).")
    grade.add_argument("submissions", metavar="SUBMISSIONS", nargs="?",
                       help="folder of student folders")
    grade.add_argument("--assignment", default="cnn", help="assignment name (default: cnn)")
    grade.add_argument("--out", required=True, help="report folder (outside SUBMISSIONS)")
    grade.add_argument("--workers", type=int, default=SETTINGS["workers"].default,
                       help=SETTINGS["workers"].describe())
    grade.add_argument("--timeout", type=float, default=SETTINGS["timeout"].default,
                       help=SETTINGS["timeout"].describe())
    grade.add_argument("--memory", type=int, default=SETTINGS["memory_mb"].default, metavar="MB",
                       help=SETTINGS["memory_mb"].describe())
    grade.add_argument("--nbgrader", default=None, metavar="COURSE_ROOT",
                       help="also write the scores into this nbgrader course's gradebook")
    add_course_options(grade)
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on a running Dask cluster, one task per student "
                            "(e.g. tcp://10.0.0.5:8786; needs cnnkit[cluster])")
    grade.add_argument("--cluster", default=None, metavar="local:N",
                       help="grade on a Dask LocalCluster of N single-threaded worker "
                            "processes started here (needs cnnkit[cluster])")
    grade.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_class_report_options(grade)
    grade.set_defaults(func=run_grade)

    demo = subparsers.add_parser(
        "demo", help="grade the embedded example submissions and show where the reports are",
        description="Generate three example submissions (correct, typical mistakes, hostile) "
                    "from the assignment source into OUT/submissions and grade them into "
                    "OUT/reports.")
    demo.add_argument("out", metavar="OUT", nargs="?", default="cnnkit-demo",
                      help="folder for the demo (default: ./cnnkit-demo)")
    demo.add_argument("--data", default=None, metavar="PATH",
                      help="CIFAR-10 archive or folder for the accuracy test")
    demo.add_argument("--workers", type=int, default=1, help="parallel submissions (default: 1)")
    demo.set_defaults(func=run_demo)


def show(result, stream=None):
    """Print where the reports are and one line per student."""
    stream = stream or sys.stdout
    s = result.summary
    print(f"graded {len(result.graded)} submission(s), skipped {len(result.skipped)} "
          f"unchanged; students by status: {s['students_by_status']}", file=stream)
    for r in result.records:
        if r["status"] == "grader_error":
            print(f"  {r['student_id']}: NOT GRADED (grader error: {r['reason']})", file=stream)
            continue
        line = f"  {r['student_id']}: {r['total']:g} / {r['max_total']:g}"
        print(line + (f" (ungradable: {r['reason']})" if r["status"] != "graded" else ""),
              file=stream)
    check = s.get("notebook_check", {})
    if check.get("problem"):
        print(f"notebook cells not checked: {check['problem']}", file=stream)
    elif check.get("source"):
        print(f"notebook cells checked against {check['source']}", file=stream)
    if result.self_test is not None:
        print(f"sandbox:  {result.self_test.isolation}", file=stream)
    print(f"grades:   {result.out / 'grades.csv'}", file=stream)
    print(f"summary:  {result.out / 'summary.json'}", file=stream)
    print(f"feedback: {result.out}/<student_id>/feedback.html", file=stream)
    if result.class_report is not None:
        print(f"class:    {result.out / 'class.html'}", file=stream)
        flagged = result.class_report.flagged
        if flagged:
            print(f"          {len(flagged)} pair(s) flagged as alike: "
                  + ", ".join(f"{a} ~ {b}" for a, b, _ in flagged[:5])
                  + (" ..." if len(flagged) > 5 else ""), file=stream)


def finish(result, command):
    """Show the batch; the exit status (4 when the grader failed some students)."""
    show(result)
    if result.self_test is not None and result.self_test.missing:
        print(f"{command}: warning: student code was not fully isolated: "
              f"{result.self_test.missing}", file=sys.stderr)
    if result.not_graded:
        print(f"{command}: {len(result.not_graded)} student(s) NOT GRADED because the grader "
              f"failed on them (status grader_error, no score written): "
              f"{', '.join(result.not_graded)}. Re-run the same command to retry them.",
              file=sys.stderr)
        return EXIT_NOT_GRADED
    return EXIT_GRADED


def self_test_failed(err, command):
    print(f"{command}: error: nobody was graded: {err.result.message()}", file=sys.stderr)
    return EXIT_SELF_TEST


def run_grade(args):
    from .api import grade_submissions
    try:
        if args.submissions is None:
            raise GraderUsageError("SUBMISSIONS is required (`cnnkit demo` grades the example "
                                   "students)")
        report = class_report_settings(args, args.assignment)
        result = grade_submissions(
            args.submissions, args.out, assignment=args.assignment, workers=args.workers,
            timeout=args.timeout, memory_mb=args.memory, secret=args.secret,
            nbgrader=args.nbgrader, data=args.data, heldout=args.heldout,
            progress=not args.no_progress, course=args.course,
            similarity_threshold=report["threshold"],
            archive=report["archive"], roster=report["roster"],
            canvas_id=report["canvas_id"],
            scheduler=args.scheduler, cluster=args.cluster)
    except GraderUsageError as err:
        print(f"cnnkit grade: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SandboxSelfTestError as err:
        return self_test_failed(err, "cnnkit grade")
    return finish(result, "cnnkit grade")


def run_demo(args):
    from .demo import run_demo as demo
    try:
        result = demo(args.out, data=args.data, workers=args.workers, progress=True)
    except GraderUsageError as err:
        print(f"cnnkit demo: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SandboxSelfTestError as err:
        return self_test_failed(err, "cnnkit demo")
    return finish(result, "cnnkit demo")
