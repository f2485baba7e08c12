"""Model checkpoints without pickle: parameters in ``.npz``, architecture in ``.json``.

The spec names the model's class and its constructor arguments, e.g.
``{"module": "cnnkit.reference.convnet", "class": "ConvNet", "kwargs": {...}}``,
so a loader can rebuild the model and then set its parameters.
"""
import importlib
import json
import os
from pathlib import Path

import numpy as np


def _paths(path):
    base = Path(path)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_suffix(".npz"), base.with_suffix(".json")


def _bn_items(model):
    """(key, bn_param) pairs of a model's batch-norm layers, list or dict."""
    bn_params = getattr(model, "bn_params", None) or []
    return bn_params.items() if isinstance(bn_params, dict) else enumerate(bn_params)


def model_state(model):
    """All arrays that define a trained model: ``params`` plus batch-norm running statistics."""
    state = dict(model.params)
    for key, bn_param in _bn_items(model):
        for stat in ("running_mean", "running_var"):
            if stat in bn_param:
                state[f"bn{key}.{stat}"] = bn_param[stat]
    return state


def save_checkpoint(path, model, spec):
    """Write ``path.npz`` (the model's state) and ``path.json`` (``spec``).

    The state is ``model.params`` plus the running mean and variance of every
    batch-norm layer (keys ``bn<layer>.running_mean``), which test mode needs.

    Files are written to temporaries and renamed, so a crash never leaves a
    half-written checkpoint. Returns the two paths.
    """
    npz_path, json_path = _paths(path)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    state = model_state(model)
    for key, value in state.items():
        if not isinstance(value, np.ndarray) or value.dtype == object:
            raise TypeError(f"model state {key!r} must be a numeric numpy array, "
                            f"got {type(value).__name__}")
    tmp_npz = npz_path.with_suffix(".tmp.npz")
    np.savez(tmp_npz, **state)
    tmp_json = json_path.with_suffix(".json.tmp")
    tmp_json.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_npz, npz_path)
    os.replace(tmp_json, json_path)
    return npz_path, json_path


def load_checkpoint(path):
    """Read a checkpoint: returns ``(params, spec)``; never unpickles anything."""
    npz_path, json_path = _paths(path)
    with np.load(npz_path, allow_pickle=False) as data:
        params = {k: data[k] for k in data.files}
    spec = json.loads(json_path.read_text())
    return params, spec


def build_model(spec, params=None):
    """Construct ``spec['class']`` from ``spec['module']`` with ``spec['kwargs']``.

    If ``params`` (as from :func:`load_checkpoint`) is given it replaces the
    model's parameters and batch-norm running statistics (same keys and shapes
    required).
    """
    cls = getattr(importlib.import_module(spec["module"]), spec["class"])
    model = cls(**spec.get("kwargs", {}))
    if params is not None:
        load_state(model, params)
    return model


def load_state(model, state):
    """Set a model's parameters and batch-norm statistics from ``state``.

    ``state`` is as :func:`model_state` returns; every parameter must be
    present with the model's shape. Values are copied.
    """
    missing = sorted(set(model.params) - set(state))
    if missing:
        raise ValueError(f"checkpoint has no values for {missing}")
    for key, value in model.params.items():
        if state[key].shape != value.shape:
            raise ValueError(f"checkpoint {key} has shape {state[key].shape}, "
                             f"model expects {value.shape}")
        model.params[key] = state[key].astype(value.dtype, copy=True)
    for key, bn_param in _bn_items(model):
        for stat in ("running_mean", "running_var"):
            if f"bn{key}.{stat}" in state:
                bn_param[stat] = state[f"bn{key}.{stat}"].copy()
