"""The sandbox's start-up self-test: it passes where students can be graded, and where they
cannot it stops the batch before anyone is graded, naming the cause and the fix."""
import os
import shutil
import site
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cnnkit.grader.run.step import run_limits
from cnnkit.grader.sandbox import namespaces
from cnnkit.grader.sandbox.isolation import Limits, python_argv, run_sandboxed
from cnnkit.grader.sandbox.selftest import SelfTestResult, sandbox_self_test

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user exists only as root")


def test_passes_and_reports_the_isolation_every_student_run_gets(tmp_path):
    limits = run_limits(Limits(cpu_seconds=30, wall_seconds=30), 1)
    result = sandbox_self_test(limits)
    assert isinstance(result, SelfTestResult)
    assert result.ok, result.message()
    assert (result.reason, result.fix) == ("", "")
    (tmp_path / "p.py").write_text("print('hi')\n")
    assert result.isolation == run_sandboxed(tmp_path, python_argv("p.py"), limits).isolation
    assert result.message().startswith("sandbox self-test passed (")
    assert set(result.to_dict()) == {"ok", "isolation", "reason", "fix", "missing", "seconds"}


def test_a_memory_limit_too_small_for_numpy_is_named():
    result = sandbox_self_test(Limits(memory_mb=40))
    assert not result.ok
    assert "ran out of memory importing numpy under the memory limit of 40 MB" in result.reason
    assert result.fix == "raise --memory (in MB)"


def test_a_sandbox_that_raises_is_a_failed_self_test_not_a_crash():
    def broken(workdir, argv, limits):
        raise OSError("Resource temporarily unavailable")
    result = sandbox_self_test(runner=broken)
    assert not result.ok and result.isolation == ""
    assert result.reason == "the sandbox raised OSError: Resource temporarily unavailable"


def test_a_probe_whose_output_is_wrong_fails(tmp_path):
    def liar(workdir, argv, limits):
        result = run_sandboxed(workdir, argv, limits)
        (Path(workdir) / "cnnkit_selftest_probe.npz").write_bytes(b"not a zip")
        return result
    result = sandbox_self_test(runner=liar)
    assert not result.ok and result.reason.startswith("the probe ran but its .npz could not")


@pytest.mark.parametrize("setting, value, named", [
    ("sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone = 0"),
    ("sys/user/max_user_namespaces", "0", "user.max_user_namespaces = 0"),
    ("sys/kernel/apparmor_restrict_unprivileged_userns", "1",
     "kernel.apparmor_restrict_unprivileged_userns = 1"),
])
def test_each_kernel_rule_against_user_namespaces_is_named(tmp_path, setting, value, named):
    proc = tmp_path / "proc"
    (proc / setting).parent.mkdir(parents=True)
    (proc / setting).write_text(value + "\n")
    problem = namespaces.userns_problem(proc)
    assert named in problem.reason and "sysctl -w" in problem.fix
    if shutil.which("bwrap") and not namespaces._setuid_root(shutil.which("bwrap")):
        found = namespaces.bwrap_problem("setting up uid map: Permission denied", False, proc)
        assert named in found.reason and "bwrap said: setting up uid map" in found.reason
        assert namespaces.bwrap_problem("", True, proc) is None  # root needs none


def test_nothing_against_user_namespaces_is_nothing(tmp_path):
    assert namespaces.userns_problem(tmp_path) is None  # no such files: an older kernel
    (tmp_path / "sys" / "user").mkdir(parents=True)
    (tmp_path / "sys" / "user" / "max_user_namespaces").write_text("15000\n")
    assert namespaces.userns_problem(tmp_path) is None


def test_missing_bwrap_and_a_seccomp_filter_are_named(tmp_path, monkeypatch):
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "status").write_text("Name:\tpython\nSeccomp:\t2\nSeccomp_filters:\t1\n")
    if shutil.which("bwrap"):
        seccomp = namespaces.bwrap_problem("Creating new namespace failed: Operation not "
                                           "permitted", True, tmp_path)
        assert "seccomp filter" in seccomp.reason and "Operation not permitted" in seccomp.reason
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = namespaces.bwrap_problem("", False, tmp_path)
    assert missing.reason == "bubblewrap is not installed (no bwrap on PATH)"
    assert "apt-get install bubblewrap" in missing.fix and "run the grader as root" in missing.fix


def _private_venv():
    """A virtual environment inside a 0700 folder (as in a private home) that imports what
    this interpreter imports; returns (private folder, its python)."""
    private = Path(tempfile.mkdtemp(prefix="cnnkit-private-", dir="/tmp"))
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    venv = private / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                              "'purelib'))"], capture_output=True, text=True, check=True)
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages())
    (Path(purelib.stdout.strip()) / "host.pth").write_text(lines)
    return private, python


@as_root
def test_no_bwrap_and_an_unreadable_interpreter_stop_the_batch_before_anyone_is_graded(
        tmp_path, builds, secret_file):
    subs, out = tmp_path / "subs", tmp_path / "out"
    for student in ("alice", "bob"):
        shutil.copytree(builds["solution"], subs / student)
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    private, python = _private_venv()
    try:
        done = subprocess.run(
            [python, "-c", "import sys; from cnnkit.grader.cli import main; sys.exit(main())",
             "grade", str(subs), "--out", str(out), "--secret", str(secret_file),
             "--no-progress"], env={"PATH": str(no_bwrap), "HOME": str(tmp_path)},
            capture_output=True, text=True, timeout=300)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "cnnkit grade: error: nobody was graded: sandbox self-test failed: the " \
           f"interpreter {python} is not readable by the sandbox user: {private} is mode " \
           "0700" in done.stderr
    assert "install cnnkit in an environment under a world-readable path" in done.stderr
    assert "or install bubblewrap" in done.stderr
    assert "bwrap missing (not found on PATH)" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == []  # nobody graded, nothing written


@as_root
def test_root_without_bwrap_passes_and_says_what_full_isolation_lacks(tmp_path, monkeypatch):
    """Root still switches to an unprivileged uid without bubblewrap: graded, with a warning."""
    import dataclasses

    def without_bwrap(workdir, argv, limits):
        result = run_sandboxed(workdir, argv, limits)  # the probe runs for real
        monkeypatch.setenv("PATH", str(tmp_path))  # and then bwrap is gone
        return dataclasses.replace(result, isolation="rlimits only: bwrap missing (not found "
                                   "on PATH); an unprivileged uid of its own, no capabilities")
    result = sandbox_self_test(runner=without_bwrap)
    assert result.ok, result.message()
    assert result.missing.startswith("bubblewrap is not installed (no bwrap on PATH); to fix: "
                                     "install bubblewrap")
    assert "not fully isolated: bubblewrap is not installed" in result.message()
