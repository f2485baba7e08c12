"""Sandwich layers: convolution, (spatial batch norm), ReLU and max pooling in one call.

They use the fast convolution and pooling layers from ``utils/fast_layers.py``
(the naive ones would make training far too slow), the ReLU from
``nndl/layers.py`` and your spatial batch normalization.
"""
from nndl.conv_layers import spatial_batchnorm_backward, spatial_batchnorm_forward
from nndl.layers import relu_backward, relu_forward
from utils.fast_layers import (conv_backward_fast, conv_forward_fast,
                               max_pool_backward_fast, max_pool_forward_fast)


def conv_relu_forward(x, w, b, conv_param):
    """Convolution followed by ReLU.

    x : (N, C, H, W) input; w : (F, C, HH, WW) filters; b : (F,) biases;
    conv_param : as for ``conv_forward_fast``.
    Returns out : (N, F, H', W') and a cache for :func:`conv_relu_backward`.
    """
    out, cache = None, None
    ### BEGIN SOLUTION
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    cache = (conv_cache, relu_cache)
    ### END SOLUTION
    return out, cache


def conv_relu_backward(dout, cache):
    """Backward pass of :func:`conv_relu_forward`.

    dout : (N, F, H', W'). Returns dx : (N, C, H, W), dw : (F, C, HH, WW), db : (F,).
    """
    dx, dw, db = None, None, None
    ### BEGIN SOLUTION
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    ### END SOLUTION
    return dx, dw, db


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling.

    x : (N, C, H, W); w : (F, C, HH, WW); b : (F,); conv_param and pool_param
    as for the fast layers. Returns the pooled output (N, F, H'', W'') and a
    cache for :func:`conv_relu_pool_backward`.
    """
    out, cache = None, None
    ### BEGIN SOLUTION
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    cache = (conv_cache, relu_cache, pool_cache)
    ### END SOLUTION
    return out, cache


def conv_relu_pool_backward(dout, cache):
    """Backward pass of :func:`conv_relu_pool_forward`.

    dout : (N, F, H'', W''). Returns dx : (N, C, H, W), dw : (F, C, HH, WW), db : (F,).
    """
    dx, dw, db = None, None, None
    ### BEGIN SOLUTION
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    ### END SOLUTION
    return dx, dw, db


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, spatial batch normalization, then ReLU.

    x : (N, C, H, W); w : (F, C, HH, WW); b, gamma, beta : (F,); bn_param as
    for :func:`spatial_batchnorm_forward`. Returns out : (N, F, H', W') and a
    cache for :func:`conv_bn_relu_backward`.
    """
    out, cache = None, None
    ### BEGIN SOLUTION
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    cache = (conv_cache, bn_cache, relu_cache)
    ### END SOLUTION
    return out, cache


def conv_bn_relu_backward(dout, cache):
    """Backward pass of :func:`conv_bn_relu_forward`.

    dout : (N, F, H', W'). Returns dx : (N, C, H, W), dw : (F, C, HH, WW),
    db : (F,), dgamma : (F,), dbeta : (F,).
    """
    dx, dw, db, dgamma, dbeta = None, None, None, None, None
    ### BEGIN SOLUTION
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    ### END SOLUTION
    return dx, dw, db, dgamma, dbeta


def conv_bn_relu_pool_forward(x, w, b, gamma, beta, conv_param, bn_param, pool_param):
    """Convolution, spatial batch normalization, ReLU, then max pooling.

    Shapes as for :func:`conv_bn_relu_forward`; the output is pooled to
    (N, F, H'', W''). Returns out and a cache for :func:`conv_bn_relu_pool_backward`.
    """
    out, cache = None, None
    ### BEGIN SOLUTION
    s, inner_cache = conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    cache = (inner_cache, pool_cache)
    ### END SOLUTION
    return out, cache


def conv_bn_relu_pool_backward(dout, cache):
    """Backward pass of :func:`conv_bn_relu_pool_forward`.

    dout : (N, F, H'', W''). Returns dx, dw, db, dgamma, dbeta.
    """
    dx, dw, db, dgamma, dbeta = None, None, None, None, None
    ### BEGIN SOLUTION
    inner_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    dx, dw, db, dgamma, dbeta = conv_bn_relu_backward(ds, inner_cache)
    ### END SOLUTION
    return dx, dw, db, dgamma, dbeta
