"""Attacks on cnnkit.grader.sandbox, each a short script run with run_sandboxed.

Every case runs under small limits so the file stays fast; each asserts the
status the sandbox reports and that nothing outside the work folder changed.
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from cnnkit.grader.sandbox import isolation as sandbox
from cnnkit.grader.sandbox.isolation import Limits, SandboxResult, run_sandboxed

SMALL = Limits(cpu_seconds=2, wall_seconds=5, memory_mb=512, max_processes=32,
               file_size_mb=16, open_files=64, output_bytes=10_000)
REPO = Path(sandbox.__file__).resolve().parents[2]
PREFIX = Path(sys.base_prefix)
SITE_PACKAGES = [p for p in sys.path if p.endswith("site-packages")][0]


@pytest.fixture(scope="module", autouse=True)
def _bwrap_present():
    assert sandbox.find_bwrap(), "bubblewrap (bwrap) must be installed to test the sandbox"


@pytest.fixture
def canary(tmp_path):
    """A file planted outside the work folder, with its hash."""
    path = tmp_path / "outside" / "canary.txt"
    path.parent.mkdir()
    path.write_text("secret seed 1234\n")
    return path


@pytest.fixture
def workdir(tmp_path):
    path = tmp_path / "student"
    path.mkdir()
    return path


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_script(workdir, code, limits=SMALL, env=None, args=()):
    (workdir / "attack.py").write_text(textwrap.dedent(code))
    return run_sandboxed(workdir, [sys.executable, "attack.py", *args], limits, env)


def sandbox_uid(result):
    """The uid the program printed on its first line of output."""
    return int(result.stdout.split()[0])


def processes_of(uid, settle=1.0):
    """Live (non-zombie) processes of ``uid``, after up to ``settle`` s for kills to land."""
    deadline = time.monotonic() + settle
    while True:
        found = []
        for entry in os.listdir("/proc"):
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            if (re.search(rf"^Uid:\s+{uid}\s", status, re.M)
                    and not re.search(r"^State:\s+Z", status, re.M)):
                found.append(entry)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# ----------------------------------------------------------------- API and limits

def test_limits_defaults_and_result_fields():
    limits = Limits()
    assert (limits.cpu_seconds, limits.wall_seconds, limits.memory_mb) == (60, 120, 2048)
    assert (limits.max_processes, limits.file_size_mb, limits.open_files,
            limits.output_bytes) == (64, 256, 256, 100_000)
    assert [f for f in SandboxResult.__dataclass_fields__] == [
        "status", "returncode", "stdout", "stderr", "wall_seconds", "isolation"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"cpu_seconds": -1}, ValueError, r"Limits.cpu_seconds must be > 0 and <= 3600.0, got -1"),
    ({"memory_mb": 10**9}, ValueError, r"Limits.memory_mb must be > 0 and <= 65536, got 1000000000"),
    ({"wall_seconds": float("nan")}, ValueError, r"Limits.wall_seconds must be > 0"),
    ({"memory_mb": 512.5}, TypeError, r"Limits.memory_mb must be an int, got 512.5 \(float\)"),
    ({"max_processes": True}, TypeError, r"Limits.max_processes must be an int, got True"),
    ({"cpu_seconds": "5"}, TypeError, r"Limits.cpu_seconds must be a number, got '5' \(str\)"),
])
def test_limits_reject_bad_values(kwargs, error, message):
    with pytest.raises(error, match=message):
        Limits(**kwargs)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"workdir must be an existing folder, got '.*nope'"):
        run_sandboxed(tmp_path / "nope", ["true"])
    with pytest.raises(TypeError, match=r"argv must be a non-empty list of strings, got \[\]"):
        run_sandboxed(tmp_path, [])
    with pytest.raises(TypeError, match=r"argv items must be strings, got 3"):
        run_sandboxed(tmp_path, ["echo", 3])
    with pytest.raises(ValueError, match=r"env must map variable names to strings, got 'X': 1"):
        run_sandboxed(tmp_path, ["true"], env={"X": 1})
    with pytest.raises(TypeError, match=r"limits must be a Limits instance, got dict"):
        run_sandboxed(tmp_path, ["true"], {"cpu_seconds": 1})


# ------------------------------------------------------------------ normal runs

def test_python_with_numpy_runs_unprivileged_in_the_work_folder(workdir):
    (workdir / "data.txt").write_text("3\n")
    result = run_script(workdir, """
        import json, os, numpy
        n = int(open("data.txt").read())
        open("answer.json", "w").write(json.dumps({"sum": float(numpy.arange(n).sum())}))
        print(os.getcwd(), os.getuid(), os.getgid(), os.getgroups())
    """)
    assert result.status == "ok", result.stderr
    assert result.returncode == 0
    assert result.isolation == (
        "bwrap: mount+pid+net+ipc+uts namespaces, an unprivileged uid of its own, no "
        "capabilities, workdir at /sandbox, rlimits cpu/as/nproc/fsize/nofile/core")
    cwd, uid, gid, groups = result.stdout.split(maxsplit=3)
    assert cwd == sandbox.SANDBOX_PATH
    assert int(uid) == int(gid) >= sandbox.UID_BASE
    assert groups.strip() == "[]"
    assert json.loads((workdir / "answer.json").read_text()) == {"sum": 3.0}
    assert 0 < result.wall_seconds < SMALL.wall_seconds


def test_parallel_sandboxes_get_distinct_uids(tmp_path):
    results = {}

    def one(name):
        folder = tmp_path / name
        folder.mkdir()
        results[name] = run_sandboxed(folder, ["/bin/sh", "-c", "sleep 0.3; id -u"], SMALL)

    threads = [threading.Thread(target=one, args=(f"s{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    uids = {r.stdout.strip() for r in results.values()}
    assert all(r.status == "ok" for r in results.values())
    assert len(uids) == 3


# ------------------------------------------------------------- reading outside

def shown_of(folder):
    """What a sandbox may list of ``folder``: only the way to the interpreter's own folders.

    The grader's interpreter (a venv in /work/venvs, or ``.venv`` inside a checkout) is
    mounted read-only at its own path; of the folders above it nothing else exists.
    """
    folder = Path(folder)
    ways = {Path(p).relative_to(folder).parts[0] for p in sandbox._python_prefixes()
            if folder in Path(p).parents}
    return sorted(ways) if ways else "FileNotFoundError"


def test_cannot_read_repo_root_home_or_canary(workdir, canary):
    result = run_script(workdir, f"""
        import json, os
        found = {{}}
        for path in [{str(REPO / 'pyproject.toml')!r}, {str(REPO)!r}, "/work", "/root",
                     "/home", {str(canary)!r}, {str(canary.parent)!r}, "/etc/shadow",
                     "/etc/passwd", "/proc/1/environ"]:
            try:
                found[path] = os.listdir(path) if os.path.isdir(path) else open(path).read()
            except OSError as err:
                found[path] = type(err).__name__
        found["/"] = sorted(os.listdir("/"))
        found["cmdline"] = open("/proc/1/cmdline").read()
        print(json.dumps(found))
    """)
    assert result.status == "ok", result.stderr
    found = json.loads(result.stdout)
    for path in [str(REPO / "pyproject.toml"), str(canary), str(canary.parent), "/etc/shadow",
                 "/etc/passwd"]:
        assert found[path] == "FileNotFoundError", (path, found[path])
    for path in [str(REPO), "/work", "/home"]:
        assert found[path] == shown_of(path), (path, found[path])
    assert found["/proc/1/environ"] == "PermissionError"
    assert found["/root"] == [".pyenv"] or not str(PREFIX).startswith("/root")
    assert set(found["/"]) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc",
                               "sbin", "tmp", "usr", "sandbox",
                               *(Path(p).parts[1] for p in sandbox._python_prefixes())}
    assert str(canary.parent) not in found["cmdline"]
    assert "secret seed" not in result.stdout


def test_cannot_import_the_reference(workdir):
    result = run_script(workdir, """
        import importlib
        for name in ["cnnkit.reference", "cnnkit.grader", "cnnkit.grader.testbank"]:
            try:
                importlib.import_module(name)
                print(name, "IMPORTED")
            except ImportError as err:
                print(name, type(err).__name__)
    """)
    assert result.status == "ok", result.stderr
    assert "IMPORTED" not in result.stdout
    assert result.stdout.split() == ["cnnkit.reference", "ModuleNotFoundError",
                                     "cnnkit.grader", "ModuleNotFoundError",
                                     "cnnkit.grader.testbank", "ModuleNotFoundError"]


# ------------------------------------------------------------- writing outside

def test_cannot_write_outside_the_work_folder(workdir, canary):
    before = digest(canary)
    evil_pth = Path(SITE_PACKAGES) / "zz_cnnkit_sandbox_test.pth"
    result = run_script(workdir, f"""
        import os
        outcomes = []
        for path in [{str(canary)!r}, {str(evil_pth)!r}, "/usr/evil", "/etc/evil",
                     {str(REPO / 'grader' / 'evil.py')!r}, "/sandbox/../evil", "/tmp/ok"]:
            try:
                with open(path, "w") as handle:
                    handle.write("pwned")
                outcomes.append("written")
            except OSError as err:
                outcomes.append(type(err).__name__)
        print(" ".join(outcomes))
    """)
    assert result.status == "ok", result.stderr
    outcomes = result.stdout.split()
    assert outcomes[:6] == ["FileNotFoundError", "OSError", "OSError", "PermissionError",
                            "FileNotFoundError", "PermissionError"], outcomes
    assert outcomes[6] == "written"  # the private /tmp, gone afterwards
    assert digest(canary) == before
    assert not evil_pth.exists()
    assert not (REPO / "grader" / "evil.py").exists()
    assert not (workdir.parent / "evil").exists()


def test_huge_file_stops_at_the_file_size_limit(workdir):
    result = run_script(workdir, """
        block = b"x" * (1 << 20)
        with open("huge.bin", "wb") as handle:
            for _ in range(10_000):
                handle.write(block)
    """)
    assert result.status == "error"
    # the kernel's file size limit, or the parent's folder size check if it came first
    assert "File too large" in result.stderr or "killed: its folder held" in result.stderr
    assert (workdir / "huge.bin").stat().st_size <= SMALL.file_size_mb << 20


# ------------------------------------------------------------------- network

def test_no_connection_reaches_the_hosts_loopback(workdir):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = run_script(workdir, f"""
            import socket
            for host in ["127.0.0.1", "localhost", "::1"]:
                try:
                    socket.create_connection((host, {port}), timeout=1).sendall(b"leak")
                    print(host, "connected")
                except OSError as err:
                    print(host, type(err).__name__)
        """)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert result.status == "ok", result.stderr
    assert "connected" not in result.stdout
    assert "127.0.0.1 ConnectionRefusedError" in result.stdout


# ----------------------------------------------------------------- processes

def test_cannot_kill_its_parent_or_other_processes(workdir):
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        result = run_script(workdir, """
            import os, signal, subprocess
            try:
                os.kill(os.getppid(), signal.SIGKILL)
                print("parent killed", flush=True)
            except PermissionError:
                print("parent refused", flush=True)
            subprocess.run(["/bin/sh", "-c", "kill -9 -1"])
            print("still here")
        """)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    assert "parent refused" in result.stdout
    # kill -9 -1 can only reach the program's own processes, itself included
    assert result.status == "crashed" and result.returncode == -signal.SIGKILL
    assert "[sandbox] killed by signal SIGKILL" in result.stderr


def test_fork_bomb_is_contained_and_does_not_starve_a_parallel_sandbox(workdir, tmp_path):
    honest_dir = tmp_path / "honest"
    honest_dir.mkdir()
    honest = {}

    def run_honest():
        time.sleep(0.5)  # start while the bomb is going off
        honest["result"] = run_sandboxed(honest_dir, [
            sys.executable, "-c", "import numpy, threading; t = threading.Thread(target=print,"
            " args=('fine',)); t.start(); t.join()"], SMALL)

    thread = threading.Thread(target=run_honest)
    thread.start()
    result = run_script(workdir, """
        import os
        print(os.getuid(), flush=True)
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, Limits(cpu_seconds=2, wall_seconds=3, memory_mb=512, max_processes=32))
    thread.join()
    assert result.status == "timeout"
    assert result.wall_seconds < 3 + 3
    assert processes_of(sandbox_uid(result)) == []
    assert honest["result"].status == "ok", honest["result"].stderr
    assert honest["result"].stdout == "fine\n"


