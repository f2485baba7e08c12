"""Frame records for the step-through widgets: pure numpy, no ipywidgets.

A *frame* is one step of a sliding-window layer: which output cell is being
produced (or which upstream gradient cell is being spread back), which input
window it reads, and the numbers involved. Every value a frame reports comes
from :mod:`cnnkit.reference`; the widgets only present the frames.

Steps are ordered like the output array: filter (or channel) first, then
output row, then output column. The widgets show one image, so inputs here
have no batch axis: ``x`` is ``(C, H, W)``.
"""
from dataclasses import dataclass

import numpy as np

from cnnkit.reference import (conv_backward_naive, conv_forward_naive,
                              max_pool_backward_naive, max_pool_forward_naive)
from cnnkit.reference.checks import check_array


@dataclass(frozen=True)
class ConvFrame:
    """One output cell of a convolution, ``out[f, i, j]``.

    ``rows`` and ``cols`` are ``(start, stop)`` in *padded* input coordinates.
    ``terms`` holds the ``(x, w)`` pairs of the sum of products in ``(c, u, v)``
    order; ``value`` is the reference output. In backward mode ``grad`` is
    ``dout[f, i, j]``, ``dx`` is the padded ``(C, H + 2*pad, W + 2*pad)``
    gradient and ``dw`` the ``(F, C, HH, WW)`` gradient accumulated up to and
    including this step (``None`` in forward mode).
    """

    step: int
    f: int
    i: int
    j: int
    rows: tuple
    cols: tuple
    terms: tuple
    bias: float
    value: float
    grad: float = None
    dx: np.ndarray = None
    dw: np.ndarray = None

    def equation(self, digits=2):
        """The sum of products written out, e.g. ``0.12*1.00 + ... + b = 0.57``."""
        parts = [f"{_num(x, digits)}*{_num(w, digits)}" for x, w in self.terms]
        bias = fmt(self.bias, digits)
        return f"{' + '.join(parts)} + b = {fmt(self.value, digits)}  (b = {bias})"


@dataclass(frozen=True)
class PoolFrame:
    """One output cell of max pooling, ``out[c, i, j]``.

    ``rows``/``cols`` are ``(start, stop)`` in input coordinates; ``window``
    holds the window's values in row-major order; ``argmax`` is
    the ``(row, col)`` of the first maximum in row-major order, the cell the
    reference sends the gradient to; ``ties`` lists every ``(row, col)`` that
    equals the maximum (length > 1 means a tie). In backward mode ``grad`` is
    ``dout[c, i, j]`` and ``dx`` the ``(C, H, W)`` gradient accumulated up to
    and including this step.
    """

    step: int
    c: int
    i: int
    j: int
    rows: tuple
    cols: tuple
    window: tuple
    argmax: tuple
    ties: tuple
    value: float
    grad: float = None
    dx: np.ndarray = None

    def equation(self, digits=2):
        """The max written out, e.g. ``max(0.10, 0.80, 0.30, 0.20) = 0.80``."""
        return f"max({', '.join(_num(v, digits) for v in self.window)}) = {fmt(self.value, digits)}"


@dataclass(frozen=True)
class ConvFrames:
    """All frames of one convolution and the arrays they refer to.

    x : (C, H, W) input; xp : (C, H + 2*pad, W + 2*pad) padded input;
    w : (F, C, HH, WW); b : (F,); out : (F, H', W') reference output;
    dout : (F, H', W') upstream gradient or ``None``; frames : list of
    :class:`ConvFrame`, ``F * H' * W'`` of them.
    """

    x: np.ndarray
    xp: np.ndarray
    w: np.ndarray
    b: np.ndarray
    stride: int
    pad: int
    out: np.ndarray
    dout: np.ndarray
    frames: list

    def step_for(self, grad, index):
        """The first step that adds to ``grad[index]`` (``grad``: dx, dw or db).

        ``dx`` indices are unpadded ``(c, r, s)``; ``dw`` and ``db`` indices
        start with the filter, whose first step is returned.
        """
        if grad == "dx":
            _, r, s = index
            r, s = r + self.pad, s + self.pad
            return next((fr.step for fr in self.frames
                         if fr.rows[0] <= r < fr.rows[1] and fr.cols[0] <= s < fr.cols[1]), 0)
        return next(fr.step for fr in self.frames if fr.f == index[0])


@dataclass(frozen=True)
class PoolFrames:
    """All frames of one max pooling and the arrays they refer to.

    x : (C, H, W); out : (C, H', W'); dout : (C, H', W') or ``None``;
    frames : list of :class:`PoolFrame`, ``C * H' * W'`` of them.
    """

    x: np.ndarray
    pool_height: int
    pool_width: int
    stride: int
    out: np.ndarray
    dout: np.ndarray
    frames: list

    def step_for(self, grad, index):
        """The first step that should send gradient to ``dx[index]`` (``(c, r, s)``).

        That is the first window whose arg-max the cell is; a cell that is no
        window's arg-max gets the first window containing it (or step 0 when
        it lies in a gap between windows).
        """
        c, r, s = index
        in_channel = [fr for fr in self.frames if fr.c == c]
        for fr in in_channel:
            if fr.argmax == (r, s):
                return fr.step
        return next((fr.step for fr in in_channel
                     if fr.rows[0] <= r < fr.rows[1] and fr.cols[0] <= s < fr.cols[1]), 0)


