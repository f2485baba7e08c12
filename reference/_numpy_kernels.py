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
    """The (N, C, H_out, W_out) view of NCHW ``a`` seen by window offset (i, j)."""
    return a[:, :, i:i + stride * (H_out - 1) + 1:stride,
             j:j + stride * (W_out - 1) + 1:stride]


def _cols6(cols, xp_shape, HH, WW, stride, who):
    """``cols`` viewed as (N, H_out, W_out, HH, WW, C)."""
    N, Hp, Wp, C = xp_shape
    H_out, W_out = (Hp - HH) // stride + 1, (Wp - WW) // stride + 1
    expected = (N * H_out * W_out, HH * WW * C)
    if cols.shape != expected:
        raise ValueError(f"{who}: cols has shape {cols.shape}, expected {expected}")
    if not cols.flags.c_contiguous:
        raise ValueError(f"{who}: cols must be C-contiguous")
    return cols.reshape(N, H_out, W_out, HH, WW, C), H_out, W_out


def pad_to_nhwc(x, xp, pad):
    """Fill ``xp`` (N, H + 2*pad, W + 2*pad, C) with ``x`` (N, C, H, W) and zero borders."""
    N, C, H, W = x.shape
    if xp.shape != (N, H + 2 * pad, W + 2 * pad, C):
        raise ValueError(f"pad_to_nhwc: xp has shape {xp.shape}, "
                         f"expected {(N, H + 2 * pad, W + 2 * pad, C)}")
    xp.fill(0)
    xp[:, pad:pad + H, pad:pad + W, :] = x.transpose(0, 2, 3, 1)


def unpad_from_nhwc(xp, x, pad):
    """Fill ``x`` (N, C, H, W) with the inside of ``xp`` (N, H + 2*pad, W + 2*pad, C)."""
    N, C, H, W = x.shape
    if xp.shape != (N, H + 2 * pad, W + 2 * pad, C):
        raise ValueError(f"unpad_from_nhwc: xp has shape {xp.shape}, "
                         f"expected {(N, H + 2 * pad, W + 2 * pad, C)}")
    x[...] = xp[:, pad:pad + H, pad:pad + W, :].transpose(0, 3, 1, 2)


def im2col(xp, cols, HH, WW, stride):
    """Fill ``cols`` (N*H_out*W_out, HH*WW*C) with the windows of padded NHWC ``xp``."""
    c6, H_out, W_out = _cols6(cols, xp.shape, HH, WW, stride, "im2col")
    for i in range(HH):
        for j in range(WW):
            c6[:, :, :, i, j, :] = xp[:, i:i + stride * (H_out - 1) + 1:stride,
                                      j:j + stride * (W_out - 1) + 1:stride, :]


def _nchw_cols6(cols, x_shape, HH, WW, stride, pad, who):
    """``cols`` viewed as (N, C, HH, WW, H_out, W_out), after checking its shape."""
    N, C, H, W = x_shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    if cols.shape != (N, C * HH * WW, H_out * W_out):
        raise ValueError(f"{who}: cols has shape {cols.shape}, expected "
                         f"({N}, {C * HH * WW}, {H_out * W_out})")
    return cols.reshape(N, C, HH, WW, H_out, W_out), H_out, W_out


def im2col_nchw(x, cols, HH, WW, stride, pad):
    """Fill ``cols`` (N, C*HH*WW, H_out*W_out) with the windows of unpadded NCHW ``x``."""
    c6, H_out, W_out = _nchw_cols6(cols, x.shape, HH, WW, stride, pad, "im2col_nchw")
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for i in range(HH):
        for j in range(WW):
            c6[:, :, i, j] = _window_view(xp, i, j, stride, H_out, W_out)


def col2im_nchw(cols, dx, HH, WW, stride, pad):
    """Overwrite unpadded NCHW ``dx`` with the sum of the windows in ``cols``."""
    c6, H_out, W_out = _nchw_cols6(cols, dx.shape, HH, WW, stride, pad, "col2im_nchw")
    N, C, H, W = dx.shape
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dx.dtype)
    for i in range(HH):
        for j in range(WW):
            _window_view(dxp, i, j, stride, H_out, W_out)[...] += c6[:, :, i, j]
    dx[...] = dxp[:, :, pad:pad + H, pad:pad + W]


