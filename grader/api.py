"""Python API: ``grade_submissions`` grades a batch and writes every report.

The command line (:mod:`cnnkit.grader.grade_command`) only parses options and
presents the :class:`BatchResult` this returns.
"""
import hashlib
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .report import step as report
from .collect.step import collect
from .context import GradingContext
from .course import template_assignments
from .cluster.client import ClusterSession, check_cluster_options
from .errors import GraderUsageError, SandboxSelfTestError
from .run.step import limits_for, run_limits
from .sandbox.selftest import sandbox_self_test
from .testbank import cache
from .testbank.heldout import load_heldout
from .pipeline import grade_one, grader_error
from .settings import SETTINGS, check_setting
from .testbank.secret import load_secret
from .testbank import get_assignment

GRADER_VERSION = "1"


@dataclass
class BatchResult:
    """Outcome of a batch, as data: every student's record and the summary."""
    out: Path
    records: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    graded: list = field(default_factory=list)     # ids graded by this run
    skipped: list = field(default_factory=list)    # ids resumed unchanged
    class_report: object = None                    # class_report.ClassReport, or None
    self_test: object = None                       # the sandbox's SelfTestResult

    @property
    def not_graded(self):
        """Ids of the students the grader failed (status ``grader_error``): re-run to retry."""
        return [r["student_id"] for r in self.records if r["status"] == "grader_error"]

    def __repr__(self):
        return (f"BatchResult(out={str(self.out)!r}, students={len(self.records)}, "
                f"graded={len(self.graded)}, skipped={len(self.skipped)}, "
                f"not_graded={len(self.not_graded)})")


def check_folders(submissions, out):
    sub, out = Path(submissions).resolve(), Path(out).resolve()
    if not sub.is_dir():
        raise GraderUsageError(f"SUBMISSIONS {submissions}: not a folder")
    if out.exists() and not out.is_dir():
        raise GraderUsageError(f"--out {out}: exists and is not a folder")
    if out == sub or sub in out.parents or out in sub.parents:
        raise GraderUsageError(f"--out {out} must be outside SUBMISSIONS {sub} (and not contain it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as err:
        raise GraderUsageError(f"--out {out}: cannot write there ({err})") from err
    return sub, out


def grader_key(assignment, heldout, problem):
    """A hash of everything besides the files and the secret that sets a student's grade."""
    spec = {"version": GRADER_VERSION, "assignment": assignment.name,
            "groups": [(g.name, g.points, g.n_cases) for g in assignment.groups],
            "heldout": heldout.source if heldout else problem}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def previous_record(out, sub, ctx):
    """The stored record of ``sub`` if it is still valid (same files, secret, grader)."""
    try:
        record = json.loads((out / sub.student_id / report.RECORD).read_text())
    except (OSError, ValueError):
        return None
    if record.get("status") == "grader_error":  # the grader failed them: always retried
        return None
    same = (record.get("fingerprint") == sub.fingerprint and record.get("secret") ==
            ctx.secret.fingerprint and record.get("grader") == ctx.grader_key
            and record.get("reason", "") == sub.problem)
    return record if same else None


def _instructor_notebooks(assignment, course):
    """``(protected cells, where they came from, why the check cannot run)``.

    From ``course`` (a course folder) or else the installed course template. A missing
    ``course`` is the grader's misuse; a source that does not build only skips the check,
    which summary.json and every report then say.
    """
    from .course import assignment_source
    from .notebook_check.step import instructor_cells
    if course is None and assignment.name not in template_assignments():
        return None, "", f"the course template has no {assignment.name!r} notebooks"
    source, where = assignment_source(assignment.name, course)
    try:
        return instructor_cells(source), where, ""
    except Exception as err:  # the source does not build: skip the check, say so
        problem = f"the release notebooks of {where} could not be built ({err})"
        print(f"cnnkit grade: notebook cells not checked: {problem}", file=sys.stderr)
        return None, where, problem


def _progress(total, enabled):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="submission", desc="grading")


