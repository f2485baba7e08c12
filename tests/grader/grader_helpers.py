"""Helpers of the grader tests: fake CIFAR-10, a rigged model, small accessors."""
import pickle
import textwrap
from pathlib import Path

import numpy as np

SECRET = "0123456789abcdef0123456789abcdef-test-course\n"

RIGGED = textwrap.dedent('''
    """A model rigged for tests: it reads the label the fake data hides in pixel (0, 0, 0)
    and answers right only where pixel (1, 0, 0) says so."""
    import numpy as np


    class RiggedNet:
        def __init__(self, num_classes=10):
            self.params = {"W": np.zeros(1)}
            self.num_classes = num_classes

        def loss(self, X, y=None):
            label = np.rint((X[:, 0, 0, 0] - 5) / 10).astype(int) % self.num_classes
            wrong = X[:, 1, 0, 0] < 100
            label = np.where(wrong, (label + 1) % self.num_classes, label)
            scores = np.zeros((X.shape[0], self.num_classes))
            scores[np.arange(X.shape[0]), label] = 1.0
            return scores
''')


def write_fake_cifar(folder, correct, n_train=10):
    """A CIFAR-10 batches folder whose test images encode their label.

    ``correct`` is a boolean per test image: whether the rigged model answers it
    right. Training images are zero, so the mean image is zero.
    """
    folder = Path(folder) / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train = {"data": np.zeros((n_train, 3072), np.uint8), "labels": [0] * n_train}
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(train, protocol=2))
    n = len(correct)
    labels = rng.integers(0, 10, n)
    images = np.zeros((n, 3, 32, 32), np.uint8)
    images[:, 0, 0, 0] = labels * 10 + 5
    images[:, 1, 0, 0] = np.where(correct, 200, 0)
    test = {"data": images.reshape(n, -1), "labels": labels.tolist()}
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
    return folder


def add_rigged_checkpoint(student):
    """Put the rigged model and its checkpoint (checkpoints/challenge) in a student folder."""
    (student / "nndl" / "rigged.py").write_text(RIGGED)
    (student / "checkpoints").mkdir(exist_ok=True)
    np.savez(student / "checkpoints" / "challenge.npz", W=np.zeros(1))
    (student / "checkpoints" / "challenge.json").write_text(
        '{"module": "nndl.rigged", "class": "RiggedNet", "kwargs": {}}')


#: a patch making max_pool_forward_naive kill its process on batch-of-one inputs only
CRASH_ONE_CASE = ("    ph, pw = pool_param['pool_height'], pool_param['pool_width']\n",
                  "    ph, pw = pool_param['pool_height'], pool_param['pool_width']\n"
                  "    if x.shape[0] == 1:\n        import os; os._exit(3)\n")


def by_id(result):
    return {r["student_id"]: r for r in result.records}


def scores(record):
    return {g["name"]: g["score"] for g in record["groups"]}


_FORWARD = "    stride, pad = conv_param['stride'], conv_param['pad']\n"


def _borrows_kernels(module):
    """Edits of a student whose conv_forward_naive convolves with the kernels' im2col_nchw."""
    return (
        ("nndl/helpers.py", "",
         "import importlib\n\nimport numpy as np\n\n\ndef convolve(x, w, b, stride, pad):\n"
         f"    kernels = importlib.import_module('utils.' + '{module}')\n"
         "    N, C, H, W = x.shape\n"
         "    F, _, HH, WW = w.shape\n"
         "    H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1\n"
         "    cols = np.empty((N, C * HH * WW, H_out * W_out))\n"
         "    kernels.im2col_nchw(np.ascontiguousarray(x, dtype=float), cols, HH, WW, stride, pad)\n"
         "    out = np.matmul(w.reshape(F, -1), cols) + b[:, None]\n"
         "    return out.reshape(N, F, H_out, W_out)\n"),
        ("nndl/conv_layers.py", _FORWARD,
         _FORWARD + "    from nndl.helpers import convolve\n"
         "    return convolve(x, w, b, stride, pad), (x, w, b, conv_param)\n"))


#: students whose conv_forward_naive returns the fast layer's (correct) result
FAST_LAYER_CHEATS = {
    "uses_fast_layers": (
        ("nndl/conv_layers.py", "import numpy as np\n",
         "import numpy as np\nfrom utils.fast_layers import conv_forward_fast\n"),
        ("nndl/conv_layers.py", _FORWARD,
         _FORWARD + "    return conv_forward_fast(x, w, b, conv_param)[0], (x, w, b, conv_param)\n")),
    "uses_fast_layers_indirectly": (
        ("nndl/helpers.py", "",
         "import importlib\n\n\ndef convolve(*args):\n"
         "    return getattr(importlib.import_module('utils.' + 'fast_layers'),\n"
         "                   'conv_forward_fast')(*args)\n"),
        ("nndl/conv_layers.py", _FORWARD,
         _FORWARD + "    from nndl.helpers import convolve\n"
         "    return convolve(x, w, b, conv_param)[0], (x, w, b, conv_param)\n")),
    # the kernels behind the fast layers, numpy and compiled, through a helper
    "borrows_numpy_kernels": _borrows_kernels("_numpy_kernels"),
    "borrows_compiled_kernels": _borrows_kernels("_kernels"),
}


#: broken forwards: fakes with their exact derivative (no backward credit may come of it)
#: and a stub forward beside a correct backward (whose credit must not be lost)
CONSISTENT_FAKES = {
    "fake_batchnorm": (
        ("nndl/conv_layers.py", "    out, cache = None, None\n    N, C, H, W = x.shape\n",
         "    out = x * gamma[None, :, None, None] + beta[None, :, None, None]\n"
         "    return out, (x, gamma)\n    N, C, H, W = x.shape\n"),
        ("nndl/conv_layers.py", "    dx, dgamma, dbeta = None, None, None\n    bn_cache",
         "    x, gamma = cache\n    return (dout * gamma[None, :, None, None],\n"
         "            (dout * x).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3)))\n"
         "    bn_cache")),
    "forward_stub_only": (
        ("nndl/conv_layers.py", _FORWARD,
         _FORWARD + "    raise NotImplementedError('not done yet')\n"),),
    "fake_conv": (
        ("nndl/conv_layers.py", _FORWARD,
         _FORWARD + "    return np.full((x.shape[0], w.shape[0], 1, 1), x.sum() + w.sum() + b.sum()), "
         "(x, w, b, conv_param)\n"),
        ("nndl/conv_layers.py", "    x, w, b, conv_param = cache\n",
         "    x, w, b, conv_param = cache\n    t = dout.sum()\n"
         "    return np.full(x.shape, t), np.full(w.shape, t), np.full(b.shape, t)\n")),
}


def edit_notebooks(folder):
    """Delete the conv_forward_naive test cell and edit the 'setup' locked cell."""
    import json
    path = folder / "1-ConvLayers.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"] = [c for c in nb["cells"]
                   if c["metadata"].get("nbgrader", {}).get("grade_id") != "conv_forward_naive"]
    for c in nb["cells"]:
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup":
            c["source"] = "print('I changed the setup')\n"
    path.write_text(json.dumps(nb))


def comparable(record):
    """A record without what legitimately differs between runs (times, uids)."""
    return {"status": record["status"], "reason": record["reason"], "total": record["total"],
            "groups": [{"name": g["name"], "score": g["score"], "note": g["note"],
                        "no_credit": g["no_credit"],
                        "cases": [{k: c.get(k) for k in ("index", "status", "message", "value")}
                                  for c in g["cases"]]} for g in record["groups"]]}
