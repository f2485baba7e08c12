"""The release's hand-written helpers: utils/feedback.py and utils/vis_utils.py."""
import importlib
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from cnn_course import SOURCE
from cnnkit.grader.release.derive import derived_text
from cnnkit.grader.release.layout import load_layout
from cnnkit.grader.release.stepper import stepper_files


def _load(relpath):
    spec = importlib.util.spec_from_file_location(f"cnn_{relpath.replace('/', '_')[:-3]}",
                                                  SOURCE / relpath)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_feedback():
    """utils/feedback.py as the release has it: in a package beside its derived utils/closeness.py
    and utils/stepper/ (whose step hints failed checks print)."""
    package = Path(tempfile.mkdtemp(prefix="cnn-helpers-")) / "cnn_release_utils"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "feedback.py").write_text((SOURCE / "utils" / "feedback.py").read_text())
    layout = load_layout(SOURCE)
    (package / "closeness.py").write_text(derived_text("closeness.py", "utils/closeness.py",
                                                       layout["derived"]))
    for path, data in stepper_files(layout).items():
        (package / path.split("/", 1)[1]).parent.mkdir(exist_ok=True)
        (package / path.split("/", 1)[1]).write_bytes(data)
    sys.path.insert(0, str(package.parent))
    try:
        return importlib.import_module("cnn_release_utils.feedback")
    finally:
        sys.path.remove(str(package.parent))


feedback = _load_feedback()
vis_utils = _load("utils/vis_utils.py")


def test_check_close_names_the_first_differing_entry():
    expected = np.arange(24, dtype=np.float64).reshape(2, 3, 2, 2) / 7 + 1
    actual = expected.copy()
    actual[0, 1, 1, 0] += 0.5
    actual[1, 2, 0, 1] -= 0.5
    with pytest.raises(feedback.CheckFailed, match=(
            r"^conv_forward_naive: out differs from the expected value at out\[0, 1, 1, 0\] "
            r"\(stride 2, pad 1\): expected 1.85714, got 2.35714 \(2 of 24 entries differ\)\n"
            r"To see it step by step: from cnn_release_utils.stepper import step_conv; "
            r"step_conv\(conv_forward_naive\)$")):
        feedback.check_close("conv_forward_naive", "out", actual, expected, "stride 2, pad 1")
    assert feedback.check_close("f", "out", expected + 1e-12, expected) < 1e-9


@pytest.mark.parametrize("actual, message", [
    (None, r"^f: dx is None \(ctx\); did you forget to assign or return it\?$"),
    ([1.0, 2.0], r"^f: dx should be a numpy array, got list \(ctx\)$"),
    (np.zeros((3, 2)), r"^f: dx has shape \(3, 2\) but the expected shape is \(2, 3\) \(ctx\)$"),
    (np.array([[0, 1, 2], [3, np.nan, 5.0]]),
     r"^f: dx holds a non-finite value at dx\[1, 1\] \(ctx\): got nan$"),
])
def test_check_close_explains_wrong_type_shape_and_nan(actual, message):
    expected = np.arange(6.0).reshape(2, 3)
    with pytest.raises(feedback.CheckFailed, match=message):
        feedback.check_close("f", "dx", actual, expected, "ctx")


def test_check_gradient_mentions_the_numerical_gradient():
    with pytest.raises(AssertionError, match=r"at dw\[1\] \(stride 1, compared with the "
                                             r"numerical gradient\): expected 2, got 3"):
        feedback.check_gradient("g", "dw", np.array([1.0, 3.0]), np.array([1.0, 2.0]), "stride 1")


def test_load_case_reports_a_missing_case(tmp_path, monkeypatch):
    monkeypatch.setattr(feedback, "EXPECTED_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no expected values for check 'nope': .*nope.npz "
                                                 r"is missing \(known checks: none\)"):
        feedback.load_case("nope")


def test_filter_grid_tiles_and_scales_each_filter():
    W = np.arange(5 * 3 * 2 * 2, dtype=np.float64).reshape(5, 3, 2, 2)
    grid = vis_utils.filter_grid(W, padding=1)
    assert grid.shape == (2 * 3 - 1, 3 * 3 - 1, 3)  # 5 filters on a 2 x 3 grid
    assert grid.min() == 0.0 and grid.max() == 1.0
    assert np.all(grid[2, :, :] == 1.0)  # the padding row is white
    with pytest.raises(ValueError, match=r"W must have shape \(F, 1 or 3, HH, WW\), got \(5, 2, 2\)"):
        vis_utils.filter_grid(W[:, 0])
