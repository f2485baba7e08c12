"""Fully connected layers, activations, normalisation, dropout and losses.

Every layer is a ``*_forward`` / ``*_backward`` pair: the forward returns
``(out, cache)``, the backward takes ``(dout, cache)`` and returns the
gradients with the shapes of the forward's inputs.
"""
import numpy as np

from .checks import bn_settings, check_array, check_keys


def affine_forward(x, w, b):
    """Affine (fully connected) layer: ``out = x.reshape(N, D) @ w + b``.

    x : (N, d_1, ..., d_k) with ``D = d_1 * ... * d_k``; w : (D, M); b : (M,).
    Returns out : (N, M) and cache ``(x, w, b)``.
    """
    check_array(x, "x")
    if x.ndim < 1 or w.ndim != 2 or int(np.prod(x.shape[1:])) != w.shape[0]:
        raise ValueError(
            f"affine_forward: x of shape {x.shape} flattens to "
            f"{int(np.prod(x.shape[1:]))} features but w has shape {w.shape}")
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    dout : (N, M). Returns dx : x.shape, dw : (D, M), db : (M,).
    """
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)


def relu_forward(x):
    """Rectified linear unit: ``out = max(x, 0)``; any shape. Cache is ``x``."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`: gradient flows where ``x > 0``."""
    return dout * (cache > 0)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization over the first axis.

    x : (N, D); gamma, beta : (D,). ``bn_param``: ``mode`` ('train' or
    'test'), optional ``eps`` (1e-5), ``momentum`` (0.9), ``running_mean`` and
    ``running_var`` (D,), which train mode creates if absent and updates in
    place as ``running = momentum * running + (1 - momentum) * batch``. The
    running variance uses the biased batch variance, as the forward does.

    Returns out : (N, D) and a cache for :func:`batchnorm_backward`.
    """
    check_array(x, "x", ndim=2)
    return normalize_forward(x, gamma, beta, bn_param, axes=(0,))


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward`.

    dout : (N, D). Returns dx : (N, D), dgamma : (D,), dbeta : (D,). In test
    mode the statistics are constants, so ``dx = dout * gamma / std``.
    """
    return normalize_backward(dout, cache)


def normalize_forward(x, gamma, beta, bn_param, axes):
    """Batch normalization of ``x`` over ``axes``, one statistic per remaining index.

    Shared by :func:`batchnorm_forward` (axes ``(0,)`` of (N, D)) and spatial
    batch normalization (axes ``(0, 2, 3)`` of (N, C, H, W)); ``gamma``,
    ``beta`` and the running statistics have one entry per channel.
    """
    channel_axis = next(a for a in range(x.ndim) if a not in axes)
    mode, eps, momentum, running_mean, running_var = bn_settings(bn_param, x, gamma, beta,
                                                                 channel_axis)
    C = x.shape[channel_axis]
    shape = [1] * x.ndim
    shape[channel_axis] = C
    if mode == "train":
        mean = x.mean(axis=axes)
        centred = x - mean.reshape(shape)
        var = np.mean(centred * centred, axis=axes)
        running_mean *= momentum
        running_mean += (1 - momentum) * mean
        running_var *= momentum
        running_var += (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
        centred = x - mean.reshape(shape)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False).reshape(shape)
    x_hat = centred * inv_std
    out = x_hat * np.asarray(gamma, dtype=x.dtype).reshape(shape) \
        + np.asarray(beta, dtype=x.dtype).reshape(shape)
    return out, (x_hat, np.asarray(gamma).reshape(shape), inv_std, mode, axes)


def normalize_backward(dout, cache):
    """Backward pass of :func:`normalize_forward`: returns dx, dgamma, dbeta."""
    x_hat, gamma, inv_std, mode, axes = cache
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma.astype(dout.dtype, copy=False)
    if mode == "test":
        return dx_hat * inv_std, dgamma, dbeta
    mean_dx_hat = dx_hat.mean(axis=axes, keepdims=True)
    mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
    dx = inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    """Inverted dropout.

    ``dropout_param``: ``p``, the probability of DROPPING each unit (the
    seed course's meaning), ``mode`` ('train' or 'test') and optional ``seed``.
    In train mode kept units are scaled by ``1 / (1 - p)``, so test mode is the
    identity. Returns out : x.shape and cache ``(dropout_param, mask)``.
    """
    check_keys(dropout_param, "dropout_param", ("p", "mode"))
    p, mode = dropout_param["p"], dropout_param["mode"]
    if not 0 <= p < 1:
        raise ValueError(f"dropout_param['p'] is the drop probability, in [0, 1); got {p!r}")
    if mode == "test":
        return x, (dropout_param, None)
    if mode != "train":
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return (x * mask).astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`."""
    _, mask = cache
    return dout if mask is None else dout * mask


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1.

    x : (N, C) scores; y : (N,) integer labels in ``[0, C)``.
    Returns the mean loss and dx : (N, C).
    """
    N = x.shape[0]
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct + 1.0)
    margins[np.arange(N), y] = 0
    positive = (margins > 0).astype(x.dtype)
    positive[np.arange(N), y] = -positive.sum(axis=1)
    return margins.sum() / N, positive / N


def softmax_loss(x, y):
    """Softmax cross-entropy loss.

    x : (N, C) scores; y : (N,) integer labels in ``[0, C)``.
    Returns the mean loss and dx : (N, C).
    """
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return float(loss), dx / N
