"""The sandbox's start-up self-test: can this batch's sandbox run student code at all?

Before anyone is graded, :func:`sandbox_self_test` runs a tiny known program in
the batch's own sandbox (the same runner, so the same isolation and user, the
same interpreter and flags, the same limits): it imports numpy, writes an
``.npz`` holding a token the parent chose, and exits; the parent reads it back
with ``allow_pickle=False``. When that fails, or when the only isolation
available would let student code act as the grader (not root and no
bubblewrap), the result says why and what to do, and the grader grades nobody:
a sandbox that cannot start is the grader's failure, never a class of zeros.
``cnnkit grade``, the Gradescope runner and every cluster worker call it.
"""
import os
import re
import secrets
import shutil
import stat
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .namespaces import INSTALL_BWRAP, Problem, bwrap_problem
from .isolation import (FALLBACK_ISOLATION, Limits, make_work_root, python_argv,
                        run_sandboxed)

PROBE = "cnnkit_selftest_probe.py"
PROBE_OUTPUT = "cnnkit_selftest_probe.npz"
PROBE_SOURCE = f"""import sys
import numpy as np
np.savez({PROBE_OUTPUT!r}, token=np.frombuffer(bytes.fromhex(sys.argv[1]), np.uint8),
         squares=np.arange(5) ** 2)
"""
_FALLBACK = re.compile(rf"^{re.escape(FALLBACK_ISOLATION)} bwrap failed to start \((.*?)\);")
_DENIED = ("Permission denied", "cannot run", "cannot set the sandbox up", "No such file",
           "ModuleNotFoundError", "ImportError", "PermissionError")
_MEMORY = ("MemoryError", "Cannot allocate memory", "out of memory", "failed to map segment",
           "Memory allocation")


@dataclass(frozen=True)
class SelfTestResult:
    """What the self-test found.

    ok : True when the sandbox ran the probe, the parent read its ``.npz`` back, and
        the isolation keeps student code away from the grader's files.
    isolation : the isolation the sandbox applied (``SandboxResult.isolation``, as
        every student's record will show it); "" if the sandbox never ran.
    reason : why the self-test failed ("" when ok).
    fix : what to do about it ("" when ok).
    missing : what full isolation (bubblewrap) lacks here and how to get it, also
        when ok (e.g. root without bubblewrap); "" when bubblewrap isolates.
    seconds : how long the self-test took.
    """

    ok: bool
    isolation: str
    reason: str = ""
    fix: str = ""
    missing: str = ""
    seconds: float = 0.0

    def message(self):
        """A few lines for a person: the verdict, the cause and the fix."""
        if self.ok:
            text = f"sandbox self-test passed ({self.isolation})"
            return text + (f"\n  not fully isolated: {self.missing}" if self.missing else "")
        text = f"sandbox self-test failed: {self.reason}\n  fix: {self.fix}"
        return text + (f"\n  isolation: {self.isolation}" if self.isolation else "")

    def to_dict(self):
        return asdict(self)


def sandbox_self_test(limits=Limits(), runner=run_sandboxed):
    """Run the probe in the sandbox a batch will use; never raises because the sandbox fails.

    Parameters
    ----------
    limits : the :class:`~cnnkit.grader.sandbox.isolation.Limits` of one student's run
        (the batch's memory, file and process limits; its time limits).
    runner : the sandbox, called as ``runner(workdir, argv, limits)`` and returning a
        :class:`~cnnkit.grader.sandbox.isolation.SandboxResult`; a front end that configures
        its sandbox further passes it here (e.g. a ``functools.partial`` of
        :func:`~cnnkit.grader.sandbox.isolation.run_sandboxed`).

    Returns
    -------
    SelfTestResult
    """
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits instance, got {type(limits).__name__}")
    start = time.monotonic()
    as_root = os.geteuid() == 0
    root = make_work_root()
    try:
        workdir = root / "selftest"
        workdir.mkdir()
        (workdir / PROBE).write_text(PROBE_SOURCE)
        token = secrets.token_bytes(16)
        try:
            result = runner(workdir, python_argv(PROBE, token.hex()), limits)
        except Exception as err:  # the sandbox itself broke: that is what we are here to find
            return SelfTestResult(False, "", f"the sandbox raised {type(err).__name__}: {err}",
                                  "a fault of the grader's installation or of the machine "
                                  "(out of processes, disk space or memory?): mend it and "
                                  "run again", seconds=round(time.monotonic() - start, 3))
        readback = _read_back(workdir / PROBE_OUTPUT, token) if result.status == "ok" else ""
    finally:
        shutil.rmtree(root, ignore_errors=True)
    seconds = round(time.monotonic() - start, 3)
    missing = _missing(result.isolation, as_root)
    if missing and not as_root:
        return SelfTestResult(
            False, result.isolation,
            f"{missing.reason}; without bubblewrap, a grader that is not root would run "
            "student code as its own user, free to read the course secret and rewrite other "
            "students' reports", missing.fix, _text(missing), seconds)
    if result.status == "ok" and readback is None:
        return SelfTestResult(True, result.isolation, missing=_text(missing), seconds=seconds)
    reason, fix = _diagnose(result, readback, limits, result.isolation.startswith("bwrap:"))
    if missing:
        fix += f"; or {INSTALL_BWRAP}, which mounts the interpreter into the sandbox"
    return SelfTestResult(False, result.isolation, reason, fix, _text(missing), seconds)


