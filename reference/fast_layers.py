"""Fast convolution and max pooling: the same layers as :mod:`conv_layers`, quicker.

Each function has the signature of its naive twin and returns the same values
(to rounding). The heavy lifting is done by four kernels, im2col, col2im,
maxpool_forward and maxpool_backward, taken from the compiled extension
``cnnkit.reference._kernels`` or, when that is not compiled, from the
pure-numpy :mod:`cnnkit.reference._numpy_kernels` (one ``RuntimeWarning`` says
so at import). ``KERNELS`` names the one in use: ``"cython"`` or ``"numpy"``.

Convolution is im2col followed by one matrix product per image,
``out[n] = w.reshape(F, K) @ cols[n]`` with ``cols[n]`` of shape
``(K, H'*W')`` and ``K = C*HH*WW``; it works through the batch in chunks
small enough for the columns to stay in the CPU cache. The backward pass
rebuilds the columns chunk by chunk (cheaper than keeping them), then
``dw = sum_n dout[n] @ cols[n].T``, ``dcols[n] = w.reshape(F, K).T @ dout[n]``
and col2im sums the windows of ``dcols`` back into ``dx``.
"""
import warnings

import numpy as np

from .checks import check_array, conv_geometry, pool_geometry

#: bytes of im2col columns handled at once (about an L2 cache's worth)
CHUNK_BYTES = 1 << 20


def _load_kernels():
    """Return ``(module, name)``: the compiled kernels, else the numpy ones with a warning."""
    try:
        from . import _kernels
    except ImportError as err:
        warnings.warn(
            "cnnkit.reference.fast_layers: the compiled kernels "
            f"(cnnkit.reference._kernels) could not be imported ({err}); "
            "using the slower pure-numpy kernels instead. To compile them, "
            "reinstall cnnkit with `pip install .` (or `pip install -e .` in a "
            "checkout), which needs a C compiler; Cython >= 3 is fetched by the build.",
            RuntimeWarning, stacklevel=2)
        from . import _numpy_kernels
        return _numpy_kernels, "numpy"
    return _kernels, "cython"


_K, KERNELS = _load_kernels()


