"""Pipeline step "run": the student's code on every hidden case, in sandboxes.

The parent makes a fresh folder holding only the student's ``.py`` files, the
trusted ``harness.py``, ``job.json`` and the case inputs as ``.npz``, runs the
harness with :func:`run_sandboxed`, and reads back each case's outputs with
``allow_pickle=False``. All function groups share one sandbox run (starting
Python and numpy is most of the cost), each with its own time budget
(``timeout``, kept by the harness; the sandbox's wall and CPU limits, the sum
of the budgets, are the backstop). The accuracy group runs in a sandbox of its
own, which also holds the checkpoint and the held-out images (never labels).

A case that kills the process (``os._exit``, a segfault, the memory limit)
costs only that case: the remaining cases run again in a fresh process and a
freshly staged folder, up to ``MAX_RESTARTS`` times per group. After a timeout
the rest of that group is not run (its time is used up); the other groups are.

A run that never reached the student's code (no ``READY`` line from the
harness), or ran with other isolation than the batch's self-test found, is the
grader's failure: :class:`~cnnkit.grader.errors.GraderFault`, and the student
is recorded ``grader_error`` (see :func:`check_started`).
"""
import dataclasses
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GraderFault
from ..files import MAX_SOURCE_BYTES, is_regular, regular_files
from ..sandbox import HARNESS, Limits, run_sandboxed
from ..sandbox.harness import READY
from ..sandbox.isolation import MAX_LIMITS, make_work_root, python_argv
from ..sandbox.kernels import kernels_for
from ..testbank.cache import cases_for

MAX_RESTARTS = 3
#: largest output file read back
MAX_OUTPUT_BYTES = 64 << 20
#: most .py files, and bytes of them, copied into a sandbox
MAX_SOURCE_FILES, MAX_SOURCES_TOTAL = 2000, 32 << 20


@dataclass
class CaseRun:
    """What the sandbox gave back for one case (not yet a verdict)."""
    index: int
    status: str                       # "ok", "error", "timeout", "oom", "crashed"
    message: str = ""
    outputs: dict | None = None
    tripwire: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class GroupRun:
    group: str
    cases: list = field(default_factory=list)
    isolation: str = ""
    seconds: float = 0.0


def copy_sources(folder, dest):
    """Copy the ``.py`` files under ``folder`` into ``dest`` (regular files only, links never followed).

    At most ``MAX_SOURCE_FILES`` files and ``MAX_SOURCES_TOTAL`` bytes, far below the
    sandbox's folder limits: a submission too big for them would have its sandbox
    stopped before the harness reached its code, passing for a fault of the grader's.
    """
    copied, total = 0, 0
    for rel in regular_files(folder):
        src = os.path.join(folder, rel)
        if not rel.endswith(".py"):
            continue
        size = os.path.getsize(src)
        if (size > MAX_SOURCE_BYTES or copied >= MAX_SOURCE_FILES
                or total + size > MAX_SOURCES_TOTAL):
            continue
        copied, total = copied + 1, total + size
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(src, target)


def case_name(case):
    """File stem of a case's inputs and outputs, e.g. ``conv_forward_naive.003``."""
    return f"{case.group}.{case.index:03d}"


def stage(ctx, submission, cases, base):
    """A fresh sandbox folder for ``cases``: sources, harness and inputs."""
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    copy_sources(submission.folder, workdir)
    shutil.copyfile(HARNESS, workdir / "harness.py")
    (workdir / "inputs").mkdir()
    so = kernels_for(submission.folder)
    if so is not None and (workdir / "utils").is_dir():
        shutil.copyfile(so, workdir / "utils" / so.name)
    for case in cases:
        np.savez(workdir / "inputs" / f"{case_name(case)}.npz", **case.arrays)
        if case.call["kind"] == "predict":
            found = find_checkpoint(submission.folder, ctx.assignment.checkpoint)
            for suffix in (".npz", ".json"):
                shutil.copyfile(submission.folder / (found + suffix),
                                workdir / (case.call["checkpoint"] + suffix))
            shutil.copyfile(ctx.heldout.images_path, workdir / case.call["images"])
    return workdir


def write_job(workdir, cases, group_seconds):
    job = {"group_seconds": group_seconds,
           "cases": [{"name": case_name(c), "group": c.group, "index": c.index, "call": c.call}
                     for c in cases]}
    (workdir / "job.json").write_text(json.dumps(job))
    shutil.rmtree(workdir / "outputs", ignore_errors=True)


