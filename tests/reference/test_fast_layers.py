"""The fast conv and max-pool layers against the naive loops and numerical gradients.

Every test runs twice: with the compiled kernels and with the pure-numpy
fallback (forced by swapping the kernel module fast_layers uses).
"""
import contextlib
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from cnnkit.reference import (_numpy_kernels, fast_conv, fast_kernels, fast_layers, fast_threads,
                              winograd)
from cnnkit.reference.conv_layers import (conv_backward_naive, conv_forward_naive,
                                          max_pool_backward_naive, max_pool_forward_naive,
                                          spatial_batchnorm_backward, spatial_batchnorm_forward)
from cnnkit.reference.gradient_check import eval_numerical_gradient_array, rel_error
from cnnkit.reference.layers import relu_backward, relu_forward


@pytest.fixture(params=["cython", "numpy"])
def kernels(request, monkeypatch):
    """Run a test with one kernel module; yield its name."""
    if request.param == "cython":
        if fast_kernels.KERNELS != "cython":
            pytest.skip("the compiled kernels are not built (pip install -e .)")
    else:
        monkeypatch.setattr(fast_kernels, "K", _numpy_kernels)
        monkeypatch.setattr(fast_kernels, "KERNELS", "numpy")
    return request.param


@pytest.fixture(params=["channels-last", "channels-first", "winograd"])
def layout(request, monkeypatch):
    """Run a conv test with one algorithm, whatever the channel count.

    im2col channels-last or channels-first (both passes), or Winograd
    tiles for every 3x3 stride-1 convolution (pad <= 2; the others fall back).
    """
    monkeypatch.setattr(fast_conv, "NCHW_RUN_BELOW",
                        10**9 if request.param == "channels-first" else 0)
    use_winograd(monkeypatch, request.param == "winograd")
    return request.param


def use_winograd(monkeypatch, on):
    """Winograd for every 3x3 stride-1 convolution it can do (on), or for none."""
    monkeypatch.setattr(fast_conv, "WINOGRAD_MIN_CHANNELS", 1 if on else 10**9)
    monkeypatch.setattr(fast_conv, "WINOGRAD_MIN_SIZE", 1)


def conv_cases(count, seed):
    """Random convolution geometries, including awkward ones."""
    rng = np.random.default_rng(seed)
    cases = [
        # N, C, H, W, F, HH, WW, stride, pad
        (1, 1, 5, 5, 1, 3, 3, 1, 0),
        (2, 3, 7, 5, 4, 3, 1, 2, 0),       # HH != WW, H != W
        (2, 2, 6, 9, 3, 2, 4, 1, 3),       # pad larger than needed
        (1, 3, 10, 11, 2, 5, 3, 3, 2),     # stride 3
        (3, 1, 4, 4, 2, 4, 4, 1, 0),       # filter covers the whole input
        (2, 4, 3, 3, 5, 1, 1, 1, 0),       # 1x1 filters
        (1, 2, 1, 6, 3, 1, 3, 1, 1),       # a one-pixel-high input
    ]
    while len(cases) < count:
        stride = int(rng.integers(1, 4))
        pad = int(rng.integers(0, 4))
        HH, WW = (int(v) for v in rng.integers(1, 6, size=2))
        H_out, W_out = (int(v) for v in rng.integers(1, 5, size=2))
        H = (H_out - 1) * stride + HH - 2 * pad
        W = (W_out - 1) * stride + WW - 2 * pad
        if H < 1 or W < 1:
            continue
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        cases.append((N, C, H, W, F, HH, WW, stride, pad))
    return cases


def make_conv(case, rng, dtype=np.float64):
    N, C, H, W, F, HH, WW, stride, pad = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return x, w, b, {"stride": stride, "pad": pad}


@pytest.mark.parametrize("case", conv_cases(30, seed=7), ids=str)
def test_conv_matches_naive_float64(case, kernels, layout, rng):
    x, w, b, cp = make_conv(case, rng)
    out_naive, cache_naive = conv_forward_naive(x, w, b, cp)
    out_fast, cache_fast = fast_layers.conv_forward_fast(x, w, b, cp)
    assert out_fast.shape == out_naive.shape and out_fast.dtype == np.float64
    assert np.abs(out_fast - out_naive).max() < 1e-9
    dout = rng.standard_normal(out_naive.shape)
    for name, g_naive, g_fast in zip(("dx", "dw", "db"), conv_backward_naive(dout, cache_naive),
                                     fast_layers.conv_backward_fast(dout, cache_fast)):
        assert g_fast.shape == g_naive.shape, name
        assert np.abs(g_fast - g_naive).max() < 1e-9, name


