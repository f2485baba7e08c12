"""The kernels behind the fast layers: the compiled extension, else the numpy ones.

The loops of the fast layers (im2col, col2im, layout changes, Winograd tiles,
max pooling, batch norm) run in ``cnnkit.reference._kernels``, compiled from
``_kernels.pyx``; when it cannot be imported, in the pure-numpy
:mod:`cnnkit.reference._numpy_kernels`, and one ``RuntimeWarning`` says so at
import. The layers look the module up as ``fast_kernels.K`` at each call.
"""
import importlib
import warnings

from . import _numpy_kernels


def load_kernels():
    """Return ``(module, name)``: the compiled kernels, else the numpy ones with a warning."""
    try:
        kernels = importlib.import_module(f"{__package__}._kernels")
    except ImportError as err:
        warnings.warn(
            f"{__package__}.fast_layers: the compiled kernels "
            f"({__package__}._kernels) could not be imported ({err}); "
            "using the slower pure-numpy kernels instead. To compile them, run "
            "`pip install .` (or `pip install -e .`) again in the folder that holds "
            "pyproject.toml; this needs a C compiler, and the build fetches Cython >= 3.",
            RuntimeWarning, stacklevel=2)
        return _numpy_kernels, "numpy"
    return kernels, "cython"


#: the kernel module in use, and its name: "cython" or "numpy"
K, KERNELS = load_kernels()
