"""Run one untrusted program in a resource-limited sandbox and report how it ended.

``run_sandboxed(workdir, argv, limits, env)`` is the only entry point. It runs
``argv`` with ``workdir`` as the current directory and returns a
:class:`SandboxResult` (status, exit code, captured output, wall time and a
plain statement of the isolation that was actually applied). It never raises
because of what the program does; it raises ``TypeError``/``ValueError`` only
for bad arguments.

Isolation, when ``bwrap`` (bubblewrap) is available and starts:

- new mount, PID, network, IPC and UTS namespaces (``--unshare-*``);
  ``--die-with-parent``, ``--new-session``, ``--clearenv``;
- the filesystem seen by the program is an empty root holding only: ``/usr``
  and the ``/bin``, ``/lib*``, ``/sbin`` links or folders, a few ``/etc``
  files the loader needs, the Python interpreter's prefix(es) (read-only, at
  the same path: numpy and the rest of site-packages import), a private
  ``/proc``, a minimal ``/dev``, a private size-limited ``/tmp``, and
  ``workdir`` itself, writable, mounted at the fixed path ``/sandbox``
  (``SANDBOX_PATH``), which is the current directory. Nothing else exists:
  not the repository, not ``/root`` or ``/home``, not other students' folders;
- when the grader runs as root, the program runs as an unprivileged uid/gid
  picked per call (``UID_BASE`` + k, unique among sandboxes running at the
  same time on the machine, see ``_claim_uid``) with no capabilities, so the
  per-user process limit is per sandbox and parallel sandboxes cannot signal
  each other;
- resource limits set in the program's process before ``exec``: CPU seconds
  (soft limit, hard limit one second later), address space, processes,
  file size, open files, and no core dumps; and, with the per-call uid, the
  resident memory of all the sandbox's processes together (sampled by the
  parent every 0.25 s), so a fork of many processes cannot multiply the
  memory limit.

Without bwrap (missing, or failing to start) the same launcher applies the
resource limits and the unprivileged uid alone, in the host's filesystem and
network; ``SandboxResult.isolation`` then starts with ``"rlimits only:"`` and
says why. In that mode ``workdir`` keeps its real path, its parent folders
must be searchable by others, and the program (for example the Python
interpreter) must be readable by the unprivileged uid.

A small launcher (Python, run with ``-I -S``) stays outside the program's
privileges: it forks, the child sets the limits, drops privileges and execs
``argv``; the launcher waits for it and writes the wait status and CPU time
to a private pipe. The wall-clock limit is enforced by the parent, which
kills the whole sandbox (the PID namespace, or every process of the
sandbox uid in fallback mode). Output is read continuously and only the
first ``output_bytes`` of each stream are kept. Once the program is gone,
symlinks, FIFOs, sockets and device files it left in ``workdir`` are
removed, so the caller can read result files by name without being sent
elsewhere or blocked.

The parent also checks, every second, that ``workdir`` holds at most
``file_size_mb`` in total and 100,000 entries (a program writing many files
under the per-file limit is stopped with status "error").

What it cannot do: stop a burst between two checks (memory: a quarter of a
second, disk: one second), limit CPU time summed over many processes (each
process has its own CPU limit; the wall clock bounds the total), or stop a
program from noticing it is sandboxed.
"""
from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

SANDBOX_PATH = "/sandbox"
#: how ``SandboxResult.isolation`` starts when bwrap did not isolate (limits and user only)
FALLBACK_ISOLATION = "rlimits only:"
UID_BASE = 1_800_000_000
UID_SPAN = 4096  # also bounds the lock files kept in the lock folder

# Hard upper bounds accepted for each limit (a typo like memory_mb=2e6 is refused).
MAX_LIMITS = {
    "cpu_seconds": 3600.0,
    "wall_seconds": 7200.0,
    "memory_mb": 65536,
    "max_processes": 4096,
    "file_size_mb": 16384,
    "open_files": 4096,
    "output_bytes": 10_000_000,
}