def test_thread_bomb_hits_the_process_limit(workdir):
    result = run_script(workdir, """
        import threading, time
        while True:
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    """)
    assert result.status == "error"
    assert "can't start new thread" in result.stderr


def test_memory_bomb_is_oom(workdir):
    result = run_script(workdir, """
        import numpy
        hog = [numpy.ones(10**7) for _ in range(1000)]
    """)
    assert result.status == "oom"
    assert "MemoryError" in result.stderr
    assert "[sandbox] ran out of memory (limit 512 MB)" in result.stderr


def test_infinite_loop_hits_the_cpu_limit(workdir):
    # wall clock far above the CPU limit: the CPU limit ends it, even on a busy machine
    result = run_script(workdir, "while True:\n    pass\n",
                        Limits(cpu_seconds=1, wall_seconds=30, memory_mb=512))
    assert result.status == "timeout"
    assert result.returncode == -signal.SIGXCPU
    assert "[sandbox] killed at the CPU limit of 1 s (SIGXCPU)" in result.stderr
    assert result.wall_seconds < 30


def test_ignoring_sigxcpu_still_ends_at_the_hard_cpu_limit(workdir):
    result = run_script(workdir, """
        import signal
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        while True:
            pass
    """, Limits(cpu_seconds=1, wall_seconds=30, memory_mb=512))
    assert result.status == "timeout"
    assert result.returncode == -signal.SIGKILL
    assert "killed at the CPU limit of 1 s (SIGKILL)" in result.stderr