def col2im(cols, dxp, HH, WW, stride):
    """Overwrite padded NHWC ``dxp`` with the sum of the windows in ``cols``."""
    c6, H_out, W_out = _cols6(cols, dxp.shape, HH, WW, stride, "col2im")
    dxp.fill(0)
    for i in range(HH):
        for j in range(WW):
            dxp[:, i:i + stride * (H_out - 1) + 1:stride,
                j:j + stride * (W_out - 1) + 1:stride, :] += c6[:, :, :, i, j, :]


def rows_to_nchw(rows, out, bias):
    """``out[n, f, p] = rows[n*P + p, f] + bias[f]`` for out (N, F, P), rows (N*P, F)."""
    N, F, P = out.shape
    np.add(rows.reshape(N, P, F).transpose(0, 2, 1), bias.reshape(F, 1), out=out)


def nchw_to_rows(d, rows, total):
    """``rows[n*P + p, f] = d[n, f, p]``, and add each ``d[:, f, :]``'s sum to ``total[f]``."""
    N, F, P = d.shape
    rows.reshape(N, P, F)[...] = d.transpose(0, 2, 1)
    total += d.sum(axis=(0, 2), dtype=np.float64)


def maxpool_forward(x, out, argmax, HP, WP, stride):
    """Fill ``out`` with each window's maximum and ``argmax`` with its position.

    ``argmax`` is the flat index ``r*W + c`` inside the (H, W) plane of the
    first maximum in row-major window order (the first NaN, if any).
    """
    N, C, H, W = x.shape
    H_out, W_out = out.shape[2:]
    has_nan = bool(np.isnan(x).any())
    offset = np.zeros(out.shape, dtype=np.int32)
    out[...] = _window_view(x, 0, 0, stride, H_out, W_out)
    out_is_nan = np.isnan(out) if has_nan else None
    better = np.empty(out.shape, dtype=bool)
    for a in range(HP):
        for b in range(WP):
            if a == 0 and b == 0:
                continue
            v = _window_view(x, a, b, stride, H_out, W_out)
            np.greater(v, out, out=better)
            if has_nan:
                v_is_nan = np.isnan(v)
                better |= v_is_nan & ~out_is_nan
                out_is_nan |= v_is_nan
            np.copyto(out, v, where=better)
            np.copyto(offset, a * WP + b, where=better)
    rows = np.arange(H_out, dtype=np.int32)[:, None] * stride + offset // WP
    cols = np.arange(W_out, dtype=np.int32)[None, :] * stride + offset % WP
    argmax[...] = rows * W + cols


def maxpool_backward(dout, argmax, dx):
    """Overwrite ``dx`` with ``dout`` scattered to the ``argmax`` positions (adding up)."""
    N, C, H, W = dx.shape
    if argmax.size and (argmax.min() < 0 or argmax.max() >= H * W):
        raise ValueError("maxpool_backward: argmax holds positions outside the "
                         "input plane; pass the cache from max_pool_forward_fast")
    plane = np.arange(N * C, dtype=np.intp).reshape(N, C, 1, 1) * (H * W)
    flat = np.zeros(N * C * H * W, dtype=dx.dtype)
    np.add.at(flat, (plane + argmax).ravel(), dout.ravel())
    dx[...] = flat.reshape(N, C, H, W)


def bn_forward(x, mean, var, inv_std, gamma, beta, eps, train, relu, out):
    """Batch normalization of x (N, C, P) per channel (see ``_kernels.pyx``)."""
    dt = x.dtype
    if train:
        count = x.shape[0] * x.shape[2]
        mean[...] = x.sum(axis=(0, 2), dtype=np.float64) / count
        centred = x - mean[:, None].astype(dt)
        var[...] = np.einsum("ncp,ncp->c", centred, centred, dtype=np.float64) / count
    inv_std[...] = 1.0 / np.sqrt(var + eps)
    np.multiply(_normalized(x, mean, inv_std), gamma.astype(dt)[:, None], out=out)
    out += beta.astype(dt)[:, None]
    if relu:
        np.maximum(out, 0, out=out)


def _normalized(x, mean, inv_std):
    """``(x - mean) * inv_std`` per channel, in x's dtype."""
    dt = x.dtype
    return (x - mean.astype(dt)[:, None]) * inv_std.astype(dt)[:, None]


