"""The grading pipeline: a declared list of steps, each ``step(ctx, work) -> work``.

``collect`` (:mod:`~cnnkit.grader.collect`) finds the submissions of a batch;
then every gradable submission goes through :data:`STEPS`:

1. ``notebook_check.run`` - report deleted or edited test and locked notebook cells;
2. ``execute.run`` - run the student's code on every hidden case in sandboxes;
3. ``compare.run`` - compare what came back with the reference, case by case;
4. ``score.run`` - points per group;

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
from .notebook_check import step as notebook_check
from .report import step as report
from .run import step as execute
from .score import step as score
from .context import Work

STEPS = (notebook_check.run, execute.run, compare.run, score.run)


def grade_one(ctx, submission):
    """Grade one submission and write its files; returns its record (see :func:`evaluate`)."""
    record = evaluate(ctx, submission)
    report.write_student(ctx.out, record)
    return record


def evaluate(ctx, submission):
    """The record of one submission (a dict, as in ``grade.json``), nothing written.

    Every front end runs this for each student: the local pool (through
    :func:`grade_one`) and a cluster worker, whose client then writes the record.
    Never raises because of the submission: an ungradable folder, or a grader
    failure on this student, becomes a record with status ``ungradable``.
    """
    if submission.problem:
        return report.ungradable_record(ctx, submission, ctx.grader_key)
    start = time.perf_counter()
    work = Work(submission)
    try:
        for step in STEPS:
            work = step(ctx, work)
        work.seconds = time.perf_counter() - start
    except Exception as err:  # a grader bug must not stop the batch
        traceback.print_exc(file=sys.stderr)
        return internal_error(ctx, submission, err, "please report it to the course staff")
    return report.student_record(ctx, work, ctx.grader_key)


def internal_error(ctx, submission, err, advice):
    """The record of ``submission`` as ungradable because the grader failed on it (not written).

    Its grader key is ``internal-error``, so the next run grades it again.
    """
    submission.problem = f"internal grader error ({type(err).__name__}: {err}); {advice}"
    return report.ungradable_record(ctx, submission, "internal-error")