def test_sleep_forever_hits_the_wall_clock_limit(workdir):
    result = run_script(workdir, """
        import os, time
        print(os.getuid(), flush=True)
        if os.fork() == 0:
            os.setsid()  # an escaping grandchild dies with the namespace too
        time.sleep(10**6)
    """, Limits(cpu_seconds=2, wall_seconds=1.5, memory_mb=512))
    assert result.status == "timeout"
    assert result.returncode is None
    assert "[sandbox] killed at the wall-clock limit of 1.5 s" in result.stderr
    assert 1.5 <= result.wall_seconds < 4
    assert processes_of(sandbox_uid(result)) == []


def test_ten_gigabytes_of_output_are_capped(workdir):
    result = run_script(workdir, """
        import sys
        block = "x" * (1 << 20)
        for _ in range(10 * 1024):
            sys.stdout.write(block)
    """, Limits(cpu_seconds=1, wall_seconds=3, memory_mb=512, output_bytes=10_000))
    assert result.status == "timeout"
    kept, marker = result.stdout[:10_000], result.stdout[10_000:]
    assert kept == "x" * 10_000
    assert re.fullmatch(r"\n\[sandbox\] output truncated: kept 10000 of \d+ bytes\n", marker)
    assert result.wall_seconds < 3 + 3