_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives")
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_READ_CHUNK = 1 << 20
_GRACE_SECONDS = 2.0
_RSS_INTERVAL = 0.25
_DISK_INTERVAL = 1.0
_MAX_ENTRIES = 100_000  # files and folders a work folder may hold


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run; every field has a default and a maximum.

    Parameters
    ----------
    cpu_seconds : CPU time of the program's process (SIGXCPU, then SIGKILL 1 s later).
    wall_seconds : wall-clock time of the whole sandbox, enforced by the parent.
    memory_mb : address space per process (RLIMIT_AS), in MiB; when the grader runs as
        root, also the memory of all the sandbox's processes together.
    max_processes : processes and threads of the sandbox user (RLIMIT_NPROC).
    file_size_mb : largest file the program may write (RLIMIT_FSIZE); also the size
        of the private ``/tmp`` and the most its work folder may hold in total
        (checked every second by the parent).
    open_files : file descriptors per process (RLIMIT_NOFILE).
    output_bytes : bytes of stdout and of stderr kept in the result (the rest is read
        and discarded).
    """

    cpu_seconds: float = 60
    wall_seconds: float = 120
    memory_mb: int = 2048
    max_processes: int = 64
    file_size_mb: int = 256
    open_files: int = 256
    output_bytes: int = 100_000

    def __post_init__(self):
        for field in fields(self):
            check_limit(field.name, getattr(self, field.name))


def check_limit(name, value):
    """Raise TypeError/ValueError unless ``value`` is a valid setting for limit ``name``."""
    maximum = MAX_LIMITS[name]
    integral = isinstance(maximum, int)
    kind = "an int" if integral else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            integral and not isinstance(value, int)):
        raise TypeError(f"Limits.{name} must be {kind}, got {value!r} "
                        f"({type(value).__name__})")
    if not (value > 0 and value <= maximum):  # also refuses NaN
        raise ValueError(f"Limits.{name} must be > 0 and <= {maximum}, got {value!r}")


@dataclass
class SandboxResult:
    """How a sandboxed run ended.

    status : "ok" (exit 0), "error" (non-zero exit), "timeout" (wall-clock or CPU
        limit), "oom" (memory limit) or "crashed" (killed by a signal).
    returncode : the exit code, ``-N`` when killed by signal N, None when the sandbox
        was killed at the wall-clock limit.
    stdout, stderr : decoded as UTF-8 (bad bytes replaced), each truncated to
        ``Limits.output_bytes``; notes from the sandbox itself are appended to
        stderr on lines starting with ``[sandbox]``.
    wall_seconds : elapsed time from start to the end of the sandbox.
    isolation : what was actually applied, starting with ``"bwrap:"`` or
        ``"rlimits only:"``.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    wall_seconds: float
    isolation: str


def find_bwrap():
    """Path of the bubblewrap executable, or None when it is not installed."""
    return shutil.which("bwrap")


def python_argv(script, *args):
    """The command that runs the trusted ``script`` (in the work folder) in a sandbox.

    The grader's own interpreter in isolated mode (``-I``): no ``PYTHON*``
    variables, no user site, and the script's folder, which holds the student's
    files, not on ``sys.path`` until the script puts it there, so that nothing of
    the student's runs before the script says it is ready.
    """
    return [sys.executable, "-I", script, *args]


def make_work_root():
    """A fresh folder to hold sandbox work folders (the caller removes it).

    Searchable by others, since without bwrap the sandbox user runs in the host's
    filesystem.
    """
    root = Path(tempfile.mkdtemp(prefix="cnnkit-grade-"))
    os.chmod(root, 0o755)
    return root


def run_sandboxed(workdir: Path, argv: list[str], limits: Limits = Limits(),
                  env: dict | None = None) -> SandboxResult:
    """Run ``argv`` inside ``workdir`` under ``limits`` and report how it ended.

    Parameters
    ----------
    workdir : existing folder, the only writable and the only non-system folder the
        program sees; it is its current directory, mounted at ``/sandbox`` under
        bwrap (at its own path in fallback mode). Relative paths in ``argv`` are
        relative to it. When the grader runs as root the folder's contents are
        chowned to the sandbox uid.
    argv : the program and its arguments, e.g. ``[sys.executable, "harness.py"]``.
    limits : resource limits, see :class:`Limits`.
    env : extra environment variables, added to a minimal environment (PATH, HOME
        and TMPDIR pointing at the private /tmp, LANG, PYTHONNOUSERSITE,
        PYTHONDONTWRITEBYTECODE, MPLBACKEND=Agg, one BLAS/OpenMP thread).
        Nothing of the grader's own environment is passed on.
    """
    workdir = _check_workdir(workdir)
    argv = _check_argv(argv)
    env = _check_env(env)
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits instance, got {type(limits).__name__}")

    as_root = os.geteuid() == 0
    uid_claim = _claim_uid() if as_root else None
    try:
        uid = uid_claim[0] if uid_claim else os.geteuid()
        if as_root:
            _give_to_uid(workdir, uid)
        bwrap = find_bwrap()
        result = None
        if bwrap is None:
            reason = "bwrap missing (not found on PATH)"
        else:
            result = _run_bwrap(bwrap, workdir, argv, limits, env, uid, as_root)
            if isinstance(result, str):  # bwrap could not set the sandbox up
                reason, result = f"bwrap failed to start ({result})", None
        if result is None:
            result = _run_fallback(workdir, argv, limits, env, uid, as_root, reason)
        removed = remove_special_files(workdir)
        if removed:
            result.stderr += (f"[sandbox] removed {removed} symlinks, FIFOs, sockets or device "
                              "files the program left in its folder\n")
        return result
    finally:
        if uid_claim:
            os.close(uid_claim[1])


