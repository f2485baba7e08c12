"""Fast convolution: the same layer as :func:`conv_layers.conv_forward_naive`, quicker.

Convolution works on a zero-padded channels-last copy of ``x`` so that im2col
copies whole window rows (with few channels, ``NCHW_RUN_BELOW``, on ``x`` as
it is, channels-first, instead). Per chunk of images (about ``CHUNK_BYTES`` of
columns, so they stay in the CPU cache; see :mod:`.fast_threads`)::

    cols (images*H'*W', K) = im2col(xp)             K = HH*WW*C
    out rows (images*H'*W', F) = cols @ wk.T        wk = w as (F, K)
    dw += cols.T @ dout_rows,  dcols = dout_rows @ wk,  dx += col2im(dcols)

The backward pass rebuilds the columns chunk by chunk (cheaper than reading
them back from memory). A 3x3 stride-1 convolution with enough channels and
pixels (``WINOGRAD_MIN_CHANNELS``, ``WINOGRAD_MIN_SIZE``) instead runs on
Winograd tiles (:mod:`.winograd`).
"""
import numpy as np

from . import fast_kernels, fast_threads, winograd
from .checks import check_upstream, conv_geometry


#: convolutions whose window rows hold fewer values than this (``WW * C``, as
#: for an RGB input) run in channels-first layout, where im2col copies image
#: rows instead of these short runs: on 3->32 channels 3x3, 1.8x faster per
#: chunk forward and 1.1x backward (measured beside the other layout)
NCHW_RUN_BELOW = 16
#: 3x3 stride-1 convolutions with at least this many input and output channels
#: and outputs of at least WINOGRAD_MIN_SIZE x WINOGRAD_MIN_SIZE (and pad <= 2)
#: run on Winograd F(4x4, 3x3) tiles: 36 products per 4x4 outputs instead of
#: 144, in 36 matrix products over channels. With fewer channels those products
#: are too thin, and on smaller images too few, to pay for the tile transforms
#: (measured beside im2col: 1.3x faster on 32->64 channels at 16x16 and
#: 64->128 at 8x8, 2.4x slower on 128->128 at 4x4).
WINOGRAD_MIN_CHANNELS = 16
WINOGRAD_MIN_SIZE = 8


def _padded_nhwc(x, pad, dtype):
    """``x`` (N, C, H, W) as a zero-padded channels-last (N, H+2*pad, W+2*pad, C) copy."""
    N, C, H, W = x.shape
    xp = np.empty((N, H + 2 * pad, W + 2 * pad, C), dtype=dtype)
    fast_kernels.K.pad_to_nhwc(np.ascontiguousarray(x, dtype=dtype), xp, pad)
    return xp


def _cached_nhwc(cache, shape, x, pad, dtype):
    """The channels-last copy of ``x`` padded by ``pad`` that a forward cache holds, else a new one.

    The im2col forward pass caches ``x`` padded, the Winograd one unpadded;
    a cache from the other path (or from the naive layer) gets a fresh copy.
    """
    if len(cache) > 4 and cache[4].shape == shape and cache[4].dtype == dtype:
        return cache[4]
    return _padded_nhwc(x, pad, dtype)


def _filters_as_matrix(w, dtype):
    """``w`` (F, C, HH, WW) as an (F, HH*WW*C) matrix in im2col's column order."""
    F = w.shape[0]
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1), dtype=dtype).reshape(F, -1)


def conv_forward_fast(x, w, b, conv_param):
    """Convolution forward pass (im2col + matrix product).

    Parameters
    ----------
    x : (N, C, H, W) input.
    w : (F, C, HH, WW) filters.
    b : (F,) biases.
    conv_param : dict with ``stride`` (int >= 1) and ``pad`` (int >= 0).

    Returns
    -------
    out : (N, F, H', W') with ``H' = (H + 2*pad - HH) // stride + 1`` and
        ``W' = (W + 2*pad - WW) // stride + 1``, in ``np.result_type(x, w)``.
    cache : ``(x, w, b, conv_param, xp)``: the naive layer's four items plus
        ``xp``, ``x`` in channels-last order (N, H+2*pad, W+2*pad, C),
        zero-padded (unpadded for Winograd), which the backward pass reuses;
        with few channels (``WW * C < NCHW_RUN_BELOW``) the naive four items
        only. :func:`conv_backward_fast` accepts all of them.
    """
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, H_out * W_out
    dtype = np.result_type(x, w)
    xc = np.ascontiguousarray(x, dtype=dtype)
    bias = np.ascontiguousarray(b, dtype=dtype)
    out = np.empty((N, F, P), dtype=dtype)
    algorithm = _algorithm(C, F, HH, WW, stride, pad, H_out, W_out)
    if algorithm == "winograd":
        xh = winograd.conv_forward_winograd(xc, w, bias, pad, out, H_out, W_out)
        return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param, xh)
    step = fast_threads.image_chunk(N, K * P * out.itemsize)
    if algorithm == "im2col-nchw":
        _conv_forward_nchw(xc, w, bias, stride, pad, out, step)
        return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param)
    xp = np.empty((N, H + 2 * pad, W + 2 * pad, C), dtype=dtype)
    wk_t = _filters_as_matrix(w, dtype).T                  # (K, F), a view

    def work(chunks):
        cbuf = np.empty((step * P, K), dtype=dtype)
        obuf = np.empty((step * P, F), dtype=dtype)
        for _, n0, n1 in chunks:
            m = (n1 - n0) * P
            fast_kernels.K.pad_to_nhwc(xc[n0:n1], xp[n0:n1], pad)
            cols = cbuf[:m]
            fast_kernels.K.im2col(xp[n0:n1], cols, HH, WW, stride)
            rows = np.matmul(cols, wk_t, out=obuf[:m])       # (images*P, F)
            fast_kernels.K.rows_to_nchw(rows, out[n0:n1], bias)

    fast_threads.map_workers(work, N, step)
    return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param, xp)


