"""Trusted harness that runs INSIDE the sandbox, next to one student's files.

It is copied into the sandbox folder and run as ``python harness.py``. It holds
no expected values and no secret: it reads ``job.json`` (which functions to
call, on which arrays) and ``inputs/<name>.npz``, calls the student's code
one case at a time, and writes ``outputs/<name>.npz`` (plain float/int
arrays) and ``outputs/<name>.json`` (status, error message, tripwire hits).
Before it touches anything of the student's it prints :data:`READY` as the
first line of its output (run with ``python -I``, no student file can run
earlier): a run whose output does not start with it never reached the
student's code, so whatever went wrong is the grader's fault, not the
student's. Before each case it writes ``outputs/<name>.started``, so the
grader knows which case was running if the process dies. Each test group gets a time
budget (``job["group_seconds"]``, a SIGALRM timer); the sandbox's own limits
stay the backstop. Standard library and numpy only.

Because it runs alone, this file is the one home of what it shares with the
grader: the call format (:func:`resolve`) and the lists of forbidden modules
(``FAST_MODULES``, ``BLOCKED_PACKAGES``), which the test bank and the static
check import from here.
"""
import copy
import importlib
import importlib.machinery
import json
import os
import signal
import sys
import time
import traceback
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
#: first line of output: the harness is set up and about to load the student's code
READY = "[harness] ready: running the student's code"
#: modules a naive function must not call into (the grader's static check,
#: cnnkit.grader.compare.static_check, reads the same lists)
FAST_MODULES = ("utils.fast_layers", "utils.fast_conv", "utils.winograd", "utils.fast_pool",
                "utils.fast_batchnorm", "utils.fast_threads", "utils.fast_kernels",
                "utils._numpy_kernels", "utils._kernels", "utils.im2col", "utils.im2col_cython",
                "nndl.fast_layers",
                # the release's step-through helper computes through the fast layers
                "utils.stepper")
#: packages a submission cannot import at all
BLOCKED_PACKAGES = ("cnnkit", "torch")
TRIPWIRE = {"active": False, "hits": []}


class _ForbiddenImports:
    """Import hook: the kit itself and torch are not available to submissions."""

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in BLOCKED_PACKAGES:
            if TRIPWIRE["active"]:
                TRIPWIRE["hits"].append(f"import {name}")
            raise ImportError(f"{name} is not available to submissions")
        return None


def _wrap(module_name, fn_name, fn):
    def recorder(*args, **kwargs):
        if TRIPWIRE["active"]:
            TRIPWIRE["hits"].append(f"{module_name}.{fn_name}")
        return fn(*args, **kwargs)
    recorder.__name__ = fn_name
    recorder.__doc__ = fn.__doc__
    return recorder


def arm_tripwire():
    """Replace the public functions of the fast-layer modules by recorders."""
    for name in FAST_MODULES:
        path = os.path.join(HERE, *name.split("."))
        # source or compiled (the grader lends its compiled kernels as utils/_kernels)
        if not any(os.path.exists(path + suffix) for suffix in importlib.machinery.all_suffixes()):
            continue
        try:
            module = importlib.import_module(name)
        except Exception:  # a broken helper module is the student's business
            continue
        for attr, value in list(vars(module).items()):
            if callable(value) and not attr.startswith("_") and not isinstance(value, type):
                setattr(module, attr, _wrap(name, attr, value))


