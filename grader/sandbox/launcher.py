"""The sandbox's launcher: the first program that runs inside a sandbox.

The sandbox runs it as ``python -I -S -c <the text of this file> STATUS_FD UID
LIMITS_JSON WORKDIR -- ARGV...`` (its text, not its path: inside bubblewrap
cnnkit is not visible). It writes ``started`` to STATUS_FD, forks, and the
child sets the resource limits (``{"RLIMIT_NAME": [soft, hard]}``), enters
WORKDIR, drops to UID when it runs as root, and execs ARGV. The launcher then
writes the child's wait status and CPU seconds to STATUS_FD as one JSON line.
A child that cannot be set up exits with 126, one that cannot be run with 127,
each with a ``[sandbox]`` line on stderr. Standard library only.
"""
import json
import os
import resource
import sys

SETUP_FAILED = 126
EXEC_FAILED = 127


def _child(uid, limits, workdir, argv):
    """Set the limits, enter ``workdir``, drop to ``uid`` and exec ``argv``; never returns."""
    try:
        for name, (soft, hard) in limits.items():
            resource.setrlimit(getattr(resource, name), (soft, hard))
        try:  # works in fallback mode even where workdir's parents are private
            os.chdir(workdir)
            entered = True
        except OSError:
            entered = False
        if os.getuid() == 0 and uid != 0:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        if not entered:
            os.chdir(workdir)
    except OSError as err:
        os.write(2, f"[sandbox] cannot set the sandbox up: {err}\n".encode())
        os._exit(SETUP_FAILED)
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        os.write(2, f"[sandbox] cannot run {argv[0]!r} as uid {os.getuid()}: "
                    f"{err.strerror}\n".encode())
        os._exit(EXEC_FAILED)


def main(args):
    """``args``: STATUS_FD UID LIMITS_JSON WORKDIR -- ARGV..."""
    fd, uid, limits, workdir = int(args[0]), int(args[1]), json.loads(args[2]), args[3]
    argv = args[5:]
    os.set_inheritable(fd, False)
    os.write(fd, b"started\n")
    pid = os.fork()
    if pid == 0:
        _child(uid, limits, workdir, argv)
    _, status, usage = os.wait4(pid, 0)
    os.write(fd, json.dumps({"wait_status": status,
                             "cpu": usage.ru_utime + usage.ru_stime}).encode() + b"\n")


if __name__ == "__main__":
    main(sys.argv[1:])
