"""cnnkit.widgets: step-through views of convolution and max pooling.

:class:`ConvStepper` and :class:`PoolStepper` show one sliding-window step at a
time (forward, backward, or checking a student's function), with every frame
precomputed so that stepping also works in a page exported without a kernel
(:func:`export_html`). The frames themselves are plain data from
:mod:`cnnkit.widgets.frames`.
"""
from .conv import ConvStepper
from .pool import PoolStepper
from .export import export_html
