"""Fast convolution, max pooling and spatial batch normalization, quicker than the naive loops.

Each function has the signature of its naive twin in :mod:`conv_layers` and
returns the same values (to rounding). This module only gathers them; each
job has its own module:

- :mod:`.fast_conv`: convolution by im2col (channels-last, or channels-first
  for few input channels) and the choice of algorithm (:func:`conv_algorithm`);
- :mod:`.winograd`: 3x3 stride-1 convolution on Winograd F(4x4, 3x3) tiles;
- :mod:`.fast_pool`: max pooling;
- :mod:`.fast_batchnorm`: spatial batch normalization, alone or with its ReLU;
- :mod:`.fast_threads`: chunks of images or channels shared among worker threads;
- :mod:`.fast_kernels`: the compiled kernels ``_kernels``, else the pure-numpy
  ``_numpy_kernels`` with one ``RuntimeWarning``. ``KERNELS`` names the one
  loaded at import: ``"cython"`` or ``"numpy"``.
"""
from .fast_batchnorm import (spatial_batchnorm_backward_fast, spatial_batchnorm_forward_fast,
                             spatial_batchnorm_relu_backward_fast,
                             spatial_batchnorm_relu_forward_fast)
from .fast_conv import (NCHW_RUN_BELOW, WINOGRAD_MIN_CHANNELS, WINOGRAD_MIN_SIZE,
                        conv_algorithm, conv_backward_fast, conv_forward_fast)
from .fast_kernels import KERNELS
from .fast_pool import max_pool_backward_fast, max_pool_forward_fast

__all__ = ["KERNELS", "NCHW_RUN_BELOW", "WINOGRAD_MIN_CHANNELS", "WINOGRAD_MIN_SIZE",
           "conv_algorithm", "conv_backward_fast", "conv_forward_fast",
           "max_pool_backward_fast", "max_pool_forward_fast",
           "spatial_batchnorm_backward_fast", "spatial_batchnorm_forward_fast",
           "spatial_batchnorm_relu_backward_fast", "spatial_batchnorm_relu_forward_fast"]