def grade_submissions(submissions, out, assignment="cnn",
                      workers=SETTINGS["workers"].default, timeout=SETTINGS["timeout"].default,
                      memory_mb=SETTINGS["memory_mb"].default, secret=None, nbgrader=None,
                      data=None, heldout=SETTINGS["heldout"].default, progress=False,
                      course=None, similarity_threshold=None, archive=None, roster=None,
                      canvas_id=None, scheduler=None, cluster=None):
    """Grade every submission under ``submissions``; write reports to ``out``.

    Parameters
    ----------
    submissions : folder with one subfolder per student, or an nbgrader
        ``submitted/<student>/<assignment>/`` tree (or the course root holding it).
    out : report folder (created); must not overlap ``submissions``.
    assignment : assignment name (``"cnn"``).
    workers : submissions graded in parallel, each driving its own sandboxes.
    timeout : seconds of CPU and wall-clock time for each test group's sandbox.
    memory_mb : address-space limit of the sandboxed process.
    secret : course secret file; default :func:`cnnkit.grader.testbank.secret.default_secret_path`,
        created on first use.
    nbgrader : an nbgrader course root whose gradebook receives the scores.
    data : CIFAR-10 archive or folder for the accuracy test (default ``CNNKIT_DATA``,
        then the cnnkit cache); without data the accuracy group is an error.
    heldout : number of held-out test images for the accuracy test.
    The ranges and defaults of ``workers``, ``timeout``, ``memory_mb`` and ``heldout``
    are :data:`cnnkit.grader.settings.SETTINGS`.
    progress : show a progress bar (tqdm) over submissions.
    course : the instructor's course folder (``cnnkit course new``), whose
        ``source/<assignment>/`` notebooks the notebook check compares against;
        default: the course template installed with cnnkit.
    similarity_threshold, archive, roster, canvas_id : for the class report written at the
        end (``class.html``, copy detection, exports), see
        :func:`cnnkit.grader.report.class_report.write_class_report`; ``archive`` is
        ``{id: folder}``.
    scheduler : address of a running Dask scheduler (e.g. ``"tcp://10.0.0.5:8786"``): each
        student is one task on its workers; ``workers`` is then unused.
    cluster : ``"local:N"`` starts a Dask LocalCluster of N single-threaded worker
        processes instead. Both need ``cnnkit[cluster]``; see :mod:`cnnkit.grader.cluster`.

    Returns
    -------
    BatchResult; students the grader failed have status ``grader_error`` and no score
    (``BatchResult.not_graded``). Raises GraderUsageError for bad arguments, and
    SandboxSelfTestError, before anyone is graded, when the sandbox's start-up
    self-test (:func:`cnnkit.grader.sandbox.selftest.sandbox_self_test`) fails.
    """
    start = time.perf_counter()
    try:
        assign = get_assignment(assignment)
    except ValueError as err:
        raise GraderUsageError(str(err)) from None
    for name, value in (("workers", workers), ("timeout", timeout), ("memory_mb", memory_mb),
                        ("heldout", heldout)):
        check_setting(name, value)
    local_workers = check_cluster_options(scheduler, cluster)
    sub_root, out = check_folders(submissions, out)
    if secret is not None and sub_root in Path(secret).resolve().parents:
        raise GraderUsageError(f"--secret {secret} must not be inside SUBMISSIONS")
    _check_class_report(similarity_threshold, roster)
    gradebook_writer = None
    if nbgrader is not None:
        from .report.gradebook import check_course
        gradebook_writer = check_course(nbgrader)
    notebooks, notebook_source, notebook_problem = _instructor_notebooks(assign, course)
    secret_obj = load_secret(secret)
    limits = limits_for(timeout, int(memory_mb))
    self_test = sandbox_self_test(run_limits(limits, 1))
    if not self_test.ok:
        raise SandboxSelfTestError(self_test)
    found = collect(sub_root, assign)
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="cnnkit-heldout-")
    try:
        held, problem = load_heldout(data, int(heldout), scratch)
        ctx = GradingContext(assignment=assign, secret=secret_obj,
                             limits=limits, out=out,
                             heldout=held, heldout_problem=problem,
                             grader_key=grader_key(assign, held, problem),
                             notebooks=notebooks, notebook_source=notebook_source,
                             notebook_problem=notebook_problem, isolation=self_test.isolation)
        result = BatchResult(out, self_test=self_test)
        todo = []
        for sub in found:
            old = previous_record(out, sub, ctx)
            if old is not None:
                result.records.append(old)
                result.skipped.append(sub.student_id)
            else:
                todo.append(sub)
        session = None
        if todo and (scheduler is not None or local_workers):  # nothing to send: no cluster
            probe = next((s for s in todo if not s.problem), None)
            session = ClusterSession(ctx, scheduler, local_workers, probe)
        bar = _progress(len(found), progress)
        if bar:
            bar.update(len(result.skipped))
        grade_start = time.perf_counter()
        try:
            for record in session.grade(todo) if session else _grade_all(ctx, todo, int(workers)):
                result.records.append(record)
                result.graded.append(record["student_id"])
                if bar:
                    bar.update(1)
        finally:
            if bar:
                bar.close()
            if session:
                session.close()
        grade_seconds = time.perf_counter() - grade_start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.records.sort(key=lambda r: r["student_id"])
    timing = _timing(result, start, grade_seconds,
                     len(session.facts) if session else int(workers))
    result.summary = report.write_batch(
        ctx, result.records, timing, self_test.to_dict(),
        session.summary(len(result.graded)) if session else None)
    if gradebook_writer is not None:
        gradebook_writer(assign, result.records)
    result.class_report = _class_report(
        out, result, {s.student_id: s.folder for s in found if s.folder and not s.problem},
        similarity_threshold=similarity_threshold, archive=archive, roster=roster,
        canvas_id=canvas_id, progress=progress)
    return result