def test_segfault_is_crashed(workdir):
    result = run_script(workdir, "import ctypes\nctypes.string_at(0)\n")
    assert result.status == "crashed"
    assert result.returncode == -signal.SIGSEGV
    assert "[sandbox] killed by signal SIGSEGV" in result.stderr


def test_infinite_recursion_ends_with_a_clear_status(workdir):
    plain = run_script(workdir, "def f(n):\n    return f(n + 1)\nf(0)\n")
    assert plain.status == "error" and "RecursionError" in plain.stderr
    unlimited = run_script(workdir, """
        import sys
        sys.setrecursionlimit(10**9)
        def f(n):
            return f(n + 1) + 1
        f(0)
    """, Limits(cpu_seconds=2, wall_seconds=4, memory_mb=256))
    assert unlimited.status in {"crashed", "oom", "timeout"}, unlimited
    assert unlimited.wall_seconds < 4 + 3


@pytest.mark.parametrize("code, status, returncode", [
    ("import sys\nsys.exit(3)\n", "error", 3),
    ("import sys\nsys.exit(0)\n", "ok", 0),
    ("import os\nos._exit(0)\n", "ok", 0),  # the caller must check its result files
    ("import os\nos._exit(7)\n", "error", 7),
    ("raise ValueError('student bug')\n", "error", 1),
])
def test_exits_are_reported_as_they_happened(workdir, code, status, returncode):
    result = run_script(workdir, code)
    assert (result.status, result.returncode) == (status, returncode)


# --------------------------------------------------------------- environment

