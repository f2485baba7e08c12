"""Fast spatial batch normalization, alone or with the ReLU after it in the same pass.

Computed on an (N, C, H*W) view instead of the naive layer's copies to and
from an (N*H*W, C) matrix, one kernel pass per channel, channels shared among
worker threads (:mod:`.fast_threads`). The backward pass recomputes the
normalised input instead of storing it.
"""
import numpy as np

from . import fast_kernels, fast_threads
from .checks import bn_settings, check_array


def spatial_batchnorm_forward_fast(x, gamma, beta, bn_param):
    """Spatial batch normalization forward pass, computed on (N, C, H*W).

    Same contract as :func:`conv_layers.spatial_batchnorm_forward` (each
    channel normalised over ``N*H*W`` values; ``bn_param`` with ``mode``,
    optional ``eps`` (1e-5), ``momentum`` (0.9), ``running_mean`` and
    ``running_var`` (C,) created if absent and updated in place in train
    mode), without the copies to and from an (N*H*W, C) matrix; per-channel
    sums are accumulated in float64.

    Returns out : (N, C, H, W) like ``x``; cache ``(x, mean, inv_std, gamma,
    mode)`` with ``x`` viewed as (N, C, H*W) and the float64 (C,) statistics
    used; the backward pass recomputes the normalised input from them (cheaper
    than writing it to memory and reading it back).
    """
    out, cache = _batchnorm_forward(x, gamma, beta, bn_param, relu=False)
    return out.reshape(x.shape), cache


def spatial_batchnorm_relu_forward_fast(x, gamma, beta, bn_param):
    """Spatial batch normalization then ReLU, in one pass over the data.

    Same values as :func:`spatial_batchnorm_forward_fast` followed by
    :func:`layers.relu_forward`. Returns out : (N, C, H, W) like ``x``; cache
    the 5 items of :func:`spatial_batchnorm_forward_fast`'s, then ``out``
    viewed as (N, C, H*W).
    """
    out, cache = _batchnorm_forward(x, gamma, beta, bn_param, relu=True)
    return out.reshape(x.shape), cache + (out,)


def _batchnorm_forward(x, gamma, beta, bn_param, relu):
    """The two forward passes above; returns out as (N, C, H*W) and the 5-item cache."""
    check_array(x, "x", ndim=4)
    mode, eps, momentum, running_mean, running_var = bn_settings(bn_param, x, gamma, beta, 1)
    N, C, H, W = x.shape
    x3 = np.ascontiguousarray(x).reshape(N, C, H * W)
    out = np.empty(x3.shape, dtype=x.dtype)
    train = mode == "train"
    mean = np.empty(C) if train else np.array(running_mean, dtype=np.float64)
    var = np.empty(C) if train else np.array(running_var, dtype=np.float64)
    inv_std = np.empty(C)
    gamma64 = np.asarray(gamma, dtype=np.float64)
    beta64 = np.asarray(beta, dtype=np.float64)

    def work(chunks):                         # chunks of channels
        for _, c0, c1 in chunks:
            fast_kernels.K.bn_forward(x3[:, c0:c1], mean[c0:c1], var[c0:c1], inv_std[c0:c1],
                          gamma64[c0:c1], beta64[c0:c1], eps, train, relu, out[:, c0:c1])

    fast_threads.map_workers(work, C, fast_threads.channel_chunk(C))
    if train:
        running_mean *= momentum
        running_mean += (1 - momentum) * mean.astype(running_mean.dtype)
        running_var *= momentum
        running_var += (1 - momentum) * var.astype(running_var.dtype)
    return out, (x3, mean, inv_std, gamma, mode)


def spatial_batchnorm_backward_fast(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward_fast`.

    dout : (N, C, H, W). Returns dx : (N, C, H, W), dgamma : (C,), dbeta : (C,).
    """
    return _batchnorm_backward(dout, cache, relu_out=None)


def spatial_batchnorm_relu_backward_fast(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_relu_forward_fast` (ReLU, then batch norm).

    dout : (N, C, H, W). Returns dx : (N, C, H, W), dgamma : (C,), dbeta : (C,).
    """
    return _batchnorm_backward(dout, cache[:5], relu_out=cache[5])


def _batchnorm_backward(dout, cache, relu_out):
    check_array(dout, "dout", ndim=4)
    x3, mean, inv_std, gamma, mode = cache
    N, C, H, W = dout.shape
    if x3.shape != (N, C, H * W):
        raise ValueError(f"dout has shape {dout.shape}, which does not match the cache "
                         f"(N, C, H*W) = {x3.shape}")
    d3 = np.ascontiguousarray(dout, dtype=x3.dtype).reshape(N, C, H * W)
    dx = np.empty(x3.shape, dtype=x3.dtype)
    dgamma = np.empty(C)
    dbeta = np.empty(C)
    gamma64 = np.asarray(gamma, dtype=np.float64)

    def work(chunks):                         # chunks of channels
        for _, c0, c1 in chunks:
            fast_kernels.K.bn_backward(d3[:, c0:c1], x3[:, c0:c1], mean[c0:c1], inv_std[c0:c1],
                           gamma64[c0:c1], mode == "train", dx[:, c0:c1], dgamma[c0:c1],
                           dbeta[c0:c1], None if relu_out is None else relu_out[:, c0:c1])

    fast_threads.map_workers(work, C, fast_threads.channel_chunk(C))
    return (dx.reshape(dout.shape), dgamma.astype(dout.dtype), dbeta.astype(dout.dtype))
