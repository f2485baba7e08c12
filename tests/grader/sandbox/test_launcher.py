"""The sandbox's launcher, run as the sandbox runs it: ``python -I -S -c <its text> ...``."""
import json
import os
import subprocess
import sys

from cnnkit.grader.sandbox import isolation, launcher


def launch(workdir, argv, limits=None, uid=0):
    """Run the launcher; return (its status lines, the completed process)."""
    read, write = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", isolation.LAUNCHER, str(write), str(uid),
             json.dumps(limits or {}), str(workdir), "--", *argv],
            pass_fds=(write,), capture_output=True, text=True, timeout=60)
    finally:
        os.close(write)
    with os.fdopen(read) as status:
        return status.read().splitlines(), done


def test_the_sandbox_runs_the_text_of_the_launcher_module():
    with open(launcher.__file__, encoding="utf-8") as source:
        assert isolation.LAUNCHER == source.read()


def test_the_child_runs_in_workdir_with_the_limits(tmp_path):
    script = ("import os, resource; "
              "print(os.getcwd(), *resource.getrlimit(resource.RLIMIT_NOFILE), "
              "*resource.getrlimit(resource.RLIMIT_CORE))")
    lines, done = launch(tmp_path, [sys.executable, "-c", script],
                         {"RLIMIT_NOFILE": [32, 32], "RLIMIT_CORE": [0, 0]})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path), "32", "32", "0", "0"]
    assert lines[0] == "started"
    report = json.loads(lines[1])
    assert os.waitstatus_to_exitcode(report["wait_status"]) == 0
    assert report["cpu"] >= 0


def test_the_wait_status_reports_the_childs_exit_code(tmp_path):
    lines, _ = launch(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    assert os.waitstatus_to_exitcode(json.loads(lines[1])["wait_status"]) == 3


def test_a_program_that_cannot_run_exits_127_and_says_why(tmp_path):
    lines, done = launch(tmp_path, [str(tmp_path / "missing-program")])
    status = json.loads(lines[1])["wait_status"]
    assert os.waitstatus_to_exitcode(status) == launcher.EXEC_FAILED
    assert "[sandbox] cannot run" in done.stderr and "missing-program" in done.stderr


def test_a_sandbox_that_cannot_be_set_up_exits_126_and_says_why(tmp_path):
    lines, done = launch(tmp_path / "no-such-folder", [sys.executable, "-c", "pass"])
    status = json.loads(lines[1])["wait_status"]
    assert os.waitstatus_to_exitcode(status) == launcher.SETUP_FAILED
    assert "[sandbox] cannot set the sandbox up" in done.stderr