# ----------------------------------------------------------------- argument checks

def _check_workdir(workdir):
    if not isinstance(workdir, (str, os.PathLike)):
        raise TypeError(f"workdir must be a path, got {type(workdir).__name__}")
    path = Path(workdir).resolve()
    if not path.is_dir():
        raise ValueError(f"workdir must be an existing folder, got {str(workdir)!r}")
    return path


def _check_argv(argv):
    if not isinstance(argv, (list, tuple)) or not argv:
        raise TypeError(f"argv must be a non-empty list of strings, got {argv!r}")
    for arg in argv:
        if not isinstance(arg, (str, os.PathLike)):
            raise TypeError(f"argv items must be strings, got {arg!r} in {argv!r}")
    return [os.fspath(arg) for arg in argv]


def _check_env(env):
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise TypeError(f"env must be a dict of str to str, got {type(env).__name__}")
    for key, value in env.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key or "=" in key:
            raise ValueError(f"env must map variable names to strings, got {key!r}: {value!r}")
    return dict(env)


# --------------------------------------------------------------- uid and workdir

def _claim_uid():
    """Claim an unprivileged uid no other running sandbox on this machine uses.

    Returns ``(uid, fd)``; the claim lasts while ``fd`` (an exclusive ``flock`` on a
    per-uid lock file in a root-only folder) stays open.
    """
    lock_dir = Path(tempfile.gettempdir()) / "cnnkit-sandbox-uids"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    start = random.randrange(UID_SPAN)
    for k in range(UID_SPAN):
        uid = UID_BASE + (start + k) % UID_SPAN
        fd = os.open(lock_dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"no free sandbox uid in {UID_BASE}..{UID_BASE + UID_SPAN - 1}")


def _entries(folder):
    """Every entry under ``folder`` as a ``DirEntry``, iteratively, never following links.

    Unreadable folders, and folders nested too deep to be named by a path, are skipped.
    """
    pending = [str(folder)]
    while pending:
        try:
            scanned = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in scanned:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
            except OSError:
                continue
            yield entry


def _give_to_uid(workdir, uid):
    """Chown ``workdir`` and what it holds to ``uid`` (symlinks and hard links left alone)."""
    os.chown(workdir, uid, uid)
    os.chmod(workdir, 0o700)
    for entry in _entries(workdir):
        try:
            st = entry.stat(follow_symlinks=False)
            if entry.is_symlink() or (not entry.is_dir(follow_symlinks=False)
                                      and st.st_nlink > 1) or st.st_uid == uid:
                continue
            os.chown(entry.path, uid, uid, follow_symlinks=False)
        except OSError:
            continue


def remove_special_files(workdir):
    """Delete everything under ``workdir`` that is not a regular file or a folder.

    Runs once the sandbox's processes are gone, so that a caller reading result
    files by path can never be sent elsewhere by a symlink (to the secret, to
    ``/dev/stdin``) or block forever on a FIFO. Returns how many were removed.
    Folders too deep to be named by a path are left alone (nothing can read them
    by path either).
    """
    removed = 0
    for entry in _entries(workdir):
        try:
            if not entry.is_dir(follow_symlinks=False) and not entry.is_file(
                    follow_symlinks=False):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


# ------------------------------------------------------------------ the launcher

#: the launcher's program text (see :mod:`.launcher`), passed with ``python -c``
LAUNCHER = Path(__file__).with_name("launcher.py").read_text(encoding="utf-8")


