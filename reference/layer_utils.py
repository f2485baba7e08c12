"""Sandwich layers built from fully connected layers: affine - (batchnorm) - relu."""
from .layers import (affine_backward, affine_forward, batchnorm_backward,
                     batchnorm_forward, relu_backward, relu_forward)


def affine_relu_forward(x, w, b):
    """Affine then ReLU. x : (N, D...), w : (D, M), b : (M,). Returns (N, M)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of :func:`affine_relu_forward`: returns dx, dw, db."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine, batch normalization, then ReLU. Returns (N, M) and a cache."""
    a, fc_cache = affine_forward(x, w, b)
    an, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (fc_cache, bn_cache, relu_cache)


def affine_bn_relu_backward(dout, cache):
    """Backward pass of :func:`affine_bn_relu_forward`: dx, dw, db, dgamma, dbeta."""
    fc_cache, bn_cache, relu_cache = cache
    dan, dgamma, dbeta = batchnorm_backward(relu_backward(dout, relu_cache), bn_cache)
    dx, dw, db = affine_backward(dan, fc_cache)
    return dx, dw, db, dgamma, dbeta
