"""CIFAR-10 in the official "python version" layout (``cifar-10-batches-py/``).

Where the data comes from, in order: the ``root`` argument, the ``CNNKIT_DATA``
environment variable, then ``~/.cache/cnnkit``. Each may be the batches folder,
a folder holding it, or an archive (``.tar.gz`` or ``.tar.xz``), which is
extracted once into the cache folder. :func:`fetch_cifar10` downloads the
official archive and checks its md5.
"""
import hashlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
BATCHES = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILE = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")


class DataError(ValueError):
    """The CIFAR-10 data is missing, corrupt or not in the expected layout."""


def cache_dir():
    """Folder where archives are extracted: ``$CNNKIT_CACHE`` or ``~/.cache/cnnkit``."""
    return Path(os.environ.get("CNNKIT_CACHE", Path.home() / ".cache" / "cnnkit"))


def _how_to_get_it(where):
    return (f"CIFAR-10 was not found at {where}. Set CNNKIT_DATA=PATH (or pass "
            "root=PATH) to the archive cifar-10-python.tar.gz/.tar.xz or an extracted "
            f"cifar-10-batches-py folder; to get it, download {URL} (md5 {MD5}). "
            "With the cnnkit command installed, `cnnkit data` downloads and checks it, "
            "and `cnnkit data --from PATH` installs a local copy.")


def find_cifar10(root=None):
    """Return the path of the ``cifar-10-batches-py`` folder, extracting if needed.

    Raises DataError with instructions when nothing usable is found.
    """
    candidates = [root] if root is not None else [os.environ.get("CNNKIT_DATA"), cache_dir()]
    for candidate in candidates:
        if candidate is None:
            continue
        path = Path(candidate).expanduser()
        if path.is_file():
            return extract_archive(path, cache_dir())
        for folder in (path, path / BATCHES):
            if (folder / TEST_FILE).is_file():
                return folder
        if root is not None and path.exists():
            raise DataError(f"{path} holds no {BATCHES}/{TEST_FILE}: it is not a CIFAR-10 "
                            "python-version folder or archive")
    where = root if root is not None else " or ".join(str(c) for c in candidates if c)
    raise DataError(_how_to_get_it(where))


def extract_archive(archive, dest):
    """Extract a CIFAR-10 archive into ``dest``; return the batches folder.

    Extraction goes to a temporary folder first, so an interrupted run leaves
    nothing half-written. Only the expected files are extracted.
    """
    archive, dest = Path(archive), Path(dest)
    target = dest / BATCHES
    if (target / TEST_FILE).is_file():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {f"{BATCHES}/{name}" for name in TRAIN_FILES + [TEST_FILE, "batches.meta"]}
    try:
        with tarfile.open(archive, "r:*") as tar, tempfile.TemporaryDirectory(dir=dest) as tmp:
            members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
            if len(members) < len(TRAIN_FILES) + 1:
                found = sorted(m.name for m in members)
                raise DataError(f"{archive} is not a CIFAR-10 python-version archive: "
                                f"expected {BATCHES}/data_batch_1..5 and test_batch, found {found}")
            tar.extractall(tmp, members=members, filter="data")
            os.replace(Path(tmp) / BATCHES, target)
    except (tarfile.TarError, EOFError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise DataError(_how_to_get_it(archive)) from err
        raise DataError(f"{archive} is corrupt or not a tar archive ({err}); "
                        "download it again or use another copy") from err
    return target


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batch dicts and nothing else (no arbitrary code)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR-10 batch")


def load_batch(path):
    """Load one batch file: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32)
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError, TypeError) as err:
        raise DataError(f"{path} is corrupt or not a CIFAR-10 batch ({err})") from err
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{path}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def load_CIFAR10(root=None):
    """Load all of CIFAR-10 as uint8: ``X_train (50000, 3, 32, 32), y_train, X_test, y_test``.

    Smaller batch files (as tests build them) are fine.
    """
    folder = find_cifar10(root)
    parts = [load_batch(folder / name) for name in TRAIN_FILES if (folder / name).is_file()]
    if not parts:
        raise DataError(f"{folder} has no data_batch_* files")
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    X_test, y_test = load_batch(folder / TEST_FILE)
    return X_train, y_train, X_test, y_test


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000,
                     subtract_mean=True, dtype=np.float32, root=None):
    """CIFAR-10 split for training: a dict of (N, 3, 32, 32) arrays and (N,) labels.

    Keys ``X_train, y_train, X_val, y_val, X_test, y_test``. Validation images
    are the ``num_validation`` training images after the first ``num_training``.
    With ``subtract_mean`` the mean training image is subtracted from every
    split. Images are held as ``dtype`` (float32: 0.6 GB for all of it).
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a float type such as np.float32, got {dtype}")
    X_train, y_train, X_test, y_test = load_CIFAR10(root)
    if num_training + num_validation > X_train.shape[0] or num_test > X_test.shape[0]:
        raise ValueError(
            f"asked for {num_training} training + {num_validation} validation and {num_test} "
            f"test images, but the data holds {X_train.shape[0]} and {X_test.shape[0]}")
    splits = {
        "X_train": X_train[:num_training], "y_train": y_train[:num_training],
        "X_val": X_train[num_training:num_training + num_validation],
        "y_val": y_train[num_training:num_training + num_validation],
        "X_test": X_test[:num_test], "y_test": y_test[:num_test],
    }
    for key in ("X_train", "X_val", "X_test"):
        splits[key] = splits[key].astype(dtype)
    if subtract_mean:
        mean = splits["X_train"].mean(axis=0, dtype=np.float64).astype(dtype)
        for key in ("X_train", "X_val", "X_test"):
            splits[key] -= mean
    return splits


def fetch_cifar10(source=None, dest=None, url=URL, md5=MD5):
    """Make CIFAR-10 available in ``dest`` (default: the cache folder).

    ``source`` is a local archive or folder; without it the official archive is
    downloaded from ``url`` and its md5 checked. Returns the batches folder.
    """
    dest = Path(dest) if dest is not None else cache_dir()
    if source is not None:
        source = Path(source).expanduser()
        if not source.exists():
            raise DataError(_how_to_get_it(source))
        if source.is_file():
            return extract_archive(source, dest)
        folder = find_cifar10(source)
        target = dest / BATCHES
        if folder.resolve() != target.resolve():
            shutil.copytree(folder, target, dirs_exist_ok=True)
        return target
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "cifar-10-python.tar.gz"
    partial = archive.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise DataError(f"could not download {url} ({err}). If this machine is offline, "
                        "copy the archive here and use it with root=PATH or CNNKIT_DATA=PATH "
                        "(`cnnkit data --from PATH` with the cnnkit command)") from err
    digest = hashlib.md5(partial.read_bytes()).hexdigest()
    if digest != md5:
        partial.unlink()
        raise DataError(f"downloaded archive has md5 {digest}, expected {md5}: "
                        "the download is corrupt; download it again")
    os.replace(partial, archive)
    return extract_archive(archive, dest)
