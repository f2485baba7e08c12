"""Specific feedback for the notebooks' visible checks.

Instead of a single relative error to eyeball, each check says where your
result differs from the expected one, for example::

    conv_forward_naive: out differs from the expected value at out[0, 1, 2, 0]
    (stride 2, pad 1): expected 0.1234, got 0.2345

Expected values live in ``utils/expected/<case>.npz`` (plain arrays, no
pickle); they were computed by the course's reference implementation when the
assignment was generated. What counts as a difference is decided by
``utils/closeness.py``, generated from the same reference.
A failed check of a convolution or max pooling also says how to step
through your function (:mod:`utils.stepper`).
"""
from pathlib import Path

import numpy as np

from .closeness import difference
from .stepper import step_hint

EXPECTED_DIR = Path(__file__).resolve().parent / "expected"


class CheckFailed(AssertionError):
    """A visible check found a difference; the message says where."""


def _failed(what, message):
    """CheckFailed with ``message`` and, for a function the stepper shows, how to step through it."""
    hint = step_hint(what)
    return CheckFailed(f"{message}\n{hint}" if hint else message)


def load_case(name):
    """Inputs and expected outputs of the visible check ``name``.

    Returns a dict of numpy arrays (fresh copies, so changing them in place
    cannot spoil a later check).
    """
    path = EXPECTED_DIR / f"{name}.npz"
    if not path.is_file():
        known = sorted(p.stem for p in EXPECTED_DIR.glob("*.npz"))
        raise FileNotFoundError(
            f"no expected values for check {name!r}: {path} is missing "
            f"(known checks: {', '.join(known) or 'none'}). Your copy of the "
            "assignment is incomplete; download it again.")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key].copy() for key in data.files}


def _where(name, index):
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def _context(context):
    return f" ({context})" if context else ""


def check_close(what, name, actual, expected, context="", rtol=1e-6, atol=1e-8):
    """Require ``actual`` to equal ``expected`` up to rounding; say where it does not.

    Parameters
    ----------
    what : the function being checked, e.g. ``"conv_forward_naive"``.
    name : the name of the checked value, e.g. ``"out"`` or ``"dx"``.
    actual : the array your code returned (any shape).
    expected : the expected array, of the same shape.
    context : how the value was produced, e.g. ``"stride 2, pad 1"``.
    rtol, atol : an entry matches when ``|actual - expected| <= atol + rtol * |expected|``.

    Returns
    -------
    float : the largest relative error ``|a - e| / max(1e-8, |a| + |e|)``.

    Raises
    ------
    CheckFailed : naming the first differing entry in row-major order, or the
        wrong type, shape or non-finite value.
    """
    where = _context(context)
    expected = np.asarray(expected)
    if actual is None:
        raise _failed(what, f"{what}: {name} is None{where}; did you forget to assign or "
                          "return it?")
    if not isinstance(actual, (np.ndarray, np.generic, float, int)):
        raise _failed(what, f"{what}: {name} should be a numpy array, got "
                          f"{type(actual).__name__}{where}")
    actual = np.asarray(actual)
    diff = difference(actual, expected, rtol=rtol, atol=atol)
    if diff is not None and diff.kind == "shape":
        raise _failed(what, f"{what}: {name} has shape {actual.shape} but the expected shape "
                          f"is {expected.shape}{where}")
    if diff is not None and diff.kind == "not-finite":
        raise _failed(what, f"{what}: {name} holds a non-finite value at "
                          f"{_where(name, diff.index)}{where}: got {actual[diff.index]}")
    if diff is not None:
        index = diff.index
        raise _failed(
            what, f"{what}: {name} differs from the expected value at {_where(name, index)}"
            f"{where}: expected {diff.expected[index]:.6g}, got {diff.actual[index]:.6g} "
            f"({diff.count} of {diff.wrong.size} entries differ)")
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    error = np.abs(a - e) / np.maximum(1e-8, np.abs(a) + np.abs(e))
    return float(error.max()) if error.size else 0.0


def check_gradient(what, name, analytic, numeric, context="", rtol=1e-5, atol=1e-7):
    """Compare a backward pass's gradient with a numerical gradient.

    Same as :func:`check_close` with tolerances suited to centred differences
    in float64, and a message that names the gradient. Returns the largest
    relative error.
    """
    return check_close(what, name, analytic, numeric,
                       context=f"{context}, compared with the numerical gradient".lstrip(", "),
                       rtol=rtol, atol=atol)


def report(what, errors):
    """Print one line saying that every value of ``what`` matched.

    errors : dict of value name -> largest relative error.
    """
    worst = ", ".join(f"{name} {error:.1e}" for name, error in errors.items())
    print(f"{what}: correct (largest relative errors: {worst})")