def _rlimits(limits, as_root):
    """The resource limits for the launcher's child, as ``{RLIMIT_NAME: (soft, hard)}``."""
    cpu = max(1, math.ceil(limits.cpu_seconds))
    mib = 1 << 20
    chosen = {
        "RLIMIT_CPU": (cpu, cpu + 1),
        "RLIMIT_AS": (limits.memory_mb * mib, limits.memory_mb * mib),
        "RLIMIT_FSIZE": (limits.file_size_mb * mib, limits.file_size_mb * mib),
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
    }
    if as_root:  # per-uid: only meaningful for the sandbox's own uid
        chosen["RLIMIT_NPROC"] = (limits.max_processes, limits.max_processes)
    return chosen


def _rlimit_names(limits, as_root):
    """The applied resource limits as text, e.g. ``cpu/as/nproc/fsize/nofile/core``."""
    order = ("CPU", "AS", "NPROC", "FSIZE", "NOFILE", "CORE")
    chosen = _rlimits(limits, as_root)
    return "/".join(name.lower() for name in order if "RLIMIT_" + name in chosen)


def _launcher_argv(status_fd, uid, limits, as_root, workdir, argv):
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, str(status_fd), str(uid),
            json.dumps(_rlimits(limits, as_root)), str(workdir), "--", *argv]


def _base_env(tmp, cwd, extra):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PWD": str(cwd),
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.update(extra)
    return env


def _who(as_root):
    """The user part of ``isolation``: the same text for every run (no uid numbers)."""
    if as_root:
        return "an unprivileged uid of its own, no capabilities"
    return "the grader's own uid (not root: no user switch)"


# ------------------------------------------------------------------- bwrap mode

def _python_prefixes():
    """Folders holding the interpreter, its stdlib and site-packages (outside /usr)."""
    found = set()
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                   os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}:
        for path in {os.path.abspath(prefix), os.path.realpath(prefix)}:
            if path != "/usr" and not path.startswith("/usr/") and os.path.isdir(path):
                found.add(path)
    return sorted(found)


def _bwrap_argv(bwrap, limits, env, as_root, workdir):
    args = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--clearenv"]
    if as_root:
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--disable-userns"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in _ROOT_LINKS:
        path = "/" + name
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in _ETC_FILES:
        path = "/etc/" + name
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    # The private /tmp comes before the interpreter, so that an interpreter
    # living under /tmp (a virtual environment made there) stays visible.
    args += ["--perms", "1777", "--size", str(limits.file_size_mb << 20), "--tmpfs", "/tmp"]
    made = {"/tmp"}
    for prefix in _python_prefixes():
        for parent in reversed(Path(prefix).parents[:-1]):  # e.g. /root: searchable, empty
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", prefix, prefix]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--bind", str(workdir), SANDBOX_PATH, "--chdir", "/"]
    for key, value in _base_env("/tmp", SANDBOX_PATH, env).items():
        args += ["--setenv", key, value]
    return args


def _run_bwrap(bwrap, workdir, argv, limits, env, uid, as_root):
    """Run under bwrap; a string instead of a result means bwrap did not start."""
    status_r, status_w = os.pipe()
    options = _bwrap_argv(bwrap, limits, env, as_root, workdir)[1:]
    launcher = _launcher_argv(status_w, uid, limits, as_root, SANDBOX_PATH, argv)
    # Options go through a memfd (--args) so that /proc/1/cmdline inside the
    # sandbox does not show the host's paths.
    args_fd = os.memfd_create("cnnkit-sandbox-args")
    try:
        os.write(args_fd, b"".join(os.fsencode(arg) + b"\0" for arg in options))
        os.lseek(args_fd, 0, os.SEEK_SET)
        run = _supervise([bwrap, "--args", str(args_fd), *launcher], status_r, status_w,
                         limits, cwd=workdir, env={}, extra_fds=[args_fd],
                         rss_uid=uid if as_root else None)
    finally:
        os.close(args_fd)
    if not run["started"] and run["returncode"] != 0:
        reason = run["err"][0].decode("utf-8", "replace").strip().splitlines()
        return reason[0] if reason else f"exit status {run['returncode']}"
    isolation = (f"bwrap: mount+pid+net+ipc+uts namespaces, {_who(as_root)}, workdir at "
                 f"{SANDBOX_PATH}, rlimits {_rlimit_names(limits, as_root)}")
    return _result(run, limits, isolation)


# ---------------------------------------------------------------- fallback mode