def _check_class_report(threshold, roster):
    from .report.exports import read_roster
    from .report.similarity import check_threshold
    try:
        if threshold is not None:
            check_threshold(threshold)
        if roster is not None:
            read_roster(roster)
    except ValueError as err:
        raise GraderUsageError(str(err)) from None


def _class_report(out, result, folders, **options):
    """The class report of the batch; a failure there is reported, never loses the grades."""
    from .report.class_report import write_class_report
    try:
        return write_class_report(out, result.records, result.summary, submissions=folders,
                                  threshold=options.pop("similarity_threshold"), **options)
    except Exception as err:  # the grades are written: say what is missing and go on
        print(f"cnnkit grade: class report not written ({type(err).__name__}: {err}); "
              f"run cnnkit report {out} to retry", file=sys.stderr)
        return None


def _grade_all(ctx, todo, workers):
    """Yield each submission's record as it finishes (in a pool when ``workers > 1``)."""
    if workers == 1 or len(todo) <= 1:
        for sub in todo:
            yield grade_one(ctx, sub)
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=cache.install, initargs=cache.snapshot(ctx))
    with pool:
        futures = {pool.submit(grade_one, ctx, sub): sub for sub in todo}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as err:  # a worker died (e.g. killed by the OS): not the batch
                record = grader_error(ctx, futures[future], f"a grading worker failed "
                                      f"({type(err).__name__}: {err})")
                report.write_student(ctx.out, record)
                yield record


def _timing(result, start, grade_seconds, workers):
    graded = [r for r in result.records if r["student_id"] in set(result.graded)]
    per = [r["seconds"] for r in graded if r["status"] == "graded"]
    return {"wall_seconds": round(time.perf_counter() - start, 2),
            "grading_seconds": round(grade_seconds, 2), "workers": workers,
            "graded_this_run": len(result.graded), "skipped_unchanged": len(result.skipped),
            "submissions_per_minute": round(60 * len(result.graded) / grade_seconds, 1)
            if result.graded and grade_seconds > 0 else None,
            "student_seconds_mean": round(sum(per) / len(per), 2) if per else None,
            "student_seconds_max": round(max(per), 2) if per else None}