def _conv_forward_nchw(xc, w, bias, stride, pad, out, step):
    """Fill ``out`` (N, F, P) with the convolution, in channels-first layout.

    Per chunk of images, ``out[n] = w as (F, C*HH*WW) @ cols[n] + bias`` with
    ``cols[n]`` (C*HH*WW, P) from ``im2col_nchw``: no padded copy and no
    transposes, which pays when the window rows (``WW * C`` values) are short.
    """
    N = xc.shape[0]
    F, _, HH, WW = w.shape
    wmat = np.ascontiguousarray(w, dtype=out.dtype).reshape(F, -1)
    shift = bias[:, None]

    def work(chunks):
        cbuf = np.empty((step,) + wmat.shape[1:] + out.shape[2:], dtype=out.dtype)
        for _, n0, n1 in chunks:
            cols = cbuf[:n1 - n0]
            fast_kernels.K.im2col_nchw(xc[n0:n1], cols, HH, WW, stride, pad)
            np.add(np.matmul(wmat, cols, out=out[n0:n1]), shift, out=out[n0:n1])

    fast_threads.map_workers(work, N, step)


def conv_backward_fast(dout, cache, need_dx=True):
    """Convolution backward pass.

    Parameters
    ----------
    dout : (N, F, H', W') upstream gradient.
    cache : from :func:`conv_forward_fast` (or :func:`conv_forward_naive`).
    need_dx : False skips the input gradient (a network's first layer, whose
        input is the data, does not need it) and returns ``None`` for it.

    Returns
    -------
    dx : (N, C, H, W) like ``x``, dw : (F, C, HH, WW) like ``w``, db : (F,).
    """
    x, w, b, conv_param = cache[:4]
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    check_upstream(dout, (N, F, H_out, W_out))
    dtype = np.result_type(x, w)
    d3 = np.ascontiguousarray(dout, dtype=dtype).reshape(N, F, H_out * W_out)
    algorithm = _algorithm(C, F, HH, WW, stride, pad, H_out, W_out)
    if algorithm == "winograd":
        xh = _cached_nhwc(cache, (N, H, W, C), x, 0, dtype)
        dx, dw, db = winograd.conv_backward_winograd(xh, w, d3, H_out, W_out, pad, need_dx)
    elif algorithm == "im2col-nchw":
        xc = np.ascontiguousarray(x, dtype=dtype)
        dx, dw, db = _conv_backward_nchw(xc, w, d3, stride, pad, need_dx)
    else:
        xp = _cached_nhwc(cache, (N, H + 2 * pad, W + 2 * pad, C), x, pad, dtype)
        dx, dw, db = _conv_backward_nhwc(xp, w, d3, stride, pad, need_dx)
    return ((dx.astype(x.dtype, copy=False) if need_dx else None), dw.astype(w.dtype),
            db.astype(dout.dtype))


