"""Small input checks for public entry points.

Each helper names the parameter, shows the bad value and states the rule, so a
student can act on the message: ``TypeError`` for a wrong type, ``ValueError``
for a wrong value.
"""
import numbers

import numpy as np


def check_array(x, name, ndim=None, float_only=True):
    """Return ``x`` as an ndarray after checking its type, rank and dtype."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {x.shape}")
    if float_only and x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got dtype {x.dtype}")
    return x


def check_int(value, name, minimum):
    """Return ``value`` as an int, requiring an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_keys(params, name, keys):
    """Require the dict ``params`` to hold every key in ``keys``."""
    if not isinstance(params, dict):
        raise TypeError(f"{name} must be a dict, got {type(params).__name__}")
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"{name} is missing {', '.join(map(repr, missing))}")


def output_size(size, window, stride, pad, what):
    """Output length of a sliding window: ``(size + 2*pad - window) / stride + 1``.

    Raises ValueError, naming ``what``, when the window does not fit or the
    stride does not tile the padded input exactly.
    """
    span = size + 2 * pad - window
    if span < 0:
        raise ValueError(
            f"{what}: window {window} is larger than the padded input "
            f"({size} + 2*{pad} = {size + 2 * pad})")
    if span % stride:
        raise ValueError(
            f"{what}: (input {size} + 2*pad {pad} - window {window}) = {span} "
            f"is not divisible by stride {stride}, so the output size "
            f"{span / stride + 1:g} is not an integer")
    return span // stride + 1


def conv_geometry(x, w, b, conv_param):
    """Validate a convolution's inputs; return ``(stride, pad, H_out, W_out)``."""
    check_array(x, "x", ndim=4)
    check_array(w, "w", ndim=4)
    check_array(b, "b", ndim=1)
    check_keys(conv_param, "conv_param", ("stride", "pad"))
    stride = check_int(conv_param["stride"], "conv_param['stride']", 1)
    pad = check_int(conv_param["pad"], "conv_param['pad']", 0)
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w has {w.shape[1]} channels but x has {x.shape[1]} "
            f"(x: {x.shape}, w: {w.shape})")
    if b.shape[0] != w.shape[0]:
        raise ValueError(f"b has {b.shape[0]} entries but w has {w.shape[0]} filters")
    H_out = output_size(x.shape[2], w.shape[2], stride, pad, "conv height")
    W_out = output_size(x.shape[3], w.shape[3], stride, pad, "conv width")
    return stride, pad, H_out, W_out


def pool_geometry(x, pool_param):
    """Validate a pooling layer's inputs; return ``(HP, WP, stride, H_out, W_out)``."""
    check_array(x, "x", ndim=4)
    check_keys(pool_param, "pool_param", ("pool_height", "pool_width", "stride"))
    HP = check_int(pool_param["pool_height"], "pool_param['pool_height']", 1)
    WP = check_int(pool_param["pool_width"], "pool_param['pool_width']", 1)
    stride = check_int(pool_param["stride"], "pool_param['stride']", 1)
    H_out = output_size(x.shape[2], HP, stride, 0, "pool height")
    W_out = output_size(x.shape[3], WP, stride, 0, "pool width")
    return HP, WP, stride, H_out, W_out


def check_upstream(dout, shape):
    """Require the upstream gradient ``dout`` to have the forward output's ``shape``."""
    check_array(dout, "dout", ndim=len(shape))
    if dout.shape != tuple(shape):
        raise ValueError(f"dout has shape {dout.shape}, expected {tuple(shape)} "
                         "(the shape of the forward output)")
    return dout


def bn_settings(bn_param, x, gamma, beta, channel_axis):
    """Validate batch normalization's inputs; return ``(mode, eps, momentum, mean, var)``.

    ``gamma`` and ``beta`` need one entry per channel of ``x`` (its
    ``channel_axis``); ``bn_param`` needs ``mode`` ('train' or 'test') and may
    hold ``eps`` (default 1e-5), ``momentum`` (0.9) and the running statistics,
    which are created (zeros and ones) on first use and updated in place.
    """
    check_keys(bn_param, "bn_param", ("mode",))
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    C = x.shape[channel_axis]
    for name, value in (("gamma", gamma), ("beta", beta)):
        if np.shape(value) != (C,):
            raise ValueError(f"{name} must have shape ({C},) to match x {x.shape}, "
                             f"got {np.shape(value)}")
    running_mean = bn_param.setdefault("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.ones(C, dtype=x.dtype))
    return mode, bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9), running_mean, running_var
