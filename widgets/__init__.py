"""cnnkit.widgets: step-through views of convolution and max pooling.

:class:`ConvStepper` and :class:`PoolStepper` show one sliding-window step at a
time (forward, backward, or checking a student's function), as grids of
numbers or, for whole images, as heatmaps; :class:`NetworkView` shows a trained
network's maps on one image and opens a stepper on any of them. Every frame is
precomputed so that stepping also works in a page exported without a kernel
(:func:`export_html`). The frames themselves are plain data from
:mod:`cnnkit.widgets.frames` and :mod:`cnnkit.widgets.network`.
"""
from .conv import ConvStepper
from .pool import PoolStepper
from .netview import NetworkView
from .export import export_html
