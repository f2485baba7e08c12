"""ConvStepper and PoolStepper in Python: stepping, parameters, check mode."""
import re

import numpy as np
import pytest

from cnnkit.reference import conv_forward_naive, max_pool_forward_naive
from cnnkit.widgets import ConvStepper, PoolStepper
from cnnkit.widgets.frames import fmt


RULE = re.compile(r"/\*(\w+)\*/([^{]*)\{")


def marks(stepper):
    """The board cells the shown frame marks: ``{"hl": [".x0-1-2", ...], ...}``."""
    found = {}
    for mark, selectors in RULE.findall(stepper.frame_html):
        scoped = selectors.split(",")
        assert all(s.startswith(f".{stepper.scope} ") for s in scoped), scoped
        found[mark] = [s.split(" ", 1)[1] for s in scoped]
    return found


def board_cell(stepper, selector):
    """(data-go, text) of the board cell with class ``selector`` (e.g. ``".o0-1-2"``)."""
    found = re.findall(rf'<td class="{selector[1:]}(?: [^"]*)?"[^>]*?(?: data-go="(\d+)")?>'
                       r"([^<]*)</td>", stepper.board_html)
    assert len(found) == 1, (selector, found)
    return found[0]


def sum_text(html):
    return re.search(r"<div class='cnk-sum'>([^<]*)</div>", html).group(1)


@pytest.fixture
def conv():
    rng = np.random.default_rng(3)
    return ConvStepper(rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 2, 3, 2)),
                       rng.standard_normal(2), stride=2, pad=2)


def test_stepping_moves_the_highlight_and_the_sum(conv):
    assert conv.n_steps == 2 * 4 * 4
    seen = set()
    for step in (0, 1, 5, 31):
        conv.step = step
        html = conv.frame_html
        fr = conv.current
        assert f"data-step='{step}' data-cell='{fr.f},{fr.i},{fr.j}'" in html
        cur = f".o{fr.f}-{fr.i}-{fr.j}"
        assert cur in marks(conv)["cur"]
        assert board_cell(conv, cur) == (str(step), fmt(fr.value))
        later = marks(conv).get("blank", [])
        assert len(later) == conv.n_steps - 1 - step and cur not in later
        text = sum_text(html)
        assert text.startswith(f"out[{fr.f},{fr.i},{fr.j}] = ")
        assert text.endswith(fr.equation())
        seen.add(text)
    assert len(seen) == 4


def test_receptive_field_is_highlighted_in_every_channel(conv):
    conv.step = 5                                  # out[0, 1, 1]: rows 2:5, cols 2:4
    window = {f".x{c}-{r}-{s}" for c in range(2) for r in range(2, 5) for s in range(2, 4)}
    assert set(marks(conv)["hl"]) == window | {".cnk-f0 td"}
    assert marks(conv)["hide"] == [".cnk-f1"]       # only the filter in use is shown
    for selector in window:
        board_cell(conv, selector)                  # each names one padded input cell
    conv.step = 16                                 # out[1, 0, 0] uses filter 1
    assert ".cnk-f1 td" in marks(conv)["hl"] and marks(conv)["hide"] == [".cnk-f0"]


def test_next_and_previous_stop_at_the_ends(conv):
    conv.previous()
    assert conv.step == 0
    conv.next()
    assert conv.step == 1 and conv._stack.selected_index == 1
    conv.step = conv.n_steps - 1
    conv.next()
    assert conv.step == conv.n_steps - 1


def test_slider_value_selects_the_frame(conv):
    conv._slider.value = 7
    assert conv._stack.selected_index == 7
    assert "data-step='7'" in conv.frame_html


def test_step_out_of_range_is_refused(conv):
    with pytest.raises(ValueError, match=r"step must be between 0 and 31, got 32"):
        conv.step = 32


def test_output_cells_jump_in_the_browser(conv):
    html = conv.board_html
    assert html.count("data-go=") == 32
    assert html.startswith("<div class='cnk-board' onclick=") and ".cnk-step input" in html
    hover = ConvStepper(jump_on="hover", editable=False)
    assert hover.board_html.startswith("<div class='cnk-board' onmouseover=")


def test_impossible_parameters_are_explained_not_raised():
    conv = ConvStepper(seed=1)                       # 3x5x5 input, 3x3 filters
    assert conv.set_params(HH=2, stride=2) is False
    assert conv.error == ("Cannot show these parameters: conv height: (input 5 + 2*pad 0 - "
                          "window 2) = 3 is not divisible by stride 2, so the output size 2.5 "
                          "is not an integer")
    assert "is not divisible by stride 2" in conv._error.value
    assert conv.n_steps == 18 and conv.params["stride"] == 1     # old frames kept
    w_before = conv.frames.w
    assert conv.set_params(stride=2) is True
    assert conv.error == "" and conv._error.value == ""
    assert conv.n_steps == 2 * 2 * 2
    assert conv.frames.w is w_before       # a refused edit leaves the arrays alone


