"""Expected values of the hidden cases, computed by the parent from the reference.

For every case: the reference output in float64 and, for backward cases, the
reference gradients together with the grader's own centred-difference
gradients of the reference forward (:func:`numerical_gradients`). Hidden cases
are the same for every student, so :mod:`.cache` keeps them per process.
"""
import numpy as np

from cnnkit.reference import cnn

from ..sandbox.harness import resolve
from .cases import H
from .reference_functions import REFERENCE

def numerical_gradients(forward, call, arrays, h=H):
    """Centred differences of ``sum(forward(...) * dout)`` for each input in ``call['wrt']``."""
    names = [a[1:] if isinstance(a, str) else None for a in call["args"]]
    grads = {}
    for name, gname in zip(call["wrt"], call["grads"]):
        position = names.index(name)
        x = arrays[name]
        g = np.zeros_like(x)
        for ix in np.ndindex(x.shape):
            total = 0.0
            for sign in (1, -1):
                args = resolve(call["args"], arrays)
                args[position][ix] += sign * h
                total += sign * np.sum(forward(*args)[0] * arrays["dout"])
            g[ix] = total / (2 * h)
        grads[gname] = g
    return grads


def layer_expected(case):
    call, arrays = case.call, case.arrays
    forward = REFERENCE[call["forward"]]
    args = resolve(call["args"], arrays)
    out, cache = forward(*args)
    expected = {"out": out}
    if call.get("report_arg") is not None:
        for key in ("running_mean", "running_var"):
            expected[f"after_{key}"] = args[call["report_arg"]][key]
    if call.get("backward"):
        grads = REFERENCE[call["backward"]](arrays["dout"], cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        expected.update(zip(call["grads"], grads))
        expected["numerical"] = numerical_gradients(forward, call, arrays)
    return expected


def reference_model(call, arrays):
    kwargs = dict(call["kwargs"], input_dim=tuple(call["kwargs"]["input_dim"]))
    model = cnn.ThreeLayerConvNet(dtype=np.float64, **kwargs)
    for key in list(model.params):
        if f"param_{key}" in arrays:
            model.params[key] = arrays[f"param_{key}"].copy()
    return model


def model_expected(case):
    call, arrays = case.call, case.arrays
    model = reference_model(call, arrays)
    if call["kind"] == "model_init":
        return {f"param_{k}": v for k, v in model.params.items()}
    if call["kind"] == "model_scores":
        return {"scores": model.loss(arrays["X"])}
    loss, grads = model.loss(arrays["X"], arrays["y"])
    expected = {"loss": np.asarray(loss)}
    expected.update({f"grad_{k}": v for k, v in grads.items()})
    expected["numerical"] = {f"grad_{k}": _model_numeric(call, arrays, k) for k in grads}
    return expected


def _model_numeric(call, arrays, key, h=H):
    """Centred differences of the reference loss with respect to ``params[key]``."""
    params = {k: v.copy() for k, v in arrays.items() if k.startswith("param_")}
    p = params[f"param_{key}"]
    g = np.zeros_like(p)
    for ix in np.ndindex(p.shape):
        total = 0.0
        for sign in (1, -1):
            old = p[ix]
            p[ix] = old + sign * h
            total += sign * reference_model(call, {**arrays, **params}).loss(
                arrays["X"], arrays["y"])[0]
            p[ix] = old
        g[ix] = total / (2 * h)
    return g


def compute_expected(case):
    """The expected arrays of ``case`` (a dict; backward cases add ``numerical``)."""
    if case.call["kind"] == "layer":
        return layer_expected(case)
    if case.call["kind"].startswith("model_"):
        return model_expected(case)
    return {}