def _conv_backward_nhwc(xp, w, d3, stride, pad, need_dx):
    """``(dx or None, dw, db)`` by channels-last im2col, from ``xp``: x padded, channels-last."""
    N, Hp, Wp, C = xp.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, d3.shape[2]
    dtype = xp.dtype
    wk = _filters_as_matrix(w, dtype)
    dx = np.empty((N, C, Hp - 2 * pad, Wp - 2 * pad), dtype=dtype) if need_dx else None
    step = fast_threads.image_chunk(N, K * P * np.dtype(dtype).itemsize)
    # One dw and db term per chunk, summed in chunk order afterwards: the sum
    # is then the same whichever worker took which chunk.
    n_chunks = fast_threads.n_chunks(N, step)
    dw_terms = np.empty((n_chunks, K, F), dtype=dtype)
    db_terms = np.zeros((n_chunks, F), dtype=np.float64)

    def work(chunks):
        cbuf = np.empty((step * P, K), dtype=dtype)
        gbuf = np.empty((step * P, F), dtype=dtype)
        dxp = np.empty((step,) + xp.shape[1:], dtype=dtype) if need_dx else None
        for index, n0, n1 in chunks:
            m = (n1 - n0) * P
            g = gbuf[:m]
            fast_kernels.K.nchw_to_rows(d3[n0:n1], g, db_terms[index])
            cols = cbuf[:m]
            fast_kernels.K.im2col(xp[n0:n1], cols, HH, WW, stride)
            np.matmul(cols.T, g, out=dw_terms[index])
            if not need_dx:
                continue
            dcols = np.matmul(g, wk, out=cols)    # the columns are spent: reuse them
            fast_kernels.K.col2im(dcols, dxp[:n1 - n0], HH, WW, stride)
            fast_kernels.K.unpad_from_nhwc(dxp[:n1 - n0], dx[n0:n1], pad)

    fast_threads.map_workers(work, N, step)
    dw = dw_terms.sum(axis=0).reshape(HH, WW, C, F).transpose(3, 2, 0, 1)
    return dx, dw, db_terms.sum(axis=0)


def _conv_backward_nchw(xc, w, d3, stride, pad, need_dx):
    """``(dx or None, dw, db)`` by channels-first im2col, for few input channels.

    Per image: ``dw += dout[n] @ cols[n].T`` (one batched product per chunk,
    summed) and ``dx[n] = col2im_nchw(w.T @ dout[n])``, with ``cols[n]``
    (C*HH*WW, P) from ``im2col_nchw``: no padded or channels-last copies, as
    in :func:`_conv_forward_nchw`.
    """
    N, C, H, W = xc.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, d3.shape[2]
    dtype = xc.dtype
    wmat_t = np.ascontiguousarray(w, dtype=dtype).reshape(F, K).T       # (K, F), a view
    dx = np.empty((N, C, H, W), dtype=dtype) if need_dx else None
    step = fast_threads.image_chunk(N, K * P * np.dtype(dtype).itemsize)
    n_chunks = fast_threads.n_chunks(N, step)
    dw_terms = np.empty((n_chunks, F, K), dtype=dtype)
    db_terms = np.empty((n_chunks, F), dtype=np.float64)

    def work(chunks):
        cbuf = np.empty((step, K, P), dtype=dtype)
        terms = np.empty((step, F, K), dtype=dtype)
        for index, n0, n1 in chunks:
            cols = cbuf[:n1 - n0]
            fast_kernels.K.im2col_nchw(xc[n0:n1], cols, HH, WW, stride, pad)
            per_image = np.matmul(d3[n0:n1], cols.transpose(0, 2, 1), out=terms[:n1 - n0])
            per_image.sum(axis=0, out=dw_terms[index])
            d3[n0:n1].sum(axis=(0, 2), dtype=np.float64, out=db_terms[index])
            if need_dx:
                dcols = np.matmul(wmat_t, d3[n0:n1], out=cols)   # the columns are spent
                fast_kernels.K.col2im_nchw(dcols, dx[n0:n1], HH, WW, stride, pad)

    fast_threads.map_workers(work, N, step)
    return dx, dw_terms.sum(axis=0).reshape(F, C, HH, WW), db_terms.sum(axis=0)


def conv_algorithm(x_shape, w_shape, conv_param):
    """Which algorithm :func:`conv_forward_fast` uses for these shapes, as a word.

    ``"winograd"``, ``"im2col"`` (channels-last) or ``"im2col-nchw"``
    (channels-first, for few input channels).
    """
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    return _algorithm(C, F, HH, WW, stride, pad, H_out, W_out)


def _algorithm(C, F, HH, WW, stride, pad, H_out, W_out):
    """The rule behind :func:`conv_algorithm`, on the numbers both conv passes have at hand."""
    if _winograd_applies(C, F, HH, WW, stride, pad, H_out, W_out):
        return "winograd"
    return "im2col-nchw" if WW * C < NCHW_RUN_BELOW else "im2col"


def _winograd_applies(C, F, HH, WW, stride, pad, H_out, W_out):
    return (HH == WW == 3 and stride == 1 and pad <= 2
            and min(C, F) >= WINOGRAD_MIN_CHANNELS and min(H_out, W_out) >= WINOGRAD_MIN_SIZE)
