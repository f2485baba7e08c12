"""`cnnkit grade`: files, exit codes, resume, atomic writes. A one-group assignment
keeps these fast; the full assignment is exercised in test_pipeline.py."""
import json
import os
import shutil

import pytest

from cnnkit.grader.report import atomic
from cnnkit.grader.cli import main


@pytest.fixture
def batch(tmp_path, builds):
    subs = tmp_path / "subs"
    shutil.copytree(builds["solution"], subs / "alice")
    shutil.copytree(builds["stub"], subs / "bob")
    (subs / "carol").mkdir(parents=True)
    (subs / "carol" / "notes.txt").write_text("forgot to upload")
    return subs


def grade(subs, out, secret, *extra):
    return main(["grade", str(subs), "--assignment", "tiny", "--out", str(out), "--secret",
                 str(secret), "--no-progress", *extra])


def test_grade_writes_the_contract_files(tiny, batch, tmp_path, secret_file, capsys):
    out = tmp_path / "out"
    assert grade(batch, out, secret_file) == 0
    lines = (out / "grades.csv").read_text().splitlines()
    assert lines[0] == "student_id,conv_forward_naive,total,max_total,status,reason"
    assert lines[1] == "alice,10,10,10,graded,"
    assert lines[2] == "bob,0,0,10,graded,"
    assert lines[3].startswith("carol,0,0,10,ungradable,no nndl/ folder found")
    for student in ("alice", "bob", "carol"):
        assert {p.name for p in (out / student).iterdir()} == {
            "grade.json", "results.json", "feedback.html"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["students_by_status"] == {"graded": 2, "ungradable": 1}
    assert "grades:" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["grade", "{missing}", "--out", "{out}"], "SUBMISSIONS {missing}: not a folder"),
    (["grade", "{subs}", "--out", "{out}", "--assignment", "nope"],
     "unknown assignment 'nope'; known assignments: cnn"),
    (["grade", "{subs}", "--out", "{subs}/reports"], "must be outside SUBMISSIONS"),
    (["grade", "{subs}", "--out", "{out}", "--workers", "0"], "workers must be from 1 to 64, got 0"),
    (["grade", "{subs}", "--out", "{out}", "--memory", "10"], "memory_mb must be from 256"),
    (["grade", "{subs}", "--out", "{out}", "--nbgrader", "{subs}"],
     "not an nbgrader course folder"),
    (["grade", "--out", "{out}"], "SUBMISSIONS is required"),
])
def test_misuse_exits_2_with_a_clear_message(tmp_path, batch, args, message, capsys):
    fill = {"missing": tmp_path / "missing", "out": tmp_path / "out", "subs": batch}
    argv = [a.format(**fill) for a in args] + ["--secret", str(tmp_path / "s"), "--no-progress"]
    assert main(argv) == 2
    assert message.format(**fill) in capsys.readouterr().err


def test_resume_skips_unchanged_and_regrades_changed(tiny, batch, tmp_path, secret_file):
    from cnnkit.grader.api import grade_submissions
    out = tmp_path / "out"
    first = grade_submissions(batch, out, assignment="tiny", secret=secret_file)
    assert sorted(first.graded) == ["alice", "bob", "carol"]
    stamp = (out / "alice" / "grade.json").stat().st_mtime_ns
    again = grade_submissions(batch, out, assignment="tiny", secret=secret_file)
    assert again.graded == [] and sorted(again.skipped) == ["alice", "bob", "carol"]
    assert (out / "alice" / "grade.json").stat().st_mtime_ns == stamp
    assert [r["total"] for r in again.records] == [r["total"] for r in first.records]
    shutil.rmtree(batch / "bob")
    shutil.copytree(batch / "alice", batch / "bob")
    third = grade_submissions(batch, out, assignment="tiny", secret=secret_file)
    assert third.graded == ["bob"]
    assert {r["student_id"]: r["total"] for r in third.records}["bob"] == 10
    other = tmp_path / "other.secret"
    other.write_text("a-different-course-secret-0123456789\n")
    fourth = grade_submissions(batch, out, assignment="tiny", secret=other)
    assert len(fourth.graded) == 3  # a new secret means new hidden cases


def test_interrupted_student_is_regraded(tiny, batch, tmp_path, secret_file):
    from cnnkit.grader.api import grade_submissions
    out = tmp_path / "out"
    grade_submissions(batch, out, assignment="tiny", secret=secret_file)
    (out / "alice" / "grade.json").unlink()  # as if killed before the record was written
    again = grade_submissions(batch, out, assignment="tiny", secret=secret_file)
    assert again.graded == ["alice"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "grades.csv"
    atomic.write_text(path, "old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]  # no temp file left


def test_default_secret_is_created_once_and_only_its_fingerprint_recorded(
        tiny, batch, tmp_path, monkeypatch):
    from cnnkit.grader.api import grade_submissions
    from cnnkit.grader.testbank.secret import fingerprint
    secret = tmp_path / "config" / "course.secret"
    monkeypatch.setenv("CNNKIT_SECRET", str(secret))
    shutil.rmtree(batch / "bob")
    shutil.rmtree(batch / "carol")
    result = grade_submissions(batch, tmp_path / "out", assignment="tiny")
    key = secret.read_bytes().strip()
    assert oct(secret.stat().st_mode & 0o777) == "0o600" and len(key) == 64
    assert result.summary["secret_fingerprint"] == fingerprint(key)
    grade_submissions(batch, tmp_path / "out2", assignment="tiny")
    assert secret.read_bytes().strip() == key


def test_the_grader_commands_load_without_ipywidgets():
    """An instructor installs the grader extra only: no ipywidgets, and cnnkit must start."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['ipywidgets'] = None\n"
            "from cnnkit.grader.cli import main\n"
            "try:\n    main(['grade', '--help'])\nexcept SystemExit as done:\n"
            "    assert done.code == 0, done.code\n"
            "assert 'ipywidgets' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "--assignment" in run.stdout
