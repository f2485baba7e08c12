"""First-order update rules.

Each rule has the signature ``update(w, dw, config=None) -> (next_w, config)``:
``w`` and ``dw`` have the same shape, ``config`` holds the hyperparameters and
any state (moments) carried between steps, and missing keys get defaults.
"""
import numpy as np


def sgd(w, dw, config=None):
    """Vanilla SGD: ``w -= learning_rate * dw``. Config: learning_rate (1e-2)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum.

    Config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp.

    Config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache
    (zeros like w): the moving average of squared gradients.
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction.

    Config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8),
    m and v (zeros like w), t (0): the step count.
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    m = config.get("m")
    v = config.get("v")
    if m is None:
        m, v = np.zeros_like(w), np.zeros_like(w)
    t = config.get("t", 0) + 1
    beta1, beta2 = config["beta1"], config["beta2"]
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config.update(m=m, v=v, t=t)
    return next_w.astype(w.dtype, copy=False), config
