"""Grade the one submission of a Gradescope container: what ``run_autograder`` runs.

``python -I -m cnnkit.grader.gradescope.runner [ROOT]`` (``ROOT`` defaults to
``$AUTOGRADER_ROOT``, then ``/autograder``) grades ``ROOT/submission`` with
the settings, secret and held-out data that ``cnnkit gradescope`` packed into
``ROOT/source``, and ALWAYS writes ``ROOT/results/results.json``: a grader
failure becomes a result with score 0 and an instructor-visible message, never
a missing file. ``--check`` runs only the sandbox self-test and prints what
isolation holds here (``setup.sh`` calls it).

Before grading, a self-test runs a probe in the sandbox, exactly as student code
will run: it must start, and it tries to read the secret and the held-out
labels and to open a socket. What it manages is reported as not closed.
"""
import argparse
import json
import os
import pwd
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..report.atomic import write_json

CONFIG = "cnnkit-autograder.json"
SANDBOX_USER = "cnnkit-sandbox"
PROBE = r"""
import json, socket, sys
seen = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        seen[path] = "read"
    except OSError as err:
        seen[path] = type(err).__name__
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    seen["network"] = "connected"
except OSError as err:
    seen["network"] = type(err).__name__
import numpy
print(json.dumps(seen))
"""


@dataclass(frozen=True)
class Layout:
    """Where things are in a Gradescope container (all under ``root``)."""
    root: Path

    @property
    def source(self):
        return self.root / "source"

    @property
    def private(self):
        return self.source / "private"

    @property
    def submission(self):
        return self.root / "submission"

    @property
    def results(self):
        return self.root / "results" / "results.json"

    @property
    def student_python(self):
        return self.root / "cnnkit-student" / "bin" / "python"

    def config(self):
        return json.loads((self.source / CONFIG).read_text())


@dataclass
class SelfTest:
    ok: bool
    isolation: str = ""
    gaps: list = field(default_factory=list)
    detail: str = ""


def default_root():
    return Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")


def sandbox_uid():
    """The uid of the user ``setup.sh`` created for student code, or None (a per-run uid)."""
    try:
        return pwd.getpwnam(SANDBOX_USER).pw_uid if os.geteuid() == 0 else None
    except KeyError:
        return None


def self_test(layout):
    """Run the probe in the sandbox as student code will run; what held, what did not."""
    from ..sandbox import Limits, confine, run_sandboxed
    private = [str(layout.private / name) for name in ("course.secret", "heldout-labels.json")]
    work = Path(tempfile.mkdtemp(prefix="cnnkit-selftest-"))
    try:
        os.chmod(work, 0o755)
        (work / "job").mkdir()
        (work / "job" / "probe.py").write_text(PROBE)
        python = str(layout.student_python)
        result = run_sandboxed(work / "job", [python, "-E", "-s", "probe.py", *private],
                               Limits(cpu_seconds=30, wall_seconds=60, memory_mb=1024),
                               python=python, uid=sandbox_uid())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log = (result.stdout + result.stderr).strip()[-2000:]
    try:
        seen = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return SelfTest(False, result.isolation, [], f"the probe did not run ({result.status}): "
                        + log)
    offer = confine.available()
    plan = {"seccomp": offer["seccomp"], "landlock": offer["landlock"] > 0,
            "problems": offer["problems"]}
    if result.isolation.startswith("bwrap:"):
        gaps = []
    else:
        confined = result.isolation.startswith("confined:")
        gaps = confine.gaps(plan if confined else None, os.geteuid() == 0)
    gaps += [f"files: the self-test read {path}" for path in private if seen.get(path) == "read"]
    if seen.get("network") == "connected":
        gaps.append("network: the self-test connected to 1.1.1.1:53")
    return SelfTest(result.status == "ok", result.isolation, gaps, log)


def startup_check(layout, config):
    """The one place the sandbox start-up self-test is called.

    First the grader's own self-test (:mod:`cnnkit.grader.sandbox.selftest`) in the sandbox
    student code will get (the students' interpreter, the sandbox user, the configured
    limits); then the probe of :func:`self_test` for what that sandbox can still reach.
    """
    from ..run.step import limits_for
    from ..sandbox import run_sandboxed
    from ..sandbox.selftest import sandbox_self_test
    python, uid = str(layout.student_python), sandbox_uid()

    def runner(workdir, argv, limits):
        return run_sandboxed(workdir, [python, *argv[1:]], limits, python=python, uid=uid)
    found = sandbox_self_test(limits_for(config["timeout"], config["memory_mb"]), runner)
    if not found.ok:
        return SelfTest(False, found.isolation, [], found.message())
    return self_test(layout)


