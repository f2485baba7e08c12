"""Grader failures are not grades: a student the grader failed gets `grader_error`, no
score anywhere, and the next run retries them; a student's own crash is still theirs.

The fault is injected the way it happens: the sandbox cannot start the interpreter, for
one student only, in the middle of a batch (workers=1, so the patch reaches the runs)."""
import contextlib
import csv
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from cnnkit.grader.run import step as execute
from cnnkit.grader.cli import main
from cnnkit.grader.errors import GraderFault
from cnnkit.grader.run.step import check_started
from cnnkit.grader.sandbox import HARNESS
from cnnkit.grader.sandbox.harness import READY
from cnnkit.grader.sandbox.isolation import (Limits, SandboxResult, python_argv,
                                            run_sandboxed)

FAULT_MARK = "inject_sandbox_fault.py"
BROKEN_PYTHON = "/nonexistent/cnnkit-test/bin/python3"


@contextlib.contextmanager
def sandbox_fault():
    """Sandbox runs of a student holding FAULT_MARK cannot start their interpreter."""
    def flaky(workdir, argv, limits, *args, **kwargs):
        if (Path(workdir) / FAULT_MARK).exists():
            argv = [BROKEN_PYTHON, *argv[1:]]
        return run_sandboxed(workdir, argv, limits, *args, **kwargs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(execute, "run_sandboxed", flaky)
        yield


def rows(out):
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def grade(course, out, secret, *extra):
    return main(["grade", str(course), "--assignment", "tiny", "--out", str(out), "--secret",
                 str(secret), "--no-progress", "--nbgrader", str(course), *extra])


def test_sandbox_failing_for_one_student_mid_batch_is_not_a_grade(
        tiny, tmp_path, builds, secret_file, capsys):
    nbapi = pytest.importorskip("nbgrader.api")
    from cnnkit.grader.report.gradebook import HIDDEN_NOTEBOOK
    course = tmp_path / "course"
    (course / "submitted").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    for student in ("alice", "bob", "carol"):  # bob is graded second, between the others
        shutil.copytree(builds["solution"], course / "submitted" / student / "tiny")
    (course / "submitted" / "bob" / "tiny" / FAULT_MARK).write_text("# marks the fault\n")
    out = tmp_path / "out"

    with sandbox_fault():
        assert grade(course, out, secret_file) == 4
    err = capsys.readouterr().err
    assert "1 student(s) NOT GRADED because the grader failed on them" in err and "bob" in err
    bob = json.loads((out / "bob" / "grade.json").read_text())
    assert bob["status"] == "grader_error" and bob["total"] is None and bob["groups"] == []
    assert "the sandbox did not reach the student's code" in bob["reason"]
    assert BROKEN_PYTHON in bob["reason"]
    results = json.loads((out / "bob" / "results.json").read_text())
    assert "score" not in results and results["tests"] == []
    assert "not your fault" in results["output"]
    assert "not your fault" in (out / "bob" / "feedback.html").read_text()
    table = rows(out)
    assert (table["bob"]["conv_forward_naive"], table["bob"]["total"], table["bob"]["status"]) \
        == ("", "", "grader_error")
    for other in ("alice", "carol"):  # everyone else graded as usual
        assert (table[other]["total"], table[other]["status"]) == ("10", "graded")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["not_graded"] == 1 and list(summary["grader_errors"]) == ["bob"]
    assert summary["students_by_status"] == {"graded": 2, "grader_error": 1}
    assert summary["self_test"]["ok"] is True
    url = f"sqlite:///{course / 'gradebook.db'}"
    with nbapi.Gradebook(url) as gb:
        assert gb.find_grade("conv_forward_naive", HIDDEN_NOTEBOOK, "tiny", "alice").score == 10
        with pytest.raises(nbapi.MissingEntry):
            gb.find_grade("conv_forward_naive", HIDDEN_NOTEBOOK, "tiny", "bob")

    # the fault is gone: the re-run grades bob, and only bob
    assert grade(course, out, secret_file) == 0
    assert "graded 1 submission(s), skipped 2 unchanged" in capsys.readouterr().out
    assert (rows(out)["bob"]["total"], rows(out)["bob"]["status"]) == ("10", "graded")
    assert json.loads((out / "bob" / "results.json").read_text())["score"] == 10
    with nbapi.Gradebook(url) as gb:
        assert gb.find_grade("conv_forward_naive", HIDDEN_NOTEBOOK, "tiny", "bob").score == 10


#: a student whose module, when imported, pretends to be the sandbox failing to start
FAKE_SANDBOX_FAILURE = ("import os, sys\n"
                        "sys.stderr.write(\"[sandbox] cannot run 'python3' as uid 1: "
                        "Permission denied\\n\")\n"
                        "os._exit(127)\n")


#: a student who deletes the harness and its inputs, then crashes: the restart must not
#: fail before reaching their code (it would pass for the grader's fault)
SABOTAGE = ("import glob, os\n"
            "for _path in ['harness.py', 'job.json', *glob.glob('inputs/*')]:\n"
            "    os.remove(_path)\n"
            "os._exit(1)\n")


@pytest.mark.parametrize("prefix", [FAKE_SANDBOX_FAILURE, SABOTAGE],
                         ids=["fakes-a-broken-sandbox", "deletes-the-harness"])
def test_a_student_who_crashes_like_a_broken_sandbox_is_charged_for_it(
        tiny, tmp_path, builds, secret_file, prefix):
    from cnnkit.grader.api import grade_submissions
    subs = tmp_path / "subs"
    shutil.copytree(builds["solution"], subs / "mallory")
    layers = subs / "mallory" / "nndl" / "conv_layers.py"
    layers.write_text(prefix + layers.read_text())
    result = grade_submissions(subs, tmp_path / "out", assignment="tiny", secret=secret_file)
    (record,) = result.records
    assert record["status"] == "graded" and record["total"] == 0 and result.not_graded == []
    assert {c["status"] for c in record["groups"][0]["cases"]} == {"crashed"}


def test_harness_failing_before_the_students_code_is_a_grader_fault(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(HARNESS, work / "harness.py")
    (work / "inputs").mkdir()  # the grader forgot the case's inputs
    (work / "job.json").write_text(json.dumps({"group_seconds": 10, "cases": [
        {"name": "g.000", "group": "g", "index": 0, "call": {"kind": "layer"}}]}))
    result = run_sandboxed(work, python_argv("harness.py"),
                           Limits(cpu_seconds=20, wall_seconds=30))
    with pytest.raises(GraderFault, match=r"did not reach the student's code .*"
                                          r"case g\.000 has no runner or no inputs"):
        check_started(SimpleNamespace(isolation=""), result)


def test_a_run_with_other_isolation_than_the_self_test_found_is_a_grader_fault():
    ran = SandboxResult("ok", 0, READY + "\n", "", 0.1, "rlimits only: bwrap failed (x)")
    check_started(SimpleNamespace(isolation=""), ran)  # no self-test: nothing to compare
    with pytest.raises(GraderFault, match="other isolation than the batch's self-test found"):
        check_started(SimpleNamespace(isolation="bwrap: mount+pid"), ran)


def test_student_files_cannot_run_before_the_harness_is_ready(tmp_path):
    """Run as `python -I`, a student's json.py or numpy.py in the work folder does not
    shadow the harness's own imports (it would run before READY)."""
    work = tmp_path / "work"
    work.mkdir()
    for name in ("json.py", "numpy.py"):
        (work / name).write_text("import os\nos._exit(9)\n")
    (work / "script.py").write_text(f"import json, numpy\nprint({READY!r})\n")
    result = run_sandboxed(work, python_argv("script.py"), Limits(cpu_seconds=20,
                                                                  wall_seconds=30))
    assert result.status == "ok" and result.stdout.startswith(READY), result.stderr
    assert python_argv("x.py")[:2] == [sys.executable, "-I"]


def test_a_bug_in_a_step_is_a_grader_error_for_that_student(tiny, tmp_path, builds,
                                                             secret_file, monkeypatch):
    from cnnkit.grader import pipeline
    from cnnkit.grader.api import grade_submissions
    subs = tmp_path / "subs"
    for student in ("alice", "bob"):
        shutil.copytree(builds["solution"], subs / student)

    def compare_with_a_bug(ctx, work):
        if work.submission.student_id == "bob":
            raise KeyError("a key the grader forgot")
        return compare(ctx, work)
    steps = list(pipeline.STEPS)
    compare = steps[2]
    steps[2] = compare_with_a_bug
    monkeypatch.setattr(pipeline, "STEPS", tuple(steps))
    result = grade_submissions(subs, tmp_path / "out", assignment="tiny", secret=secret_file)
    assert result.not_graded == ["bob"]
    bob = {r["student_id"]: r for r in result.records}["bob"]
    assert bob["reason"].startswith("internal grader error (KeyError: 'a key the grader forgot')")
    assert result.summary["students_by_status"] == {"graded": 1, "grader_error": 1}


def test_a_submission_too_big_for_the_sandbox_is_cut_to_size_not_a_grader_fault(
        tmp_path, monkeypatch):
    """Copied whole, it would fill the sandbox's folder before the harness is ready."""
    monkeypatch.setattr(execute, "MAX_SOURCE_FILES", 3)
    monkeypatch.setattr(execute, "MAX_SOURCES_TOTAL", 250)
    student = tmp_path / "student"
    student.mkdir()
    for name, size in [("a.py", 100), ("b.py", 100), ("c.py", 100), ("d.py", 10), ("e.py", 10)]:
        (student / name).write_text("#" * size)
    execute.copy_sources(student, tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["a.py", "b.py", "d.py"]


def test_a_checkpoint_too_big_for_the_sandbox_is_the_students_error(tmp_path, secret_file,
                                                                     monkeypatch):
    import dataclasses
    from cnnkit.grader.api import grade_submissions
    from cnnkit.grader.testbank import groups as testbank
    from grader_helpers import add_rigged_checkpoint, write_fake_cifar
    only = dataclasses.replace(testbank.CNN, name="acc",
                               groups=(testbank.CNN.group("cifar10_accuracy"),))
    monkeypatch.setitem(testbank.ASSIGNMENTS, "acc", only)
    folder = tmp_path / "subs" / "dana"
    (folder / "nndl").mkdir(parents=True)
    add_rigged_checkpoint(folder)
    with open(folder / "checkpoints" / "challenge.npz", "r+b") as handle:
        handle.truncate(65 << 20)  # sparse: 65 MB on paper, nothing on disk
    result = grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="acc",
                               secret=secret_file, data=write_fake_cifar(tmp_path / "d", [True]),
                               heldout=10)
    (record,) = result.records
    assert record["status"] == "graded" and record["total"] == 0
    case = record["groups"][0]["cases"][0]
    assert case["status"] == "error"
    assert case["message"] == ("case 0: the challenge checkpoint checkpoints/challenge.npz is 65 MB, "
                               "over the limit of 64 MB: save only the model's parameters")