def test_environment_reveals_nothing_about_grading(workdir, monkeypatch):
    monkeypatch.setenv("CNNKIT_SECRET", "do-not-leak")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = run_script(workdir, "import json, os\nprint(json.dumps(dict(os.environ)))\n",
                        env={"CNNKIT_CASE": "conv_forward_naive"})
    assert result.status == "ok", result.stderr
    seen = json.loads(result.stdout)
    assert set(seen) == {"PATH", "PWD", "HOME", "TMPDIR", "LANG", "PYTHONNOUSERSITE",
                         "PYTHONDONTWRITEBYTECODE", "MPLBACKEND", "OMP_NUM_THREADS",
                         "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "CNNKIT_CASE"}
    assert "do-not-leak" not in result.stdout and "autograde" not in result.stdout


# ------------------------------------------------------------------- fallback

def test_fallback_without_bwrap_says_so(workdir, monkeypatch):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    result = run_sandboxed(workdir, ["/bin/sh", "-c", "id -u; pwd"], SMALL)
    assert result.status == "ok", result.stderr
    assert result.isolation.startswith(
        "confined: bwrap missing (not found on PATH); an unprivileged uid of its own, "
        "no capabilities; no network (seccomp: socket() refused), files limited by Landlock")
    assert "not closed: processes: no PID namespace" in result.isolation
    uid, cwd = result.stdout.split()
    assert int(uid) >= sandbox.UID_BASE
    assert cwd == str(workdir.resolve())


def test_fallback_when_bwrap_fails_to_start(workdir, monkeypatch):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: "/bin/false")
    result = run_sandboxed(workdir, ["/bin/sh", "-c", "echo hi"], SMALL)
    assert result.status == "ok"
    assert result.isolation.startswith(
        "confined: bwrap failed to start (exit status 1); an unprivileged uid")


def test_fallback_without_confinement_says_so(workdir, monkeypatch):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    monkeypatch.setattr(sandbox.confine, "available",
                        lambda: {"seccomp": False, "landlock": 0, "problems": ["none here"]})
    result = run_sandboxed(workdir, ["/bin/sh", "-c", "id -u; pwd"], SMALL)
    assert result.status == "ok", result.stderr
    assert result.isolation == (
        "rlimits only: bwrap missing (not found on PATH); an unprivileged uid of its own, "
        "no capabilities; no filesystem, process or network isolation")


def test_fallback_still_limits_and_sweeps_processes(workdir, monkeypatch):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    result = run_sandboxed(workdir, ["/bin/sh", "-c", "id -u; setsid sleep 100 & sleep 100"],
                           Limits(cpu_seconds=2, wall_seconds=1, memory_mb=512))
    assert result.status == "timeout"
    assert processes_of(sandbox_uid(result)) == []
    interpreter = run_sandboxed(workdir, [sys.executable, "-c", "print(1)"], SMALL)
    if reachable_by_others(sys.executable):
        assert interpreter.status == "ok" and interpreter.stdout == "1\n"
    else:  # e.g. an interpreter under /root: the fallback cannot run it, and says why
        assert interpreter.status == "error" and interpreter.returncode == 127
        assert re.search(r"\[sandbox\] cannot run '.*' as uid \d+: Permission denied",
                         interpreter.stderr)


def reachable_by_others(path):
    path = Path(os.path.realpath(path))
    folders_ok = all(p.stat().st_mode & 0o001 for p in path.parents)
    return folders_ok and bool(path.stat().st_mode & 0o005 == 0o005)


def test_special_files_left_behind_are_removed(workdir, canary):
    result = run_script(workdir, f"""
        import os, socket
        os.makedirs("outputs/deep")
        open("outputs/case_000.json", "w").write("{{}}")
        os.symlink({str(canary)!r}, "outputs/case_000.npz")
        os.symlink("/dev/stdin", "outputs/deep/case_001.json")
        os.mkfifo("outputs/case_002.json")
        socket.socket(socket.AF_UNIX).bind("outputs/sock")
    """)
    assert result.status == "ok", result.stderr
    assert "[sandbox] removed 4 symlinks, FIFOs, sockets or device files" in result.stderr
    left = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    assert left == ["attack.py", "outputs", "outputs/case_000.json", "outputs/deep"]


