"""Shared fixtures: seeded random generators and a tiny CIFAR-10 archive."""
import pickle
import tarfile

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def write_cifar_batches(folder, n_train=50, n_test=20, seed=0, n_batches=5):
    """Write a tiny CIFAR-10 python-version folder; return its path.

    Images are random but labels are learnable: the red channel's mean is
    shifted by the label, so a small model can fit them.
    """
    rng = np.random.default_rng(seed)
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True, exist_ok=True)

    def batch(n):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 100, (n, 3, 32, 32))
        images[:, 0] += (labels * 15)[:, None, None]
        return {"data": images.reshape(n, -1).astype(np.uint8), "labels": labels.tolist(),
                "batch_label": "testing batch"}

    for i in range(1, n_batches + 1):
        (batches / f"data_batch_{i}").write_bytes(pickle.dumps(batch(n_train), protocol=2))
    (batches / "test_batch").write_bytes(pickle.dumps(batch(n_test), protocol=2))
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer",
                            "dog", "frog", "horse", "ship", "truck"]}
    (batches / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return batches


def write_cifar_archive(path, **kwargs):
    """Write a tiny CIFAR-10 archive (compression from the suffix); return its path."""
    folder = path.parent / (path.name + ".src")
    batches = write_cifar_batches(folder, **kwargs)
    mode = "w:xz" if path.suffix == ".xz" else "w:gz"
    with tarfile.open(path, mode) as tar:
        tar.add(batches, arcname="cifar-10-batches-py")
    return path


@pytest.fixture
def cifar_folder(tmp_path):
    return write_cifar_batches(tmp_path / "data")


@pytest.fixture
def cifar_archive(tmp_path):
    return write_cifar_archive(tmp_path / "cifar-10-python.tar.xz")


@pytest.fixture
def write_cifar():
    """:func:`write_cifar_batches`, for tests that need other sizes."""
    return write_cifar_batches
