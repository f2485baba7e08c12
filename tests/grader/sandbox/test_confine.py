"""Attacks on the sandbox where bubblewrap cannot run (inside a container): the fallback
still refuses network and confines files with seccomp and Landlock (cnnkit.grader.sandbox.confine).

Files are planted world-readable in world-searchable folders, so that only Landlock,
not the file modes, can be what keeps them from the sandboxed program.
"""
import json
import shutil
import socket
import tempfile
import textwrap
from pathlib import Path

import pytest

from cnnkit.grader.sandbox import confine
from cnnkit.grader.sandbox import isolation as sandbox
from cnnkit.grader.sandbox.isolation import Limits, run_sandboxed

SMALL = Limits(cpu_seconds=5, wall_seconds=10, memory_mb=512)
#: a world-readable interpreter, as in a container image (the venv's may live under /root)
PYTHON = "/usr/bin/python3"


@pytest.fixture(autouse=True)
def _no_namespaces(monkeypatch):
    if not Path(PYTHON).exists():
        pytest.skip(f"{PYTHON} missing")
    offer = confine.available()
    assert offer["seccomp"] and offer["landlock"], offer["problems"]
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)


@pytest.fixture
def place():
    """A world-searchable folder holding a world-readable canary and the work folder."""
    base = Path(tempfile.mkdtemp(prefix="cnnkit-confine-", dir="/tmp"))
    base.chmod(0o755)
    (base / "canary.txt").write_text("course secret 5151\n")
    (base / "canary.txt").chmod(0o644)
    (base / "work").mkdir()
    yield base
    shutil.rmtree(base, ignore_errors=True)


def run(place, code):
    (place / "work" / "attack.py").write_text(textwrap.dedent(code))
    result = run_sandboxed(place / "work", [PYTHON, "attack.py"], SMALL, python=PYTHON)
    assert result.status == "ok", result.stderr
    assert result.isolation.startswith("confined:"), result.isolation
    return json.loads(result.stdout.splitlines()[-1])


def test_files_outside_the_work_folder_are_refused_whatever_their_modes(place):
    found = run(place, f"""
        import json, os
        found = {{}}
        def attempt(name, action):
            try:
                found[name] = str(action())[:40]
            except OSError as err:
                found[name] = type(err).__name__
        attempt("canary", lambda: open({str(place / 'canary.txt')!r}).read())
        attempt("listing /", lambda: os.listdir("/"))
        attempt("listing base", lambda: os.listdir({str(place)!r}))
        attempt("passwd", lambda: open("/etc/passwd").read())
        attempt("write /tmp", lambda: open("/tmp/cnnkit-confine-planted", "w").write("x"))
        attempt("write /dev/shm", lambda: open("/dev/shm/cnnkit-confine-planted", "w").write("x"))
        attempt("own folder", lambda: open("mine.txt", "w").write("ok"))
        attempt("private tmp", lambda: open(os.environ["TMPDIR"] + "/t", "w").write("ok"))
        attempt("system", lambda: len(open("/usr/lib/os-release").read()) > 0)
        print(json.dumps(found))
    """)
    for name in ("canary", "listing /", "listing base", "passwd", "write /tmp",
                 "write /dev/shm"):
        assert found[name] == "PermissionError", (name, found[name])
    assert found["own folder"] == "2" and found["private tmp"] == "2"
    assert found["system"] == "True"
    assert not Path("/tmp/cnnkit-confine-planted").exists()


def test_no_socket_of_any_kind_reaches_the_host():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    base = Path(tempfile.mkdtemp(prefix="cnnkit-confine-", dir="/tmp"))
    base.chmod(0o755)
    (base / "work").mkdir()
    try:
        found = run(base, f"""
            import json, socket
            found = {{}}
            for name, family, kind, where in [
                    ("tcp", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", {port})),
                    ("tcp6", socket.AF_INET6, socket.SOCK_STREAM, ("::1", {port})),
                    ("udp", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 53)),
                    ("unix", socket.AF_UNIX, socket.SOCK_STREAM, "/run/dbus/system_bus_socket"),
                    ("raw", socket.AF_PACKET, socket.SOCK_RAW, None)]:
                try:
                    s = socket.socket(family, kind)
                    s.settimeout(1)
                    if where:
                        s.connect(where)
                    found[name] = "connected"
                except OSError as err:
                    found[name] = type(err).__name__
            a, b = socket.socketpair()
            a.sendall(b"x")
            found["socketpair"] = b.recv(1).decode()
            print(json.dumps(found))
        """)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
        shutil.rmtree(base, ignore_errors=True)
    for name in ("tcp", "tcp6", "udp", "unix", "raw"):
        assert found[name] == "PermissionError", (name, found[name])
    assert found["socketpair"] == "x"


def test_gaps_name_what_stays_open():
    plan = {"seccomp": False, "landlock": False, "problems": [
        "seccomp unavailable (OSError: libseccomp.so.2 not found)",
        "Landlock unavailable (SyscallError: ENOSYS)"]}
    gaps = confine.gaps(plan, as_root=False)
    assert gaps[0].startswith("processes: no PID namespace")
    assert any(g.startswith("files: every world-readable file") and "ENOSYS" in g for g in gaps)
    assert any(g.startswith("network: connections can be opened (seccomp unavailable")
               for g in gaps)
    assert any(g.startswith("user: the grader is not root") for g in gaps)
    full = confine.gaps({"seccomp": True, "landlock": True, "problems": []}, as_root=True)
    assert full == [confine.GAP_PROCESSES]
    not_root = confine.gaps({"seccomp": True, "landlock": True, "problems": []}, as_root=False)
    assert not_root[1].endswith("Landlock keeps it from the grader's files, but it can signal "
                                "the grader's processes")
