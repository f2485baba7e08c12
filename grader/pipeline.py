"""The grading pipeline: a declared list of steps, each ``step(ctx, work) -> work``.

``collect`` (:mod:`~cnnkit.grader.collect`) finds the submissions of a batch;
then every gradable submission goes through :data:`STEPS`:

1. ``notebook_check.run`` - report deleted or edited test and locked notebook cells;
2. ``execute.run`` - run the student's code on every hidden case in sandboxes;
3. ``compare.run`` - compare what came back with the reference, case by case;
4. ``score.run`` - points per group;
5. ``report.run`` - write the student's ``grade.json``, ``results.json``, ``feedback.html``.

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

STEPS = (notebook_check.run, execute.run, compare.run, score.run, report.run)


def grade_one(ctx, submission):
    """Grade one submission; returns its record (a dict, as in ``grade.json``).

    Never raises because of the submission: an ungradable folder, or a grader
    failure on this student, becomes a record with status ``ungradable``.
    """
    if submission.problem:
        record = report.ungradable_record(ctx, submission, ctx.grader_key)
        report.write_student(ctx.out, record)
        return record
    start = time.perf_counter()
    work = Work(submission)
    try:
        for step in STEPS[:-1]:
            work = step(ctx, work)
        work.seconds = time.perf_counter() - start
        work = STEPS[-1](ctx, work)
    except Exception as err:  # a grader bug must not stop the batch
        traceback.print_exc(file=sys.stderr)
        return internal_error(ctx, submission, err, "please report it to the course staff")
    return report.student_record(ctx, work, ctx.grader_key)


def internal_error(ctx, submission, err, advice):
    """Record (and write) ``submission`` as ungradable because the grader failed on it.

    Its grader key is ``internal-error``, so the next run grades it again.
    """
    submission.problem = f"internal grader error ({type(err).__name__}: {err}); {advice}"
    record = report.ungradable_record(ctx, submission, "internal-error")
    report.write_student(ctx.out, record)
    return record
