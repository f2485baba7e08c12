"""``python -m utils.submit``: the pre-submission check and the zip the grader accepts.

The solution build's notebooks are run top to bottom in small mode on fake
CIFAR-10 (as a student's Restart and Run All would), so the folder is what a
student with every answer right holds; the check must pass it, and the zip it
writes must grade at full marks (the accuracy of a small-mode checkpoint
aside). A copy with a broken layout, no checkpoint and a notebook run out of
order must get one line per problem.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from cnn_course import NOTEBOOKS, SOURCE, execute_notebook
from cnnkit.grader.collect.rules import submission_files
from cnnkit.grader.release.build import build_package

SMALL_ENV = {"CNNKIT_SMALL": "1", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
             "OMP_NUM_THREADS": "1"}


def submit(folder, fake_cifar, tmp_path):
    env = dict(os.environ, CNNKIT_DATA=str(fake_cifar), CNNKIT_CACHE=str(tmp_path / "cache"),
               OPENBLAS_NUM_THREADS="1")
    env.pop("CNNKIT_SMALL", None)
    done = subprocess.run([sys.executable, "-m", "utils.submit"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def solved(tmp_path_factory, fake_cifar):
    """The solution build with its notebooks run in order and saved, plus ``submission.zip``."""
    base = tmp_path_factory.mktemp("solved")
    folder = base / "cnn"
    build_package(SOURCE, folder, solutions=True, generated=submission_files)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**SMALL_ENV, "CNNKIT_DATA": str(fake_cifar),
                           "CNNKIT_CACHE": str(base / "cache")}.items():
            mp.setenv(key, value)
        for name in NOTEBOOKS:
            nb, error, _ = execute_notebook(folder / name, folder)
            assert error is None, (name, error)
            nbformat.write(nb, folder / name)
    (folder / "cifar-10-batches-py").mkdir()        # data a student keeps beside the work
    (folder / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"x" * 1000)
    (folder / "nndl" / "__pycache__").mkdir(exist_ok=True)   # and caches
    (folder / "nndl" / "__pycache__" / "cnn.cpython-311.pyc").write_bytes(b"x")
    code, out, err = submit(folder, fake_cifar, base)
    return folder, code, out, err


def test_the_solution_passes_every_check(solved):
    folder, code, out, err = solved
    assert code == 0, out + err
    assert "PROBLEM" not in out
    assert "ok: layout: nndl/cnn.py, nndl/conv_layer_utils.py, nndl/conv_layers.py import" in out
    assert "ok: visible checks rerun in a fresh process on small data: 14 passed" in out
    assert "ok: notebooks saved after running in order" in out
    assert "ok: checkpoint checkpoints/challenge loads (nndl.cnn.ThreeLayerConvNet); " \
           "validation accuracy" in out
    assert "note: left out data (the grader has its own): 1 files (cifar-10-batches-py/)" in out
    assert "note: left out caches and build files: 1 files (nndl/)" in out
    assert f"All checks passed: upload {folder / 'submission.zip'} as it is." in out


def test_the_zip_grades_at_full_marks(solved, fake_cifar, tmp_path):
    from cnnkit.grader.api import grade_submissions
    folder = solved[0]
    with zipfile.ZipFile(folder / "submission.zip") as archive:
        names = archive.namelist()
        assert "nndl/conv_layers.py" in names and "checkpoints/challenge.npz" in names
        assert not any("__pycache__" in n or "cifar-10" in n for n in names)
        archive.extractall(tmp_path / "submissions" / "alice")
    secret = tmp_path / "course.secret"
    secret.write_text("submit-test-secret\n")
    result = grade_submissions(tmp_path / "submissions", tmp_path / "out", secret=secret,
                               data=str(fake_cifar), heldout=100, timeout=60)
    record = result.records[0]
    assert record["status"] == "graded", record
    for group in record["groups"]:
        if group["name"] == "cifar10_accuracy":   # a small-mode checkpoint: graded, not full
            assert {c["status"] for c in group["cases"]} <= {"passed", "failed"}, group
        else:
            assert group["score"] == group["max_score"], group
    assert record.get("notebook_edits") in (None, [])


def test_each_problem_is_named_in_one_line(solved, fake_cifar, tmp_path):
    folder = tmp_path / "cnn"
    shutil.copytree(solved[0], folder)
    (folder / "submission.zip").unlink()
    layers = folder / "nndl" / "conv_layer_utils.py"        # broken layout: a graded name gone
    layers.write_text(layers.read_text().replace("def conv_relu_pool_backward(",
                                                 "def conv_relu_pool_backwards("))
    (folder / "nndl" / "cnn.py").unlink()                     # and a file gone
    shutil.rmtree(folder / "checkpoints")                     # no checkpoint
    path = folder / "2-SpatialBatchNorm.ipynb"                # a cell rerun after a later one
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[1]["execution_count"] = code[-1]["execution_count"] + 1
    path.write_text(json.dumps(nb))
    status, out, err = submit(folder, fake_cifar, tmp_path)
    assert status == 1, out + err
    problems = [line for line in out.splitlines() if line.startswith("  PROBLEM: ")]
    expected = [
        "nndl/cnn.py is missing: the grader imports ThreeLayerConvNet from it",
        "nndl/conv_layer_utils.py has no conv_relu_pool_backward: the grader calls it by "
        "that name",
        f"before cell 4 (spatial_bn_forward_train) above it ({code[1]['execution_count']}); "
        "Restart and Run All, then save",
        "no challenge checkpoint: the grader looks for checkpoints/challenge.npz and "
        "checkpoints/challenge.json",
    ]
    for line in expected:
        assert any(line in p for p in problems), (line, out)
    assert any(p.startswith("  PROBLEM: 2-SpatialBatchNorm.ipynb: cell ") for p in problems)
    assert "3-CNN.ipynb, setup: ModuleNotFoundError: No module named 'nndl.cnn'; so 4 check(s) " \
           "could not run (cnn_initial_loss, cnn_fixed_params, cnn_gradient_check, " \
           "overfit_check)" in out
    assert (folder / "submission.zip").is_file()   # written anyway: partial work can be sent
