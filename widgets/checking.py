"""Check my code: run a student's layer on the displayed example.

The student's function runs in this process on copies of the example, so it
cannot change what the widget shows. Its output is compared with the
reference cell by cell; the result is plain data that the widgets present.
"""
from dataclasses import dataclass

import numpy as np

from cnnkit.reference.closeness import difference


@dataclass(frozen=True)
class CheckResult:
    """Outcome of running a student's forward function on one example.

    status : ``"correct"``, ``"wrong"`` (some cells differ), ``"bad-output"``
        (not an array of the right shape) or ``"error"`` (it raised).
    message : one sentence a student can act on.
    expected : (K, H', W') reference output (K filters or channels).
    got : (K, H', W') student output, or ``None`` when there is none.
    wrong : (K, H', W') bool mask of differing cells, or ``None``.
    first_wrong : ``(k, i, j)`` of the first wrong cell in row-major order,
        or ``None``.
    step : the widget step that produces ``first_wrong``, or ``None``.
    """

    status: str
    message: str
    expected: np.ndarray
    got: np.ndarray = None
    wrong: np.ndarray = None
    first_wrong: tuple = None
    step: int = None

    @property
    def passed(self):
        return self.status == "correct"


def _form_problem(name, key, value, shape):
    """Why ``value`` (returned as ``key`` by ``name``) is not an array of ``shape``, or ''."""
    if not isinstance(value, np.ndarray):
        return f"{name} must return a numpy array as {key}, got {type(value).__name__}"
    if value.shape != shape:
        return f"{name} returned {key} of shape {value.shape}, expected {shape}"
    return ""


def run_student(student_fn, args, expected, name, rtol=1e-5, atol=1e-8):
    """Call ``student_fn(*args)`` and compare its output with ``expected``.

    Parameters
    ----------
    student_fn : callable returning ``out`` or ``(out, cache)`` with ``out`` of
        shape ``(1, K, H', W')``.
    args : arguments for ``student_fn``; arrays are copied first.
    expected : (K, H', W') reference output for the single image.
    name : the function's name for messages, e.g. ``"conv_forward_naive"``.
    rtol, atol : tolerances of :func:`cnnkit.reference.closeness.difference`.

    Returns
    -------
    CheckResult
    """
    if not callable(student_fn):
        raise TypeError(f"student must be a function, got {type(student_fn).__name__}")
    copies = [a.copy() if isinstance(a, (np.ndarray, dict)) else a for a in args]
    try:
        result = student_fn(*copies)
    except Exception as err:  # the student's bug is the thing to show
        return CheckResult("error", f"{name} raised {type(err).__name__}: {err}", expected)
    out = result[0] if isinstance(result, tuple) else result
    problem = _form_problem(name, "out", out, (1,) + expected.shape)
    if problem:
        return CheckResult("bad-output", problem, expected)
    got = out[0].astype(np.float64)
    diff = difference(got, expected, rtol=rtol, atol=atol)
    if diff is None:
        return CheckResult("correct", f"{name} matches the reference on every "
                           f"one of the {expected.size} output cells", expected, got,
                           np.zeros(expected.shape, dtype=bool))
    wrong = diff.wrong
    k, i, j = (int(v) for v in np.argwhere(wrong)[0])
    step = (k * expected.shape[1] + i) * expected.shape[2] + j
    return CheckResult(
        "wrong", f"{name} differs from the reference in {int(wrong.sum())} of "
        f"{expected.size} output cells; the first is out[0, {k}, {i}, {j}]: "
        f"expected {expected[k, i, j]:.4g}, got {got[k, i, j]:.4g}",
        expected, got, wrong, (k, i, j), step)


@dataclass(frozen=True)
class GradientCheck:
    """Outcome of running a student's backward function on one example.

    status, message : as for :class:`CheckResult`.
    expected : ``{name: array}`` of the reference gradients (``dx`` without
        its batch axis, ``(C, H, W)``; ``dw``; ``db``).
    got : ``{name: array}`` of the student's gradients in the same shapes, or
        ``None`` when there are none.
    wrong : ``{name: bool mask}`` of differing entries, or ``None``.
    first_wrong : ``(name, index)`` of the first wrong entry, gradients in the
        order of ``expected`` and entries in row-major order, or ``None``.
    step : the widget step whose window holds ``first_wrong``, or ``None``.
    """

    status: str
    message: str
    expected: dict
    got: dict = None
    wrong: dict = None
    first_wrong: tuple = None
    step: int = None

    @property
    def passed(self):
        return self.status == "correct"


def run_student_backward(student_fn, args, expected, name, step_of, rtol=1e-5, atol=1e-8):
    """Call the backward ``student_fn(*args)`` and compare each gradient with ``expected``.

    Parameters
    ----------
    student_fn : callable returning the gradients in the order of ``expected``
        (one array, or a tuple of them), ``dx`` with a batch axis of length 1.
    args : ``(dout, cache)``; arrays (also inside a tuple cache) are copied first.
    expected : ``{name: array}`` of reference gradients, ``dx`` first, without
        its batch axis.
    name : the function's name for messages, e.g. ``"max_pool_backward_naive"``.
    step_of : ``step_of(grad_name, index)`` -> the step that explains that entry.
    """
    if not callable(student_fn):
        raise TypeError(f"student must be a function, got {type(student_fn).__name__}")

    def copy(a):
        if isinstance(a, tuple):
            return tuple(copy(v) for v in a)
        return a.copy() if isinstance(a, (np.ndarray, dict)) else a
    try:
        result = student_fn(*copy(tuple(args)))
    except Exception as err:  # the student's bug is the thing to show
        return GradientCheck("error", f"{name} raised {type(err).__name__}: {err}", expected)
    names = list(expected)
    values = list(result) if isinstance(result, (tuple, list)) else [result]
    if len(values) != len(names):
        return GradientCheck("bad-output", f"{name} must return {', '.join(names)} "
                             f"({len(names)} values), got {len(values)}", expected)
    got, wrong = {}, {}
    for key, value in zip(names, values):
        want = expected[key].shape if key != "dx" else (1,) + expected[key].shape
        problem = _form_problem(name, key, value, want)
        if problem:
            return GradientCheck("bad-output", problem, expected)
        got[key] = (value[0] if key == "dx" else value).astype(np.float64)
        diff = difference(got[key], expected[key], rtol=rtol, atol=atol)
        wrong[key] = np.zeros(expected[key].shape, bool) if diff is None else diff.wrong
    bad = [key for key in names if wrong[key].any()]
    if not bad:
        size = sum(expected[k].size for k in names)
        return GradientCheck("correct", f"{name} matches the reference on all {size} "
                             f"entries of {', '.join(names)}", expected, got, wrong)
    key = bad[0]
    index = tuple(int(v) for v in np.argwhere(wrong[key])[0])
    shown = (0,) + index if key == "dx" else index
    where = f"{key}[{', '.join(map(str, shown))}]"
    count = ", ".join(f"{int(wrong[k].sum())} of {wrong[k].size} in {k}" for k in bad)
    return GradientCheck(
        "wrong", f"{name} differs from the reference ({count}); the first is {where}: "
        f"expected {expected[key][index]:.4g}, got {got[key][index]:.4g}",
        expected, got, wrong, (key, index), step_of(key, index))


def forward_failed(err):
    """A stand-in backward that reports ``err``, raised by the forward making its cache."""
    def backward(*args):
        raise RuntimeError(f"the forward that makes its cache failed first: "
                           f"{type(err).__name__}: {err}")
    return backward
