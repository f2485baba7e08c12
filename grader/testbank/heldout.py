"""Held-out images for the accuracy test, from the CIFAR-10 test batch.

The images are the LAST ``n`` images of ``test_batch`` (the default data split
of the notebooks uses the first 1000 test images), preprocessed as
``get_CIFAR10_data`` does by default: float32 minus the mean of the first
49,000 training images. Images go to the sandbox as ``.npy``; the labels stay
in the parent.
"""
import hashlib
from pathlib import Path

import numpy as np

from cnnkit.reference import data as cifar

from ..context import HeldOut

NUM_TRAINING = 49000


def training_mean(folder):
    """Mean image (3, 32, 32), float64, of the first 49,000 training images."""
    total, count = np.zeros((3, 32, 32)), 0
    for name in cifar.TRAIN_FILES:
        if not (folder / name).is_file() or count >= NUM_TRAINING:
            continue
        images, _ = cifar.load_batch(folder / name)
        images = images[:NUM_TRAINING - count]
        total += images.sum(axis=0, dtype=np.float64)
        count += images.shape[0]
    if count == 0:
        raise cifar.DataError(f"{folder} has no data_batch_* files to compute the mean image")
    return total / count


def load_heldout(data, n, workdir):
    """``(HeldOut, '')``, or ``(None, why)`` when no usable data was found.

    data : the ``--data`` path (archive or folder), or None for ``CNNKIT_DATA``
        and then the cache folder, as :func:`cnnkit.reference.data.find_cifar10`.
    n : number of held-out images (the last ``n`` of the test batch).
    workdir : private folder where the preprocessed images file is written.
    """
    try:
        folder = Path(cifar.find_cifar10(data))
        images, labels = cifar.load_batch(folder / cifar.TEST_FILE)
        mean = training_mean(folder)
    except (cifar.DataError, OSError) as err:
        return None, f"no CIFAR-10 data for the accuracy test ({err})"
    images, labels = images[-n:], labels[-n:]
    X = (images.astype(np.float32) - mean.astype(np.float32)).astype(np.float32)
    path = Path(workdir) / "heldout.npy"
    np.save(path, X)
    digest = hashlib.sha256(X.tobytes() + labels.tobytes()).hexdigest()[:12]
    source = f"{folder}/{cifar.TEST_FILE}: last {labels.size} images (sha256 {digest})"
    return HeldOut(str(path), tuple(int(v) for v in labels), source), ""
