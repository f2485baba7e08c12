"""The grading pipeline: a declared list of steps, each ``step(ctx, work) -> work``.

``collect`` (:mod:`~cnnkit.grader.collect.step`) finds the submissions of a batch;
then every gradable submission goes through :data:`STEPS`, one folder each:

1. ``notebook_check/`` - report deleted or edited test and locked notebook cells;
2. ``run/`` - run the student's code on every hidden case in sandboxes;
3. ``compare/`` - compare what came back with the reference, case by case;
4. ``score/`` - points per group;

then :func:`grade_one` (or a cluster's client, which keeps every write) hands the
record to ``report.write_student``: ``grade.json``, ``results.json``, ``feedback.html``.

``ctx`` (:class:`~cnnkit.grader.context.GradingContext`) is the same for the
whole batch; ``work`` (:class:`~cnnkit.grader.context.Work`) is the student's
record. No step keeps state of its own.
"""
import sys
import time
import traceback

from .compare import step as compare
from .context import Work
from .notebook_check import step as notebook_check
from .report import step as report
from .run import step as run
from .score import step as score
from .errors import GraderFault

STEPS = (notebook_check.run, run.run, compare.run, score.run)


def grade_one(ctx, submission):
    """Grade one submission and write its files; returns its record (see :func:`evaluate`)."""
    record = evaluate(ctx, submission)
    report.write_student(ctx.out, record)
    return record


def evaluate(ctx, submission):
    """The record of one submission (a dict, as in ``grade.json``), nothing written.

    Every front end runs this for each student: the local pool (through
    :func:`grade_one`) and a cluster worker, whose client then writes the record.
    Never raises because of the submission: an ungradable folder becomes a record
    with status ``ungradable``; a failure of the grader's own making on this student
    (a sandbox that did not start, a harness that failed before the student's code,
    a bug in a step) becomes ``grader_error``, with the reason and no score, retried
    by the next run.
    """
    if submission.problem:
        return report.ungradable_record(ctx, submission, ctx.grader_key)
    start = time.perf_counter()
    work = Work(submission)
    try:
        for step in STEPS:
            work = step(ctx, work)
        work.seconds = time.perf_counter() - start
    except GraderFault as err:
        return grader_error(ctx, submission, str(err))
    except Exception as err:  # a grader bug must not stop the batch
        traceback.print_exc(file=sys.stderr)
        return grader_error(ctx, submission, f"internal grader error ({type(err).__name__}: "
                                             f"{err}); please report it to the cnnkit maintainers")
    return report.student_record(ctx, work, ctx.grader_key)


def grader_error(ctx, submission, reason):
    """The record of a student the grader failed (no score; not written, retried next run)."""
    return report.grader_error_record(ctx, submission, reason)
