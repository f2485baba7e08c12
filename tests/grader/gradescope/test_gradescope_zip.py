"""The Gradescope zip, built from an installed wheel and run as Gradescope runs it.

Once per session: cnnkit's wheel is built and installed in a fresh venv, whose
``cnnkit gradescope`` (run from a folder outside the repository) builds the zip;
the zip is extracted to ``$AUTOGRADER_ROOT/source`` and ``setup.sh`` runs with
every package index unreachable (a network namespace of its own: no network at
all), making its venvs from Python 3.10 as on Gradescope's image. Then
``run_autograder`` grades each kind of upload, and the hostile one again in a
simulated container that refuses namespaces.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from cnnkit.grader.sandbox import confine
from cnnkit.grader.demo import DEMO_MISTAKES, save_untrained_checkpoint
from cnnkit.grader.demo.mistakes import MISTAKES, apply
from cnnkit.grader.gradescope.wheelhouse import build_cnnkit_wheel
from gradescope_helpers import PYTHON310, hostile, hostile_reports, in_container
from grader_helpers import SECRET, write_fake_cifar

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs as root"),
              pytest.mark.skipif(not Path(PYTHON310).exists(), reason="no Python 3.10")]
GROUPS = 9



@pytest.fixture(scope="module")
def place():
    """A world-searchable folder (the sandbox user must reach the container's venvs)."""
    base = Path(tempfile.mkdtemp(prefix="cnnkit-gradescope-test-", dir="/tmp"))
    base.chmod(0o755)
    (base / "instructor").mkdir(mode=0o700)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def autograder_zip(place):
    """The zip, built by ``cnnkit gradescope`` from a fresh venv holding cnnkit's wheel."""
    home = place / "instructor"
    wheel, _ = build_cnnkit_wheel(home / "dist", PYTHON310)
    venv = home / "venv"
    subprocess.run([PYTHON310, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    data = write_fake_cifar(home / "data", [True] * 20)
    (home / "course.secret").write_text(SECRET)
    repo = Path(__file__).resolve().parents[3]
    out = home / "autograder.zip"
    build = subprocess.run(
        [str(venv / "bin" / "cnnkit"), "gradescope", "--assignment", "cnn", "--course",
         str(repo / "assignments"), "--secret", str(home / "course.secret"), "--heldout", "20",
         "--data", str(data), "--timeout", "30", "--out", str(out)],
        cwd=home, capture_output=True, text=True, timeout=1200)
    assert build.returncode == 0, build.stdout + build.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def container(place, autograder_zip):
    """``$AUTOGRADER_ROOT`` after ``setup.sh``, as Gradescope leaves it."""
    root = place / "autograder"
    (root / "source").mkdir(parents=True)
    root.chmod(0o755)
    with zipfile.ZipFile(autograder_zip) as z:
        z.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # extractall drops modes; unzip keeps them
        (root / "source" / name).chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CNNKIT_PYTHON": PYTHON310,
           "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_NO_INDEX": "1"}
    setup = subprocess.run(["unshare", "--net", "bash", str(root / "source" / "setup.sh")],
                           env=env, capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "sandbox self-test: ok" in setup.stdout, setup.stdout
    return root


@pytest.fixture(scope="module")
def students(place, autograder_zip):
    from cnnkit.grader.demo import generate_demo
    folder = place / "students"
    generate_demo(folder)
    save_untrained_checkpoint(folder / "demo_mistakes")
    return folder


def grade(root, upload, env_extra=None, contained=False):
    """Put ``upload`` (a folder's contents, or a file) in the submission folder, run
    ``run_autograder``; the results.json it left."""
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    if upload.is_dir():
        shutil.copytree(upload, submission)
    else:
        submission.mkdir()
        shutil.copy(upload, submission)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "AUTOGRADER_ROOT": str(root),
           **(env_extra or {})}
    argv = ["/bin/bash", str(root / "source" / "run_autograder")]
    run = in_container(argv, env) if contained else subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads((root / "results" / "results.json").read_text()), run.stdout


def by_group(results):
    return {t["name"]: t for t in results["tests"][:GROUPS]}


def test_zip_layout(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as z:
        names = z.namelist()
        for script in ("setup.sh", "run_autograder"):
            info = z.getinfo(script)
            assert (info.external_attr >> 16) & 0o777 == 0o755
            text = z.read(script)
            assert text.startswith(b"#!/usr/bin/env bash\n") and b"\r" not in text
        for name in names:
            if name.startswith("private/"):
                assert (z.getinfo(name).external_attr >> 16) & 0o077 == 0, name
        grader = z.read("wheelhouse/grader.txt").decode().split()
    assert any(n.startswith("wheelhouse/cnnkit-") and "cp310" in n for n in names)
    assert all("==" in line for line in grader)
    assert {line.split("==")[0] for line in grader} == {"cnnkit", "numpy", "threadpoolctl",
                                                         "pyseccomp", "landlock"}
    assert not any("jupyter" in n.lower() or "matplotlib" in n for n in names)


def test_setup_leaves_the_autograder_private(container):
    for path in (container / "source", container / "cnnkit-grader"):
        assert path.stat().st_uid == 0 and path.stat().st_mode & 0o077 == 0
    version = subprocess.run([str(container / "cnnkit-student" / "bin" / "python"), "-c",
                              "import sys, numpy; print(sys.version_info[:2] == (3, 10))"],
                             capture_output=True, text=True)
    assert version.stdout.strip() == "True", version.stderr
    cnnkit = subprocess.run([str(container / "cnnkit-student" / "bin" / "python"), "-c",
                             "import cnnkit"], capture_output=True, text=True)
    assert cnnkit.returncode != 0


def test_solution_gets_full_marks_but_for_an_untrained_accuracy(container, students):
    results, stdout = grade(container, students / "demo_correct")
    groups = by_group(results)
    assert len(groups) == GROUPS
    for name, test in groups.items():
        if name != "cifar10_accuracy":
            assert test["score"] == test["max_score"], (name, test["output"])
    assert groups["cifar10_accuracy"]["score"] < groups["cifar10_accuracy"]["max_score"]
    assert results["score"] == sum(t["score"] for t in groups.values())
    assert results["leaderboard"][0]["name"].startswith("Held-out accuracy")
    details = [t for t in results["tests"] if t["name"].endswith("hidden case details")]
    assert details and all(t["visibility"] == "after_due_date" for t in details)
    extra = results["extra_data"]
    assert extra["cnnkit_version"] and extra["secret_fingerprint"].startswith("sha256:")
    assert extra["isolation"].startswith("bwrap:") and extra["isolation_gaps"] == []
    assert results["execution_time"] > 0 and "isolation: bwrap" in stdout


def test_typical_mistakes_lose_points_in_their_groups_only(container, students):
    results, _ = grade(container, students / "demo_mistakes")
    groups = by_group(results)
    expected = {m.group for m in MISTAKES if m.name in DEMO_MISTAKES} | {"cifar10_accuracy"}
    lost = {name for name, t in groups.items() if t["score"] < t["max_score"]}
    assert lost == expected


def test_zipped_release_one_level_deeper_is_graded(container, students, place):
    archive = place / "upload" / "cnn.zip"
    archive.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted((students / "demo_correct").rglob("*")):
            if path.is_file():
                z.write(path, "my-homework/" + str(path.relative_to(students / "demo_correct")))
    results, _ = grade(container, archive)
    assert by_group(results)["conv_forward_naive"]["score"] == 10


def test_garbage_upload_gets_a_clear_results_json(container, place):
    junk = place / "upload" / "homework.pdf"
    junk.parent.mkdir(exist_ok=True)
    junk.write_bytes(b"%PDF-1.4 not a homework folder")
    results, _ = grade(container, junk)
    assert results["score"] == 0
    assert "homework.pdf" in results["output"]
    assert "Upload your cnn release folder" in results["output"]
    assert results["extra_data"]["status"] == "ungradable"


def _listener():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    return listener


def _attack(container, students, place, contained):
    from cnnkit.grader.testbank import cases
    markers = {"secret": SECRET.strip(),
               "hidden tests": Path(cases.__file__).read_text().splitlines()[0]}
    listener = _listener()
    target = place / ("hostile_contained" if contained else "hostile")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(students / "demo_correct", target)
    hostile(target, container, listener.getsockname()[1], markers)
    try:
        results, stdout = grade(container, target, contained=contained)
        time.sleep(12)  # longer than the process it left behind would live
        final = json.loads((container / "results" / "results.json").read_text())
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert final == results and "HOSTILE" not in results["output"]
    assert results["extra_data"]["cnnkit_version"] and len(by_group(results)) == GROUPS
    reports = hostile_reports(results)
    assert reports, json.dumps(results)[:3000]
    for report in reports:
        assert report["found"] == {}, report
        assert report["wrote"] == [], report
        assert report["network"] != "connected"
    text = json.dumps(results)
    assert SECRET.strip() not in text and markers["hidden tests"] not in text
    return results, reports, stdout


def test_hostile_submission_reads_and_writes_nothing_of_the_grader(container, students, place):
    results, reports, _ = _attack(container, students, place, contained=False)
    assert results["extra_data"]["isolation"].startswith("bwrap:")


def test_hostile_submission_in_a_container_that_refuses_namespaces(container, students, place):
    results, reports, stdout = _attack(container, students, place, contained=True)
    extra = results["extra_data"]
    assert extra["isolation"].startswith("confined: bwrap failed to start"), extra["isolation"]
    assert "no network (seccomp" in extra["isolation"] and "Landlock" in extra["isolation"]
    assert extra["isolation_gaps"] == [confine.GAP_PROCESSES]
    assert all(report["network"] == "PermissionError" for report in reports)
    assert any(report["read"] > 0 for report in reports)  # it did look around
    assert "not closed: processes" in stdout