def test_memory_spread_over_processes_counts_together(workdir):
    result = run_script(workdir, """
        import os, time
        print(os.getuid(), flush=True)
        for _ in range(8):
            if os.fork() == 0:
                hog = bytearray(150 << 20)  # touched: resident
                time.sleep(30)
                os._exit(0)
        time.sleep(30)
    """, Limits(cpu_seconds=5, wall_seconds=10, memory_mb=512, max_processes=32))
    assert result.status == "oom"
    assert result.returncode is None
    assert re.search(r"\[sandbox\] killed: its processes used \d+ MB together, over the "
                     r"memory limit of 512 MB", result.stderr)
    assert result.wall_seconds < 10
    assert processes_of(sandbox_uid(result)) == []


def test_filling_the_work_folder_is_stopped(workdir):
    result = run_script(workdir, """
        import time
        block = b"x" * (4 << 20)
        for i in range(1000):
            with open(f"part{i}.bin", "wb") as handle:
                handle.write(block)  # each file under the file size limit
            time.sleep(0.01)
    """, Limits(cpu_seconds=10, wall_seconds=20, memory_mb=512, file_size_mb=16))
    assert result.status == "error"
    assert result.returncode is None
    assert re.search(r"\[sandbox\] killed: its folder held \d+ MB in \d+ files, over the "
                     r"limit of 16 MB or 100000 files", result.stderr)
    assert result.wall_seconds < 10
    written = sum(p.stat().st_size for p in workdir.glob("part*.bin"))
    assert written < 1000 * (4 << 20) // 4  # stopped long before its 4 GB


def test_a_second_run_in_a_folder_left_deep_and_strange_still_works(workdir):
    first = run_script(workdir, """
        import os
        os.link("attack.py", "hardlinked.py")
        for _ in range(1500):  # deeper than a recursive walk can go
            os.mkdir("d")
            os.chdir("d")
    """)
    try:
        assert first.status == "ok", first.stderr
        (workdir / "second.py").write_text("print(open('attack.py').read()[:6])\n")
        second = run_sandboxed(workdir, [sys.executable, "second.py"], SMALL)
        assert second.status == "ok", second.stderr
        assert second.stdout == "\nimpor\n"
    finally:  # pytest's own clean-up of tmp_path recurses and would fail on 1500 levels
        subprocess.run(["rm", "-rf", str(workdir / "d")], check=False)


@pytest.mark.slow
def test_an_interpreter_living_under_tmp_stays_visible(tmp_path, cnnkit_wheel):
    """A grader run from a virtual environment under /tmp (as CI may do) still runs
    student code: the private /tmp is mounted before the interpreter's folders. And cnnkit,
    installed from the wheel into that venv's site-packages, stays out of the student's
    reach (the reference and the hidden tests live there)."""
    import tempfile

    from environments import make_venv, pip_install
    venv = Path(tempfile.mkdtemp(prefix="cnnkit-venv-", dir="/tmp"))
    venv.chmod(0o755)  # as `python -m venv /tmp/NAME` leaves it
    try:
        # a complete venv of its own: cnnkit from the wheel, numpy for the student
        pip_install(make_venv(venv), "--no-deps", cnnkit_wheel, "numpy")
        work = tmp_path / "work"
        work.mkdir()
        (work / "probe.py").write_text(textwrap.dedent("""\
            import numpy, sys
            print(sys.executable)
            try:
                import cnnkit.reference
                print("cnnkit-readable", cnnkit.reference.__file__)
            except ImportError:
                print("cnnkit-hidden")
            """))
        grader = textwrap.dedent(f"""
            import sys
            from cnnkit.grader.sandbox.isolation import Limits, run_sandboxed
            result = run_sandboxed({str(work)!r}, [sys.executable, "probe.py"],
                                   Limits(cpu_seconds=10, wall_seconds=30))
            print(result.status, result.stdout.strip(), result.stderr[-300:])
        """)
        done = subprocess.run([str(venv / "bin" / "python"), "-c", grader], capture_output=True,
                              text=True, timeout=120)
        python = str(venv / "bin" / "python")
        assert done.stdout.split()[:3] == ["ok", python, "cnnkit-hidden"], \
            done.stdout + done.stderr
    finally:
        subprocess.run(["rm", "-rf", str(venv)], check=False)
