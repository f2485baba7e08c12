"""The student release of the cnn assignment: stubs, no leaks, deterministic, nbgrader-equivalent."""
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from cnnkit.grader.release.build import build_package
from cnnkit.grader.release.layout import load_layout
from cnnkit.grader.release.regions import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION,
                                           LEAK_MARKERS)

from cnn_course import REPO, SOURCE


def _region_lines(text, begin, end):
    """Non-trivial lines inside ``begin``/``end`` regions, and the lines outside them."""
    inside, outside, active = set(), set(), False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped == begin:
            active = True
        elif stripped == end:
            active = False
        elif active:
            if len(stripped) > 12 and not stripped.startswith("#"):
                inside.add(stripped)
        else:
            outside.add(stripped)
    return inside - outside


def _source_texts():
    """(relative path, text) of every .py file and every notebook cell of the source."""
    for path in sorted(SOURCE.rglob("*.py")):
        yield path.relative_to(SOURCE).as_posix(), path.read_text()
    for path in sorted(SOURCE.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        yield path.name, "\n".join(cell.source for cell in nb.cells)


def _text_of(path):
    if path.suffix == ".ipynb":
        return "\n".join(cell.source for cell in nbformat.read(str(path), as_version=4).cells)
    return path.read_text()


def test_release_has_no_marker_solution_or_hidden_test(release):
    folder, _ = release
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".py", ".ipynb", ".toml", ".md", ".pyx", ".json"):
            text = path.read_text()
            assert not [m for m in LEAK_MARKERS if m in text], path
    leaked = []
    for relpath, source in _source_texts():
        secret = (_region_lines(source, BEGIN_SOLUTION, END_SOLUTION)
                  | _region_lines(source, BEGIN_HIDDEN, END_HIDDEN))
        if not secret:
            continue
        lines = {line.strip() for line in _text_of(folder / relpath).split("\n")}
        leaked += [f"{relpath}: {line}" for line in sorted(secret) if line in lines]
    assert not leaked, "solution or hidden-test lines in the release:\n" + "\n".join(leaked)


def test_release_layout(release):
    folder, report = release
    layout = load_layout(SOURCE)
    assert report.notebooks == ["1-ConvLayers.ipynb", "2-SpatialBatchNorm.ipynb", "3-CNN.ipynb"]
    for relpath in layout["derived"]:
        text = (folder / relpath).read_text()
        assert text.startswith("# Generated from cnnkit.reference.")
        assert "do not edit" in text.split("\n")[0]
        assert not re.search(r"^\s*(from|import)\s+cnnkit", text, re.M), relpath
    for instructor_only in layout["instructor_only"]:
        assert not (folder / instructor_only).exists()
    assert sorted(p.name for p in (folder / "utils" / "expected").iterdir()) == [
        "conv_backward.npz", "conv_forward.npz", "max_pool.npz", "spatial_batchnorm.npz",
        "three_layer_convnet.npz"]
    assert (folder / "pyproject.toml").is_file() and (folder / "README.md").is_file()
    assert report.files == sorted(p.relative_to(folder).as_posix()
                                  for p in folder.rglob("*") if p.is_file())


STUB_CALLS = r'''
import json, sys
import numpy as np
sys.path.insert(0, ".")
import nndl.cnn, nndl.conv_layer_utils as U, nndl.conv_layers as L

rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 6, 6)); w = rng.standard_normal((4, 3, 3, 3)); b = np.zeros(4)
g, be = np.ones(4), np.zeros(4)
cp = {"stride": 1, "pad": 1}; pp = {"pool_height": 2, "pool_width": 2, "stride": 2}
dout = rng.standard_normal((2, 4, 6, 6)); dpool = rng.standard_normal((2, 4, 3, 3))

def bare_model():
    model = object.__new__(nndl.cnn.ThreeLayerConvNet)
    model.params, model.bn_params, model.reg = {}, [], 0.0
    model.dtype, model.use_batchnorm, model.filter_size = np.float64, False, 3
    return model

calls = {
    "nndl/conv_layers.py:conv_forward_naive": lambda: L.conv_forward_naive(x, w, b, cp),
    "nndl/conv_layers.py:conv_backward_naive": lambda: L.conv_backward_naive(dout, (x, w, b, cp)),
    "nndl/conv_layers.py:max_pool_forward_naive": lambda: L.max_pool_forward_naive(x, pp),
    "nndl/conv_layers.py:max_pool_backward_naive":
        lambda: L.max_pool_backward_naive(dpool[:, :3], (x, pp)),
    "nndl/conv_layers.py:spatial_batchnorm_forward":
        lambda: L.spatial_batchnorm_forward(x, g[:3], be[:3], {"mode": "train"}),
    "nndl/conv_layers.py:spatial_batchnorm_backward":
        lambda: L.spatial_batchnorm_backward(x, None),
    "nndl/conv_layer_utils.py:conv_relu_forward": lambda: U.conv_relu_forward(x, w, b, cp),
    "nndl/conv_layer_utils.py:conv_relu_backward": lambda: U.conv_relu_backward(dout, None),
    "nndl/conv_layer_utils.py:conv_relu_pool_forward":
        lambda: U.conv_relu_pool_forward(x, w, b, cp, pp),
    "nndl/conv_layer_utils.py:conv_relu_pool_backward":
        lambda: U.conv_relu_pool_backward(dpool, None),
    "nndl/conv_layer_utils.py:conv_bn_relu_forward":
        lambda: U.conv_bn_relu_forward(x, w, b, g, be, cp, {"mode": "train"}),
    "nndl/conv_layer_utils.py:conv_bn_relu_backward": lambda: U.conv_bn_relu_backward(dout, None),
    "nndl/conv_layer_utils.py:conv_bn_relu_pool_forward":
        lambda: U.conv_bn_relu_pool_forward(x, w, b, g, be, cp, {"mode": "train"}, pp),
    "nndl/conv_layer_utils.py:conv_bn_relu_pool_backward":
        lambda: U.conv_bn_relu_pool_backward(dpool, None),
    "nndl/cnn.py:ThreeLayerConvNet.__init__": lambda: nndl.cnn.ThreeLayerConvNet(),
    "nndl/cnn.py:ThreeLayerConvNet.loss": lambda: bare_model().loss(x, np.array([0, 1])),
}
results = {}
for name, call in calls.items():
    try:
        call()
        results[name] = ["returned", ""]
    except BaseException as err:
        results[name] = [type(err).__name__, str(err)]
print(json.dumps(results))
'''