def _run_fallback(workdir, argv, limits, env, uid, as_root, reason):
    tmp = tempfile.mkdtemp(prefix="cnnkit-sandbox-tmp-")
    try:
        if as_root:
            os.chown(tmp, uid, uid)
        status_r, status_w = os.pipe()
        command = _launcher_argv(status_w, uid, limits, as_root, workdir, argv)
        sweep = (lambda: _kill_uid(uid)) if as_root else None
        run = _supervise(command, status_r, status_w, limits, cwd=workdir,
                         env=_base_env(tmp, workdir, env), sweep=sweep,
                         rss_uid=uid if as_root else None)
        isolation = (f"{FALLBACK_ISOLATION} {reason}; {_who(as_root)}; no filesystem, process or "
                     "network isolation")
        return _result(run, limits, isolation)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _kill_uid(uid):
    """Kill every process of ``uid`` (a signal to -1 sent as that uid)."""
    subprocess.run(["/bin/sh", "-c", "kill -KILL -1"], user=uid, group=uid,
                   extra_groups=[], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=10, check=False)


# ------------------------------------------------------------------ supervision

def _status_field(pid, name):
    """An integer field (e.g. ``b"Uid"``, ``b"VmRSS"``) of ``/proc/<pid>/status``, or None."""
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        try:
            data = os.read(fd, 8192)
        finally:
            os.close(fd)
        at = data.index(b"\n" + name + b":") + len(name) + 2
        return int(data[at:data.index(b"\n", at)].split()[0])
    except (OSError, ValueError):
        return None


