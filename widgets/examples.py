"""Example inputs for lectures: a real CIFAR-10 crop and edge-detection filters.

The crop ships with the package (``demo/cifar_crop.npy``, 8x8 pixels of
CIFAR-10 test image 3, extracted once by ``demo/make_crop.py``), so the demo
runs offline without the dataset.
"""
from pathlib import Path

import numpy as np

from cnnkit.reference import build_model, load_checkpoint

DEMO = Path(__file__).resolve().parent / "demo"
CROP_ROWS, CROP_COLS = (9, 17), (8, 16)   # where the crop sits in the 32x32 image

SOBEL_X = np.array([[1.0, 0.0, -1.0],
                    [2.0, 0.0, -2.0],
                    [1.0, 0.0, -1.0]])


def cifar_crop():
    """(3, 8, 8) float64 pixels in [0, 1] of CIFAR-10 test image 3."""
    return np.load(DEMO / "cifar_crop.npy", allow_pickle=False)


def cifar_image():
    """(32, 32, 3) uint8 CIFAR-10 test image 3, the crop's context."""
    return np.load(DEMO / "cifar_image.npy", allow_pickle=False)


def edge_filter(channels=3, vertical=True):
    """(1, channels, 3, 3) Sobel filter averaging the channels.

    ``vertical=True`` responds to vertical edges (a change along the width),
    ``False`` to horizontal ones.
    """
    k = SOBEL_X if vertical else SOBEL_X.T
    return np.repeat(k[None, None] / channels, channels, axis=1)


def small_convnet():
    """The trained ConvNet that ships with the widgets (``demo/small_convnet.npz/.json``).

    Three [conv3x3-bn-relu-pool] blocks of 16, 32 and 64 filters and an affine
    layer, trained once by ``demo/make_checkpoint.py``; 67% accuracy on the
    first 1000 CIFAR-10 test images. Expects images minus
    ``cifar_samples()["mean_image"]``.
    """
    params, spec = load_checkpoint(DEMO / "small_convnet")
    return build_model(spec, params)


def cifar_samples():
    """One CIFAR-10 test image of each class, shipped beside the checkpoint.

    Returns a dict: ``images`` (10, 32, 32, 3) uint8, ``labels`` (10,),
    ``indices`` (10,) into the test batch, ``mean_image`` (3, 32, 32) float32,
    the mean training image :func:`small_convnet` was trained with.
    """
    with np.load(DEMO / "cifar_samples.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
