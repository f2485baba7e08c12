"""The cnn notebooks run top to bottom in a fresh kernel on small data (CNNKIT_SMALL=1).

Source notebooks (solutions and hidden tests included) pass every check; release
notebooks stop at the first stub with a NotImplementedError that names the work.
"""
import shutil

import pytest

from cnn_course import NOTEBOOKS

#: each notebook must run in well under a minute in small mode (generous for slow CI spells)
SMALL_MODE_LIMIT = 120

FIRST_STUB = {
    "1-ConvLayers.ipynb": ("conv_forward_naive",
                           "Implement conv_forward_naive in nndl/conv_layers.py: naive "
                           "convolution forward pass."),
    "2-SpatialBatchNorm.ipynb": ("spatial_bn_forward_train",
                                 "Implement spatial_batchnorm_forward in nndl/conv_layers.py: "
                                 "spatial batch normalization forward pass."),
    "3-CNN.ipynb": ("cnn_initial_loss",
                    "Implement ThreeLayerConvNet.__init__ in nndl/cnn.py: create ``params`` "
                    "(and ``bn_params``) as the class docstring describes."),
}


#: check cells that print their own summary instead of feedback.report's "correct"
SILENT_CHECKS = {"cnn_initial_loss", "overfit_check", "challenge_check"}


def _text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def _test_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and c.cell_type == "code"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_source_notebook_passes_every_visible_and_hidden_check(name, synced_source, small_mode,
                                                              execute):
    nb, error, seconds = execute(synced_source / name, synced_source)
    print(f"{name}: {seconds:.1f} s in small mode")
    assert error is None, f"{name} failed:\n{str(error)[-3000:]}"
    tests = _test_cells(nb)
    assert tests and any("### BEGIN HIDDEN TESTS" in c.source for c in tests)
    for cell in tests:
        assert not [o for o in cell.outputs if o.output_type == "error"]
        assert "correct" in _text(cell) or cell.get("id") in SILENT_CHECKS, cell.get("id")
    if name == "1-ConvLayers.ipynb":
        speed = _text(next(c for c in nb.cells if c.get("id") == "fast_layers"))
        for layer in ("conv forward", "conv backward", "pool forward", "pool backward"):
            assert f"{layer}:" in speed
        assert speed.count("speed-up") == 4
    if name == "3-CNN.ipynb":
        assert (synced_source / "checkpoints" / "challenge.npz").is_file()
        assert (synced_source / "checkpoints" / "challenge.json").is_file()
    assert seconds < SMALL_MODE_LIMIT


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_release_notebook_runs_to_the_first_stub(name, release, small_mode, execute, tmp_path):
    folder = tmp_path / "cnn"
    shutil.copytree(release[0], folder)  # running writes __pycache__; keep the fixture pristine
    nb, error, _ = execute(folder / name, folder)
    cell_id, message = FIRST_STUB[name]
    assert error is not None, f"{name} ran to the end without meeting a stub"
    assert error.ename == "NotImplementedError"
    assert error.evalue == message
    failed = [c.get("id") for c in nb.cells if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.get("outputs", []))]
    assert failed == [cell_id]
