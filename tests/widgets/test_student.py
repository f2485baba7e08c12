"""step_conv / step_pool and the backward checks behind them (reference functions as students)."""
import numpy as np
import pytest

from cnnkit.reference import (conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
                              max_pool_forward_naive)
from cnnkit.widgets.student import step_conv, step_hint, step_pool

pytest.importorskip("ipywidgets")


def test_the_reference_passes_every_check():
    for helper, fn in ((step_conv, conv_forward_naive), (step_conv, conv_backward_naive),
                       (step_pool, max_pool_forward_naive), (step_pool, max_pool_backward_naive)):
        stepper = helper(fn)
        assert stepper.check_result.passed, stepper.check_result.message
        assert stepper.step == 0
        # every example passes, so the first is shown
        first = (2, 5, 5) if helper is step_conv else (2, 4, 4)
        assert stepper.frames.x.shape == first


def test_the_first_failing_example_is_chosen():
    def strided_only(x, w, b, conv_param):   # right except when the stride is not 1
        out, cache = conv_forward_naive(x, w, b, conv_param)
        return (out + (conv_param["stride"] != 1)), cache
    stepper = step_conv(strided_only, mode="forward")
    assert stepper.frames.stride == 2 and stepper.check_result.first_wrong == (0, 0, 0)


def test_a_backward_uses_the_students_own_forward_when_given():
    def forward(x, w, b, conv_param):
        return conv_forward_naive(x, w, b, conv_param)[0], ("my", "cache")

    def backward(dout, cache):
        assert cache == ("my", "cache")
        return np.zeros(1), np.zeros(1), np.zeros(1)
    check = step_conv(backward, mode="backward", forward=forward).check_result
    assert check.status == "bad-output" and "returned dx of shape (1,)" in check.message

    def broken_forward(x, pool_param):
        raise KeyError("stride")
    check = step_pool(max_pool_backward_naive, forward=broken_forward).check_result
    assert check.status == "error"
    assert "the forward that makes its cache failed first: KeyError" in check.message


def test_a_wrong_dw_opens_on_its_filter():
    def backward(dout, cache):
        dx, dw, db = conv_backward_naive(dout, cache)
        dw[1, 0, 2, 1] += 1
        return dx, dw, db
    stepper = step_conv(backward, mode="backward")
    assert stepper.check_result.first_wrong == ("dw", (1, 0, 2, 1))
    assert stepper.current.f == 1 and stepper.current == next(
        fr for fr in stepper.frames.frames if fr.f == 1)
    assert "your first wrong entry, dw[1,0,2,1]" in stepper.frame_html


def test_unknown_functions_and_modes_are_explained():
    def my_conv(x, w, b, conv_param):
        return conv_forward_naive(x, w, b, conv_param)
    with pytest.raises(ValueError, match=r"step_conv cannot tell whether my_conv is a forward "
                                         r"or a backward pass; pass one of conv_forward_naive, "
                                         r"conv_backward_naive, or mode='forward'"):
        step_conv(my_conv)
    assert step_conv(my_conv, mode="forward").check_result.passed
    with pytest.raises(ValueError, match=r"mode must be 'forward' or 'backward', got 'up'"):
        step_pool(max_pool_forward_naive, mode="up")


def test_hints_name_the_call():
    assert step_hint("max_pool_backward_naive") == (
        "To see it step by step: from cnnkit.widgets import step_pool; "
        "step_pool(max_pool_backward_naive)")
    assert step_hint("spatial_batchnorm_forward") == ""
