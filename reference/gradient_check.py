"""Numerical gradients by centred differences, for checking backward passes."""
import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _evaluate_around(f, x, ix, h):
    """``(f(x + h e_ix), f(x - h e_ix))``, perturbing ``x`` in place and restoring it."""
    old = x[ix]
    x[ix] = old + h
    pos = np.array(f(x), copy=True)
    x[ix] = old - h
    neg = np.array(f(x), copy=True)
    x[ix] = old
    return pos, neg


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerical gradient of a scalar function ``f`` at ``x``.

    ``x`` is perturbed in place (and restored) one element at a time.
    Returns an array of ``x.shape``.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        fxph, fxmh = _evaluate_around(f, x, ix, h)
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of ``sum(f(x) * df)`` with respect to ``x``.

    ``f`` maps an array to an array; ``df`` is the upstream gradient with the
    shape of ``f(x)``. Returns an array of ``x.shape``.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        pos, neg = _evaluate_around(f, x, it.multi_index, h)
        grad[it.multi_index] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None, verbose=True):
    """Compare ``analytic_grad`` with centred differences at random elements.

    Returns the list of relative errors, one per checked element.
    """
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        fxph, fxmh = _evaluate_around(f, x, ix, h)
        numeric = float(fxph - fxmh) / (2 * h)
        analytic = analytic_grad[ix]
        error = abs(numeric - analytic) / max(1e-12, abs(numeric) + abs(analytic))
        errors.append(float(error))
        if verbose:
            print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {error:e}")
    return errors