@pytest.mark.parametrize("case", conv_cases(10, seed=8), ids=str)
def test_conv_float32_keeps_dtype(case, kernels, layout, rng):
    x, w, b, cp = make_conv(case, rng, np.float32)
    out_naive, cache_naive = conv_forward_naive(*(a.astype(np.float64) for a in (x, w, b)), cp)
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, out_naive, rtol=1e-4, atol=1e-4)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = fast_layers.conv_backward_fast(dout, cache)
    expected = conv_backward_naive(dout.astype(np.float64), cache_naive)
    for name, got, want in zip(("dx", "dw", "db"), grads, expected):
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=name)


def test_conv_large_batch_crosses_chunks(kernels, layout, rng, monkeypatch):
    monkeypatch.setattr(fast_threads, "CHUNK_BYTES", 2000)   # a few images per chunk
    x, w, b, cp = make_conv((7, 3, 9, 8, 4, 3, 2, 1, 1), rng)
    out_naive, cache_naive = conv_forward_naive(x, w, b, cp)
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    assert np.abs(out - out_naive).max() < 1e-9
    dout = rng.standard_normal(out.shape)
    for g_fast, g_naive in zip(fast_layers.conv_backward_fast(dout, cache),
                               conv_backward_naive(dout, cache_naive)):
        assert np.abs(g_fast - g_naive).max() < 1e-9


def test_conv_backward_without_dx_gives_the_same_weight_gradients(kernels, layout, rng, monkeypatch):
    monkeypatch.setattr(fast_threads, "CHUNK_BYTES", 2000)
    x, w, b, cp = make_conv((5, 3, 7, 6, 4, 3, 2, 2, 1), rng)
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = fast_layers.conv_backward_fast(dout, cache)
    none, dw_only, db_only = fast_layers.conv_backward_fast(dout, cache, need_dx=False)
    assert none is None
    assert np.array_equal(dw_only, dw) and np.array_equal(db_only, db)


class FakeBlasController:
    """Stands in for threadpoolctl's controller: records the limits asked for."""

    def __init__(self):
        self.limits = []

    @contextlib.contextmanager
    def limit(self, limits):
        self.limits.append(limits)
        yield


def test_conv_shares_chunks_among_worker_threads(kernels, layout, rng, monkeypatch):
    fake = FakeBlasController()
    monkeypatch.setattr(fast_threads, "blas_controller", lambda: (fake, 2))
    monkeypatch.setattr(fast_threads, "CHUNK_BYTES", 2000)
    x, w, b, cp = make_conv((5, 2, 8, 7, 3, 2, 3, 2, 2), rng)
    out_naive, cache_naive = conv_forward_naive(x, w, b, cp)
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    assert np.abs(out - out_naive).max() < 1e-9
    dout = rng.standard_normal(out.shape)
    for g_fast, g_naive in zip(fast_layers.conv_backward_fast(dout, cache),
                               conv_backward_naive(dout, cache_naive)):
        assert np.abs(g_fast - g_naive).max() < 1e-9
    assert fake.limits == [1, 1]            # BLAS single-threaded inside the workers


@pytest.mark.parametrize("winograd", [False, True], ids=["im2col", "winograd"])
def test_chunk_results_do_not_depend_on_which_worker_took_them(winograd, rng, monkeypatch):
    # Workers take chunks as they free up, so a slow core takes fewer; the
    # gradients must still be bit-for-bit those of one thread walking them in order.
    monkeypatch.setattr(fast_threads, "CHUNK_BYTES", 20000 if winograd else 2000)
    use_winograd(monkeypatch, winograd)
    x, w, b, cp = make_conv((9, 3, 8, 7, 4, 3, 3, 1, 1), rng)
    x, w, b = (a.astype(np.float32) for a in (x, w, b))
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    dout = rng.standard_normal(out.shape).astype(np.float32)

    def grads(controller):
        monkeypatch.setattr(fast_threads, "blas_controller", lambda: controller)
        return fast_layers.conv_backward_fast(dout, cache)

    serial = grads((None, 1))
    for _ in range(5):
        for got, want in zip(grads((FakeBlasController(), 2)), serial):
            assert np.array_equal(got, want)