def fmt(v, digits=2):
    """``v`` with ``digits`` decimals, never printing ``-0.00``."""
    text = f"{v:.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def _num(v, digits):
    text = fmt(v, digits)
    return f"({text})" if text.startswith("-") else text


def _check_image(x, name="x"):
    check_array(x, name, ndim=3)
    return x


def _check_dout(dout, shape):
    if dout is None:
        return None
    check_array(dout, "dout", ndim=3)
    if dout.shape != shape:
        raise ValueError(f"dout must have the output's shape {shape}, got {dout.shape}")
    return dout


def conv_frames(x, w, b, conv_param, dout=None):
    """Frames of a convolution, forward or (with ``dout``) backward.

    Parameters
    ----------
    x : (C, H, W) one input image.
    w : (F, C, HH, WW) filters.
    b : (F,) biases.
    conv_param : dict with ``stride`` and ``pad``, as for
        :func:`cnnkit.reference.conv_forward_naive`.
    dout : (F, H', W') upstream gradient, or ``None`` for forward frames.

    Returns
    -------
    ConvFrames
        ``F * H' * W'`` frames with ``H' = (H + 2*pad - HH) // stride + 1`` and
        ``W' = (W + 2*pad - WW) // stride + 1``. Raises the reference's
        ValueError when that size is not an integer.
    """
    _check_image(x)
    out4, cache = conv_forward_naive(x[None], w, b, conv_param)
    out = out4[0]
    dout = _check_dout(dout, out.shape)
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    F, C, HH, WW = w.shape
    dx_acc = np.zeros_like(xp)
    dw_acc = np.zeros_like(w)
    frames = []
    for f in range(F):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                rows, cols = (i * stride, i * stride + HH), (j * stride, j * stride + WW)
                window = xp[:, rows[0]:rows[1], cols[0]:cols[1]]
                terms = tuple(zip(window.ravel().tolist(), w[f].ravel().tolist()))
                extra = {}
                if dout is not None:
                    g = dout[f, i, j]
                    dx_acc[:, rows[0]:rows[1], cols[0]:cols[1]] += g * w[f]
                    dw_acc[f] += g * window
                    extra = dict(grad=float(g), dx=dx_acc.copy(), dw=dw_acc.copy())
                frames.append(ConvFrame(len(frames), f, i, j, rows, cols, terms,
                                        float(b[f]), float(out[f, i, j]), **extra))
    if dout is not None:
        _agree_with_reference_backward(frames[-1], dout, cache, pad)
    return ConvFrames(x, xp, w, b, stride, pad, out, dout, frames)


def _agree_with_reference_backward(last, dout, cache, pad):
    """Guard: the accumulated gradients must equal the reference's."""
    dx, dw, _ = conv_backward_naive(dout[None], cache)
    H, W = dx.shape[2:]
    if not (np.allclose(last.dx[:, pad:pad + H, pad:pad + W], dx[0])
            and np.allclose(last.dw, dw)):
        raise RuntimeError("conv frames disagree with cnnkit.reference.conv_backward_naive")


def pool_frames(x, pool_param, dout=None):
    """Frames of a max pooling, forward or (with ``dout``) backward.

    Parameters
    ----------
    x : (C, H, W) one input image.
    pool_param : dict with ``pool_height``, ``pool_width`` and ``stride``.
    dout : (C, H', W') upstream gradient, or ``None`` for forward frames.

    Returns
    -------
    PoolFrames
        ``C * H' * W'`` frames with ``H' = (H - pool_height) // stride + 1``
        and ``W' = (W - pool_width) // stride + 1``.
    """
    _check_image(x)
    out4, cache = max_pool_forward_naive(x[None], pool_param)
    out = out4[0]
    dout = _check_dout(dout, out.shape)
    HP, WP, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx_acc = np.zeros_like(x)
    frames = []
    for c in range(out.shape[0]):
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                rows, cols = (i * stride, i * stride + HP), (j * stride, j * stride + WP)
                window = x[c, rows[0]:rows[1], cols[0]:cols[1]]
                r, s = divmod(int(window.argmax()), WP)
                argmax = (rows[0] + r, cols[0] + s)
                ties = tuple((rows[0] + int(a), cols[0] + int(b))
                             for a, b in zip(*np.nonzero(window == window.max())))
                extra = {}
                if dout is not None:
                    dx_acc[c][argmax] += dout[c, i, j]
                    extra = dict(grad=float(dout[c, i, j]), dx=dx_acc.copy())
                frames.append(PoolFrame(len(frames), c, i, j, rows, cols,
                                        tuple(window.ravel().tolist()), argmax, ties,
                                        float(out[c, i, j]), **extra))
    if dout is not None:
        dx = max_pool_backward_naive(dout[None], cache)[0]
        if not np.allclose(frames[-1].dx, dx):
            raise RuntimeError("pool frames disagree with cnnkit.reference.max_pool_backward_naive")
    return PoolFrames(x, HP, WP, stride, out, dout, frames)
