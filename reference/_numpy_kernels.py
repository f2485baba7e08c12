"""Pure-numpy versions of the compiled kernels in ``_kernels.pyx``.

:mod:`cnnkit.reference.fast_layers` uses these when the Cython extension is
not compiled. Each function has the same name, arguments and contract as its
compiled twin (see the module docstring of ``_kernels.pyx``): it fills an
output array that the caller allocated. They are vectorised with one numpy
operation per filter (or pooling window) offset, so they stay usable, though
slower than the compiled kernels.
"""
import numpy as np


def _window_view(a, i, j, stride, H_out, W_out):
    """The (N, C, H_out, W_out) view of ``a`` seen by window offset (i, j)."""
    return a[:, :, i:i + stride * (H_out - 1) + 1:stride,
             j:j + stride * (W_out - 1) + 1:stride]


def _check_cols(cols, N, K, P, who):
    if cols.shape != (N, K, P):
        raise ValueError(f"{who}: cols has shape {cols.shape}, expected {(N, K, P)}")
    if not cols.flags.c_contiguous:
        raise ValueError(f"{who}: cols must be C-contiguous")


def im2col(x, cols, HH, WW, stride, pad):
    """Fill ``cols`` (N, C*HH*WW, H_out*W_out) with the windows of ``x``."""
    N, C, H, W = x.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    _check_cols(cols, N, C * HH * WW, H_out * W_out, "im2col")
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    c6 = cols.reshape(N, C, HH, WW, H_out, W_out)
    for i in range(HH):
        for j in range(WW):
            c6[:, :, i, j] = _window_view(xp, i, j, stride, H_out, W_out)


def col2im(cols, dx, HH, WW, stride, pad):
    """Overwrite ``dx`` (N, C, H, W) with the sum of the windows in ``cols``."""
    N, C, H, W = dx.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    _check_cols(cols, N, C * HH * WW, H_out * W_out, "col2im")
    c6 = cols.reshape(N, C, HH, WW, H_out, W_out)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dx.dtype)
    for i in range(HH):
        for j in range(WW):
            _window_view(dxp, i, j, stride, H_out, W_out)[...] += c6[:, :, i, j]
    dx[...] = dxp[:, :, pad:pad + H, pad:pad + W]


def maxpool_forward(x, out, argmax, HP, WP, stride):
    """Fill ``out`` with each window's maximum and ``argmax`` with its position.

    ``argmax`` is the flat index ``r*W + c`` inside the (H, W) plane of the
    first maximum in row-major window order (the first NaN, if any).
    """
    N, C, H, W = x.shape
    H_out, W_out = out.shape[2:]
    offset = np.zeros(out.shape, dtype=np.int32)
    out[...] = _window_view(x, 0, 0, stride, H_out, W_out)
    out_is_nan = np.isnan(out)
    for a in range(HP):
        for b in range(WP):
            if a == 0 and b == 0:
                continue
            v = _window_view(x, a, b, stride, H_out, W_out)
            v_is_nan = np.isnan(v)
            better = (v > out) | (v_is_nan & ~out_is_nan)
            np.copyto(out, v, where=better)
            offset[better] = a * WP + b
            out_is_nan |= v_is_nan
    rows = np.arange(H_out, dtype=np.int32)[:, None] * stride + offset // WP
    cols = np.arange(W_out, dtype=np.int32)[None, :] * stride + offset % WP
    argmax[...] = rows * W + cols


def maxpool_backward(dout, argmax, dx):
    """Overwrite ``dx`` with ``dout`` scattered to the ``argmax`` positions (adding up)."""
    N, C, H, W = dx.shape
    if argmax.size and (argmax.min() < 0 or argmax.max() >= H * W):
        raise ValueError("maxpool_backward: argmax holds positions outside the "
                         "input plane; pass the cache from max_pool_forward_fast")
    plane = np.arange(N * C, dtype=np.int64).reshape(N, C, 1, 1) * (H * W)
    flat = np.bincount((plane + argmax).ravel(), weights=dout.ravel(),
                       minlength=N * C * H * W)
    dx[...] = flat.reshape(N, C, H, W)