def winograd_cases():
    """3x3 stride-1 convolutions whose outputs cut 4x4 tiles at every edge."""
    return [
        # N, C, H, W, F, HH, WW, stride, pad
        (1, 2, 1, 1, 3, 3, 3, 1, 1),       # one pixel: one tile, mostly padding
        (2, 3, 3, 3, 2, 3, 3, 1, 0),       # a 1x1 output
        (1, 1, 5, 9, 1, 3, 3, 1, 2),       # pad 2, H != W
        (3, 4, 7, 6, 5, 3, 3, 1, 1),       # outputs of 7 and 6: partial tiles
        (2, 5, 9, 4, 3, 3, 3, 1, 0),       # pad 0
        (1, 6, 16, 16, 7, 3, 3, 1, 1),     # whole tiles
        (2, 3, 2, 13, 4, 3, 3, 1, 2),      # a strip
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", winograd_cases(), ids=str)
def test_winograd_conv_matches_naive(case, dtype, kernels, rng, monkeypatch):
    use_winograd(monkeypatch, True)
    monkeypatch.setattr(fast_threads, "CHUNK_BYTES", 20000)     # several chunks
    x, w, b, cp = make_conv(case, rng)
    out_naive, cache_naive = conv_forward_naive(x, w, b, cp)
    dout = rng.standard_normal(out_naive.shape)
    expected = (out_naive,) + conv_backward_naive(dout, cache_naive)
    out, cache = fast_layers.conv_forward_fast(*(a.astype(dtype) for a in (x, w, b)), cp)
    assert cache[4].shape == x.transpose(0, 2, 3, 1).shape     # Winograd's unpadded copy
    got = (out,) + fast_layers.conv_backward_fast(dout.astype(dtype), cache)
    # float32 Winograd F(4x4, 3x3) rounds about 20x more than a direct sum
    # (its transforms multiply by up to 8 and 1/24); float64 is exact to 1e-13
    tolerance = 1e-12 if dtype == np.float64 else 2e-5
    for name, g, want in zip(("out", "dx", "dw", "db"), got, expected):
        assert g.dtype == dtype, name
        assert np.abs(g - want).max() <= tolerance * max(1.0, np.abs(want).max()), name


def test_winograd_takes_3x3_stride_1_with_enough_channels_and_pixels(monkeypatch):
    monkeypatch.setattr(fast_conv, "WINOGRAD_MIN_CHANNELS", 16)
    monkeypatch.setattr(fast_conv, "WINOGRAD_MIN_SIZE", 8)

    def takes(C, F, HH, WW, stride, pad, H_out=16, W_out=16):
        return fast_conv._winograd_applies(C, F, HH, WW, stride, pad, H_out, W_out)

    assert takes(16, 64, 3, 3, 1, 1) and takes(32, 16, 3, 3, 1, 2) and takes(64, 128, 3, 3, 1, 1, 8, 9)
    assert not takes(3, 32, 3, 3, 1, 1)        # an RGB input: too thin
    assert not takes(128, 128, 3, 3, 1, 1, 4, 4)   # too few tiles
    assert not takes(32, 64, 3, 3, 2, 1)       # stride 2
    assert not takes(32, 64, 3, 3, 1, 3)       # pad 3: the input gradient needs pad -1
    assert not takes(32, 64, 5, 5, 1, 2) and not takes(32, 64, 3, 1, 1, 1)


def test_conv_algorithm_names_the_path_of_the_benchmark_shapes():
    algorithm = fast_layers.conv_algorithm
    assert algorithm((100, 32, 16, 16), (64, 32, 3, 3), {"stride": 1, "pad": 1}) == "winograd"
    assert algorithm((100, 3, 32, 32), (32, 3, 3, 3), {"stride": 1, "pad": 1}) == "im2col-nchw"
    assert algorithm((50, 3, 32, 32), (64, 3, 7, 7), {"stride": 1, "pad": 3}) == "im2col"


@pytest.mark.parametrize("layout_first", ["winograd", "im2col"])
def test_conv_backward_accepts_the_other_algorithm_s_cache(layout_first, rng, monkeypatch):
    # The two algorithms cache x channels-last, padded (im2col) or not
    # (Winograd); each backward pass must notice a cache from the other.
    x, w, b, cp = make_conv((2, 4, 6, 5, 3, 3, 3, 1, 1), rng)
    use_winograd(monkeypatch, layout_first == "winograd")
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    use_winograd(monkeypatch, layout_first != "winograd")
    dout = rng.standard_normal(out.shape)
    _, cache_naive = conv_forward_naive(x, w, b, cp)
    for g_fast, g_naive in zip(fast_layers.conv_backward_fast(dout, cache),
                               conv_backward_naive(dout, cache_naive)):
        assert np.abs(g_fast - g_naive).max() < 1e-9


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 5, 7, 3), (1, 9, 6, 17)], ids=str)
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_winograd_kernels_compiled_and_numpy_agree(shape, pad, rng):
    if fast_kernels.KERNELS != "cython":
        pytest.skip("the compiled kernels are not built (pip install -e .)")
    N, H, W, C = shape
    x = rng.standard_normal(shape)                      # channels-last
    th, tw = max(1, (H + 2 * pad + 1) // 4), max(1, (W + 2 * pad + 1) // 4)
    out_tiles = N * ((H + 3) // 4) * ((W + 3) // 4)     # x as an output (gradient) of 4x4 tiles
    M = rng.standard_normal((36, out_tiles, C))
    results = []
    for kernels in (fast_kernels.K, _numpy_kernels):
        V = winograd._tile_buffer(N * th * tw, C, np.float64)(N * th * tw)  # spaced planes
        kernels.winograd_tiles(x, V, th, tw, pad)
        y = np.empty_like(x)
        kernels.winograd_untile(M, y, (H + 3) // 4, (W + 3) // 4)
        D = np.empty((36, out_tiles, C))
        kernels.winograd_grad_tiles(x, D)
        results.append((V.copy(), y, D))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_winograd_kernels_refuse_mismatched_tiles():
    if fast_kernels.KERNELS != "cython":
        pytest.skip("the compiled kernels are not built (pip install -e .)")
    kernels = fast_kernels.K
    with pytest.raises(ValueError, match=r"winograd_tiles: the tile array has shape "
                                         r"\(36, 2, 3\), expected \(36, 1, 3\)"):
        kernels.winograd_tiles(np.zeros((1, 4, 4, 3)), np.zeros((36, 2, 3)), 1, 1, 1)
    with pytest.raises(ValueError, match="pad must be >= 0"):
        kernels.winograd_tiles(np.zeros((1, 4, 4, 3)), np.zeros((36, 1, 3)), 1, 1, -1)
    with pytest.raises(ValueError, match="2x1 tiles do not cover a 4x4 output"):
        kernels.winograd_untile(np.zeros((36, 2, 3)), np.zeros((1, 4, 4, 3)), 2, 1)
    with pytest.raises(ValueError, match="each plane of the tile array must be C-contiguous"):
        kernels.winograd_grad_tiles(np.zeros((1, 4, 4, 3)), np.zeros((36, 1, 6))[:, :, ::2])


def test_chunks_are_handed_out_once_each():
    chunks = fast_threads._Chunks(10, 3)
    assert list(chunks) == [(0, 0, 3), (1, 3, 6), (2, 6, 9), (3, 9, 10)]
    assert list(chunks) == []


class NoThreadsExecutor:
    """An executor in a sandbox whose process limit forbids new threads."""

    def submit(self, *args):
        raise RuntimeError("can't start new thread")


def test_conv_runs_serially_when_no_thread_can_start(rng, monkeypatch):
    monkeypatch.setattr(fast_threads, "blas_controller", lambda: (FakeBlasController(), 2))
    monkeypatch.setattr(fast_threads, "CHUNK_BYTES", 2000)
    monkeypatch.setitem(fast_threads._POOL, "executor", NoThreadsExecutor())
    monkeypatch.setitem(fast_threads._POOL, "pid", os.getpid())
    x, w, b, cp = make_conv((4, 2, 6, 5, 3, 3, 2, 1, 1), rng)
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    assert np.abs(out - conv_forward_naive(x, w, b, cp)[0]).max() < 1e-9
    dx, _, _ = fast_layers.conv_backward_fast(np.ones_like(out), cache)
    assert dx.shape == x.shape


def test_conv_backward_accepts_naive_cache_and_views(kernels, layout, rng):
    x, w, b, cp = make_conv((2, 3, 6, 5, 2, 3, 3, 1, 1), rng)
    x_view = np.asfortranarray(x)                 # not C-contiguous
    out, cache_naive = conv_forward_naive(x, w, b, cp)
    out_fast, _ = fast_layers.conv_forward_fast(x_view, w, b, cp)
    assert np.abs(out_fast - out).max() < 1e-9
    dout = rng.standard_normal(out.shape)
    for g_fast, g_naive in zip(fast_layers.conv_backward_fast(dout, cache_naive),
                               conv_backward_naive(dout, cache_naive)):
        assert np.abs(g_fast - g_naive).max() < 1e-9


def test_conv_mixed_dtypes_follow_naive(kernels, layout, rng):
    x, w, b, cp = make_conv((2, 2, 5, 5, 3, 3, 3, 1, 1), rng)
    x32 = x.astype(np.float32)
    out_naive, cache_naive = conv_forward_naive(x32, w, b, cp)
    out, cache = fast_layers.conv_forward_fast(x32, w, b, cp)
    assert out.dtype == out_naive.dtype == np.float64
    dout = rng.standard_normal(out.shape)
    for g_fast, g_naive in zip(fast_layers.conv_backward_fast(dout, cache),
                               conv_backward_naive(dout, cache_naive)):
        assert g_fast.dtype == g_naive.dtype
        np.testing.assert_allclose(g_fast, g_naive, rtol=1e-6, atol=1e-6)


def pool_cases():
    """(N, C, H, W, pool_height, pool_width, stride)."""
    return [
        (2, 3, 8, 8, 2, 2, 2),       # tiling
        (1, 1, 4, 6, 2, 3, 1),       # overlapping, non-square window
        (2, 2, 7, 9, 3, 3, 2),       # overlapping 3x3 stride 2
        (3, 2, 7, 7, 2, 2, 5),       # gaps between windows
        (1, 3, 5, 9, 1, 2, 1),       # H != W
        (2, 1, 6, 6, 3, 3, 3),       # tiling 3x3
        (1, 2, 5, 5, 5, 5, 1),       # one window
        (2, 2, 9, 7, 3, 1, 2),       # pool_height != pool_width, non-tiling
    ]


@pytest.mark.parametrize("case", pool_cases(), ids=str)
@pytest.mark.parametrize("values", ["distinct", "ties"])
def test_pool_matches_naive(case, values, kernels, rng):
    N, C, H, W, HP, WP, stride = case
    if values == "ties":             # few levels: most windows hold several maxima
        x = rng.integers(0, 3, size=(N, C, H, W)).astype(np.float64)
    else:
        x = rng.standard_normal((N, C, H, W))
    pp = {"pool_height": HP, "pool_width": WP, "stride": stride}
    out_naive, cache_naive = max_pool_forward_naive(x, pp)
    out, cache = fast_layers.max_pool_forward_fast(x, pp)
    assert out.shape == out_naive.shape and out.dtype == x.dtype
    assert np.abs(out - out_naive).max() < 1e-9
    dout = rng.standard_normal(out.shape)
    dx_naive = max_pool_backward_naive(dout, cache_naive)
    assert np.abs(fast_layers.max_pool_backward_fast(dout, cache) - dx_naive).max() < 1e-9
    # the naive layer's two-item cache works too
    assert np.abs(fast_layers.max_pool_backward_fast(dout, cache_naive) - dx_naive).max() < 1e-9


def test_pool_shares_images_among_worker_threads(kernels, rng, monkeypatch):
    monkeypatch.setattr(fast_threads, "blas_controller", lambda: (FakeBlasController(), 2))
    monkeypatch.setattr(fast_threads, "CHUNK_BYTES", 500)
    x = rng.integers(0, 4, size=(5, 2, 7, 9)).astype(np.float32)
    pp = {"pool_height": 3, "pool_width": 3, "stride": 2}
    out_naive, cache_naive = max_pool_forward_naive(x, pp)
    out, cache = fast_layers.max_pool_forward_fast(x, pp)
    np.testing.assert_array_equal(out, out_naive)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_allclose(fast_layers.max_pool_backward_fast(dout, cache),
                               max_pool_backward_naive(dout, cache_naive), rtol=1e-6)


def test_pool_ties_go_to_the_first_maximum(kernels):
    x = np.ones((1, 1, 4, 4))
    pp = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = fast_layers.max_pool_forward_fast(x, pp)
    dx = fast_layers.max_pool_backward_fast(np.ones_like(out), cache)
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)
    # overlapping windows that share their maximum add up
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5
    out, cache = fast_layers.max_pool_forward_fast(
        x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    dx = fast_layers.max_pool_backward_fast(np.ones_like(out), cache)
    assert dx[0, 0, 1, 1] == 4 and dx.sum() == 4


@pytest.mark.parametrize("pp", [{"pool_height": 2, "pool_width": 2, "stride": 2},
                                {"pool_height": 3, "pool_width": 2, "stride": 1}], ids=str)
def test_pool_nan_propagates_like_naive(pp, kernels):
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    x[0, 0, 2, 1] = np.nan
    out_naive, cache_naive = max_pool_forward_naive(x, pp)
    out, cache = fast_layers.max_pool_forward_fast(x, pp)
    np.testing.assert_array_equal(out, out_naive)
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    np.testing.assert_array_equal(fast_layers.max_pool_backward_fast(dout, cache),
                                  max_pool_backward_naive(dout, cache_naive))


@pytest.mark.parametrize("case", [(2, 3, 8, 8, 2, 2, 2), (2, 2, 7, 9, 3, 3, 2)], ids=str)
def test_pool_float32_keeps_dtype(case, kernels, rng):
    N, C, H, W, HP, WP, stride = case
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    pp = {"pool_height": HP, "pool_width": WP, "stride": stride}
    out_naive, cache_naive = max_pool_forward_naive(x, pp)
    out, cache = fast_layers.max_pool_forward_fast(x, pp)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, out_naive)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = fast_layers.max_pool_backward_fast(dout, cache)
    assert dx.dtype == np.float32
    np.testing.assert_allclose(dx, max_pool_backward_naive(dout, cache_naive), rtol=1e-6)


def test_conv_backward_numerical_gradients(kernels, rng):
    x, w, b, cp = make_conv((2, 3, 5, 6, 3, 3, 2, 2, 1), rng)
    out, cache = fast_layers.conv_forward_fast(x, w, b, cp)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = fast_layers.conv_backward_fast(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: fast_layers.conv_forward_fast(v, w, b, cp)[0], x, dout)
    dw_num = eval_numerical_gradient_array(
        lambda v: fast_layers.conv_forward_fast(x, v, b, cp)[0], w, dout)
    db_num = eval_numerical_gradient_array(
        lambda v: fast_layers.conv_forward_fast(x, w, v, cp)[0], b, dout)
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dw, dw_num) < 1e-7
    assert rel_error(db, db_num) < 1e-7


@pytest.mark.parametrize("pp", [{"pool_height": 2, "pool_width": 2, "stride": 2},
                                {"pool_height": 3, "pool_width": 2, "stride": 1}], ids=str)
def test_pool_backward_numerical_gradient(pp, kernels, rng):
    x = rng.permutation(2 * 3 * 6 * 4).reshape(2, 3, 6, 4) / 7.0   # distinct values
    out, cache = fast_layers.max_pool_forward_fast(x, pp)
    dout = rng.standard_normal(out.shape)
    dx = fast_layers.max_pool_backward_fast(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: fast_layers.max_pool_forward_fast(v, pp)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-7


def test_checks_are_the_naive_layers(kernels, rng):
    x, w, b, _ = make_conv((1, 2, 5, 5, 2, 3, 3, 1, 0), rng)
    with pytest.raises(TypeError, match=r"conv_param\['pad'\] must be an int >= 0, got 0.5"):
        fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 0.5})
    with pytest.raises(ValueError, match="not divisible by stride 3"):
        fast_layers.conv_forward_fast(x, w, b, {"stride": 3, "pad": 0})
    with pytest.raises(ValueError, match="w has 2 channels but x has 3"):
        fast_layers.conv_forward_fast(np.zeros((1, 3, 5, 5)), w, b, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="missing 'pool_width'"):
        fast_layers.max_pool_forward_fast(x, {"pool_height": 2, "stride": 2})
    out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="dout has shape"):
        fast_layers.conv_backward_fast(out[:, :1], cache)
    pool_out, pool_cache = fast_layers.max_pool_forward_fast(
        x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    with pytest.raises(ValueError, match="dout has shape"):
        fast_layers.max_pool_backward_fast(pool_out[:, :, 1:], pool_cache)
    bad = (x, pool_cache[1], np.full(pool_out.shape, 10 ** 6, dtype=np.int32))
    with pytest.raises(ValueError, match="argmax holds positions outside"):
        fast_layers.max_pool_backward_fast(pool_out, bad)


def test_missing_extension_falls_back_with_one_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "cnnkit.reference._kernels", None)   # import fails
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module, name = fast_kernels.load_kernels()
    assert module is _numpy_kernels and name == "numpy"
    assert len(caught) == 1
    assert caught[0].category is RuntimeWarning
    message = str(caught[0].message)
    assert "could not be imported" in message and "pip install ." in message


