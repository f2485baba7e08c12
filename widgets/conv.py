"""``ConvStepper``: step through a convolution, forward, backward or checking."""
from dataclasses import dataclass

import numpy as np

from cnnkit.reference.checks import check_int

from . import imagescale, views
from .checking import CheckResult, forward_failed, run_student, run_student_backward
from .frames import ConvFrames, conv_frames
from .stepper import (MODES, Stepper, as_float, check_choice, check_scale, check_student,
                      one_image)


@dataclass(frozen=True)
class _ConvState:
    frames: ConvFrames
    check: CheckResult
    mode: str
    digits: int
    arrays: dict
    scale: str


class ConvStepper(Stepper):
    """Step through a convolution of one image, one output cell per step.

    Each step highlights the receptive field in every input channel, the
    filter and bias in use and the output cell, and writes the sum of products
    out (``0.12*1.00 + ... + b = 0.57``). Play, the slider, the step box, the
    arrow buttons and clicking an output cell all step in the browser, so an
    exported page works without a kernel; editing the parameters needs one.

    Parameters
    ----------
    x : (C, H, W) or (H, W) input image; default a random example of small
        integers (``seed``).
    w : (F, C, HH, WW) filters, or (HH, WW) for a one-channel image; default
        random integers in {-1, 0, 1}.
    b : (F,) biases; default zeros when ``w`` is given, else random.
    stride, pad : as ``conv_param`` of :func:`cnnkit.reference.conv_forward_naive`.
    mode : ``"forward"`` or ``"backward"`` (one upstream gradient cell
        ``dout[f, i, j]`` per step, spreading into ``dx`` and ``dw``).
    dout : (F, H', W') upstream gradient for backward mode; default random.
    student : a student's ``conv_forward_naive(x, w, b, conv_param)``; it is
        run on this example, compared with the reference, and the stepper
        opens on the first wrong output cell. In backward mode, a student's
        ``conv_backward_naive(dout, cache)``: the stepper opens on the step
        that feeds the first wrong entry of ``dx``, then ``dw``, then ``db``.
    student_forward : backward mode only: the student's forward, whose cache
        the backward gets; by default the documented ``(x, w, b, conv_param)``.
    seed : seed of the random example.
    digits : decimals shown.
    editable : show boxes to edit sizes, stride and pad (needs a kernel).
        Changing a shape draws a new random array of that shape.
    interval : milliseconds per step when playing.
    jump_on : ``"click"`` or ``"hover"`` on an output cell jumps to its step.
    max_frames : refuse examples with more steps than this (number grids).
    scale : ``"numbers"`` draws every grid as numbers; ``"image"`` draws them
        as heatmaps (numbers on hover), outlines the window on every input
        channel, fills the output map in as it steps and writes the sum out,
        for inputs such as a whole 32x32 image with many channels (forward
        mode only); ``"auto"`` (default) picks image scale when the padded
        input is larger than 12x12 or has more than 4 channels.
    """

    _VIEWS = (views.conv_board, views.conv_forward, views.conv_backward)
    _EDITABLE = (("C", "channels"), ("H", "height"), ("W", "width"), ("F", "filters"),
                 ("HH", "filter h"), ("WW", "filter w"), ("stride", "stride"), ("pad", "pad"))

    def __init__(self, x=None, w=None, b=None, stride=1, pad=0, mode="forward", dout=None,
                 student=None, seed=0, digits=2, editable=True, interval=800,
                 jump_on="click", max_frames=400, scale="auto",
                 student_forward=None):
        self.mode = check_choice(mode, "mode", MODES)
        self.student = check_student(student, mode)
        self._scale = check_scale(scale, mode, student)
        self.student_forward = check_student(student_forward, mode, "student_forward")
        self.digits = check_int(digits, "digits", 0)
        self._rng = np.random.default_rng(seed)
        x = one_image(as_float(x, "x"), "x", "(C, H, W)")
        w, b = as_float(w, "w"), as_float(b, "b")
        if w is not None and w.ndim == 2:
            w = w[None, None]
        if x is None:
            x = self._rng.integers(0, 3, (3, 5, 5)).astype(float)
        if w is None:
            w = self._rng.integers(-1, 2, (2, x.shape[0], 3, 3)).astype(float)
            b = self._rng.integers(-1, 2, 2).astype(float) if b is None else b
        if w.ndim != 4:
            raise ValueError(f"w must have shape (F, C, HH, WW) or (HH, WW), got {w.shape}")
        b = np.zeros(w.shape[0]) if b is None else b
        dout = one_image(as_float(dout, "dout"), "dout", "(F, H', W')")
        self._arrays = {"x": x, "w": w, "b": b, "dout": dout}
        C, H, W = x.shape
        F, _, HH, WW = w.shape
        params = dict(C=C, H=H, W=W, F=F, HH=HH, WW=WW, stride=stride, pad=pad)
        super().__init__(params, editable, interval, jump_on, max_frames)

    def __repr__(self):
        cf = self._state.frames
        return (f"ConvStepper({self.mode}, x {cf.x.shape}, w {cf.w.shape}, stride "
                f"{cf.stride}, pad {cf.pad} -> out {cf.out.shape}: {self.n_steps} steps, "
                f"at step {self.step})")

    # -- computing and rendering ----------------------------------------
    def _compute(self, p):
        for name, label in self._EDITABLE[:6]:
            check_int(p[name], f"{label} ({name})", 1)
        arrays = dict(self._state.arrays if self._state else self._arrays)

        def array(key, shape, make):
            # Arrays given to the constructor are used as they are (the
            # reference explains a misfit); an edited shape draws a new one.
            given = arrays.get(key)
            if given is None or (self._state is not None and given.shape != shape):
                arrays[key] = make(shape)
            return arrays[key]

        x = array("x", (p["C"], p["H"], p["W"]),
                  lambda s: self._rng.integers(0, 3, s).astype(float))
        w = array("w", (p["F"], p["C"], p["HH"], p["WW"]),
                  lambda s: self._rng.integers(-1, 2, s).astype(float))
        b = array("b", (p["F"],), lambda s: self._rng.integers(-1, 2, s).astype(float))
        conv_param = {"stride": p["stride"], "pad": p["pad"]}
        scale = "numbers"
        if self.mode == "forward" and self.student is None:
            scale = imagescale.pick_scale(self._scale, p["C"], p["H"] + 2 * p["pad"],
                                          p["W"] + 2 * p["pad"])
        cf = conv_frames(x, w, b, conv_param)
        check = None
        if self.mode == "backward":
            dout = array("dout", cf.out.shape,
                         lambda s: np.round(self._rng.standard_normal(s), 1))
            cf = conv_frames(x, w, b, conv_param, dout)
            if self.student is not None:
                check = self._check_backward(cf, conv_param)
        elif self.student is not None:
            name = getattr(self.student, "__name__", "your function")
            check = run_student(self.student, (x[None], w, b, conv_param), cf.out, name)
        state = _ConvState(cf, check, self.mode, self.digits, arrays, scale)
        return state, len(cf.frames)

    def _check_backward(self, cf, conv_param):
        """The student's backward on the documented cache (or their own forward's)."""
        name = getattr(self.student, "__name__", "your function")
        x, w, b = cf.x[None].copy(), cf.w.copy(), cf.b.copy()
        cache = (x, w, b, dict(conv_param))
        if self.student_forward is not None:
            try:
                cache = self.student_forward(x, w, b, dict(conv_param))[1]
            except Exception as err:  # the student's bug is the thing to show
                return run_student_backward(forward_failed(err), (), {}, name, cf.step_for)
        last, p = cf.frames[-1], cf.pad
        H, W = cf.x.shape[1:]
        expected = {"dx": last.dx[:, p:p + H, p:p + W], "dw": last.dw,
                    "db": cf.dout.sum(axis=(1, 2))}
        return run_student_backward(self.student, (cf.dout[None].copy(), cache), expected,
                                    name, cf.step_for)

    def _describe(self, state):
        cf = state.frames
        summary = (f"x {cf.x.shape}, w {cf.w.shape}, b {cf.b.shape}, stride {cf.stride}, "
                   f"pad {cf.pad} &rarr; out {cf.out.shape}: {len(cf.frames)} steps")
        title = "Convolution, backward pass" if state.mode == "backward" else "Convolution"
        return title, summary

    def _image_layer(self, images, state):
        cf = state.frames
        return imagescale.conv_layer(images, "conv", cf, cf.w, cf.b, cf.out, state.digits)
