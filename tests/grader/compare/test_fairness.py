"""Harmless differences of form earn the points with a note; wrong values still fail."""
import shutil

import numpy as np
import pytest

from cnnkit.grader.compare.step import mismatch
from cnnkit.reference.closeness import difference, form_note, same_when_broadcast

BN_CALL = "    out_rows, bn_cache = batchnorm_forward(rows, gamma, beta, bn_param)\n"
#: the solution's spatial batch norm, keeping its running statistics as (1, C) rows
ROW_STATISTICS = (BN_CALL, BN_CALL + "    for key in ('running_mean', 'running_var'):\n"
                  "        bn_param[key] = bn_param[key].reshape(1, -1)\n")
#: right shape, wrong values: the batch's mean stored instead of the running average
BATCH_MEAN = (BN_CALL, BN_CALL + "    if bn_param['mode'] == 'train':\n"
              "        bn_param['running_mean'] = rows.mean(axis=0)\n")
#: the network's first biases start as integer zeros, kept out of the dtype cast
INTEGER_BIASES = (("self.params['b1'] = np.zeros(F)", "self.params['b1'] = np.zeros(F, dtype=int)"),
                  ("self.params[k] = v.astype(dtype)",
                   "self.params[k] = v if k == 'b1' else v.astype(dtype)"))


def test_leading_singleton_axes_are_harmless_others_are_not():
    assert same_when_broadcast((1, 3), (3,)) and same_when_broadcast((1, 1, 3), (3,))
    assert not same_when_broadcast((3, 1), (3,))
    assert not same_when_broadcast((1, 3, 1, 1), (3,))
    assert not same_when_broadcast((2, 3), (3,))


def test_a_row_vector_earns_the_points_with_a_note():
    want = np.arange(3.0)
    notes = []
    assert mismatch("running_mean", want[None], want, notes=notes) == ""
    assert notes == ["running_mean has shape (1, 3) where (3,) is documented; the values are "
                     "right, so it earns the points (return the documented form to be safe)"]


def test_integer_dtype_of_equal_values_earns_the_points_with_a_note():
    notes = []
    assert mismatch("db", np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]), notes=notes) == ""
    assert notes == ["db has dtype int64 where floats are documented; the values are right, "
                     "so it earns the points (return the documented form to be safe)"]


def test_wrong_values_in_a_harmless_form_still_fail():
    notes = []
    assert mismatch("running_mean", np.array([[0.0, 1.0, 5.0]]), np.arange(3.0),
                    notes=notes).startswith("running_mean[2] is 5, expected 2")
    assert notes == []
    assert mismatch("running_mean", np.arange(3.0)[:, None], np.arange(3.0)) == \
        "running_mean has shape (3, 1), expected (3,)"


def test_documented_forms_have_no_note_and_the_rule_is_shared():
    assert form_note("out", np.ones((2, 2)), np.ones((2, 2))) == ""
    # the release's visible checks and the widgets use the same rule
    assert difference(np.arange(3.0)[None], np.arange(3.0), rtol=1e-6, atol=0) is None
    assert difference(np.arange(3.0)[:, None], np.arange(3.0), rtol=1e-6, atol=0).kind == "shape"


def _patched(solution, folder, path, *edits):
    shutil.copytree(solution, folder)
    file = folder / path
    for old, new in edits:
        assert old in file.read_text(), (path, old)
        file.write_text(file.read_text().replace(old, new, 1))


@pytest.fixture(scope="module")
def fairness_batch(builds, secret_file, tmp_path_factory):
    from cnnkit.grader.api import grade_submissions
    root = tmp_path_factory.mktemp("fairness")
    subs = root / "submissions"
    shutil.copytree(builds["solution"], subs / "correct")
    _patched(builds["solution"], subs / "row_statistics", "nndl/conv_layers.py", ROW_STATISTICS)
    _patched(builds["solution"], subs / "batch_mean", "nndl/conv_layers.py",
             BATCH_MEAN)
    _patched(builds["solution"], subs / "integer_biases", "nndl/cnn.py", *INTEGER_BIASES)
    result = grade_submissions(subs, root / "out", workers=2, timeout=30, secret=secret_file)
    return {r["student_id"]: {g["name"]: g for g in r["groups"]} for r in result.records}


def _notes(group):
    return [c["message"] for c in group["cases"] if c["status"] == "passed" and c["message"]]


def test_row_running_statistics_earn_full_credit_with_a_note(fairness_batch):
    group = fairness_batch["row_statistics"]["spatial_batchnorm_forward"]
    assert group["score"] == fairness_batch["correct"]["spatial_batchnorm_forward"]["score"] == 10
    notes = _notes(group)
    assert notes and all("has shape (1, " in n and "is documented" in n for n in notes)
    assert _notes(fairness_batch["correct"]["spatial_batchnorm_forward"]) == []


def test_integer_valued_parameters_earn_full_credit_with_a_note(fairness_batch):
    group = fairness_batch["integer_biases"]["three_layer_convnet"]
    assert group["score"] == 25
    assert any("params['b1'] has dtype int64 where floats are documented" in n
               for n in _notes(group))


def test_running_statistics_with_wrong_values_still_fail(fairness_batch):
    group = fairness_batch["batch_mean"]["spatial_batchnorm_forward"]
    assert group["score"] < 10
    failed = [c["message"] for c in group["cases"] if c["status"] == "failed"]
    assert failed and all("bn_param['running_mean'] after the call" in m for m in failed)