def test_parameter_messages_name_the_parameter():
    conv = ConvStepper(editable=False)
    conv.set_params(H=0)
    assert conv.error == "Cannot show these parameters: height (H) must be an int >= 1, got 0"
    conv.set_params(pad=-1)
    assert conv.error == ("Cannot show these parameters: conv_param['pad'] must be an int "
                          ">= 0, got -1")
    conv.set_params(HH=9)
    assert conv.error == ("Cannot show these parameters: conv height: window 9 is larger "
                          "than the padded input (5 + 2*0 = 5)")
    with pytest.raises(TypeError, match=r"unknown parameter kernel; expected some of"):
        conv.set_params(kernel=3)


def test_too_many_steps_are_refused():
    with pytest.raises(ValueError, match=r"these parameters give 900 steps, more than "
                                         r"max_frames=400; use a smaller input or "
                                         r"scale='image'"):
        ConvStepper(np.zeros((1, 32, 32)), np.zeros((1, 1, 3, 3)), scale="numbers")


def test_editors_recompute_the_frames():
    conv = ConvStepper(seed=2)
    stride_box = next(e for e in conv._editors if e.description == "stride")
    stride_box.value = 2
    assert conv.params["stride"] == 2 and conv.n_steps == 2 * 2 * 2
    height_box = next(e for e in conv._editors if e.description == "height")
    height_box.value = 6
    assert "not divisible by stride 2" in conv.error
    height_box.value = 7
    assert conv.error == "" and conv.frames.x.shape == (3, 7, 5)


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match=r"mode must be 'forward' or 'backward', got 'sideways'"):
        ConvStepper(mode="sideways")
    with pytest.raises(ValueError, match=r"student must be a backward function with "
                                         r"mode='backward' \(e.g. conv_backward_naive\), "
                                         r"got conv_forward_naive"):
        ConvStepper(mode="backward", student=conv_forward_naive)
    with pytest.raises(TypeError, match=r"student must be a function, got int"):
        PoolStepper(student=3)
    with pytest.raises(ValueError, match=r"jump_on must be 'click' or 'hover', got 'drag'"):
        PoolStepper(jump_on="drag")
    with pytest.raises(ValueError, match=r"x must hold one example, shape \(C, H, W\), \(H, W\) "
                                         r"or \(1, C, H, W\), got \(2, 1, 4, 4\)"):
        ConvStepper(np.zeros((2, 1, 4, 4)))
    with pytest.raises(TypeError, match=r"x must be an array of numbers, got str"):
        PoolStepper("cat")
    with pytest.raises(TypeError, match=r"digits must be an int >= 0, got 1.5"):
        ConvStepper(digits=1.5)
    with pytest.raises(ValueError, match=r"max_frames must be an int >= 1, got 0"):
        PoolStepper(max_frames=0)
    with pytest.raises(ValueError, match=r"interval must be an int >= 1, got -5"):
        PoolStepper(interval=-5)


