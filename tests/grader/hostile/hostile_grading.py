"""The hostile batch: every hostile submission of ``hostile_cases.py`` graded in ONE batch
with two honest students, and each honest student graded alone for comparison.

The grader runs as instructors run it, ``cnnkit grade ... --nbgrader COURSE``
in a child process (with grader-revealing environment variables set), three
times in all: the batch, then each honest student alone. The fixture is
session-scoped; the tests only read what those runs left.
"""
import hashlib
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostile_cases import CASES, Targets  # noqa: E402
from hostile_patches import replace_function  # noqa: E402

from cnnkit.grader.release.build import build_package  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "assignments" / "source" / "cnn"
HONEST = ("honest_full", "honest_partial")
#: grader settings of the hostile batch: small, so that attacks end quickly
SETTINGS = {"--assignment": "cnn", "--workers": "2", "--timeout": "6", "--memory": "768",
            "--heldout": "10"}
#: a hung grader fails the run instead of hanging CI
GRADER_TIMEOUT_SECONDS = 900
#: The course secret of the suite. Chosen so that every hidden ThreeLayerConvNet
#: initialisation case has weights of at least 60 elements: the grader's check of
#: the initial weights' standard deviation (within 0.6-1.6 x weight_scale) fails a
#: correct random initialisation with probability ~1% at 18 elements (~3e-6 at 66),
#: which would make "graded in a batch == graded alone" fail by chance.
#: ``test_suite_secret_avoids_small_init_cases`` keeps this true.
SUITE_SECRET = "hostile-suite-secret-01268-0000000000000000"
MIN_INIT_ELEMENTS = 60
#: environment variables a grader might leak; set in the grading process during the batch
LEAKY_ENV = {"NBGRADER_EXECUTION": "autograde", "GRADESCOPE_SUBMISSION": "1",
             "CNNKIT_GRADING": "1"}


@dataclass
class Batch:
    """What the hostile batch and the honest-alone runs left behind."""
    root: Path
    targets: Targets
    submissions: Path
    out: Path
    course: Path
    records: dict
    alone: dict
    seconds: float
    exit_status: int
    stderr: str
    before: dict
    after: dict
    received: list = field(default_factory=list)


