"""Naive convolution, max pooling and spatial batch normalization.

The obvious loop-over-output-positions versions, written for clarity. The fast
layers in :mod:`cnnkit.reference.fast_layers` are tested against these.
"""
import numpy as np

from .checks import check_array, check_upstream, conv_geometry, pool_geometry
from .layers import normalize_backward, normalize_forward


def conv_forward_naive(x, w, b, conv_param):
    """Convolution forward pass.

    Parameters
    ----------
    x : (N, C, H, W) input.
    w : (F, C, HH, WW) filters.
    b : (F,) biases.
    conv_param : dict with ``stride`` (int >= 1) and ``pad`` (int >= 0 zeros
        added on every side of the height and width axes).

    Returns
    -------
    out : (N, F, H', W') with ``H' = (H + 2*pad - HH) // stride + 1`` and
        ``W' = (W + 2*pad - WW) // stride + 1``.
    cache : ``(x, w, b, conv_param)``.
    """
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((x.shape[0], F, H_out, W_out), dtype=np.result_type(x, w))
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Convolution backward pass.

    Parameters
    ----------
    dout : (N, F, H', W') upstream gradient.
    cache : ``(x, w, b, conv_param)`` from :func:`conv_forward_naive`.

    Returns
    -------
    dx : (N, C, H, W), dw : (F, C, HH, WW), db : (F,).
    """
    x, w, b, conv_param = cache
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    check_upstream(dout, (x.shape[0], w.shape[0], H_out, W_out))
    _, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            rows = slice(i * stride, i * stride + HH)
            cols = slice(j * stride, j * stride + WW)
            g = dout[:, :, i, j]                                  # (N, F)
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward_naive(x, pool_param):
    """Max pooling forward pass.

    Parameters
    ----------
    x : (N, C, H, W) input.
    pool_param : dict with ``pool_height``, ``pool_width`` and ``stride``.
        Windows may overlap (stride < pool size) or leave gaps.

    Returns
    -------
    out : (N, C, H', W') with ``H' = (H - pool_height) // stride + 1`` and
        ``W' = (W - pool_width) // stride + 1``.
    cache : ``(x, pool_param)``.
    """
    HP, WP, stride, H_out, W_out = pool_geometry(x, pool_param)
    out = np.empty(x.shape[:2] + (H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + HP, j * stride:j * stride + WP]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Max pooling backward pass.

    The gradient of each window goes to the first maximum in row-major order
    (ties are not split), and overlapping windows add up.

    Parameters
    ----------
    dout : (N, C, H', W') upstream gradient.
    cache : ``(x, pool_param)`` from :func:`max_pool_forward_naive`.

    Returns
    -------
    dx : (N, C, H, W).
    """
    x, pool_param = cache
    HP, WP, stride, H_out, W_out = pool_geometry(x, pool_param)
    check_upstream(dout, x.shape[:2] + (H_out, W_out))
    N, C = x.shape[:2]
    dx = np.zeros_like(x)
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + HP, j * stride:j * stride + WP]
            first_max = window.reshape(N, C, -1).argmax(axis=2)
            r, c = np.divmod(first_max, WP)
            np.add.at(dx, (n_idx, c_idx, i * stride + r, j * stride + c), dout[:, :, i, j])
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalization forward pass.

    Each channel is normalised over the batch and both spatial axes, i.e. over
    ``N*H*W`` values, then scaled by ``gamma`` and shifted by ``beta``.

    Parameters
    ----------
    x : (N, C, H, W) input.
    gamma, beta : (C,) scale and shift.
    bn_param : dict with ``mode`` ('train' or 'test') and optionally ``eps``
        (default 1e-5), ``momentum`` (0.9), ``running_mean`` and
        ``running_var`` of shape (C,), updated in place in train mode as
        ``running = momentum * running + (1 - momentum) * batch``.

    Returns
    -------
    out : (N, C, H, W); cache for :func:`spatial_batchnorm_backward`.
    """
    check_array(x, "x", ndim=4)
    return normalize_forward(x, gamma, beta, bn_param, axes=(0, 2, 3))


def spatial_batchnorm_backward(dout, cache):
    """Spatial batch normalization backward pass.

    Parameters
    ----------
    dout : (N, C, H, W) upstream gradient.
    cache : from :func:`spatial_batchnorm_forward`.

    Returns
    -------
    dx : (N, C, H, W), dgamma : (C,), dbeta : (C,).
    """
    check_array(dout, "dout", ndim=4)
    return normalize_backward(dout, cache)