def test_missing_extension_end_to_end_in_a_fresh_process():
    """Importing without the extension warns once, and both passes still work."""
    script = textwrap.dedent("""
        import sys, warnings
        sys.modules["cnnkit.reference._kernels"] = None
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import numpy as np
            from cnnkit.reference import fast_layers as fl
            x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
            w = np.ones((2, 3, 3, 3)); b = np.zeros(2)
            out, cache = fl.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
            fl.conv_backward_fast(out, cache)
            p, pc = fl.max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 1, "stride": 1})
            fl.max_pool_backward_fast(p, pc)
        ours = [w for w in caught if "compiled kernels" in str(w.message)]
        assert fl.KERNELS == "numpy", fl.KERNELS
        assert len(ours) == 1 and ours[0].category is RuntimeWarning, caught
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def batchnorm_inputs(shape, dtype, workers, rng, monkeypatch):
    """x (shape) and gamma, beta for batch-norm tests, with ``workers`` worker threads."""
    controller = FakeBlasController() if workers > 1 else None
    monkeypatch.setattr(fast_threads, "blas_controller", lambda: (controller, workers))
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    C = shape[1]
    return x, rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (1, 1, 3, 2), (2, 5, 1, 1)], ids=str)
def test_spatial_batchnorm_fast_matches_naive(shape, dtype, workers, kernels, rng, monkeypatch):
    x, gamma, beta = batchnorm_inputs(shape, dtype, workers, rng, monkeypatch)
    tol = 1e-9 if dtype == np.float64 else 1e-4
    naive_param, fast_param = {"mode": "train", "momentum": 0.8}, {"mode": "train",
                                                                    "momentum": 0.8}
    for mode in ("train", "test"):
        naive_param["mode"] = fast_param["mode"] = mode
        out_naive, cache_naive = spatial_batchnorm_forward(x, gamma, beta, naive_param)
        out, cache = fast_layers.spatial_batchnorm_forward_fast(x, gamma, beta, fast_param)
        assert out.dtype == dtype and out.shape == shape
        np.testing.assert_allclose(out, out_naive, rtol=tol, atol=tol)
        for key in ("running_mean", "running_var"):
            np.testing.assert_allclose(fast_param[key], naive_param[key], rtol=tol, atol=tol)
        dout = rng.standard_normal(shape).astype(dtype)
        for name, got, want in zip(("dx", "dgamma", "dbeta"),
                                   fast_layers.spatial_batchnorm_backward_fast(dout, cache),
                                   spatial_batchnorm_backward(dout, cache_naive)):
            assert got.dtype == dtype and got.shape == want.shape, name
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10, err_msg=name)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (1, 1, 3, 2), (2, 9, 1, 1)], ids=str)
def test_spatial_batchnorm_relu_is_batchnorm_then_relu(shape, dtype, workers, kernels, rng,
                                                       monkeypatch):
    x, gamma, beta = batchnorm_inputs(shape, dtype, workers, rng, monkeypatch)
    for mode in ("train", "test"):
        bn_param, fused_param = {"mode": mode}, {"mode": mode}
        an, bn_cache = fast_layers.spatial_batchnorm_forward_fast(x, gamma, beta, bn_param)
        out, relu_cache = relu_forward(an)
        fused, cache = fast_layers.spatial_batchnorm_relu_forward_fast(x, gamma, beta,
                                                                        fused_param)
        assert fused.dtype == dtype and fused.shape == shape
        assert np.array_equal(fused, out)
        assert 0 < (out > 0).mean() < 1, "the test needs both signs"
        for key in ("running_mean", "running_var"):
            assert np.array_equal(fused_param[key], bn_param[key])
        dout = rng.standard_normal(shape).astype(dtype)
        want = fast_layers.spatial_batchnorm_backward_fast(relu_backward(dout, relu_cache),
                                                           bn_cache)
        got = fast_layers.spatial_batchnorm_relu_backward_fast(dout, cache)
        for name, g, w in zip(("dx", "dgamma", "dbeta"), got, want):
            assert g.dtype == dtype and g.shape == w.shape, name
            np.testing.assert_allclose(g, w, rtol=1e-12 if dtype == np.float64 else 1e-5,
                                       atol=1e-12 if dtype == np.float64 else 1e-5,
                                       err_msg=name)


@pytest.mark.parametrize("relu", [False, True], ids=["bn", "bn+relu"])
def test_spatial_batchnorm_fast_numerical_gradients(relu, kernels, rng):
    forward_fast, backward_fast = (
        (fast_layers.spatial_batchnorm_relu_forward_fast,
         fast_layers.spatial_batchnorm_relu_backward_fast) if relu else
        (fast_layers.spatial_batchnorm_forward_fast, fast_layers.spatial_batchnorm_backward_fast))
    gamma, beta = rng.standard_normal(2), rng.standard_normal(2)
    while True:     # keep every value off the ReLU's kink, where finite differences fail
        x = rng.standard_normal((3, 2, 4, 5)) * 2 + 0.5
        an, _ = fast_layers.spatial_batchnorm_forward_fast(x, gamma, beta, {"mode": "train"})
        if np.abs(an).min() > 1e-3:
            break
    dout = rng.standard_normal(x.shape)

    def forward(x_, gamma_, beta_):
        return forward_fast(x_, gamma_, beta_, {"mode": "train"})[0]

    _, cache = forward_fast(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = backward_fast(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(
        lambda v: forward(v, gamma, beta), x, dout)) < 1e-7
    assert rel_error(dgamma, eval_numerical_gradient_array(
        lambda v: forward(x, v, beta), gamma, dout)) < 1e-7
    assert rel_error(dbeta, eval_numerical_gradient_array(
        lambda v: forward(x, gamma, v), beta, dout)) < 1e-7


def test_spatial_batchnorm_fast_checks(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    with pytest.raises(ValueError, match="bn_param is missing 'mode'"):
        fast_layers.spatial_batchnorm_forward_fast(x, np.ones(3), np.zeros(3), {})
    with pytest.raises(ValueError, match="must be 'train' or 'test', got 'eval'"):
        fast_layers.spatial_batchnorm_forward_fast(x, np.ones(3), np.zeros(3), {"mode": "eval"})
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\)"):
        fast_layers.spatial_batchnorm_forward_fast(x, np.ones(4), np.zeros(3), {"mode": "train"})


def test_compiled_kernels_refuse_windows_that_do_not_fit():
    if fast_kernels.KERNELS != "cython":
        pytest.skip("the compiled kernels are not built (pip install -e .)")
    kernels = fast_kernels.K
    with pytest.raises(ValueError, match="window with stride 0 does not fit"):
        kernels.im2col(np.zeros((1, 3, 3, 1)), np.zeros((1, 9)), 3, 3, 0)
    with pytest.raises(ValueError, match="a 4x1 window with stride 1 does not fit a 3x3"):
        kernels.maxpool_forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 1, 1)),
                                np.zeros((1, 1, 1, 1), dtype=np.int32), 4, 1, 1)
    with pytest.raises(ValueError, match="cols has shape"):
        kernels.col2im(np.zeros((2, 9)), np.zeros((1, 3, 3, 1)), 3, 3, 1)
    with pytest.raises(ValueError, match=r"im2col_nchw: cols has shape \(1, 9, 4\), "
                                         r"expected \(1, 9, 1\)"):
        kernels.im2col_nchw(np.zeros((1, 1, 3, 3)), np.zeros((1, 9, 4)), 3, 3, 1, 0)
    with pytest.raises(ValueError, match="a 5x5 window with stride 1 does not fit a 4x4"):
        kernels.im2col_nchw(np.zeros((1, 1, 2, 2)), np.zeros((1, 25, 1)), 5, 5, 1, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("F", [1, 8, 11, 19, 64])
def test_layout_kernels_transpose_and_sum_any_channel_count(F, dtype, kernels, rng):
    # the compiled transposes work in blocks of 8 channels and tiles of rows
    N, P = 3, 37
    d = rng.standard_normal((N, F, P)).astype(dtype)
    rows = np.empty((N * P, F), dtype=dtype)
    total = np.ones(F)
    fast_kernels.K.nchw_to_rows(d, rows, total)
    assert np.array_equal(rows, d.transpose(0, 2, 1).reshape(N * P, F))
    np.testing.assert_allclose(total, 1 + d.sum(axis=(0, 2), dtype=np.float64), rtol=1e-6)
    bias = rng.standard_normal(F).astype(dtype)
    back = np.empty((N, F, P), dtype=dtype)
    fast_kernels.K.rows_to_nchw(rows, back, bias)
    assert np.array_equal(back, d + bias[None, :, None])


@pytest.mark.parametrize("case", [(2, 3, 7, 5, 3, 3, 1, 1), (1, 2, 6, 9, 2, 4, 2, 3),
                                  (2, 1, 4, 4, 4, 4, 3, 0), (1, 3, 10, 11, 5, 3, 3, 2)], ids=str)
def test_col2im_nchw_is_the_adjoint_of_im2col_nchw(case, kernels, rng):
    # <im2col(x), c> == <x, col2im(c)> for every x and c: col2im sends each
    # column value back to the pixel it was copied from, and drops padding.
    N, C, H, W, HH, WW, stride, pad = case
    H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    x = rng.standard_normal((N, C, H, W))
    c = rng.standard_normal((N, C * HH * WW, H_out * W_out))
    cols = np.empty_like(c)
    fast_kernels.K.im2col_nchw(x, cols, HH, WW, stride, pad)
    back = np.full_like(x, np.nan)               # every pixel must be written
    fast_kernels.K.col2im_nchw(c, back, HH, WW, stride, pad)
    assert np.isclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-12)
    with pytest.raises(ValueError, match="col2im_nchw: cols has shape"):
        fast_kernels.K.col2im_nchw(c[:, 1:].copy(), back, HH, WW, stride, pad)


def test_numpy_fallback_has_every_compiled_kernel():
    if fast_kernels.KERNELS != "cython":
        pytest.skip("the compiled kernels are not built (pip install -e .)")

    def public(module):
        return {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))}

    assert public(fast_kernels.K) == public(_numpy_kernels)
