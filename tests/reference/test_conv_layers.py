"""Naive convolution, pooling and spatial batch norm: values by definition, gradients numerically."""
import itertools

import numpy as np
import pytest

from cnnkit import reference as R
from cnnkit.reference.gradient_check import eval_numerical_gradient_array

# (x shape, w shape, stride, pad): stride 1-3, pad 0-3, non-square filters and
# images, one channel, batch of one.
CONV_CASES = [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    ((1, 1, 7, 5), (2, 1, 3, 1), 2, 0),
    ((2, 2, 8, 9), (3, 2, 2, 3), 3, 3),
    ((1, 3, 4, 6), (2, 3, 4, 2), 2, 2),
    ((3, 2, 5, 4), (1, 2, 1, 2), 1, 0),
]
# (x shape, pool_height, pool_width, stride): overlapping, gapped and non-square windows.
POOL_CASES = [
    ((2, 3, 4, 4), 2, 2, 2),
    ((1, 2, 7, 7), 3, 3, 2),
    ((2, 1, 8, 5), 2, 3, 1),
    ((1, 2, 7, 10), 1, 4, 3),
]


def conv_by_definition(x, w, b, stride, pad):
    """out[n, f, i, j] = b[f] + sum_{c,p,q} xpad[n, c, i*s + p, j*s + q] * w[f, c, p, q]."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    xp[:, :, pad:pad + H, pad:pad + W] = x
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n, f, i, j in itertools.product(range(N), range(F), range(Ho), range(Wo)):
        total = b[f]
        for c, p, q in itertools.product(range(C), range(HH), range(WW)):
            total += xp[n, c, i * stride + p, j * stride + q] * w[f, c, p, q]
        out[n, f, i, j] = total
    return out


@pytest.mark.parametrize("x_shape,w_shape,stride,pad", CONV_CASES)
def test_conv_forward_matches_definition(rng, x_shape, w_shape, stride, pad):
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    out, _ = R.conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
    np.testing.assert_allclose(out, conv_by_definition(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape,w_shape,stride,pad", CONV_CASES)
def test_conv_backward_numerically(rng, x_shape, w_shape, stride, pad):
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}
    out, cache = R.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = R.conv_backward_naive(dout, cache)
    for name, value, grad in (("x", x, dx), ("w", w, dw), ("b", b, db)):
        def f(v, name=name):
            args = {"x": x, "w": w, "b": b, name: v}
            return R.conv_forward_naive(args["x"], args["w"], args["b"], conv_param)[0]
        numeric = eval_numerical_gradient_array(f, value.copy(), dout)
        assert R.rel_error(numeric, grad) < 1e-7, f"d{name}"


def test_conv_keeps_float32(rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    out, cache = R.conv_forward_naive(x, w, np.zeros(3, np.float32), {"stride": 1, "pad": 1})
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in R.conv_backward_naive(out, cache))


@pytest.mark.parametrize("conv_param,message", [
    ({"stride": 2, "pad": 1}, r"conv height: \(input 5 \+ 2\*pad 1 - window 2\) = 5 is not divisible "
                              r"by stride 2, so the output size 3.5 is not an integer"),
    ({"stride": 1, "pad": 1.0}, r"conv_param\['pad'\] must be an int >= 0, got 1.0"),
    ({"stride": 0, "pad": 1}, r"conv_param\['stride'\] must be an int >= 1, got 0"),
    ({"stride": 1}, r"conv_param is missing 'pad'"),
])
def test_conv_rejects_bad_geometry(rng, conv_param, message):
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 2, 2))
    with pytest.raises((ValueError, TypeError), match=message):
        R.conv_forward_naive(x, w, np.zeros(3), conv_param)


def test_conv_rejects_wrong_dtype_and_channels(rng):
    with pytest.raises(TypeError, match="x must be float32 or float64, got dtype int64"):
        R.conv_forward_naive(np.ones((1, 2, 3, 3), dtype=np.int64), np.ones((1, 2, 1, 1)),
                             np.zeros(1), {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"w has 3 channels but x has 2"):
        R.conv_forward_naive(np.ones((1, 2, 3, 3)), np.ones((1, 3, 1, 1)), np.zeros(1),
                             {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"x must have 4 dimensions, got shape \(2, 3, 3\)"):
        R.conv_forward_naive(np.ones((2, 3, 3)), np.ones((1, 2, 1, 1)), np.zeros(1),
                             {"stride": 1, "pad": 0})


def pool_by_definition(x, HP, WP, stride):
    N, C, H, W = x.shape
    Ho, Wo = (H - HP) // stride + 1, (W - WP) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    for n, c, i, j in itertools.product(range(N), range(C), range(Ho), range(Wo)):
        out[n, c, i, j] = max(x[n, c, i * stride + p, j * stride + q]
                              for p in range(HP) for q in range(WP))
    return out


@pytest.mark.parametrize("x_shape,HP,WP,stride", POOL_CASES)
def test_max_pool(rng, x_shape, HP, WP, stride):
    x = rng.standard_normal(x_shape)
    pool_param = {"pool_height": HP, "pool_width": WP, "stride": stride}
    out, cache = R.max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, pool_by_definition(x, HP, WP, stride))
    dout = rng.standard_normal(out.shape)
    dx = R.max_pool_backward_naive(dout, cache)
    numeric = eval_numerical_gradient_array(
        lambda v: R.max_pool_forward_naive(v, pool_param)[0], x.copy(), dout)
    assert R.rel_error(numeric, dx) < 1e-7


def test_max_pool_ties_send_gradient_to_first_max():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # shared by the four overlapping 2x2 windows
    x[0, 0, 2, 2] = 1.0  # ties with it in the last window
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    out, cache = R.max_pool_forward_naive(x, pool_param)
    dx = R.max_pool_backward_naive(np.ones_like(out), cache)
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 4.0
    np.testing.assert_array_equal(dx, expected)


def test_max_pool_rejects_bad_window():
    with pytest.raises(ValueError, match=r"pool height: window 3 is larger than the padded input"):
        R.max_pool_forward_naive(np.ones((1, 1, 2, 2)),
                                 {"pool_height": 3, "pool_width": 1, "stride": 1})


@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_gradients(rng, mode):
    x = 2 * rng.standard_normal((2, 3, 4, 5)) + 0.5
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    stats = {"running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}

    def forward(x, gamma, beta):
        bn_param = {"mode": mode, **{k: v.copy() for k, v in stats.items()}}
        return R.spatial_batchnorm_forward(x, gamma, beta, bn_param)[0]

    out, cache = R.spatial_batchnorm_forward(x, gamma, beta, {"mode": mode, **{k: v.copy() for k, v in stats.items()}})
    dout = rng.standard_normal(out.shape)
    grads = R.spatial_batchnorm_backward(dout, cache)
    for i, (value, grad) in enumerate(zip((x, gamma, beta), grads)):
        def f(v, i=i):
            args = [x, gamma, beta]
            args[i] = v
            return forward(*args)
        numeric = eval_numerical_gradient_array(f, value.copy(), dout)
        assert R.rel_error(numeric, grad) < 1e-7, f"gradient {i}"


def test_spatial_batchnorm_normalises_each_channel_and_tracks_running_stats(rng):
    x = rng.standard_normal((10, 3, 4, 4)) * [[[[1.0]], [[3.0]], [[0.5]]]] + [[[[2.0]], [[-1.0]], [[0.0]]]]
    bn_param = {"mode": "train", "momentum": 0.5}
    out, _ = R.spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    np.testing.assert_allclose(bn_param["running_mean"], 0.5 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(bn_param["running_var"], 0.5 + 0.5 * x.var(axis=(0, 2, 3)))
    bn_param["mode"] = "test"
    out_test, _ = R.spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    expected = (x - bn_param["running_mean"][:, None, None]) / np.sqrt(bn_param["running_var"][:, None, None] + 1e-5)
    np.testing.assert_allclose(out_test, expected)


def test_spatial_batchnorm_rejects_wrong_gamma(rng):
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\) to match x \(2, 3, 2, 2\), got \(2,\)"):
        R.spatial_batchnorm_forward(rng.standard_normal((2, 3, 2, 2)), np.ones(2), np.zeros(3),
                                    {"mode": "train"})
