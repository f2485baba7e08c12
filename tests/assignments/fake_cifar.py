"""A small CIFAR-10 look-alike in the official python layout, for tests."""
import io
import pickle
import tarfile

import numpy as np


def _batch(rng, n):
    labels = rng.integers(10, size=n)
    # images whose colour depends on the label, so a network can learn something
    base = (labels[:, None] * 23 % 256).astype(np.float64)
    data = np.clip(base + rng.normal(0, 40, size=(n, 3072)), 0, 255).astype(np.uint8)
    return {"batch_label": "fake", "labels": labels.tolist(), "data": data,
            "filenames": ["x.png"] * n}


def write_fake_cifar10(path, per_batch=150, test=150, seed=0):
    """Write ``path`` (a .tar.gz) holding cifar-10-batches-py/ with small batches.

    Five training batches of ``per_batch`` images and a test batch of ``test``
    images, pickled with protocol 2 (str keys, which load as str with
    ``encoding='latin1'`` as the official files do). Returns ``path``.
    """
    rng = np.random.default_rng(seed)
    files = {f"data_batch_{i}": _batch(rng, per_batch) for i in range(1, 6)}
    files["test_batch"] = _batch(rng, test)
    files["batches.meta"] = {"label_names": ["airplane", "automobile", "bird", "cat", "deer",
                                             "dog", "frog", "horse", "ship", "truck"]}
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            blob = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path
