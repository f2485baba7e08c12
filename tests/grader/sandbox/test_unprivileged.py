"""A grader that is not root (a teaching assistant on a shared server): cnnkit installed the
way a user installs it (a fresh venv, world-readable, `pip install` of this checkout), run
as an unprivileged uid. It either grades with the isolation it reports (bubblewrap with
an unprivileged user namespace) or stops with the self-test's reason; the two refusals
are provoked for real: bubblewrap missing from PATH, and user namespaces limited to zero
(user.max_user_namespaces = 0 inside a user namespace of its own, so the machine's own
setting is untouched)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
UID = 47_213  # any uid without privileges; setpriv needs no account for it

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root"),
    pytest.mark.skipif(not (shutil.which("setpriv") and shutil.which("unshare")),
                       reason="needs setpriv and unshare (util-linux)"),
]

#: a student who tries to read the grader's secret and hands back what it got
SNOOP = textwrap.dedent('''
    try:
        with open({path!r}) as handle:
            _SEEN = "read the secret: " + handle.read()
    except OSError as err:
        _SEEN = "could not read the secret: " + type(err).__name__


    def conv_forward_naive(x, w, b, conv_param):
        raise RuntimeError(_SEEN)
''')


def _readable_python():
    """An interpreter others may run (the sandbox needs none of root's folders)."""
    from cnnkit.grader.sandbox.selftest import _closed
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (os.path.realpath(sys.executable), f"/usr/bin/{version}", "/usr/bin/python3"):
        if os.path.exists(candidate) and _closed(candidate) is None:
            probe = subprocess.run([candidate, "-c", "import sys, venv, ensurepip; "
                                    "assert sys.version_info >= (3, 11)"], capture_output=True)
            if probe.returncode == 0:
                return candidate
    return None


@pytest.fixture(scope="module")
def installed():
    """A world-readable venv with cnnkit installed from this checkout by its own pip."""
    python = _readable_python()
    if python is None:
        pytest.skip("no Python >= 3.11 with venv readable by an unprivileged user")
    root = Path(tempfile.mkdtemp(prefix="cnnkit-unprivileged-", dir="/tmp"))
    root.chmod(0o755)
    try:
        venv = root / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
        # [widgets]: the cnnkit command line loads every part's commands, the widgets' too
        done = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q",
                               "--disable-pip-version-check", f"{REPO}[widgets]"],
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        yield venv
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def batch(tmp_path, builds):
    """Submissions, output folder and secret, all owned by the unprivileged uid."""
    home = Path(tempfile.mkdtemp(prefix="cnnkit-ta-", dir="/tmp"))
    secret = home / "course.secret"
    secret.write_text("a-secret-only-the-grader-may-read-0123456789\n")
    subs = home / "subs"
    shutil.copytree(builds["solution"], subs / "alice")
    shutil.copytree(builds["solution"], subs / "mallory")
    (subs / "mallory" / "nndl" / "conv_layers.py").write_text(SNOOP.format(path=str(secret)))
    subprocess.run(["chown", "-R", f"{UID}:{UID}", str(home)], check=True)
    secret.chmod(0o600)
    yield home, subs, secret
    shutil.rmtree(home, ignore_errors=True)


def grade_command(venv, home, subs, secret):
    return [shutil.which("setpriv"), f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "--",
            str(venv / "bin" / "cnnkit"), "grade", str(subs), "--out", str(home / "out"),
            "--secret", str(secret), "--timeout", "30", "--no-progress"]


def env(home, path="/usr/local/bin:/usr/bin:/bin"):
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8"}


def test_an_unprivileged_grader_grades_with_the_isolation_it_reports_or_says_why_not(
        installed, batch):
    home, subs, secret = batch
    done = subprocess.run(grade_command(installed, home, subs, secret), env=env(home),
                          cwd=home, capture_output=True, text=True, timeout=600)
    if done.returncode == 3:  # this machine does not let it isolate: the self-test says why
        assert "nobody was graded: sandbox self-test failed: " in done.stderr
        assert "  fix: " in done.stderr
        assert not (home / "out" / "alice").exists()
        return
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((home / "out" / "summary.json").read_text())
    alice = json.loads((home / "out" / "alice" / "grade.json").read_text())
    mallory = json.loads((home / "out" / "mallory" / "grade.json").read_text())
    assert summary["self_test"]["ok"] and summary["isolation"] == alice["isolation"]
    assert summary["self_test"]["isolation"] == alice["isolation"] == mallory["isolation"]
    assert alice["isolation"].startswith("bwrap: mount+pid+net+ipc+uts namespaces, the "
                                         "grader's own uid (not root: no user switch)")
    assert alice["total"] == 80  # all but the accuracy group, which has no data here
    messages = " ".join(c["message"] for g in mallory["groups"] for c in g["cases"])
    assert "could not read the secret: FileNotFoundError" in messages
    assert "a-secret-only" not in json.dumps(mallory)


def test_an_unprivileged_grader_without_bwrap_stops_before_grading(installed, batch, tmp_path):
    home, subs, secret = batch
    no_bwrap = home / "bin"
    no_bwrap.mkdir()
    done = subprocess.run(grade_command(installed, home, subs, secret),
                          env=env(home, str(no_bwrap)), cwd=home, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 3, done.stdout + done.stderr
    assert ("sandbox self-test failed: bubblewrap is not installed (no bwrap on PATH); "
            "without bubblewrap, a grader that is not root would run student code as its own "
            "user") in done.stderr
    assert "fix: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap" in done.stderr
    assert not (home / "out" / "alice").exists()


def _in_user_namespace(script):
    """Run ``script`` (sh) as root of a new user namespace mapping every uid to itself."""
    wait_for_map = ('while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.02; done; '
                    'exec sh -c "$0"')  # exec again: capabilities come with the mapping
    proc = subprocess.Popen(["unshare", "--user", "sh", "-c", wait_for_map, script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ours = os.readlink("/proc/self/ns/user")
    deadline = time.monotonic() + 30
    while os.readlink(f"/proc/{proc.pid}/ns/user") == ours:
        assert time.monotonic() < deadline, "unshare --user did not start"
        time.sleep(0.01)
    for name in ("uid_map", "gid_map"):
        Path(f"/proc/{proc.pid}/{name}").write_text("0 0 4294967295\n")
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def test_user_namespaces_limited_to_zero_are_named(installed, batch):
    home, subs, secret = batch
    command = " ".join(f"'{arg}'" for arg in grade_command(installed, home, subs, secret))
    variables = " ".join(f"{k}='{v}'" for k, v in env(home).items())
    code, out, err = _in_user_namespace(
        f"echo 0 > /proc/sys/user/max_user_namespaces && cd '{home}' && "
        f"exec env -i {variables} {command}")
    assert code == 3, out + err
    assert ("sandbox self-test failed: user namespaces are limited to zero (sysctl "
            "user.max_user_namespaces = 0), and bubblewrap needs one when the grader is not "
            "root") in err
    assert "fix: as root: sysctl -w user.max_user_namespaces=15000" in err
    assert not (home / "out" / "alice").exists()
