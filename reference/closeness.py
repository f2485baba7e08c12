"""One rule for "is this array the expected one, and if not, where not".

Every place that compares a student's result with the reference uses it: the
grader's compare step, the widgets' "check my code" and the release's visible
checks (``utils/feedback.py``, which imports the copy of this module that the
release derives as ``utils/closeness.py``). Each of them words its own message;
what counts as a difference is decided here only.
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


def difference(actual, expected, rtol, atol):
    """``None`` when ``actual`` equals ``expected`` within tolerance, else a :class:`Difference`.

    An entry matches when it is finite and ``|actual - expected| <= atol + rtol * |expected|``
    (the rule of :func:`numpy.isclose`), computed in float64.
    """
    actual = np.asarray(actual)
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