def load_outputs(path):
    """Arrays of an ``.npz`` the harness wrote: plain numbers only, size-capped."""
    if path.stat().st_size > MAX_OUTPUT_BYTES:
        raise ValueError(f"outputs are {path.stat().st_size} bytes, over {MAX_OUTPUT_BYTES}")
    with zipfile.ZipFile(path) as z:
        if sum(i.file_size for i in z.infolist()) > MAX_OUTPUT_BYTES:
            raise ValueError("outputs unpack to more than the size limit")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for key, value in arrays.items():
        if value.dtype.kind not in "fiub":
            raise ValueError(f"{key} has dtype {value.dtype}, not a number type")
    return arrays


def read_case(outdir, case):
    """The CaseRun of a finished case, or None when it never finished."""
    index = case.index
    try:
        report = json.loads((outdir / f"{case_name(case)}.json").read_text()[:100_000])
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or report.get("status") not in ("ok", "error", "timeout", "oom"):
        return CaseRun(index, "error", "the harness report of this case is unreadable")
    tripwire = [str(t)[:200] for t in report.get("tripwire", [])][:20]
    seconds = report.get("seconds", 0.0)
    seconds = float(seconds) if isinstance(seconds, (int, float)) else 0.0
    if report["status"] != "ok":
        return CaseRun(index, report["status"], str(report.get("error", ""))[:1000], None,
                       tripwire, seconds)
    try:
        outputs = load_outputs(outdir / f"{case_name(case)}.npz")
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        return CaseRun(index, "error", f"your outputs could not be read as plain numeric "
                                       f"arrays ({err})", None, tripwire)
    return CaseRun(index, "ok", "", outputs, tripwire, seconds)


def _why(result):
    tail = [line for line in result.stderr.strip().splitlines() if line.strip()][-3:]
    said = (" Last output: " + " | ".join(tail))[:600] if tail else ""
    if result.status == "timeout":
        return "timed out (an infinite loop, or far too slow?)." + said
    if result.status == "oom":
        return "ran out of memory." + said
    return (f"the process ended during this case (exit status {result.returncode}; "
            f"sys.exit, os._exit or a crash?)." + said)


def run_once(ctx, submission, cases, base):
    """One sandbox run of ``cases``, in a freshly staged folder.

    Fresh each time, so that nothing a crashed run left behind (a deleted harness,
    edited inputs) can make the next one fail before the student's code, which
    would pass for a fault of the grader's. Returns the SandboxResult, the
    finished cases ``{(group, index): CaseRun}``, and the cases that started
    but did not finish.
    """
    workdir = stage(ctx, submission, cases, base)
    try:
        write_job(workdir, cases, ctx.limits.wall_seconds)
        result = run_sandboxed(workdir, python_argv("harness.py"),
                               run_limits(ctx.limits, len({c.group for c in cases})))
        check_started(ctx, result)
        outdir = workdir / "outputs"
        finished = {}
        for case in cases:
            found = read_case(outdir, case)
            if found is not None:
                finished[case.group, case.index] = found
        started = [c for c in cases if (c.group, c.index) not in finished
                   and (outdir / f"{case_name(c)}.started").exists()]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result, finished, started


def run_cases(ctx, submission, cases, base):
    """Run ``cases`` (of one or more groups) in sandboxes; ``{(group, index): CaseRun}``."""
    done, crashes = {}, {}
    remaining = list(cases)
    isolation = ""
    while remaining:
        result, finished, started = run_once(ctx, submission, remaining, base)
        isolation = result.isolation
        done.update(finished)
        unfinished = [c for c in remaining if (c.group, c.index) not in done]
        if not unfinished:
            break
        if not started and result.status == "ok":
            for c in unfinished:
                done[c.group, c.index] = CaseRun(c.index, "error", "the harness skipped this case")
            break
        # the case that was running, or the first one if the process died before any
        culprit = started[0] if started else unfinished[0]
        status = result.status if result.status in ("timeout", "oom") else "crashed"
        done[culprit.group, culprit.index] = CaseRun(culprit.index, status, _why(result))
        crashes[culprit.group] = crashes.get(culprit.group, 0) + 1
        for c in unfinished:
            if c.group != culprit.group or (c.group, c.index) in done:
                continue
            if status == "timeout":
                done[c.group, c.index] = CaseRun(
                    c.index, "timeout", "not run: an earlier case used up the group's time limit")
            elif crashes[c.group] > MAX_RESTARTS or not started:
                done[c.group, c.index] = CaseRun(
                    c.index, "crashed", "not run: the sandbox ended abnormally too many "
                    "times. " + _why(result))
        remaining = [c for c in unfinished if (c.group, c.index) not in done]
    return done, isolation


