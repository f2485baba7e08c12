"""Frame computation against cnnkit.reference on awkward geometries."""
import numpy as np
import pytest

from cnnkit.reference import (conv_backward_naive, conv_forward_naive,
                              max_pool_backward_naive, max_pool_forward_naive)
from cnnkit.widgets.frames import conv_frames, fmt, pool_frames

CONV_CASES = [
    # (C, H, W), (F, HH, WW), stride, pad
    ((2, 5, 5), (2, 3, 3), 2, 2),      # stride 2, pad 2
    ((3, 6, 5), (2, 3, 2), 1, 1),      # non-square filter
    ((1, 7, 6), (3, 3, 2), 2, 2),      # both, and F > C
    ((2, 4, 4), (1, 1, 1), 1, 0),      # 1x1 filter
]


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_forward_frames_match_reference(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(sum(x_shape) + 10 * stride + pad)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((w_shape[0], x_shape[0]) + w_shape[1:])
    b = rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}
    out = conv_forward_naive(x[None], w, b, conv_param)[0][0]
    cf = conv_frames(x, w, b, conv_param)
    assert len(cf.frames) == out.size
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    for k, fr in enumerate(cf.frames):
        assert fr.step == k
        assert (fr.f, fr.i, fr.j) == np.unravel_index(k, out.shape)
        assert fr.value == pytest.approx(out[fr.f, fr.i, fr.j])
        window = xp[:, fr.rows[0]:fr.rows[1], fr.cols[0]:fr.cols[1]]
        assert window.shape == w.shape[1:]
        assert fr.rows[0] == fr.i * stride and fr.cols[0] == fr.j * stride
        xs, ws = np.array(fr.terms).T
        np.testing.assert_array_equal(xs, window.ravel())
        np.testing.assert_array_equal(ws, w[fr.f].ravel())
        assert xs @ ws + fr.bias == pytest.approx(fr.value)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_backward_frames_accumulate_to_reference(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((w_shape[0], x_shape[0]) + w_shape[1:])
    b = rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_naive(x[None], w, b, conv_param)
    dout = rng.standard_normal(out.shape[1:])
    dx, dw, _ = conv_backward_naive(dout[None], cache)
    cf = conv_frames(x, w, b, conv_param, dout)
    H, W = x_shape[1:]
    last = cf.frames[-1]
    np.testing.assert_allclose(last.dx[:, pad:pad + H, pad:pad + W], dx[0])
    np.testing.assert_allclose(last.dw, dw)
    # each step adds dout[f, i, j] * w[f] to its window and nothing elsewhere
    previous = np.zeros_like(last.dx)
    for fr in cf.frames:
        step = fr.dx - previous
        expected = np.zeros_like(step)
        expected[:, fr.rows[0]:fr.rows[1], fr.cols[0]:fr.cols[1]] = fr.grad * w[fr.f]
        np.testing.assert_allclose(step, expected, atol=1e-12)
        assert fr.grad == dout[fr.f, fr.i, fr.j]
        previous = fr.dx


def test_conv_equation_is_written_out():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    fr = conv_frames(x, w, np.array([0.5]), {"stride": 1, "pad": 0}).frames[0]
    assert fr.equation() == ("1.00*1.00 + 2.00*0.00 + 3.00*0.00 + 4.00*(-1.00) + b = -2.50"
                             "  (b = 0.50)")
    assert fr.equation(digits=1).endswith("= -2.5  (b = 0.5)")


def test_fmt_never_prints_negative_zero():
    assert fmt(-0.0) == "0.00"
    assert fmt(-0.001) == "0.00"
    assert fmt(-0.006) == "-0.01"


def test_conv_frames_explain_an_impossible_output_size():
    x, w, b = np.zeros((1, 5, 5)), np.zeros((1, 1, 2, 2)), np.zeros(1)
    with pytest.raises(ValueError, match=r"conv height: \(input 5 \+ 2\*pad 0 - window 2\) "
                                         r"= 3 is not divisible by stride 2, so the output "
                                         r"size 2.5 is not an integer"):
        conv_frames(x, w, b, {"stride": 2, "pad": 0})


def test_conv_frames_name_the_bad_input():
    w, b = np.zeros((1, 1, 2, 2)), np.zeros(1)
    with pytest.raises(ValueError, match=r"x must have 3 dimensions, got shape \(1, 1, 4, 4\)"):
        conv_frames(np.zeros((1, 1, 4, 4)), w, b, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(1, 3, 3\), "
                                         r"got \(1, 2, 2\)"):
        conv_frames(np.zeros((1, 4, 4)), w, b, {"stride": 1, "pad": 0}, np.zeros((1, 2, 2)))


POOL_CASES = [
    # (C, H, W), pool_height, pool_width, stride
    ((2, 5, 5), 3, 3, 1),    # overlapping
    ((1, 6, 7), 3, 2, 1),    # overlapping, non-square
    ((2, 7, 7), 3, 3, 2),    # overlapping by one
    ((1, 4, 6), 2, 2, 2),    # tiling
]


@pytest.mark.parametrize("x_shape, HP, WP, stride", POOL_CASES)
def test_pool_frames_match_reference_with_ties(x_shape, HP, WP, stride):
    rng = np.random.default_rng(HP * 10 + WP + stride)
    x = rng.integers(0, 3, x_shape).astype(float)      # small integers: many ties
    pool_param = {"pool_height": HP, "pool_width": WP, "stride": stride}
    out, cache = max_pool_forward_naive(x[None], pool_param)
    dout = rng.standard_normal(out.shape[1:])
    pf = pool_frames(x, pool_param, dout)
    assert len(pf.frames) == out.size
    assert any(len(fr.ties) > 1 for fr in pf.frames), "the case should contain ties"
    for fr in pf.frames:
        window = x[fr.c, fr.rows[0]:fr.rows[1], fr.cols[0]:fr.cols[1]]
        assert fr.value == out[0, fr.c, fr.i, fr.j] == window.max()
        assert fr.window == tuple(window.ravel())
        # ties in row-major order, the first of them is the arg-max
        expected_ties = [(r, s) for r in range(*fr.rows) for s in range(*fr.cols)
                         if x[fr.c, r, s] == fr.value]
        assert list(fr.ties) == expected_ties
        assert fr.argmax == expected_ties[0]
    dx = max_pool_backward_naive(dout[None], cache)[0]
    np.testing.assert_allclose(pf.frames[-1].dx, dx)


def test_pool_backward_gives_a_tied_window_gradient_to_the_first_max_only():
    x = np.array([[[1.0, 5.0], [5.0, 2.0]]])
    pf = pool_frames(x, {"pool_height": 2, "pool_width": 2, "stride": 1}, np.array([[[3.0]]]))
    fr = pf.frames[0]
    assert fr.ties == ((0, 1), (1, 0))
    assert fr.argmax == (0, 1)
    np.testing.assert_array_equal(fr.dx, [[[0.0, 3.0], [0.0, 0.0]]])
    assert fr.equation() == "max(1.00, 5.00, 5.00, 2.00) = 5.00"


def test_overlapping_windows_add_their_gradients():
    x = np.array([[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]])
    pf = pool_frames(x, {"pool_height": 2, "pool_width": 2, "stride": 1},
                     np.ones((1, 2, 2)))
    assert pf.frames[-1].dx[0, 1, 1] == 4.0


def test_pool_frames_explain_an_impossible_output_size():
    with pytest.raises(ValueError, match=r"pool width: \(input 5 \+ 2\*pad 0 - window 2\) = 3 "
                                         r"is not divisible by stride 2"):
        pool_frames(np.zeros((1, 4, 5)),
                    {"pool_height": 2, "pool_width": 2, "stride": 2})
