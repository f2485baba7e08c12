"""Convolution, max pooling and spatial batch normalization: your implementations.

Each layer is a ``*_forward`` / ``*_backward`` pair. The forward pass returns
``(out, cache)``; the backward pass takes the upstream gradient ``dout`` and
that ``cache`` and returns the gradient with respect to each input.

Write the naive versions with plain loops: clarity matters more than speed
here (``utils/fast_layers.py`` holds fast versions to compare against).
"""
import numpy as np

from nndl.layers import batchnorm_backward, batchnorm_forward


def conv_forward_naive(x, w, b, conv_param):
    """Naive convolution forward pass.

    The input has N images of C channels, each of height H and width W. Each
    of the F filters spans all C channels and has height HH and width WW.

    Parameters
    ----------
    x : (N, C, H, W) input.
    w : (F, C, HH, WW) filters.
    b : (F,) biases.
    conv_param : dict with
        - 'stride': pixels between neighbouring receptive fields, in both
          directions (an int >= 1).
        - 'pad': zeros added on every side of the height and width axes
          (an int >= 0).

    Returns
    -------
    out : (N, F, H', W') with ``H' = 1 + (H + 2 * pad - HH) // stride`` and
        ``W' = 1 + (W + 2 * pad - WW) // stride``.
    cache : ``(x, w, b, conv_param)``.
    """
    out = None
    stride, pad = conv_param['stride'], conv_param['pad']
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    field = xpad[n, :, top:top + HH, left:left + WW]
                    out[n, f, i, j] = np.sum(field * w[f]) + b[f]
    ### END SOLUTION
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Naive convolution backward pass.

    Parameters
    ----------
    dout : (N, F, H', W') upstream gradient.
    cache : ``(x, w, b, conv_param)`` as returned by :func:`conv_forward_naive`.

    Returns
    -------
    dx : (N, C, H, W) gradient with respect to x.
    dw : (F, C, HH, WW) gradient with respect to w.
    db : (F,) gradient with respect to b.
    """
    dx, dw, db = None, None, None
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')
    dxpad = np.zeros_like(xpad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += np.sum(dout[n, f])
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    g = dout[n, f, i, j]
                    dw[f] += g * xpad[n, :, top:top + HH, left:left + WW]
                    dxpad[n, :, top:top + HH, left:left + WW] += g * w[f]
    dx = dxpad[:, :, pad:pad + H, pad:pad + W]
    ### END SOLUTION
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Naive max pooling forward pass.

    Parameters
    ----------
    x : (N, C, H, W) input.
    pool_param : dict with
        - 'pool_height': height of each pooling window,
        - 'pool_width': width of each pooling window,
        - 'stride': pixels between neighbouring windows (windows overlap
          when the stride is smaller than the window).

    Returns
    -------
    out : (N, C, H', W') with ``H' = 1 + (H - pool_height) // stride`` and
        ``W' = 1 + (W - pool_width) // stride``.
    cache : ``(x, pool_param)``.
    """
    out = None
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    out[n, c, i, j] = np.max(x[n, c, top:top + ph, left:left + pw])
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Naive max pooling backward pass.

    Each window passes its upstream gradient to the position of its maximum;
    if several entries tie for the maximum, the first one in row-major order
    gets it. Where windows overlap, the gradients add up.

    Parameters
    ----------
    dout : (N, C, H', W') upstream gradient.
    cache : ``(x, pool_param)`` as returned by :func:`max_pool_forward_naive`.

    Returns
    -------
    dx : (N, C, H, W) gradient with respect to x.
    """
    dx = None
    x, pool_param = cache
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top:top + ph, left:left + pw]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + r, left + s] += dout[n, c, i, j]
    ### END SOLUTION
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalization forward pass.

    Each channel is normalised with the mean and variance of all its N*H*W
    values, then scaled by ``gamma`` and shifted by ``beta``. Reuse
    ``batchnorm_forward`` from ``nndl/layers.py``: it works on (N, D) arrays.

    Parameters
    ----------
    x : (N, C, H, W) input.
    gamma : (C,) scale.
    beta : (C,) shift.
    bn_param : dict with
        - 'mode': 'train' or 'test' (required),
        - 'eps': constant for numeric stability (default 1e-5),
        - 'momentum': constant for the running averages (default 0.9),
        - 'running_mean', 'running_var': (C,) arrays, created in train mode
          if absent and updated in place.

    Returns
    -------
    out : (N, C, H, W) output.
    cache : whatever :func:`spatial_batchnorm_backward` needs.
    """
    out, cache = None, None
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out_rows, bn_cache = batchnorm_forward(rows, gamma, beta, bn_param)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    cache = (bn_cache, x.shape)
    ### END SOLUTION
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """Spatial batch normalization backward pass.

    Parameters
    ----------
    dout : (N, C, H, W) upstream gradient.
    cache : as returned by :func:`spatial_batchnorm_forward`.

    Returns
    -------
    dx : (N, C, H, W) gradient with respect to x.
    dgamma : (C,) gradient with respect to gamma.
    dbeta : (C,) gradient with respect to beta.
    """
    dx, dgamma, dbeta = None, None, None
    ### BEGIN SOLUTION
    bn_cache, (N, C, H, W) = cache
    drows = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx_rows, dgamma, dbeta = batchnorm_backward(drows, bn_cache)
    dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return dx, dgamma, dbeta