def run_limits(limits, n_groups):
    """Limits of one sandbox run of ``n_groups`` groups, each with ``limits``' time budget."""
    return dataclasses.replace(
        limits,
        wall_seconds=min(MAX_LIMITS["wall_seconds"], limits.wall_seconds * n_groups + 10),
        cpu_seconds=min(MAX_LIMITS["cpu_seconds"], limits.cpu_seconds * n_groups + 10))


def check_started(ctx, result):
    """Raise GraderFault unless the run reached the student's code in the batch's sandbox.

    The evidence is the harness's :data:`~cnnkit.grader.sandbox.harness.READY` line, written
    before anything of the student's is loaded (so a student cannot suppress it), and
    the isolation the run got, which must be the one the batch's self-test found.
    """
    if not result.stdout.startswith(READY):
        said = [line.strip() for line in result.stderr.strip().splitlines() if line.strip()]
        raise GraderFault(f"the sandbox did not reach the student's code (status "
                          f"{result.status}, exit code {result.returncode}): "
                          + (" | ".join(said[-3:])[:600] or "no output"))
    if ctx.isolation and result.isolation != ctx.isolation:
        raise GraderFault(f"the sandbox ran with other isolation than the batch's self-test "
                          f"found: {result.isolation!r} instead of {ctx.isolation!r}")


def limits_for(timeout, memory_mb):
    """Sandbox limits of one group run: ``timeout`` seconds of CPU and wall clock."""
    return Limits(cpu_seconds=timeout, wall_seconds=timeout, memory_mb=memory_mb)


def find_checkpoint(folder, candidates):
    """Base path (no suffix) of the student's challenge checkpoint, or None.

    The assignment's declared places come first; otherwise any ``X.json`` with
    an ``X.npz`` beside it whose JSON names a ``module`` and ``class``.
    """
    def ok(base):
        return all(is_regular(folder / (base + s)) for s in (".npz", ".json"))
    for base in candidates:
        if ok(base):
            return base
    found = []
    for rel in regular_files(folder):
        if not rel.endswith(".json"):
            continue
        spec, base = folder / rel, rel[:-len(".json")]
        if spec.stat().st_size > 100_000 or not ok(base) or "expected" in spec.parts:
            continue
        try:
            data = json.loads(spec.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and {"module", "class"} <= set(data):
            found.append(base)
    return found[0] if len(found) == 1 else None


def missing_inputs(ctx, submission, group, case):
    """Why ``case`` cannot run at all (a message for the student), or ''."""
    g = ctx.assignment.group(group)
    if case.call["kind"] == "predict":
        if ctx.heldout is None:
            return f"cannot measure accuracy: {ctx.heldout_problem}"
        found = find_checkpoint(submission.folder, ctx.assignment.checkpoint)
        if found is None:
            where = " or ".join(f"{b}.npz + {b}.json" for b in ctx.assignment.checkpoint)
            return (f"no challenge checkpoint found: expected {where}. Save your trained "
                    "model with utils.checkpoint.save_checkpoint(path, model, spec) as the "
                    "last notebook asks.")
        size = sum((submission.folder / (found + s)).stat().st_size for s in (".npz", ".json"))
        limit = ctx.limits.file_size_mb // 4  # room left for the held-out images and outputs
        if size > limit << 20:
            return (f"the challenge checkpoint {found}.npz is {size / (1 << 20):.0f} MB, over "
                    f"the limit of {limit} MB: save only the model's parameters")
        return ""
    path = submission.folder / g.module_file
    if not is_regular(path):
        return f"{g.module_file} is missing from your submission (or is not a regular file)"
    return ""


def run(ctx, work):
    """Step: fill ``work.raw`` with a :class:`GroupRun` per test group."""
    base = make_work_root()
    try:
        batches = {"functions": [], "accuracy": []}
        for g in ctx.assignment.groups:
            cases = cases_for(ctx, g.name)
            problem = missing_inputs(ctx, work.submission, g.name, cases[0])
            if problem:
                work.raw[g.name] = GroupRun(g.name, [CaseRun(c.index, "error", problem)
                                                     for c in cases])
                continue
            predict = cases[0].call["kind"] == "predict"
            batches["accuracy" if predict else "functions"].append((g.name, cases))
        for groups in batches.values():
            if not groups:
                continue
            cases = [c for _, cs in groups for c in cs]
            done, isolation = run_cases(ctx, work.submission, cases, base)
            work.isolation = isolation or work.isolation
            for name, cs in groups:
                runs = [done[c.group, c.index] for c in cs]
                work.raw[name] = GroupRun(name, runs, isolation, sum(r.seconds for r in runs))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return work
