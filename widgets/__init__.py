"""cnnkit.widgets: step-through views of convolution and max pooling.

:class:`ConvStepper` and :class:`PoolStepper` show one sliding-window step at a
time (forward, backward, or checking a student's function), as grids of
numbers or, for whole images, as heatmaps; :class:`NetworkView` shows a trained
network's maps on one image and opens a stepper on any of them. Every frame is
precomputed so that stepping also works in a page exported without a kernel
(:func:`export_html`). The frames themselves are plain data from
:mod:`cnnkit.widgets.frames` and :mod:`cnnkit.widgets.network`.
"""
import importlib

# Loaded on first use: every `cnnkit` command imports this package (to reach
# cnnkit.widgets.commands), and an instructor's install with only the grader
# extra has no ipywidgets.
_PUBLIC = {"ConvStepper": ".conv", "PoolStepper": ".pool", "NetworkView": ".netview",
           "export_html": ".export"}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name], __name__), name)


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
