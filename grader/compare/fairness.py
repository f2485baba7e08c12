"""Harmless differences: a result that differs from the documented one only in form.

Correct code must not lose points for the form of an array when its values
are the ones asked for. Two differences are harmless:

- **leading singleton axes**, i.e. shapes that broadcast to the same values:
  a running mean of shape ``(1, C)`` where ``(C,)`` is documented (numpy
  treats the two alike wherever either is used). Axes of length 1 elsewhere,
  such as ``(C, 1)`` or ``(1, C, 1, 1)`` against ``(C,)``, broadcast
  differently and stay a wrong shape;
- **integer versus floating point** dtype, e.g. ``db`` returned as integers
  whose values are the expected ones.

:func:`align` is the one place this rule lives: it returns the result in the
documented form plus a note for the student's feedback; the values are then
compared as usual, so a wrong value in a harmless form still fails.
"""
import numpy as np


def _core(shape):
    """``shape`` without its leading axes of length 1."""
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def same_when_broadcast(got_shape, want_shape):
    """True when the two shapes differ only by leading axes of length 1."""
    return _core(got_shape) == _core(want_shape)


def align(name, got, want):
    """``(got in want's shape, note)``, or ``(got, "")`` when nothing harmless differs.

    ``got`` and ``want`` are arrays; a shape difference that is not harmless
    is left for the caller to report.
    """
    got = np.asarray(got)
    notes = []
    if got.shape != want.shape and same_when_broadcast(got.shape, want.shape):
        notes.append(f"{name} has shape {got.shape} where {want.shape} is documented")
        got = got.reshape(want.shape)
    kinds = {got.dtype.kind, np.asarray(want).dtype.kind}
    if len(kinds) == 2 and kinds <= set("iuf"):
        notes.append(f"{name} has dtype {got.dtype} where "
                     f"{'integers' if np.asarray(want).dtype.kind in 'iu' else 'floats'} "
                     "are documented")
    if not notes:
        return got, ""
    return got, (" and ".join(notes) + "; the values are right, so it earns the points "
                 "(return the documented form to be safe)")
