"""Helpers for the cnn assignment tests: paths, a small fake CIFAR-10, a notebook runner."""
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "assignments" / "source" / "cnn"
NOTEBOOKS = ["1-ConvLayers.ipynb", "2-SpatialBatchNorm.ipynb", "3-CNN.ipynb"]


def _batch(rng, n):
    labels = rng.integers(10, size=n)
    # the mean brightness depends on the label, so a network can learn something
    base = (labels[:, None] * 23 % 256).astype(np.float64)
    data = np.clip(base + rng.normal(0, 40, size=(n, 3072)), 0, 255).astype(np.uint8)
    return {"batch_label": "fake", "labels": labels.tolist(), "data": data,
            "filenames": ["x.png"] * n}


def write_fake_cifar10(path, per_batch=150, test=150, seed=0):
    """Write ``path`` (.tar.gz) holding ``cifar-10-batches-py/`` with small batches.

    Five training batches of ``per_batch`` images (3072 uint8 each) and a test
    batch of ``test``, pickled with protocol 2 and str keys, which load as str
    with ``encoding='latin1'`` as the official files do. Returns ``path``.
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


def execute_notebook(path, cwd, timeout=240):
    """Run the notebook at ``path`` top to bottom in a fresh kernel started in ``cwd``.

    Returns ``(notebook, error, seconds)``; ``error`` is None or the
    ``CellExecutionError`` that stopped the run (its ``ename``/``evalue`` name the
    exception).
    """
    import time

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        error = err
    return nb, error, time.perf_counter() - start