def facts_of(config, check=None):
    from importlib.metadata import version
    facts = {"cnnkit_version": version("cnnkit"), "assignment": config.get("assignment"),
             "secret_fingerprint": config.get("secret_fingerprint"),
             "heldout": config.get("heldout", {}).get("source")}
    if check is not None:
        facts.update(isolation=check.isolation, isolation_gaps=check.gaps)
    facts["notes"] = list(config.get("notes", []))
    return facts


def build_context(layout, config, work, isolation):
    from ..context import GradingContext, HeldOut
    from ..run.step import limits_for
    from ..testbank.secret import load_secret
    from ..testbank import get_assignment
    private = layout.private
    secret = load_secret(private / "course.secret", create=False)
    if secret.fingerprint != config["secret_fingerprint"]:
        raise RuntimeError(f"the packed secret's fingerprint {secret.fingerprint} is not the "
                           f"one recorded at build time ({config['secret_fingerprint']})")
    labels = tuple(json.loads((private / "heldout-labels.json").read_text()))
    heldout = HeldOut(str(private / "heldout-images.npy"), labels, config["heldout"]["source"])
    cells_file = private / "notebook-cells.json"
    cells = json.loads(cells_file.read_text()) if cells_file.is_file() else None
    return GradingContext(assignment=get_assignment(config["assignment"]), secret=secret,
                          isolation=isolation,
                          limits=limits_for(config["timeout"], config["memory_mb"]),
                          out=work / "out", heldout=heldout, grader_key="gradescope",
                          notebooks=cells, python=str(layout.student_python),
                          sandbox_uid=sandbox_uid())


def grade_upload(layout, config, check):
    """Grade ``layout.submission``; the results dict (never None)."""
    from ..collect.step import fingerprint_folder
    from ..context import Submission
    from ..pipeline import grade_one
    from . import upload
    from .results import from_record, grader_failure
    facts = facts_of(config, check)
    if not check.ok:
        return grader_failure("the sandbox self-test failed: student code cannot run here",
                              check.detail, facts)
    work = Path(tempfile.mkdtemp(prefix="cnnkit-gradescope-"))
    try:
        ctx = build_context(layout, config, work, check.isolation)
        folder, problem = upload.prepare(layout.submission, work / "staging", ctx.assignment)
        sub = Submission("submission", folder, problem=problem)
        if folder is not None:
            sub.fingerprint = fingerprint_folder(folder)
        record = grade_one(ctx, sub)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if record["status"] == "grader_error":
        return grader_failure(record["reason"], "", facts, record["seconds"])
    return from_record(record, facts, config.get("hidden_details", "after_due_date"))


def write_results(layout, results):
    """Write ``results.json`` atomically in a folder only root can write."""
    folder = layout.results.parent
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(folder, 0, 0)
    os.chmod(folder, 0o755)
    write_json(layout.results, results)


def show(results, stream=None):
    """What the instructor reads in Gradescope's autograder output (stdout)."""
    stream = stream or sys.stdout
    extra = results.get("extra_data", {})
    print(f"cnnkit {extra.get('cnnkit_version')}: score {results['score']:g}, status "
          f"{extra.get('status')}, {results.get('execution_time')} s", file=stream)
    print(f"isolation: {extra.get('isolation')}", file=stream)
    for gap in extra.get("isolation_gaps") or []:
        print(f"not closed: {gap}", file=stream)
    if extra.get("error"):
        print(f"grader error: {extra['error']}", file=stream)


def run_autograder(root=None):
    """Grade the container's submission and write ``results.json``; returns the results."""
    from .results import grader_failure
    start = time.monotonic()
    layout = Layout(Path(root) if root is not None else default_root())
    try:
        layout.results.unlink()
    except OSError:
        pass
    facts = {}
    try:
        config = layout.config()
        facts = facts_of(config)
        results = grade_upload(layout, config, startup_check(layout, config))
    except Exception as err:  # the grader failed: still a results.json, and why
        results = grader_failure(f"{type(err).__name__}: {err}", traceback.format_exc(), facts)
    results["execution_time"] = round(time.monotonic() - start, 1)
    write_results(layout, results)
    show(results)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnkit.grader.gradescope.runner",
                                     description="Grade a Gradescope container's submission.")
    parser.add_argument("root", nargs="?", default=None,
                        help="autograder root (default: $AUTOGRADER_ROOT or /autograder)")
    parser.add_argument("--check", action="store_true",
                        help="only run the sandbox self-test and print what holds")
    args = parser.parse_args(argv)
    if args.check:
        layout = Layout(Path(args.root) if args.root else default_root())
        check = startup_check(layout, layout.config())
        print(f"sandbox self-test: {'ok' if check.ok else 'FAILED'}\nisolation: "
              f"{check.isolation}")
        for gap in check.gaps:
            print(f"not closed: {gap}")
        if not check.ok:
            print(check.detail)
        return 0 if check.ok else 1
    run_autograder(args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