def _pss_kb(pid):
    """Proportional set size of ``pid`` in KiB (shared pages split between sharers)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            return int(handle.read().split(b"\nPss:", 1)[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None


def _resident_mb(uid, limit_mb):
    """Memory (MiB) used by all processes whose real uid is ``uid``.

    The resident set sizes are summed first (cheap). Only when that sum is over
    ``limit_mb`` are the processes measured by proportional set size, so that
    forked copies sharing pages are not counted many times.
    """
    pids, rss_kb = [], 0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _status_field(entry, b"Uid") == uid:
            rss = _status_field(entry, b"VmRSS")
            if rss is not None:
                pids.append(entry)
                rss_kb += rss
    if rss_kb <= limit_mb * 1024:
        return rss_kb / 1024
    pss = [_pss_kb(pid) for pid in pids]
    return sum(p for p in pss if p is not None) / 1024


def _disk_usage(folder, max_entries):
    """``(MiB on disk, entries)`` under ``folder``; counting stops past ``max_entries``."""
    blocks, entries = 0, 0
    for entry in _entries(folder):
        entries += 1
        if entries > max_entries:
            break
        try:
            blocks += entry.stat(follow_symlinks=False).st_blocks
        except OSError:
            continue
    return blocks * 512 / (1 << 20), entries


def _supervise(command, status_r, status_w, limits, cwd, env, sweep=None, extra_fds=(),
               rss_uid=None):
    """Start ``command``, read its output and status pipe, enforce the wall clock.

    ``sweep`` (fallback mode) kills whatever the program left running once it ends
    or is stopped. ``rss_uid`` (a uid only this sandbox uses) makes the memory limit
    also cover the resident memory of all its processes together, checked every
    ``_RSS_INTERVAL`` seconds.
    """
    start = time.monotonic()
    deadline = start + limits.wall_seconds
    try:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=[status_w, *extra_fds], start_new_session=True)
    except BaseException:
        os.close(status_r)
        raise
    finally:
        os.close(status_w)
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    kept = {out_fd: bytearray(), err_fd: bytearray(), status_r: bytearray()}
    room = {out_fd: limits.output_bytes, err_fd: limits.output_bytes, status_r: 1 << 16}
    totals = dict.fromkeys(kept, 0)
    open_fds = set(kept)
    stopped, resident, grace_end, disk = None, 0.0, None, (0.0, 0)
    next_check, next_disk = start + _RSS_INTERVAL, start + _DISK_INTERVAL
    try:
        while open_fds:
            now = time.monotonic()
            if stopped is None:
                if rss_uid is not None and now >= next_check:
                    next_check = now + _RSS_INTERVAL
                    resident = max(resident, _resident_mb(rss_uid, limits.memory_mb))
                    if resident > limits.memory_mb:
                        stopped = "memory"
                if stopped is None and now >= next_disk:
                    next_disk = now + _DISK_INTERVAL
                    disk = _disk_usage(cwd, _MAX_ENTRIES)
                    if disk[0] > limits.file_size_mb or disk[1] > _MAX_ENTRIES:
                        stopped = "disk"
                if stopped is None and now >= deadline:
                    stopped = "wall"
                if stopped:
                    _kill_group(proc)
                    if sweep:
                        sweep()
                    grace_end = now + _GRACE_SECONDS
            elif now >= grace_end:
                break  # killed, and the pipes are still open: stop reading
            wait = (grace_end if stopped else deadline) - now
            ready, _, _ = select.select(list(open_fds), [], [],
                                        max(0.0, min(_RSS_INTERVAL, wait)))
            for fd in ready:
                chunk = os.read(fd, _READ_CHUNK)
                if not chunk:
                    open_fds.discard(fd)
                    continue
                totals[fd] += len(chunk)
                kept[fd] += chunk[:max(0, room[fd] - len(kept[fd]))]
            if sweep and not stopped and proc.poll() is not None:
                sweep()
                sweep = None
    finally:
        _kill_group(proc)
        proc.wait()
        os.close(status_r)
        proc.stdout.close()
        proc.stderr.close()
    status_lines = kept[status_r].decode("utf-8", "replace").splitlines()
    final = {}
    if len(status_lines) > 1:
        try:
            final = json.loads(status_lines[-1])
        except ValueError:
            final = {}
    return {"started": bool(status_lines) and status_lines[0] == "started",
            "final": final, "stopped": stopped, "resident_mb": resident, "disk": disk,
            "returncode": proc.returncode,
            "wall": time.monotonic() - start,
            "out": (bytes(kept[out_fd]), totals[out_fd]),
            "err": (bytes(kept[err_fd]), totals[err_fd])}


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError as err:
        if err.errno not in (errno.ESRCH, errno.EPERM):
            raise


# ---------------------------------------------------------------- classification

def _text(data, total, limit):
    text = data.decode("utf-8", "replace")
    if total > limit:
        text += f"\n[sandbox] output truncated: kept {limit} of {total} bytes\n"
    return text


def _result(run, limits, isolation):
    stdout = _text(*run["out"], limits.output_bytes)
    stderr = _text(*run["err"], limits.output_bytes)
    notes = []
    final = run["final"]
    if run["stopped"] == "wall":
        status, code = "timeout", None
        notes.append(f"killed at the wall-clock limit of {limits.wall_seconds:g} s")
    elif run["stopped"] == "disk":
        status, code = "error", None
        notes.append(f"killed: its folder held {run['disk'][0]:.0f} MB in {run['disk'][1]} "
                     f"files, over the limit of {limits.file_size_mb} MB or {_MAX_ENTRIES} files")
    elif run["stopped"] == "memory":
        status, code = "oom", None
        notes.append(f"killed: its processes used {run['resident_mb']:.0f} MB together, over "
                     f"the memory limit of {limits.memory_mb} MB")
    elif "wait_status" not in final:
        status, code = "crashed", run["returncode"]
        notes.append("the sandbox ended without reporting the program's exit status")
    else:
        wait_status = final["wait_status"]
        cpu = final.get("cpu", 0.0)
        if os.WIFSIGNALED(wait_status):
            sig = os.WTERMSIG(wait_status)
            code = -sig
            status, note = _classify_signal(sig, cpu, limits, stderr)
            notes.append(note)
        else:
            code = os.WEXITSTATUS(wait_status)
            if code == 0:
                status = "ok"
            elif any(marker in stderr for marker in _MEMORY_MARKERS):
                status = "oom"
                notes.append(f"ran out of memory (limit {limits.memory_mb} MB)")
            else:
                status = "error"
    if notes:
        stderr += "".join(f"\n[sandbox] {note}" for note in notes) + "\n"
    return SandboxResult(status=status, returncode=code, stdout=stdout, stderr=stderr,
                         wall_seconds=round(run["wall"], 3), isolation=isolation)


def _classify_signal(sig, cpu, limits, stderr):
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= limits.cpu_seconds - 0.05):
        return "timeout", f"killed at the CPU limit of {limits.cpu_seconds:g} s ({name})"
    if any(marker in stderr for marker in _MEMORY_MARKERS):
        return "oom", f"killed by {name} after running out of memory (limit {limits.memory_mb} MB)"
    if sig == signal.SIGXFSZ:
        return "crashed", f"killed by {name}: wrote a file over {limits.file_size_mb} MB"
    return "crashed", f"killed by signal {name}"
