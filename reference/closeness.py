"""One rule for "is this array the expected one, and if not, where not".

Every place that compares a student's result with the reference uses it: the
grader's compare step, the widgets' "check my code" and the release's visible
checks (``utils/feedback.py``, which imports the copy of this module that the
release derives as ``utils/closeness.py``). Each of them words its own message;
what counts as a difference is decided here only.

Two differences of form are harmless (correct code must not lose points for
them): leading axes of length 1, i.e. shapes that broadcast to the same values
(a running mean of shape ``(1, C)`` where ``(C,)`` is documented; ``(C, 1)`` or
``(1, C, 1, 1)`` broadcast differently and stay a wrong shape), and an integer
versus a floating-point dtype of equal values. :func:`difference` compares
values in the documented form; :func:`form_note` names such a difference so a
caller can mention it.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Difference:
    """Why ``actual`` is not ``expected``.

    kind : ``"shape"`` (the shapes differ), ``"not-finite"`` (``actual`` holds a
        NaN or an infinity) or ``"values"`` (some entries are out of tolerance).
    index : the first offending entry in row-major order (``None`` for ``"shape"``).
    wrong : bool mask of the offending entries, shaped like ``expected``
        (``None`` for ``"shape"``).
    actual, expected : both as float64 arrays (``actual`` as given for ``"shape"``).
    """
    kind: str
    index: tuple = None
    wrong: np.ndarray = None
    actual: np.ndarray = None
    expected: np.ndarray = None

    @property
    def count(self):
        """How many entries differ (0 for ``"shape"``)."""
        return 0 if self.wrong is None else int(self.wrong.sum())


def _core(shape):
    """``shape`` without its leading axes of length 1."""
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def same_when_broadcast(actual_shape, expected_shape):
    """True when the two shapes differ only by leading axes of length 1."""
    return _core(actual_shape) == _core(expected_shape)


def in_documented_form(actual, expected):
    """``actual`` reshaped to ``expected``'s shape when they differ only harmlessly."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape and same_when_broadcast(actual.shape, expected.shape):
        return actual.reshape(expected.shape)
    return actual


def form_note(name, actual, expected):
    """What is harmlessly different about ``actual`` (called ``name``), or ''.

    For example ``"running_mean has shape (1, 3) where (3,) is documented"``.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    notes = []
    if actual.shape != expected.shape and same_when_broadcast(actual.shape, expected.shape):
        notes.append(f"{name} has shape {actual.shape} where {expected.shape} is documented")
    kinds = {actual.dtype.kind, expected.dtype.kind}
    if len(kinds) == 2 and kinds <= set("iuf"):
        documented = "integers" if expected.dtype.kind in "iu" else "floats"
        notes.append(f"{name} has dtype {actual.dtype} where {documented} are documented")
    return " and ".join(notes)


def difference(actual, expected, rtol, atol):
    """``None`` when ``actual`` equals ``expected`` within tolerance, else a :class:`Difference`.

    An entry matches when it is finite and ``|actual - expected| <= atol + rtol * |expected|``
    (the rule of :func:`numpy.isclose`), computed in float64. Values that differ from
    ``expected`` only by a harmless form (see the module's docstring) are compared in
    ``expected``'s shape.
    """
    actual = in_documented_form(actual, expected)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return Difference("shape", actual=actual, expected=expected)
    a = actual.astype(np.float64)
    finite = np.isfinite(a)
    with np.errstate(invalid="ignore"):
        wrong = ~finite | (np.abs(a - expected) > atol + rtol * np.abs(expected))
    if not wrong.any():
        return None
    kind = "values" if finite.all() else "not-finite"
    index = tuple(int(i) for i in np.argwhere(wrong if finite.all() else ~finite)[0])
    return Difference(kind, index, wrong, a, expected)
