"""Fast max pooling: the same layer as :func:`conv_layers.max_pool_forward_naive`, quicker.

The window loops run in the kernels (:mod:`.fast_kernels`), over chunks of
images shared among worker threads (:mod:`.fast_threads`).
"""
import numpy as np

from . import fast_kernels, fast_threads
from .checks import check_upstream, pool_geometry


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

    def work(chunks):
        for _, n0, n1 in chunks:
            fast_kernels.K.maxpool_forward(xc[n0:n1], out[n0:n1], argmax[n0:n1], HP, WP, stride)

    fast_threads.map_workers(work, N, fast_threads.image_chunk(N, xc[:1].nbytes))
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
    check_upstream(dout, x.shape[:2] + (H_out, W_out))
    if len(cache) > 2:
        argmax = cache[2]
    else:
        _, (_, _, argmax) = max_pool_forward_fast(x, pool_param)
    dx = np.empty(x.shape, dtype=x.dtype)
    dout = np.ascontiguousarray(dout, dtype=x.dtype)

    def work(chunks):
        for _, n0, n1 in chunks:
            fast_kernels.K.maxpool_backward(dout[n0:n1], argmax[n0:n1], dx[n0:n1])

    fast_threads.map_workers(work, x.shape[0], fast_threads.image_chunk(x.shape[0], dx[:1].nbytes))
    return dx
