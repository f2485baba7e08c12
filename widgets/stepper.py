"""The stepping widget shared by :class:`ConvStepper` and :class:`PoolStepper`.

The grids every step shares are one ``HTML`` widget (the board); every step's
frame is precomputed as a small HTML ``<style>`` plus text and held in an
``ipywidgets.Stack``, so a step restyles the board instead of redrawing it. The
Stack's ``selected_index``, an ``IntSlider``, a ``Play`` and a step box are
joined with ``jslink``, so stepping happens in the browser: it is instant with
a live kernel and still works in a page exported without one. The previous /
next buttons and clicking an output cell set the step box from the browser
too. Editing the parameters recomputes the frames and so needs a kernel.
"""
import html
import uuid

import ipywidgets as widgets
import numpy as np

from cnnkit.reference.checks import check_int

from . import imagescale, render

MODES = ("forward", "backward")
IMAGE_MAX_STEPS = 65536
IMAGE_NOTE = ("; drawn at image scale: hover a map for its numbers, click the output map "
              "to jump to a cell")
JUMP_EVENTS = {"click": "onclick", "hover": "onmouseover"}


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``, else raise a ValueError naming them."""
    if value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {options}, got {value!r}")
    return value


def as_float(a, name):
    """``a`` as a float64 array (``None`` stays ``None``); TypeError naming ``name``."""
    if a is None:
        return None
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}") from err


def one_image(a, name, what):
    """Drop a batch axis of length 1 and add a channel axis to a 2-D ``a``.

    ``what`` names the expected shape, e.g. ``"(C, H, W)"``.
    """
    if a is None:
        return None
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    elif a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"{name} must hold one example, shape {what}, (H, W) or "
                         f"(1, {what[1:]}, got {a.shape}")
    return a


def check_scale(scale, mode, student):
    """The scale asked for; image scale steps forward passes only, without a student check."""
    check_choice(scale, "scale", imagescale.SCALES)
    if scale == "image" and (mode != "forward" or student is not None):
        raise ValueError("scale='image' shows forward passes only (no backward mode, no "
                         "student check): use scale='numbers' for those")
    return scale


def check_student(student, mode, name="student"):
    """A student's function must be callable and, by its name, of the mode's direction.

    ``name="student_forward"`` is the forward whose cache a backward check uses.
    """
    if student is None:
        return None
    if not callable(student):
        raise TypeError(f"{name} must be a function, got {type(student).__name__}")
    direction = "forward" if name == "student_forward" else mode
    other = "backward" if direction == "forward" else "forward"
    fn_name = getattr(student, "__name__", "")
    if other in fn_name and direction not in fn_name:
        raise ValueError(f"{name} must be a {direction} function with mode={mode!r} "
                         f"(e.g. conv_{direction}_naive), got {fn_name}")
    return student


class Stepper(widgets.VBox):
    """Frames in a Stack, stepped by Play, slider, step box and buttons.

    Subclasses implement

    - ``_compute(params)`` returning ``(state, n_steps)``, raising ValueError or
      TypeError for impossible parameters and leaving ``self`` unchanged (so a
      refused edit changes nothing); ``state`` becomes ``self._state`` once shown
      and has ``frames``, ``check``, ``mode`` and ``scale``;
    - ``_describe(state)`` returning ``(title, summary_html)``;
    - ``_VIEWS``, the functions of :mod:`cnnkit.widgets.views` drawing their
      ``(board, forward frame, backward frame)``;
    - ``_image_layer(images, state)`` returning the layer record of the
      image-scale view (:mod:`cnnkit.widgets.imagescale`): at image scale
      (``state.scale == "image"``) the board steps itself in the browser, there
      are no frame widgets and the Play/slider/box row is hidden;
    - ``_EDITABLE``, their editable integer parameters as ``(name, label)``.
    """

    _EDITABLE = ()
    _VIEWS = ()

    def __init__(self, params, editable=True, interval=800, jump_on="click",
                 max_frames=400):
        check_choice(jump_on, "jump_on", tuple(JUMP_EVENTS))
        check_int(interval, "interval", 1)
        self._event = JUMP_EVENTS[jump_on]
        self.max_frames = check_int(max_frames, "max_frames", 1)
        self.error = ""
        self._params = dict(params)
        self.scope = "cnk-" + uuid.uuid4().hex[:10]   # CSS class scoping frame styles
        self._header = widgets.HTML()
        self._board = widgets.HTML()
        self._error = widgets.HTML()
        self._stack = widgets.Stack([], selected_index=None)
        self._play = widgets.Play(interval=interval, min=0, max=0, description="play")
        self._slider = widgets.IntSlider(min=0, max=0, description="step",
                                         layout=widgets.Layout(width="320px"))
        self._box = widgets.BoundedIntText(min=0, max=0, layout=widgets.Layout(width="5.5em"))
        self._box.add_class("cnk-step")
        self._nav = widgets.HTML(render.nav_buttons())
        widgets.jslink((self._play, "value"), (self._slider, "value"))
        widgets.jslink((self._slider, "value"), (self._box, "value"))
        widgets.jslink((self._slider, "value"), (self._stack, "selected_index"))
        # Without a browser (tests, scripts) keep the kernel-side state in step too.
        self._slider.observe(self._sync_stack, "value")
        self._editors = self._make_editors() if editable else []
        self._controls = widgets.HBox([self._play, self._nav, self._box, self._slider])
        self._edit_row = []
        if self._editors:
            self._edit_row = [widgets.HBox(self._editors,
                                           layout=widgets.Layout(flex_flow="row wrap")),
                              self._error]
        super().__init__()
        self.add_class("cnk-stepper")
        self.add_class(self.scope)
        self._state = None
        self._state = self._checked_compute(self._params)
        self._install(*self._render(self._state))

    # -- results as data ------------------------------------------------
    @property
    def frames(self):
        """The frames shown (:class:`~cnnkit.widgets.frames.ConvFrames` or ``PoolFrames``)."""
        return self._state.frames

    @property
    def current(self):
        """The frame of the step shown."""
        return self._state.frames.frames[self.step]

    @property
    def check_result(self):
        """The :class:`~cnnkit.widgets.checking.CheckResult`, or None without ``student``."""
        return self._state.check

    # -- stepping -------------------------------------------------------
    @property
    def n_steps(self):
        """Number of precomputed frames."""
        return len(self._state.frames.frames)

    @property
    def scale(self):
        """``"numbers"`` (grids of numbers) or ``"image"`` (heatmaps)."""
        return self._state.scale

    @property
    def step(self):
        """The step shown; set it to jump there."""
        return self._slider.value

    @step.setter
    def step(self, value):
        if not 0 <= value < self.n_steps:
            raise ValueError(f"step must be between 0 and {self.n_steps - 1}, got {value}")
        self._slider.value = self._box.value = self._play.value = value
        if self._state.scale == "image":
            self._board.value = self._image_board(self._state, value)

    @property
    def frame_html(self):
        """HTML of the frame shown now: its ``<style>`` for the board and its text."""
        if self._state.scale == "image":
            return self._board.value
        return self._stack.children[self._stack.selected_index].value

    @property
    def board_html(self):
        """HTML of the grids shared by every step."""
        return self._board.value

    def next(self):
        """Go one step forward (stays on the last step)."""
        self.step = min(self.step + 1, self.n_steps - 1)

    def previous(self):
        """Go one step back (stays on step 0)."""
        self.step = max(self.step - 1, 0)

    def _sync_stack(self, change):
        if self._state is None or self._state.scale == "image":
            return
        if self._stack.selected_index != change["new"]:
            self._stack.selected_index = change["new"]

    def _install(self, header, board, frames, first):
        old = self._stack.children
        self._header.value = render.CSS + header
        self._board.value = board
        image = frames is None
        self._stack.children = [] if image else [widgets.HTML(h) for h in frames]
        # At image scale the board steps itself: no Play/slider row and no
        # Stack (an empty Stack fails to render in an exported page).
        shown = [self._board] if image else [self._controls, self._board, self._stack]
        self.children = [self._header] + shown + self._edit_row
        last = self.n_steps - 1
        for control in (self._play, self._slider, self._box):
            control.min, control.max = 0, last
        self._slider.value = self._box.value = self._play.value = first
        self._stack.selected_index = None if image else first
        for child in old:
            child.close()

    # -- parameters -----------------------------------------------------
    @property
    def params(self):
        """The current parameters (a copy)."""
        return dict(self._params)

    def set_params(self, **changes):
        """Recompute the frames with some parameters changed.

        Impossible combinations do not raise: the reason is stored in
        :attr:`error`, shown under the editors, the previous frames stay, and
        the method returns False. Returns True when the frames were rebuilt.
        """
        unknown = sorted(set(changes) - set(self._params))
        if unknown:
            raise TypeError(f"unknown parameter {', '.join(unknown)}; "
                            f"expected some of {', '.join(sorted(self._params))}")
        params = {**self._params, **changes}
        try:
            state = self._checked_compute(params)
        except (ValueError, TypeError) as err:
            self.error = f"Cannot show these parameters: {err}"
            self._error.value = f"<div class='cnk-note cnk-bad'>{html.escape(self.error)}</div>"
            return False
        self.error = ""
        self._error.value = ""
        self._params, self._state = params, state
        self._install(*self._render(state))
        return True

    def _checked_compute(self, params):
        state, n_steps = self._compute(params)
        if state.scale == "image":
            if n_steps > IMAGE_MAX_STEPS:
                raise ValueError(f"these parameters give {n_steps} steps, more than "
                                 f"{IMAGE_MAX_STEPS} at image scale; use a smaller input")
        elif n_steps > self.max_frames:
            raise ValueError(f"these parameters give {n_steps} steps, more than "
                             f"max_frames={self.max_frames}; use a smaller input or "
                             "scale='image'")
        return state

    def _make_editors(self):
        editors = []
        for name, label in self._EDITABLE:
            box = widgets.IntText(value=self._params[name], description=label,
                                  layout=widgets.Layout(width="150px"),
                                  style={"description_width": "90px"})
            box.observe(lambda change, name=name: self.set_params(**{name: change["new"]}),
                        "value")
            editors.append(box)
        return editors

    def _compute(self, params):
        raise NotImplementedError

    def _render(self, state):
        """``(header_html, board_html, frame_htmls or None, first_step)`` of ``state``."""
        title, summary = self._describe(state)
        first = (state.check.step or 0) if state.check is not None else 0
        if state.scale == "image":
            return (render.header(title, summary + IMAGE_NOTE),
                    self._image_board(state, first), None, first)
        board, frames = self._number_frames(state)
        return render.header(title, summary, state.check), board, frames, first

    def _describe(self, state):
        raise NotImplementedError

    def _number_frames(self, state):
        draw_board, forward, backward = self._VIEWS
        fs, digits = state.frames, state.digits
        board = draw_board(fs, digits, state.check, state.mode == "backward", self._event)
        if state.mode == "backward":
            return board, [backward(self.scope, fs, fr, digits, state.check) for fr in fs.frames]
        return board, [forward(self.scope, fs, fr, digits, state.check) for fr in fs.frames]

    def _image_board(self, state, step):
        images = imagescale.Images()
        layer = self._image_layer(images, state)
        start = {"layer": layer["name"], "chs": list(range(layer["F"])), "step": step}
        return imagescale.page(self.scope, {layer["name"]: layer}, images, start,
                               interval=self._play.interval)

    def _image_layer(self, images, state):
        raise NotImplementedError