def _text(problem):
    return f"{problem.reason}; to fix: {problem.fix}" if problem else ""


def _missing(isolation, as_root):
    """Why the sandbox fell back to resource limits alone (a namespaces.Problem), or None
    when it did not (bubblewrap, or a front end's own isolation)."""
    if not isolation.startswith(FALLBACK_ISOLATION):
        return None
    found = _FALLBACK.match(isolation)
    return bwrap_problem(found.group(1) if found else "", as_root) or Problem(
        isolation[len(FALLBACK_ISOLATION):].strip(), INSTALL_BWRAP)


def _read_back(path, token):
    """None when the probe's ``.npz`` holds what it should, else what is wrong with it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            same = (data["token"].tobytes() == token
                    and np.array_equal(data["squares"], np.arange(5) ** 2))
    except (OSError, ValueError, KeyError) as err:
        return f"its .npz could not be read back ({type(err).__name__}: {err})"
    return None if same else "its .npz does not hold what the probe wrote"


def _tail(text, lines=3):
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[:600]


def _diagnose(result, readback, limits, under_bwrap):
    """``(reason, fix)`` of a probe that did not do its job."""
    said = _tail(result.stderr)
    if readback:
        return (f"the probe ran but {readback}",
                "check that the sandbox's work folder is writable and not cleared by "
                "something else")
    if result.status == "timeout":
        return (f"the probe (start Python, import numpy, write an .npz) did not finish within "
                f"the sandbox's limits ({limits.wall_seconds:g} s wall clock, "
                f"{limits.cpu_seconds:g} s CPU). Output: {said}",
                "raise --timeout, or grade when the machine is less busy")
    if result.status == "oom" or any(marker in result.stderr for marker in _MEMORY):
        return (f"the probe ran out of memory importing numpy under the memory limit of "
                f"{limits.memory_mb} MB. Output: {said}", "raise --memory (in MB)")
    if any(marker in result.stderr for marker in _DENIED):
        closed = unreachable_path(under_bwrap)
        if closed:
            return closed
        if "numpy" in result.stderr:
            return (f"numpy cannot be imported by the sandbox's interpreter {sys.executable}. "
                    f"Output: {said}",
                    "install cnnkit (and numpy) in an environment the sandbox user can read")
    return (f"the probe failed in the sandbox (status {result.status}, exit code "
            f"{result.returncode}). Output: {said}",
            "run the probe by hand to see why: python -I -c 'import numpy'")


def _closed(path):
    """The first folder on ``path`` others cannot enter, or the file itself when others
    cannot read it; None when the sandbox user can reach it."""
    path = Path(path)
    for folder in [*reversed(path.parents), path]:
        try:
            st = os.stat(folder)
        except OSError:
            return None  # not there at all: some other message will say so
        need = (stat.S_IXOTH if stat.S_ISDIR(st.st_mode) or folder != path
                else stat.S_IROTH)
        if not st.st_mode & need:
            return folder, st
    return None


def _interpreter_paths(under_bwrap):
    """The interpreter (as called and as resolved), its standard library and numpy."""
    paths = [sys.executable, os.path.realpath(sys.executable),
             os.path.dirname(os.__file__), os.path.dirname(np.__file__)]
    if not under_bwrap:
        return [(p, "/") for p in paths]
    # under bwrap the folders above each mounted prefix are recreated open
    from .isolation import _python_prefixes
    prefixes = _python_prefixes()
    return [(p, max((q for q in prefixes if p == q or p.startswith(q + os.sep)),
                    key=len, default="/")) for p in paths]


def unreachable_path(under_bwrap=False):
    """``(reason, fix)`` when the sandbox user cannot reach the interpreter, its standard
    library or numpy (a private folder on the way), else None."""
    for path, mounted in _interpreter_paths(under_bwrap):
        found = _closed(path)
        if found is None:
            continue
        folder, st = found
        if mounted != "/" and not str(folder).startswith(mounted):
            continue
        what = "the interpreter" if path in (sys.executable,
                                             os.path.realpath(sys.executable)) else "the library"
        reason = (f"{what} {path} is not readable by the sandbox user: {folder} is mode "
                  f"{stat.S_IMODE(st.st_mode):04o} (owner uid {st.st_uid}), closed to other "
                  "users")
        fix = ("install cnnkit in an environment under a world-readable path (e.g. "
               "python3 -m venv /opt/cnnkit; /opt/cnnkit/bin/pip install cnnkit), or open "
               f"{folder} to other users (chmod o+rx)")
        return reason, fix
    return None