def smallest_init_weight(secret_key):
    """Fewest elements of any weight in the hidden ThreeLayerConvNet initialisation cases."""
    from cnnkit.grader.testbank import get_assignment
    assignment = get_assignment("cnn")
    sizes = []
    for index in range(assignment.group("three_layer_convnet").n_cases):
        case = assignment.make_case(secret_key, "three_layer_convnet", index)
        if case.call["kind"] != "model_init":
            continue
        kw = case.call["kwargs"]
        C, H, W = kw["input_dim"]
        F, fs, hidden = kw["num_filters"], kw["filter_size"], kw["hidden_dim"]
        sizes += [F * C * fs * fs, F * (H // 2) * (W // 2) * hidden, hidden * kw["num_classes"]]
    return min(sizes)


def write_tiny_cifar(folder, n=20, seed=0):
    """A CIFAR-10 python-version folder of ``n`` random images per batch."""
    rng = np.random.default_rng(seed)
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = {"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                "labels": rng.integers(0, 10, n).tolist(), "batch_label": "tiny"}
        (batches / name).write_bytes(pickle.dumps(data, protocol=2))
    (batches / "batches.meta").write_bytes(pickle.dumps(
        {"label_names": [str(i) for i in range(10)]}, protocol=2))
    return batches


def snapshot(paths):
    """sha256 of every regular file under ``paths``; links and other files by their kind.

    Symbolic links are recorded by their target and never followed; missing paths
    are recorded as missing.
    """
    found = {}
    for top in map(Path, paths):
        if not top.exists() and not top.is_symlink():
            found[str(top)] = "missing"
            continue
        pending = [top]
        while pending:
            path = pending.pop()
            if path.is_symlink():
                found[str(path)] = "link:" + os.readlink(path)
            elif path.is_dir():
                pending.extend(path.iterdir())
            elif path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[str(path)] = "special"
    return found


def probe_paths(t):
    return [t.grader_dir / t.probe_name, t.reference_dir / t.probe_name,
            t.site_packages / "zz_hostile_probe.pth", t.marker]


def make_targets(root, port):
    import cnnkit.grader
    import cnnkit.reference
    site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    instructor = root / "instructor"
    instructor.mkdir()
    secret = instructor / "course.secret"
    secret.write_text(SUITE_SECRET + "\n")
    canary = instructor / "canary.txt"
    canary.write_text("planted outside every sandbox\n")
    course = root / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    gradebook = course / "gradebook.db"  # created by the grader's parent process
    return Targets(secret=secret, submissions=root / "submissions", out=root / "out",
                   canary=canary, gradebook=gradebook,
                   reference_dir=Path(cnnkit.reference.__file__).parent,
                   grader_dir=Path(cnnkit.grader.__file__).parent, site_packages=site,
                   marker=root / "UNPICKLED", port=port)


def build_students(correct, submissions, targets, hostile):
    """Copy the correct package once per student and apply each student's patch."""
    submissions.mkdir()
    for sid in HONEST:
        shutil.copytree(correct, submissions / sid)
    replace_function(submissions / "honest_partial" / "nndl" / "conv_layers.py",
                     "max_pool_backward_naive",
                     "def max_pool_backward_naive(dout, cache):\n"
                     "    raise NotImplementedError('not done yet')")
    for case in hostile:
        folder = submissions / case.sid
        shutil.copytree(correct, folder)
        case.apply(folder, targets)


def grade(submissions, out, targets, data, env=None, timeout=GRADER_TIMEOUT_SECONDS,
          **settings):
    """Run ``cnnkit grade`` in a child process; returns (records by id, exit status, stderr).

    Raises ``subprocess.TimeoutExpired`` when the grader runs over ``timeout`` seconds.
    """
    options = {**SETTINGS, "--out": str(out), "--secret": str(targets.secret),
               "--data": str(data), **settings}
    argv = [sys.executable, "-m", "cnnkit.grader.cli", "grade", str(submissions),
            "--no-progress", *(x for item in options.items() for x in item)]
    done = subprocess.run(argv, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)
    records = {}
    for path in sorted(Path(out).glob("*/grade.json")):
        record = json.loads(path.read_text())
        records[record["student_id"]] = record
    return records, done.returncode, done.stderr


def drain(listener):
    """Everything that reached ``listener`` (non-blocking)."""
    received = []
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return received
        conn.settimeout(1)
        try:
            received.append(conn.recv(1000))
        except OSError:
            received.append(b"<connected>")
        conn.close()


def run_batch(root, hostile=CASES, extra_env=LEAKY_ENV):
    """Build every student, grade the batch and the honest students alone."""
    correct = root / "correct"
    build_package(SOURCE, correct, solutions=True)
    data = write_tiny_cifar(root / "data")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    targets = make_targets(root, listener.getsockname()[1])
    build_students(correct, targets.submissions, targets, hostile)
    watched = [targets.submissions, targets.secret, targets.canary, *probe_paths(targets)]
    before = snapshot(watched)
    start = time.monotonic()
    records, status, stderr = grade(targets.submissions, targets.out, targets, data,
                                    env={**extra_env, "CNNKIT_SECRET": str(targets.secret)},
                                    **{"--nbgrader": str(targets.gradebook.parent)})
    seconds = time.monotonic() - start
    after = snapshot(watched)
    received = drain(listener)
    listener.close()
    alone = {}
    for sid in HONEST:
        subs = root / f"alone_{sid}"
        subs.mkdir()
        shutil.copytree(correct if sid == "honest_full" else targets.submissions / sid,
                        subs / sid)
        alone[sid] = grade(subs, root / f"out_alone_{sid}", targets, data,
                           **{"--workers": "1"})[0][sid]
    return Batch(root=root, targets=targets, submissions=targets.submissions, out=targets.out,
                 course=targets.gradebook.parent, records=records, alone=alone,
                 seconds=seconds, exit_status=status, stderr=stderr, before=before,
                 after=after, received=received)


@pytest.fixture(scope="session")
def hostile_batch():
    """The batch, in a private temporary folder (removed afterwards)."""
    root = Path(tempfile.mkdtemp(prefix="cnnkit-hostile-"))
    try:
        yield run_batch(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