def test_given_arrays_must_fit():
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(2, 3, 3\), "
                                         r"got \(2, 2, 2\)"):
        ConvStepper(mode="backward", dout=np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(1, 2, 2\), "
                                         r"got \(1, 3, 3\)"):
        PoolStepper(mode="backward", dout=np.ones((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"b has 2 entries but w has 1 filters"):
        ConvStepper(np.zeros((1, 4, 4)), np.zeros((1, 1, 3, 3)), np.zeros(2))
    pool = PoolStepper(mode="backward", dout=np.ones((1, 2, 2)), editable=False)
    assert pool.set_params(stride=1) is True          # an edit draws a new dout
    assert pool.frames.dout.shape == (1, 3, 3)


def test_conv_backward_frames_show_dx_and_dw():
    conv = ConvStepper(mode="backward", pad=1, editable=False)
    conv.step = 7
    fr, html = conv.current, conv.frame_html
    assert f"dout[{fr.f},{fr.i},{fr.j}] = {fmt(fr.grad)} flows back" in html
    r0, c0 = fr.rows[0], fr.cols[0]
    assert (f"dw[{fr.f}] += {fmt(fr.grad)} * x_pad[:, {r0}:{r0 + 3}, {c0}:{c0 + 3}]"
            in html)
    assert f"dx_pad[:, {r0}:{r0 + 3}, {c0}:{c0 + 3}] += {fmt(fr.grad)} * w[{fr.f}]" in html
    assert "dx[0] so far (padded)" in html and "Gradient that lands on the padding" in html
    assert repr(conv).startswith("ConvStepper(backward, x (3, 5, 5)")


def bias_forgotten(x, w, b, conv_param):
    return conv_forward_naive(x, w, np.zeros_like(b), conv_param)


def test_check_mode_opens_on_the_first_wrong_cell():
    x = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4) / 10
    w = np.ones((2, 2, 3, 3)) / 9
    b = np.array([0.0, 0.5])       # filter 0 has no bias, so the bug shows at filter 1
    conv = ConvStepper(x, w, b, pad=1, student=bias_forgotten, editable=False)
    res = conv.check_result
    assert res.status == "wrong" and res.first_wrong == (1, 0, 0)
    assert conv.step == res.step == 16
    assert res.message == ("bias_forgotten differs from the reference in 16 of 32 output "
                           "cells; the first is out[0, 1, 0, 0]: expected "
                           f"{res.expected[1, 0, 0]:.4g}, got {res.got[1, 0, 0]:.4g}")
    assert "your out[1]" in conv.board_html and conv.board_html.count("cnk-wrong") == 16
    assert "&#10007;" in conv.frame_html                  # the verdict on this cell
    assert marks(conv)["cur"] == [".o1-0-0", ".s1-0-0"]   # reference and student cell
    assert set(marks(conv)["hl"]) >= {".x0-0-0", ".x1-2-2"}   # the window that produced it
    assert "Check: bias_forgotten differs" in conv._header.value


def test_check_mode_reports_correct_crashing_and_misshapen_functions():
    ok = ConvStepper(student=conv_forward_naive, editable=False)
    assert ok.check_result.passed and ok.step == 0
    assert ok.check_result.message == ("conv_forward_naive matches the reference on every one "
                                       "of the 18 output cells")

    def crashes(x, w, b, conv_param):
        return 1 / 0

    res = ConvStepper(student=crashes, editable=False).check_result
    assert (res.status, res.message) == ("error", "crashes raised ZeroDivisionError: "
                                                  "division by zero")

    def misshapen(x, pool_param):
        return max_pool_forward_naive(x, pool_param)[0][0], None

    res = PoolStepper(student=misshapen, editable=False).check_result
    assert res.status == "bad-output"
    assert res.message == "misshapen returned out of shape (1, 2, 2), expected (1, 1, 2, 2)"


def test_student_cannot_change_the_displayed_example():
    def vandal(x, w, b, conv_param):
        out = conv_forward_naive(x, w, b, conv_param)
        x[...] = 0
        w[...] = 0
        return out

    conv = ConvStepper(student=vandal, editable=False, seed=4)
    assert conv.check_result.passed and conv.frames.x.any()


def test_pool_stepper_explains_ties():
    x = np.array([[1, 3, 3, 0], [2, 0, 1, 1], [2, 2, 0, 4], [0, 1, 1, 4]], dtype=float)
    pool = PoolStepper(x, stride=1, editable=False)
    assert pool.n_steps == 9
    pool.step = 1                                  # window rows 0:2, cols 1:3 -> two 3s
    html = pool.frame_html
    assert pool.current.ties == ((0, 1), (0, 2))
    assert "Tie: 2 cells hold the maximum 3.00: (0,1), (0,2)." in html
    assert marks(pool)["tie"] == [".x0-0-1", ".x0-0-2"]
    assert marks(pool)["cur"] == [".x0-0-1", ".o0-0-1", ".s0-0-1"]   # the first max wins
    assert sum_text(html) == "out[0,0,1] = max(3.00, 3.00, 0.00, 1.00) = 3.00"
    assert "windows overlap" in pool._header.value


def test_pool_backward_sends_the_gradient_to_the_first_max():
    x = np.array([[5, 5], [1, 2]], dtype=float)
    pool = PoolStepper(x, stride=1, mode="backward", dout=np.array([[[0.7]]]),
                       editable=False)
    html = pool.frame_html
    assert "dx[0,0,0] += 0.70" in html
    assert "the gradient goes to one cell only: the first in row-major order, (0,0)" in html
    np.testing.assert_array_equal(pool.current.dx, [[[0.7, 0.0], [0.0, 0.0]]])


def test_pool_parameters_are_explained():
    pool = PoolStepper(editable=False)              # 1x4x4, 2x2 stride 2
    assert pool.set_params(pool_height=3) is False
    assert pool.error == ("Cannot show these parameters: pool height: (input 4 + 2*pad 0 - "
                          "window 3) = 1 is not divisible by stride 2, so the output size 1.5 "
                          "is not an integer")
    assert pool.set_params(pool_height=3, stride=1) is True
    assert pool.n_steps == 2 * 3
