"""``PoolStepper``: step through max pooling, forward, backward or checking."""
from dataclasses import dataclass

import numpy as np

from cnnkit.reference.checks import check_int

from . import imagescale, views
from .checking import CheckResult, forward_failed, run_student, run_student_backward
from .frames import PoolFrames, pool_frames
from .stepper import (MODES, Stepper, as_float, check_choice, check_scale, check_student,
                      one_image)


@dataclass(frozen=True)
class _PoolState:
    frames: PoolFrames
    check: CheckResult
    mode: str
    digits: int
    arrays: dict
    scale: str


class PoolStepper(Stepper):
    """Step through max pooling of one image, one output cell per step.

    Each step highlights the window, its maximum (ties underlined and
    explained) and the output cell. In backward mode each step sends one
    upstream gradient cell to the window's arg-max: the first maximum in
    row-major order, as :func:`cnnkit.reference.max_pool_backward_naive` does.

    Parameters
    ----------
    x : (C, H, W) or (H, W) input; default a random example of small integers,
        which has ties.
    pool_height, pool_width, stride : as ``pool_param`` of
        :func:`cnnkit.reference.max_pool_forward_naive`; windows may overlap.
    mode : ``"forward"`` or ``"backward"``.
    dout : (C, H', W') upstream gradient for backward mode; default random.
    student : a student's ``max_pool_forward_naive(x, pool_param)``, run on
        this example and compared with the reference; in backward mode a
        student's ``max_pool_backward_naive(dout, cache)``, opening on the step
        that should feed the first wrong ``dx`` entry.
    student_forward : backward mode only: the student's forward, whose cache
        the backward gets; by default the documented ``(x, pool_param)``.
    seed, digits, editable, interval, jump_on, max_frames, scale : as for
        :class:`~cnnkit.widgets.ConvStepper` (``"auto"`` picks image scale for
        inputs larger than 12x12 or with more than 4 channels).
    """

    _VIEWS = (views.pool_board, views.pool_forward, views.pool_backward)
    _EDITABLE = (("C", "channels"), ("H", "height"), ("W", "width"),
                 ("pool_height", "pool h"), ("pool_width", "pool w"), ("stride", "stride"))

    def __init__(self, x=None, pool_height=2, pool_width=2, stride=2, mode="forward",
                 dout=None, student=None, seed=0, digits=2, editable=True, interval=800,
                 jump_on="click", max_frames=400, scale="auto",
                 student_forward=None):
        self.mode = check_choice(mode, "mode", MODES)
        self.student = check_student(student, mode)
        self._scale = check_scale(scale, mode, student)
        self.student_forward = check_student(student_forward, mode, "student_forward")
        self.digits = check_int(digits, "digits", 0)
        self._rng = np.random.default_rng(seed)
        x = one_image(as_float(x, "x"), "x", "(C, H, W)")
        if x is None:
            x = self._rng.integers(0, 4, (1, 4, 4)).astype(float)
        self._arrays = {"x": x, "dout": one_image(as_float(dout, "dout"), "dout", "(C, H', W')")}
        C, H, W = x.shape
        params = dict(C=C, H=H, W=W, pool_height=pool_height, pool_width=pool_width,
                      stride=stride)
        super().__init__(params, editable, interval, jump_on, max_frames)

    def __repr__(self):
        pf = self._state.frames
        return (f"PoolStepper({self.mode}, x {pf.x.shape}, pool {pf.pool_height}x"
                f"{pf.pool_width}, stride {pf.stride} -> out {pf.out.shape}: "
                f"{self.n_steps} steps, at step {self.step})")

    def _compute(self, p):
        for name, label in self._EDITABLE[:3]:
            check_int(p[name], f"{label} ({name})", 1)
        arrays = dict(self._state.arrays if self._state else self._arrays)
        x = arrays["x"]
        if x.shape != (p["C"], p["H"], p["W"]):
            x = arrays["x"] = self._rng.integers(0, 4, (p["C"], p["H"], p["W"])) * 1.0
        pool_param = {k: p[k] for k in ("pool_height", "pool_width", "stride")}
        pf = pool_frames(x, pool_param)
        scale = "numbers"
        if self.mode == "forward" and self.student is None:
            scale = imagescale.pick_scale(self._scale, p["C"], p["H"], p["W"])
        check = None
        if self.mode == "backward":
            dout = arrays["dout"]
            if dout is None or (self._state is not None and dout.shape != pf.out.shape):
                dout = arrays["dout"] = np.round(self._rng.standard_normal(pf.out.shape), 1)
            pf = pool_frames(x, pool_param, dout)
            if self.student is not None:
                check = self._check_backward(pf, pool_param)
        elif self.student is not None:
            name = getattr(self.student, "__name__", "your function")
            check = run_student(self.student, (x[None], pool_param), pf.out, name)
        return _PoolState(pf, check, self.mode, self.digits, arrays, scale), len(pf.frames)

    def _check_backward(self, pf, pool_param):
        """The student's backward on the documented cache (or their own forward's)."""
        name = getattr(self.student, "__name__", "your function")
        cache = (pf.x[None].copy(), dict(pool_param))
        if self.student_forward is not None:
            try:
                cache = self.student_forward(*cache)[1]
            except Exception as err:  # the student's bug is the thing to show
                return run_student_backward(forward_failed(err), (), {}, name, pf.step_for)
        return run_student_backward(self.student, (pf.dout[None].copy(), cache),
                                    {"dx": pf.frames[-1].dx}, name, pf.step_for)

    def _describe(self, state):
        pf = state.frames
        ties = sum(len(fr.ties) > 1 for fr in pf.frames)
        summary = (f"x {pf.x.shape}, pool {pf.pool_height}x{pf.pool_width}, stride "
                   f"{pf.stride} &rarr; out {pf.out.shape}: {len(pf.frames)} steps"
                   + (f", {ties} windows with a tie" if ties else "")
                   + (", windows overlap" if pf.stride < max(pf.pool_height, pf.pool_width)
                      else ""))
        title = "Max pooling, backward pass" if state.mode == "backward" else "Max pooling"
        return title, summary

    def _image_layer(self, images, state):
        return imagescale.pool_layer(images, "pool", state.frames, digits=state.digits)
