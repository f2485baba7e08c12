"""Step through your own layer: ``step_conv(conv_forward_naive)``, ``step_pool(...)``.

The helpers run a student's naive convolution or max pooling (forward or
backward) on a few small examples, pick the first example where it differs
from the reference and open a stepper on the step that produces the first
wrong output cell, or feeds the first wrong ``dx`` / ``dw`` / ``db`` entry.
The homework release carries this module (generated from ``cnnkit.widgets``),
so ``from utils.stepper import step_conv`` works there too; without ipywidgets
the helpers say how to install it.
"""
import numpy as np

#: function name -> (helper, mode) for the functions the helpers step through
STEPPABLE = {
    "conv_forward_naive": ("step_conv", "forward"),
    "conv_backward_naive": ("step_conv", "backward"),
    "max_pool_forward_naive": ("step_pool", "forward"),
    "max_pool_backward_naive": ("step_pool", "backward"),
}
#: small examples tried in order: padding, stride and non-square shapes all show up
CONV_EXAMPLES = (
    {"x": (2, 5, 5), "w": (2, 2, 3, 3), "stride": 1, "pad": 1},
    {"x": (1, 7, 6), "w": (2, 1, 3, 2), "stride": 2, "pad": 1},
    {"x": (2, 4, 4), "w": (1, 2, 2, 2), "stride": 1, "pad": 0},
)
POOL_EXAMPLES = (
    {"x": (2, 4, 4), "pool_height": 2, "pool_width": 2, "stride": 2},
    {"x": (1, 5, 5), "pool_height": 3, "pool_width": 3, "stride": 1},
    {"x": (1, 4, 7), "pool_height": 2, "pool_width": 3, "stride": 2},
)
INSTALL = ('the step-through views need ipywidgets: in the homework folder run '
           'pip install -e ".[notebook]" (or pip install ipywidgets), then restart the kernel')


def step_hint(function_name):
    """One line telling how to step through ``function_name``, or '' if the helpers cannot."""
    if function_name not in STEPPABLE:
        return ""
    helper, _ = STEPPABLE[function_name]
    return (f"To see it step by step: from {__package__} import {helper}; "
            f"{helper}({function_name})")


def _mode(fn, mode, helper):
    name = getattr(fn, "__name__", "")
    if mode is None:
        found = STEPPABLE.get(name)
        if found is None or found[0] != helper:
            known = ", ".join(n for n, (h, _) in STEPPABLE.items() if h == helper)
            raise ValueError(f"{helper} cannot tell whether {name or repr(fn)} is a forward or a "
                             f"backward pass; pass one of {known}, or mode='forward' / "
                             "mode='backward'")
        return found[1]
    if mode not in ("forward", "backward"):
        raise ValueError(f"mode must be 'forward' or 'backward', got {mode!r}")
    return mode


def _widgets():
    try:
        from . import conv, pool
    except ImportError as err:
        if "ipywidgets" not in str(err):
            raise
        raise ImportError(INSTALL) from err
    return conv, pool


def _example(shapes, seed):
    """Integer-valued inputs, all distinct within a pooling window (no ties)."""
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.prod(shapes["x"])).reshape(shapes["x"]) % 7 - 2.0
    if "w" in shapes:
        return {"x": x, "w": rng.integers(-1, 2, shapes["w"]).astype(float),
                "b": rng.integers(-1, 2, shapes["w"][0]).astype(float)}
    return {"x": rng.permutation(np.prod(shapes["x"])).reshape(shapes["x"]) / 2.0}


def _first_failing(make, examples, seed):
    """The stepper of the first example where the student's check fails (else the first)."""
    first = None
    for k, shapes in enumerate(examples):
        stepper = make(shapes, seed + k)
        if stepper.check_result is not None and not stepper.check_result.passed:
            return stepper
        first = stepper if first is None else first
    return first


def step_conv(fn, mode=None, forward=None, seed=0, **example):
    """Step through the student's convolution ``fn``, opened on its first wrong step.

    Parameters
    ----------
    fn : ``conv_forward_naive`` or ``conv_backward_naive`` (a backward pass
        gets the documented cache ``(x, w, b, conv_param)`` unless ``forward``
        is given).
    mode : ``"forward"`` or ``"backward"``; by default from ``fn``'s name.
    forward : backward only: your forward, whose cache your backward gets.
    seed : seed of the examples.
    example : ``x``, ``w``, ``b``, ``stride``, ``pad`` (and ``dout``) to use
        instead of the built-in examples; other keywords go to
        :class:`ConvStepper`.

    Returns
    -------
    ConvStepper, on the step of the first wrong cell (``.check_result`` says
    what differs).
    """
    mode = _mode(fn, mode, "step_conv")
    conv, _ = _widgets()
    extra = {"student_forward": forward} if mode == "backward" else {}
    if "x" in example or "w" in example:
        return conv.ConvStepper(mode=mode, student=fn, seed=seed, **extra, **example)

    def make(shapes, k):
        arrays = _example(shapes, k)
        return conv.ConvStepper(arrays["x"], arrays["w"], arrays["b"], stride=shapes["stride"],
                                pad=shapes["pad"], mode=mode, student=fn, seed=k, **extra,
                                **example)
    return _first_failing(make, CONV_EXAMPLES, seed)


def step_pool(fn, mode=None, forward=None, seed=0, **example):
    """Step through the student's max pooling ``fn``, opened on its first wrong step.

    Parameters are as for :func:`step_conv` (``fn``: ``max_pool_forward_naive``
    or ``max_pool_backward_naive``, whose documented cache is
    ``(x, pool_param)``); ``example`` may give ``x``, ``pool_height``,
    ``pool_width``, ``stride``, ``dout``.
    """
    mode = _mode(fn, mode, "step_pool")
    _, pool = _widgets()
    extra = {"student_forward": forward} if mode == "backward" else {}
    if "x" in example:
        return pool.PoolStepper(mode=mode, student=fn, seed=seed, **extra, **example)

    def make(shapes, k):
        x = _example(shapes, k)["x"]
        params = {key: shapes[key] for key in ("pool_height", "pool_width", "stride")}
        return pool.PoolStepper(x, mode=mode, student=fn, seed=k, **params, **extra,
                                **example)
    return _first_failing(make, POOL_EXAMPLES, seed)