def test_every_stub_raises_not_implemented_naming_the_work(release):
    folder, report = release
    proc = subprocess.run([sys.executable, "-c", STUB_CALLS], cwd=folder, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().split("\n")[-1])
    assert set(results) == set(report.stubs), "STUB_CALLS must call every stub of the release"
    for name, (kind, message) in results.items():
        relpath, qualname = name.split(":")
        assert kind == "NotImplementedError", f"{name} raised {kind}: {message}"
        assert message == report.stubs[name]
        assert message.startswith(f"Implement {qualname} in {relpath}: ")
    assert results["nndl/conv_layers.py:conv_forward_naive"][1] == (
        "Implement conv_forward_naive in nndl/conv_layers.py: naive convolution forward pass.")


def test_stubs_keep_signature_and_docstring(release):
    folder, _ = release
    text = (folder / "nndl" / "conv_layers.py").read_text()
    assert "def conv_forward_naive(x, w, b, conv_param):" in text
    assert "out : (N, F, H', W') with ``H' = 1 + (H + 2 * pad - HH) // stride``" in text
    assert ("    # YOUR CODE HERE\n    raise NotImplementedError('Implement conv_forward_naive "
            "in nndl/conv_layers.py: naive convolution forward pass.')\n    cache = (x, w, b, "
            "conv_param)") in text
    method = (folder / "nndl" / "cnn.py").read_text()
    assert ("        # YOUR CODE HERE\n        raise NotImplementedError('Implement "
            "ThreeLayerConvNet.__init__ in nndl/cnn.py: create ``params`` (and ``bn_params``) "
            "as the class docstring describes.')") in method


def test_regeneration_is_byte_identical(tmp_path):
    folder, again = tmp_path / "first", tmp_path / "again"
    build_package(SOURCE, folder)
    build_package(SOURCE, again)
    first = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    assert [k for k in first if first[k] != second[k]] == []


def test_solution_build_is_the_source_without_markers(tmp_path):
    out = tmp_path / "solution"
    report = build_package(SOURCE, out, solutions=True)
    assert report.stubs == {}
    for relpath in ("nndl/conv_layers.py", "nndl/conv_layer_utils.py", "nndl/cnn.py"):
        source = (SOURCE / relpath).read_text().split("\n")
        expected = [line for line in source if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)]
        assert (out / relpath).read_text().split("\n") == expected
    nb = nbformat.read(str(out / "3-CNN.ipynb"), as_version=4)
    challenge = next(c for c in nb.cells if c.get("id") == "challenge")
    assert "challenge_solver.train()" in challenge.source and BEGIN_SOLUTION not in challenge.source
    assert not any(BEGIN_HIDDEN in c.source for c in nb.cells)


def test_derived_files_are_kept_out_of_git():
    layout = load_layout(SOURCE)
    paths = [f"assignments/source/cnn/{p}" for p in layout["derived"]]
    paths.append("assignments/source/cnn/utils/expected/conv_forward.npz")
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=REPO,
                          capture_output=True, text=True)
    assert sorted(proc.stdout.split()) == sorted(paths)


@pytest.mark.slow
def test_nbgrader_generate_assignment_gives_the_same_notebooks(release, tmp_path):
    folder, report = release
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(REPO / "assignments" / "nbgrader_config.py", course)
    shutil.copytree(SOURCE, course / "source" / "cnn",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c", "checkpoints"))
    proc = subprocess.run(["nbgrader", "generate_assignment", "cnn"], cwd=course,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    generated = course / "release" / "cnn"
    for name in report.notebooks:
        assert (generated / name).read_bytes() == (folder / name).read_bytes(), name
    # nbgrader must not copy the student package: its .py files hold solutions
    assert not (generated / "nndl").exists() and not (generated / "utils").exists()
