"""Hidden cases: reproducible from the secret, different per course, covering the awkward shapes."""
import numpy as np
import pytest

from cnnkit.grader.testbank import CNN, get_assignment

KEY = b"a-test-course-secret-0123456789"


def all_cases(key, group):
    return [CNN.make_case(key, group, i) for i in range(CNN.group(group).n_cases)]


def test_cases_are_reproducible_from_the_secret_and_differ_between_courses():
    a = CNN.make_case(KEY, "conv_backward_naive", 2)
    b = CNN.make_case(KEY, "conv_backward_naive", 2)
    c = CNN.make_case(KEY + b"x", "conv_backward_naive", 2)
    assert a.call == b.call and a.arrays.keys() == b.arrays.keys()
    assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
    assert a.arrays["x"].shape != c.arrays["x"].shape or not np.allclose(
        a.arrays["x"], c.arrays["x"])


def test_conv_cases_cover_strides_pads_and_odd_shapes():
    cases = all_cases(KEY, "conv_forward_naive") + all_cases(KEY, "conv_backward_naive")
    params = [c.call["args"][3] for c in cases]
    assert {p["stride"] for p in params} == {1, 2, 3}
    assert {p["pad"] for p in params} == {0, 1, 2, 3}
    xs = [c.arrays["x"].shape for c in cases]
    ws = [c.arrays["w"].shape for c in cases]
    assert any(s[0] == 1 for s in xs) and any(s[1] == 1 for s in xs)
    assert any(s[2] != s[3] for s in xs) and any(s[2] != s[3] for s in ws)


def test_pool_cases_cover_overlapping_and_gap_leaving_windows():
    cases = all_cases(KEY, "max_pool_forward_naive") + all_cases(KEY, "max_pool_backward_naive")
    params = [c.call["args"][1] for c in cases]
    assert any(p["stride"] < p["pool_height"] for p in params)     # overlapping
    assert any(p["stride"] > p["pool_width"] for p in params)      # gaps between windows
    assert any(p["pool_height"] != p["pool_width"] for p in params)
    for c in cases:  # no near-ties, so numerical gradients are exact
        v = np.sort(c.arrays["x"].ravel())
        assert np.min(np.diff(v)) > 0.05


def test_batchnorm_cases_cover_train_and_test_with_running_statistics():
    modes = {c.call["args"][3]["mode"] for c in all_cases(KEY, "spatial_batchnorm_forward")}
    assert modes == {"train", "test"}
    case = CNN.make_case(KEY, "spatial_batchnorm_forward", 2)
    assert case.call["args"][3]["running_mean"] == "@running_mean"
    assert case.arrays["running_var"].min() > 0


def test_convnet_cases_include_regularisation_and_a_batch_of_one():
    cases = all_cases(KEY, "three_layer_convnet")
    kinds = [c.call["kind"] for c in cases]
    assert {"model_init", "model_scores", "model_loss"} == set(kinds)
    assert any(c.call["kwargs"]["reg"] > 0 for c in cases)
    assert any(c.arrays.get("X") is not None and c.arrays["X"].shape[0] == 1 for c in cases)


def test_case_descriptions_show_shapes_and_parameters_but_not_the_secret():
    case = CNN.make_case(KEY, "conv_forward_naive", 1)
    assert case.describe.startswith("x (") and "conv_param {'stride': 2, 'pad': 1}" in case.describe
    assert KEY.decode() not in repr(case) + case.describe


def test_unknown_assignment_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown assignment 'rnn'; known assignments: cnn"):
        get_assignment("rnn")


def test_every_case_records_the_kinds_it_was_built_with():
    """Kinds are read off each case's own parameters, so they cannot drift from the cases."""
    assign = get_assignment("cnn")
    for group in ("conv_forward_naive", "conv_backward_naive"):
        for i in range(assign.group(group).n_cases):
            case = assign.make_case(b"k", group, i)
            param = case.call["args"][3]
            x, w = case.arrays["x"], case.arrays["w"]
            assert f"stride {param['stride']}" in case.kinds and f"pad {param['pad']}" in case.kinds
            assert ("non-square filter" in case.kinds) == (w.shape[2] != w.shape[3])
            assert ("batch of one" in case.kinds) == (x.shape[0] == 1)
    for i in range(assign.group("max_pool_forward_naive").n_cases):
        case = assign.make_case(b"k", "max_pool_forward_naive", i)
        p = case.call["args"][1]
        overlapping = p["stride"] < max(p["pool_height"], p["pool_width"])
        assert ("overlapping windows" in case.kinds) == overlapping
    assert assign.make_case(b"k", "cifar10_accuracy", 0).kinds == ("held-out accuracy",)