def bn_backward(dout, x, mean, inv_std, gamma, train, dx, dgamma, dbeta, relu_out=None):
    """Batch-norm gradients per channel of (N, C, P) arrays (see ``_kernels.pyx``)."""
    if relu_out is not None:
        dout = np.where(relu_out > 0, dout, 0).astype(dout.dtype, copy=False)
    x_hat = _normalized(x, mean, inv_std)
    count = dout.shape[0] * dout.shape[2]
    dbeta[...] = dout.sum(axis=(0, 2), dtype=np.float64)
    dgamma[...] = np.einsum("ncp,ncp->c", dout, x_hat, dtype=np.float64)
    dt = dout.dtype
    k = gamma * inv_std
    np.multiply(dout, k.astype(dt)[:, None], out=dx)
    if train:
        dx -= (k * dbeta / count).astype(dt)[:, None]
        dx -= x_hat * (k * dgamma / count).astype(dt)[:, None]


#: Winograd F(4x4, 3x3) transforms (see ``_kernels.pyx``)
_B_T = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]])
_A_T = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                 [0, 1, -1, 8, -8, 1]])


def _tile_check(who, array, tiles, C):
    if array.shape != (36, tiles, C):
        raise ValueError(f"{who}: the tile array has shape {array.shape}, expected "
                         f"(36, {tiles}, {C})")


def _tiles_of(x, size, step, th, tw, pad):
    """(N, th, tw, size, size, C) view of the tiles of channels-last ``x``, zero outside it."""
    N, H, W, C = x.shape
    xp = np.zeros((N, step * th + size - step, step * tw + size - step, C), dtype=x.dtype)
    h, w = max(0, min(H, xp.shape[1] - pad)), max(0, min(W, xp.shape[2] - pad))
    xp[:, pad:pad + h, pad:pad + w] = x[:, :h, :w]
    s = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (N, th, tw, size, size, C), (s[0], step * s[1], step * s[2], s[1], s[2], s[3]))


def winograd_tiles(x, V, th, tw, pad):
    """Fill ``V`` (36, N*th*tw, C) with ``B^T d B`` of every 6x6 tile ``d`` of ``x``."""
    N, H, W, C = x.shape
    if pad < 0 or th < 1 or tw < 1:
        raise ValueError(f"winograd_tiles: pad must be >= 0 and the tile grid at least "
                         f"1x1, got pad {pad} and {th}x{tw} tiles")
    _tile_check("winograd_tiles", V, N * th * tw, C)
    V[...] = _transform(_B_T.astype(x.dtype), _tiles_of(x, 6, 4, th, tw, pad)).reshape(V.shape)


def _transform(X, tiles):
    """``X t X^T`` of every tile of ``tiles`` (N, th, tw, r, r, C), as (a, b, N, th, tw, C)."""
    rows = np.tensordot(X, tiles, axes=([1], [3]))         # (a, N, th, tw, j, C)
    both = np.tensordot(X, rows, axes=([1], [4]))          # (b, a, N, th, tw, C)
    return both.transpose(1, 0, 2, 3, 4, 5)


def winograd_untile(M, y, th, tw):
    """Fill channels-last ``y`` (N, H', W', K) with ``A^T m A`` of every tile ``m`` of ``M``."""
    N, Ho, Wo, K = y.shape
    if th != (Ho + 3) // 4 or tw != (Wo + 3) // 4:
        raise ValueError(f"winograd_untile: {th}x{tw} tiles do not cover a {Ho}x{Wo} output")
    _tile_check("winograd_untile", M, N * th * tw, K)
    tiles = M.reshape(6, 6, N, th, tw, K).transpose(2, 3, 4, 0, 1, 5)      # (N, th, tw, a, b, K)
    t = _transform(_A_T.astype(y.dtype), tiles)                            # (i, j, N, th, tw, K)
    y[...] = t.transpose(2, 3, 0, 4, 1, 5).reshape(N, 4 * th, 4 * tw, K)[:, :Ho, :Wo]


def winograd_grad_tiles(g, D):
    """Fill ``D`` (36, N*th*tw, K) with ``A t A^T`` of every 4x4 tile ``t`` of ``g``."""
    N, Ho, Wo, K = g.shape
    th, tw = (Ho + 3) // 4, (Wo + 3) // 4
    _tile_check("winograd_grad_tiles", D, N * th * tw, K)
    D[...] = _transform(_A_T.T.astype(g.dtype), _tiles_of(g, 4, 4, th, tw, 0)).reshape(D.shape)
