"""Sandwich layers built from the fast convolution, pooling and batch-norm layers.

Every backward pass takes ``need_dx`` (default True), passed on to
:func:`conv_backward_fast`: False skips the input gradient, which a network's
first layer does not need, and returns ``None`` in its place.
"""
from .fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                          max_pool_forward_fast, spatial_batchnorm_relu_backward_fast,
                          spatial_batchnorm_relu_forward_fast)
from .layers import relu_backward, relu_forward


def conv_relu_forward(x, w, b, conv_param):
    """Convolution then ReLU. x : (N, C, H, W), w : (F, C, HH, WW), b : (F,)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache, need_dx=True):
    """Backward pass of :func:`conv_relu_forward`: returns dx, dw, db."""
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache, need_dx)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache, need_dx=True):
    """Backward pass of :func:`conv_relu_pool_forward`: returns dx, dw, db."""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    return conv_backward_fast(relu_backward(ds, relu_cache), conv_cache, need_dx)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, spatial batch normalization, then ReLU (the last two in one pass)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, bn_relu_cache = spatial_batchnorm_relu_forward_fast(a, gamma, beta, bn_param)
    return out, (conv_cache, bn_relu_cache)


def conv_bn_relu_backward(dout, cache, need_dx=True):
    """Backward pass of :func:`conv_bn_relu_forward`: dx, dw, db, dgamma, dbeta."""
    conv_cache, bn_relu_cache = cache
    dan, dgamma, dbeta = spatial_batchnorm_relu_backward_fast(dout, bn_relu_cache)
    dx, dw, db = conv_backward_fast(dan, conv_cache, need_dx)
    return dx, dw, db, dgamma, dbeta


def conv_bn_relu_pool_forward(x, w, b, gamma, beta, conv_param, bn_param, pool_param):
    """Convolution, spatial batch normalization, ReLU, then max pooling."""
    s, inner_cache = conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (inner_cache, pool_cache)


def conv_bn_relu_pool_backward(dout, cache, need_dx=True):
    """Backward pass of :func:`conv_bn_relu_pool_forward`: dx, dw, db, dgamma, dbeta."""
    inner_cache, pool_cache = cache
    return conv_bn_relu_backward(max_pool_backward_fast(dout, pool_cache), inner_cache,
                                 need_dx)
