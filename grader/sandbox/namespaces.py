"""Why bubblewrap cannot isolate here: the machine's rules on namespaces, read from ``/proc``.

:func:`bwrap_problem` names what keeps ``bwrap`` from creating its namespaces
(not installed, user namespaces disabled or limited to zero, AppArmor's
restriction of unprivileged user namespaces, a container's seccomp filter)
with the fix, for the self-test (:mod:`cnnkit.grader.sandbox.selftest`) to report. An
unprivileged grader needs user namespaces; a root grader does not.
"""
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """What is missing (``reason``) and what to do about it (``fix``)."""
    reason: str
    fix: str


INSTALL_BWRAP = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; "
                 "Fedora/RHEL: dnf install bubblewrap)")
AS_ROOT = "or run the grader as root"


def _read(proc, name):
    """The stripped text of ``proc/name``, or None where the kernel has no such file."""
    try:
        return (Path(proc) / name).read_text().strip()
    except OSError:
        return None


def _setuid_root(path):
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_uid == 0 and bool(st.st_mode & stat.S_ISUID)


def userns_problem(proc="/proc"):
    """Why an unprivileged process cannot create a user namespace, by the kernel's
    settings under ``proc``; None when nothing there forbids it."""
    if _read(proc, "sys/kernel/unprivileged_userns_clone") == "0":
        return Problem(
            "unprivileged user namespaces are disabled (sysctl "
            "kernel.unprivileged_userns_clone = 0), and bubblewrap needs one when the grader "
            "is not root",
            "as root: sysctl -w kernel.unprivileged_userns_clone=1 (and put it in "
            f"/etc/sysctl.d/ to keep it), {AS_ROOT}")
    if _read(proc, "sys/user/max_user_namespaces") == "0":
        return Problem(
            "user namespaces are limited to zero (sysctl user.max_user_namespaces = 0), and "
            "bubblewrap needs one when the grader is not root",
            "as root: sysctl -w user.max_user_namespaces=15000 (and put it in /etc/sysctl.d/ "
            f"to keep it), {AS_ROOT}")
    if _read(proc, "sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return Problem(
            "AppArmor restricts unprivileged user namespaces (sysctl "
            "kernel.apparmor_restrict_unprivileged_userns = 1, as on Ubuntu 23.10 and later) "
            "and no AppArmor profile lets bwrap create one",
            "as root: add an AppArmor profile for bwrap that allows user namespaces (a file "
            "/etc/apparmor.d/bwrap holding 'abi <abi/4.0>, include <tunables/global> "
            "profile bwrap /usr/bin/bwrap flags=(unconfined) { userns, }', then "
            "apparmor_parser -r /etc/apparmor.d/bwrap), or sysctl -w "
            f"kernel.apparmor_restrict_unprivileged_userns=0, {AS_ROOT}")
    return None


def _seccomp_filtered(proc):
    for line in (_read(proc, "self/status") or "").splitlines():
        if line.startswith("Seccomp:"):
            return line.split()[-1] == "2"
    return False


def bwrap_problem(bwrap_error="", as_root=None, proc="/proc"):
    """Why bubblewrap does not isolate student code here, or None when nothing is known.

    Parameters
    ----------
    bwrap_error : bwrap's own first line of error when it failed to start ("" when it
        was not tried).
    as_root : whether the grader runs as root (default: the effective uid is 0).
    proc : where procfs is mounted (tests point it at a fake one).
    """
    if as_root is None:
        as_root = os.geteuid() == 0
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Problem("bubblewrap is not installed (no bwrap on PATH)",
                       INSTALL_BWRAP + ("" if as_root else f", {AS_ROOT}"))
    said = f" (bwrap said: {bwrap_error})" if bwrap_error else ""
    if not as_root and not _setuid_root(bwrap):
        found = userns_problem(proc)
        if found is not None:
            return Problem(found.reason + said, found.fix)
    if bwrap_error and _seccomp_filtered(proc):
        return Problem(
            "a seccomp filter on the grader's process (a container runtime's default profile, "
            "as Docker's) blocks the namespaces bwrap needs" + said,
            "run the container with a seccomp profile that allows unshare and clone with "
            "namespace flags, or grade outside the container")
    if bwrap_error:
        return Problem("bwrap failed to start" + said,
                       "run bwrap --unshare-all --ro-bind / / true to see the error, and check "
                       "that the kernel allows namespaces here")
    return None