def _chunk(n_items, bytes_per_item):
    """How many images to process at once so that a chunk is about CHUNK_BYTES."""
    return int(max(1, min(n_items, CHUNK_BYTES // max(1, bytes_per_item))))


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
    cache : ``(x, w, b, conv_param)``, the same as the naive layer's, so
        :func:`conv_backward_fast` and :func:`conv_backward_naive` accept
        either layer's cache.
    """
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, H_out * W_out
    dtype = np.result_type(x, w)
    xc = np.ascontiguousarray(x, dtype=dtype)
    w2 = np.ascontiguousarray(w.reshape(F, K), dtype=dtype)
    bias = b.astype(dtype, copy=False).reshape(F, 1)
    out = np.empty((N, F, P), dtype=dtype)
    step = _chunk(N, K * P * out.itemsize)
    buf = np.empty((step, K, P), dtype=dtype)
    for n0 in range(0, N, step):
        n1 = min(N, n0 + step)
        cols = buf[:n1 - n0]
        _K.im2col(xc[n0:n1], cols, HH, WW, stride, pad)
        chunk = out[n0:n1]
        np.matmul(w2, cols, out=chunk)
        chunk += bias
    return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    """Convolution backward pass.

    Parameters
    ----------
    dout : (N, F, H', W') upstream gradient.
    cache : ``(x, w, b, conv_param)`` from :func:`conv_forward_fast` (or
        :func:`conv_forward_naive`).

    Returns
    -------
    dx : (N, C, H, W) like ``x``, dw : (F, C, HH, WW) like ``w``, db : (F,).
    """
    x, w, b, conv_param = cache[:4]
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    check_array(dout, "dout", ndim=4)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    if dout.shape != (N, F, H_out, W_out):
        raise ValueError(f"dout has shape {dout.shape}, expected {(N, F, H_out, W_out)} "
                         "(the shape of the forward output)")
    K, P = C * HH * WW, H_out * W_out
    dtype = np.result_type(x, w)
    xc = np.ascontiguousarray(x, dtype=dtype)
    w2t = np.ascontiguousarray(w.reshape(F, K), dtype=dtype).T
    d3 = np.ascontiguousarray(dout, dtype=dtype).reshape(N, F, P)
    dx = np.empty((N, C, H, W), dtype=dtype)
    dw = np.zeros((F, K), dtype=dtype)
    step = _chunk(N, K * P * dx.itemsize)
    buf = np.empty((step, K, P), dtype=dtype)
    dbuf = np.empty((step, K, P), dtype=dtype)
    dw_parts = np.empty((step, F, K), dtype=dtype)
    for n0 in range(0, N, step):
        n1 = min(N, n0 + step)
        m = n1 - n0
        cols = buf[:m]
        _K.im2col(xc[n0:n1], cols, HH, WW, stride, pad)
        g = d3[n0:n1]
        np.matmul(g, cols.transpose(0, 2, 1), out=dw_parts[:m])
        dw += dw_parts[:m].sum(axis=0)
        dcols = dbuf[:m]
        np.matmul(w2t, g, out=dcols)
        _K.col2im(dcols, dx[n0:n1], HH, WW, stride, pad)
    db = dout.sum(axis=(0, 2, 3))
    return (dx.astype(x.dtype, copy=False), dw.reshape(w.shape).astype(w.dtype, copy=False),
            db)


def max_pool_forward_fast(x, pool_param):
    """Max pooling forward pass.

    Parameters
    ----------
    x : (N, C, H, W) input.
    pool_param : dict with ``pool_height``, ``pool_width`` and ``stride``;
        windows may overlap or leave gaps.

    Returns
    -------
    out : (N, C, H', W') with ``H' = (H - pool_height) // stride + 1`` and
        ``W' = (W - pool_width) // stride + 1``.
    cache : ``(x, pool_param, argmax)``, where ``argmax`` (N, C, H', W')
        int32 holds, for each window, the flat index ``r*W + c`` in its
        (H, W) plane of the window's first maximum (row-major order). The
        backward passes also accept the naive layer's ``(x, pool_param)``.
    """
    HP, WP, stride, H_out, W_out = pool_geometry(x, pool_param)
    xc = np.ascontiguousarray(x)
    N, C = x.shape[:2]
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    argmax = np.empty((N, C, H_out, W_out), dtype=np.int32)
    _K.maxpool_forward(xc, out, argmax, HP, WP, stride)
    return out, (x, pool_param, argmax)


def max_pool_backward_fast(dout, cache):
    """Max pooling backward pass.

    Each window's gradient goes to its first maximum (row-major order), and
    overlapping windows add up, as in :func:`max_pool_backward_naive`.

    Parameters
    ----------
    dout : (N, C, H', W') upstream gradient.
    cache : from :func:`max_pool_forward_fast` (or the naive forward).

    Returns
    -------
    dx : (N, C, H, W), like ``x``.
    """
    x, pool_param = cache[:2]
    HP, WP, stride, H_out, W_out = pool_geometry(x, pool_param)
    check_array(dout, "dout", ndim=4)
    if dout.shape != x.shape[:2] + (H_out, W_out):
        raise ValueError(f"dout has shape {dout.shape}, expected "
                         f"{x.shape[:2] + (H_out, W_out)} (the shape of the forward output)")
    if len(cache) > 2:
        argmax = cache[2]
    else:
        _, (_, _, argmax) = max_pool_forward_fast(x, pool_param)
    dx = np.empty(x.shape, dtype=x.dtype)
    _K.maxpool_backward(np.ascontiguousarray(dout, dtype=x.dtype), argmax, dx)
    return dx
