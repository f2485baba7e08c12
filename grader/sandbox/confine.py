"""Confinement of a sandboxed program where namespaces are refused (inside containers).

Docker's default seccomp profile and Kubernetes pods refuse the namespaces
bubblewrap needs, so :mod:`cnnkit.grader.sandbox` falls back to resource limits
and an unprivileged uid. This module closes what it can on top of that, in the
program's process after the uid switch and just before ``exec``:

- **network**: a seccomp filter (libseccomp through ``pyseccomp``) makes
  ``socket()`` fail with ``EACCES`` for every address family (``socketpair``
  still works), and ``io_uring_setup`` fail with ``EPERM`` (io_uring can open
  and connect sockets without the ``socket`` system call);
- **files**: a Landlock ruleset (the ``landlock`` package) lets the program read
  only the system folders, the interpreter's prefixes and a few device files,
  and read and write only its work folder and its private temporary folder.
  Everything else (the autograder's files, other users' world-readable files)
  is refused by the kernel, whatever the file modes say.

:func:`available` says what this kernel and process offer; :func:`plan` builds
the JSON-ready plan the sandbox's launcher hands to :func:`apply` in the child;
:func:`gaps` lists what stays open. The launcher loads this file by path, so it
imports nothing of cnnkit, only the standard library, ``pyseccomp`` and
``landlock``.
"""
import errno
import os

# Imported here, before the launcher forks and drops privileges: afterwards the
# files may be out of reach (a root-only environment, or Landlock itself).
try:
    import pyseccomp
    _SECCOMP_ERROR = None
except Exception as err:  # missing, or libseccomp.so.2 missing (OSError)
    pyseccomp, _SECCOMP_ERROR = None, err
try:
    import landlock
    _LANDLOCK_ERROR = None
except Exception as err:
    landlock, _LANDLOCK_ERROR = None, err

#: read-only for the program: system folders and the loader's files
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/alternatives", "/proc/cpuinfo", "/proc/meminfo",
                "/sys/devices/system/cpu")
#: what namespaces would close and nothing here can
GAP_PROCESSES = ("processes: no PID namespace (the program shares the process table; its uid "
                 "lets it signal only its own processes)")
#: read and write for the program: harmless device files
DEVICE_PATHS = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def module_paths():
    """``sys.path`` entries that hold ``pyseccomp`` and ``landlock`` (for the launcher)."""
    found = []
    if pyseccomp is not None:
        found.append(os.path.dirname(os.path.abspath(pyseccomp.__file__)))
    if landlock is not None:
        found.append(os.path.dirname(os.path.dirname(os.path.abspath(landlock.__file__))))
    return sorted(set(found))


def _seccomp_problem():
    try:
        if pyseccomp is None:
            raise _SECCOMP_ERROR
        pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    except Exception as err:  # ImportError, or OSError when libseccomp.so.2 is missing
        return f"seccomp unavailable ({type(err).__name__}: {err})".splitlines()[0]
    return ""


def _landlock_abi():
    """``(abi, '')`` or ``(0, why)``."""
    try:
        if landlock is None:
            raise _LANDLOCK_ERROR
        return landlock.landlock_abi_version(), ""
    except Exception as err:
        return 0, f"Landlock unavailable ({type(err).__name__}: {err})".splitlines()[0]


def available():
    """``{"seccomp": bool, "landlock": abi (0 = none), "problems": [...]}`` for this process."""
    problem = _seccomp_problem()
    abi, why = _landlock_abi()
    return {"seccomp": not problem, "landlock": abi,
            "problems": [p for p in (problem, why) if p]}


def plan(workdir, tmp, readable=()):
    """What :func:`apply` enforces for a program working in ``workdir``.

    readable : extra folders the program may read (the interpreter's prefixes).
    """
    offer = available()
    return {"seccomp": offer["seccomp"], "landlock": offer["landlock"] > 0,
            "read": sorted(set(SYSTEM_PATHS) | {os.fspath(p) for p in readable}),
            "write": [os.fspath(workdir), os.fspath(tmp)], "devices": list(DEVICE_PATHS),
            "problems": offer["problems"]}


def _landlock(plan):
    FSAccess = landlock.FSAccess
    ruleset = landlock.Ruleset()
    handled = ruleset.restrict_rules
    files = handled & FSAccess.all_file()
    read = FSAccess.READ_FILE | FSAccess.EXECUTE
    for rights, paths in ((read | FSAccess.READ_DIR, plan["read"]),
                          (handled, plan["write"]),
                          (FSAccess.READ_FILE | FSAccess.WRITE_FILE, plan["devices"])):
        for path in paths:
            if not os.path.exists(path):
                continue
            ruleset.allow(path, rules=rights if os.path.isdir(path) else rights & files)
    ruleset.apply()


def _seccomp():
    seccomp = pyseccomp
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    rules.add_rule(seccomp.ERRNO(errno.EACCES), "socket")
    for name in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
        rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
    rules.load()


def apply(plan):
    """Enforce ``plan`` on this process (and everything it will exec). Raises on failure."""
    if plan["landlock"]:
        _landlock(plan)
    if plan["seccomp"]:
        _seccomp()


def describe(plan):
    """What the plan closes, for ``SandboxResult.isolation``."""
    parts = []
    if plan["seccomp"]:
        parts.append("no network (seccomp: socket() refused)")
    if plan["landlock"]:
        parts.append("files limited by Landlock to the system, the interpreter and the "
                     "work folder")
    return ", ".join(parts)


def gaps(plan, as_root):
    """What stays open for a program confined by ``plan`` (without namespaces)."""
    open_ = [GAP_PROCESSES]
    problems = plan["problems"] if plan else []

    def why(word):
        said = [p for p in problems if p.startswith(word)]
        return f" ({'; '.join(said)})" if said else ""
    if not plan or not plan["landlock"]:
        open_.append("files: every world-readable file can be read and world-writable "
                     "places written" + why("Landlock"))
    if not plan or not plan["seccomp"]:
        open_.append("network: connections can be opened" + why("seccomp"))
    if not as_root and plan and plan["landlock"]:
        open_.append("user: the grader is not root, so the program runs as the grader's own "
                     "user: Landlock keeps it from the grader's files, but it can signal the "
                     "grader's processes")
    elif not as_root:
        open_.append("user: the grader is not root, so the program runs as the grader's own "
                     "user and can read and change the grader's files")
    return open_