def student_error(err):
    """'Type: message (file.py, line N)' pointing at the student's own code."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if f.filename.startswith(HERE) and not f.filename.endswith("harness.py")]
    where = ""
    if frames:
        f = frames[-1]
        where = f" ({os.path.relpath(f.filename, HERE)}, line {f.lineno}, in {f.name})"
    text = f"{type(err).__name__}: {err}"
    return (text[:500] + "...") if len(text) > 500 else text + where


def as_plain_array(value, what):
    """A numeric ndarray, or TypeError naming ``what``."""
    if isinstance(value, (int, float, np.number)):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(value).__name__}")
    if value.dtype.kind not in "fiub":
        raise TypeError(f"{what} must hold numbers, got dtype {value.dtype}")
    return np.array(value, dtype=value.dtype.newbyteorder("="), copy=True)


def resolve(spec, arrays):
    """Copy of ``spec`` with every "@name" replaced by a copy of ``arrays[name]``."""
    if isinstance(spec, str) and spec.startswith("@"):
        return arrays[spec[1:]].copy()
    if isinstance(spec, dict):
        return {k: resolve(v, arrays) for k, v in spec.items()}
    if isinstance(spec, list):
        return [resolve(v, arrays) for v in spec]
    return copy.deepcopy(spec)


def unpack(result, n, what):
    if n == 1:
        return [result]
    if not isinstance(result, (tuple, list)) or len(result) != n:
        raise TypeError(f"{what} must return {n} values, got {type(result).__name__}")
    return list(result)


def run_layer(call, arrays):
    module = importlib.import_module(call["module"])
    forward = getattr(module, call["forward"])
    out = {}
    args = resolve(call["args"], arrays)
    TRIPWIRE["active"] = bool(call.get("tripwire")) and not call.get("backward")
    try:
        result = unpack(forward(*args), 2, call["forward"])
        out["out"] = as_plain_array(result[0], f"{call['forward']}'s out")
        cache = result[1]
    except Exception as err:  # a backward with a documented cache is tested anyway
        if call.get("canonical_cache") is None:
            raise
        out, cache, forward_error = {}, None, err
    else:
        forward_error = None
    finally:
        TRIPWIRE["active"] = False
    if call.get("report_arg") is not None:
        for key, value in args[call["report_arg"]].items():
            if key in ("running_mean", "running_var"):
                out[f"after_{key}"] = as_plain_array(value, f"bn_param[{key!r}]")
    if not call.get("backward"):
        return out
    backward = getattr(module, call["backward"])
    own_error = forward_error
    try:
        if forward_error is not None:
            raise forward_error
        TRIPWIRE["active"] = bool(call.get("tripwire"))
        grads = unpack(backward(arrays["dout"].copy(), cache), len(call["grads"]),
                       call["backward"])
        for name, g in zip(call["grads"], grads):
            out[name] = as_plain_array(g, f"{call['backward']}'s {name}")
    except Exception as err:
        own_error = err
    finally:
        TRIPWIRE["active"] = False
    if call.get("canonical_cache") is not None:  # the backward on the documented cache
        try:
            TRIPWIRE["active"] = bool(call.get("tripwire"))
            cache = tuple(resolve(call["canonical_cache"], arrays))
            grads = unpack(backward(arrays["dout"].copy(), cache), len(call["grads"]), "")
            for name, g in zip(call["grads"], grads):
                out[f"canonical_{name}"] = as_plain_array(g, name)
        except Exception:
            if own_error is not None:
                raise own_error
        finally:
            TRIPWIRE["active"] = False
    elif own_error is not None:
        raise own_error
    if not call.get("forward_group"):
        return out
    # the student's own forward on perturbed inputs, for the directional derivative check
    names = [a[1:] if isinstance(a, str) else None for a in call["args"]]
    for name in call["wrt"]:
        position = names.index(name)
        k = 0
        while f"dir_{name}_{k}" in arrays:
            for sign, tag in ((1, "plus"), (-1, "minus")):
                moved = resolve(call["args"], arrays)
                moved[position] = arrays[name] + sign * call["h"] * arrays[f"dir_{name}_{k}"]
                f = unpack(forward(*moved), 2, call["forward"])[0]
                out[f"f{tag}_{name}_{k}"] = as_plain_array(f, f"{call['forward']}'s out")
            k += 1
    return out


def build_model(call):
    module = importlib.import_module(call["module"])
    cls = getattr(module, call["class"])
    kwargs = dict(call["kwargs"])
    kwargs["input_dim"] = tuple(kwargs["input_dim"])
    return cls(dtype=np.dtype(call["dtype"]).type, **kwargs)


def run_model(call, arrays):
    model = build_model(call)
    if call["kind"] == "model_init":
        params = getattr(model, "params", None)
        if not isinstance(params, dict):
            raise TypeError(f"model.params must be a dict, got {type(params).__name__}")
        return {f"param_{k}": as_plain_array(v, f"params[{k!r}]") for k, v in params.items()
                if isinstance(k, str)}
    for key, value in arrays.items():
        if key.startswith("param_"):
            model.params[key[len("param_"):]] = value.copy()
    if call["kind"] == "model_scores":
        return {"scores": as_plain_array(model.loss(arrays["X"].copy()), "scores")}
    loss, grads = unpack(model.loss(arrays["X"].copy(), arrays["y"].copy()), 2, "loss(X, y)")
    out = {"loss": as_plain_array(np.asarray(loss, dtype=float), "loss")}
    if not isinstance(grads, dict):
        raise TypeError(f"loss(X, y) must return (loss, grads) with grads a dict, "
                        f"got {type(grads).__name__}")
    for k, v in grads.items():
        out[f"grad_{k}"] = as_plain_array(v, f"grads[{k!r}]")
    return out


def run_predict(call, arrays):
    base = os.path.join(HERE, call["checkpoint"])
    with np.load(base + ".npz", allow_pickle=False) as data:
        params = {k: data[k] for k in data.files}
    with open(base + ".json", encoding="utf-8") as f:
        spec = json.load(f)
    if not isinstance(spec, dict) or not {"module", "class"} <= set(spec):
        raise ValueError(f"{call['checkpoint']}.json must hold {{'module', 'class', 'kwargs'}}")
    cls = getattr(importlib.import_module(spec["module"]), spec["class"])
    model = cls(**spec.get("kwargs", {}))
    for key in list(model.params):
        if key not in params:
            raise ValueError(f"{call['checkpoint']}.npz has no array {key!r}")
        model.params[key] = params[key].astype(model.params[key].dtype)
    bn = getattr(model, "bn_params", None) or []
    for key, bn_param in (bn.items() if isinstance(bn, dict) else enumerate(bn)):
        for stat in ("running_mean", "running_var"):
            if f"bn{key}.{stat}" in params:
                bn_param[stat] = params[f"bn{key}.{stat}"].copy()
    images = np.load(os.path.join(HERE, call["images"]), allow_pickle=False)
    labels = []
    for start in range(0, images.shape[0], call["batch"]):
        scores = as_plain_array(model.loss(images[start:start + call["batch"]]), "scores")
        labels.append(np.argmax(scores, axis=1))
    return {"labels": np.concatenate(labels).astype(np.int64)}


RUNNERS = {"layer": run_layer, "model_init": run_model, "model_scores": run_model,
           "model_loss": run_model, "predict": run_predict}


def write_json(path, data):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


class GroupTimeout(BaseException):
    """Raised by the group timer; a BaseException so ``except Exception`` does not stop it."""


def _alarm(signum, frame):
    raise GroupTimeout()


def run_case(case, outdir):
    """Run one case; write its outputs and report. Returns the report's status."""
    stem = os.path.join(outdir, case["name"])
    with open(stem + ".started", "w") as f:
        f.write("started")
    with np.load(os.path.join(HERE, "inputs", case["name"] + ".npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    call = case["call"]
    TRIPWIRE["hits"] = []
    start = time.perf_counter()
    report = {"status": "ok", "error": ""}
    try:
        outputs = RUNNERS[call["kind"]](call, arrays)
        np.savez(stem + ".npz", **outputs)
    except GroupTimeout:
        report = {"status": "timeout", "error": "timed out (an infinite loop, or far too slow?)"}
    except SystemExit as err:
        report = {"status": "error", "error": f"your code called sys.exit({err.code!r})"}
    except MemoryError:
        report = {"status": "oom", "error": "ran out of memory (MemoryError): does your code "
                                            "keep arrays it no longer needs, or build huge ones?"}
    except Exception as err:  # every student error is reported, never fatal
        report = {"status": "error", "error": student_error(err)}
    TRIPWIRE["active"] = False
    report["tripwire"] = sorted(set(TRIPWIRE["hits"]))
    report["seconds"] = time.perf_counter() - start
    write_json(stem + ".json", report)
    return report["status"]


def main():
    # the release's fast layers warn when their compiled kernels are missing: not the student's concern
    warnings.filterwarnings("ignore", message=".*compiled kernels.*")
    sys.path.insert(0, HERE)
    sys.meta_path.insert(0, _ForbiddenImports())
    with open(os.path.join(HERE, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    outdir = os.path.join(HERE, "outputs")
    os.makedirs(outdir, exist_ok=True)
    for case in job["cases"]:  # the grader's own inputs: missing ones are not the student's fault
        if case["call"]["kind"] not in RUNNERS or not os.path.isfile(
                os.path.join(HERE, "inputs", case["name"] + ".npz")):
            raise RuntimeError(f"harness: case {case['name']} has no runner or no inputs")
    os.write(1, (READY + "\n").encode())
    if any(c["call"].get("tripwire") for c in job["cases"]):
        arm_tripwire()
    signal.signal(signal.SIGALRM, _alarm)
    group, timed_out = None, None
    for case in job["cases"]:
        if case["group"] != group:  # each group gets its own time budget
            group = case["group"]
            signal.setitimer(signal.ITIMER_REAL, job["group_seconds"])
        if case["group"] == timed_out:
            write_json(os.path.join(outdir, case["name"] + ".json"), {
                "status": "timeout", "tripwire": [],
                "error": "not run: an earlier case used up the group's time limit"})
            continue
        try:
            if run_case(case, outdir) == "timeout":
                timed_out = group
        except GroupTimeout:  # the timer went off between two cases
            timed_out = group
    signal.setitimer(signal.ITIMER_REAL, 0)


if __name__ == "__main__":
    main()
