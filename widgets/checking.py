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
    want = (1,) + expected.shape
    if not isinstance(out, np.ndarray):
        return CheckResult("bad-output", f"{name} must return a numpy array as out, "
                           f"got {type(out).__name__}", expected)
    if out.shape != want:
        return CheckResult("bad-output", f"{name} returned out of shape {out.shape}, "
                           f"expected {want}", expected)
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
