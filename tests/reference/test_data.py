"""CIFAR-10 loading from small archives and folders the tests build themselves."""
import pickle

import numpy as np
import pytest

from cnnkit import reference as R
from cnnkit.grader.cli import main as cli


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)


def test_loads_folder_as_float32_splits(cifar_folder):
    data = R.get_CIFAR10_data(num_training=200, num_validation=50, num_test=20, root=cifar_folder)
    assert data["X_train"].shape == (200, 3, 32, 32)
    assert data["X_val"].shape == (50, 3, 32, 32)
    assert data["X_test"].shape == (20, 3, 32, 32)
    assert all(data[k].dtype == np.float32 for k in ("X_train", "X_val", "X_test"))
    assert data["y_train"].dtype == np.int64
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0, atol=1e-3)


def test_images_keep_channel_layout(cifar_folder):
    X_train, y_train, _, _ = R.load_CIFAR10(cifar_folder)
    raw = pickle.loads((cifar_folder / "data_batch_1").read_bytes(), encoding="latin1")
    np.testing.assert_array_equal(X_train[0, 0].ravel(), raw["data"][0, :1024])
    np.testing.assert_array_equal(X_train[0, 2].ravel(), raw["data"][0, 2048:])
    assert y_train[:50].tolist() == raw["labels"]


def test_archive_is_extracted_once_into_cache(cifar_archive, tmp_path):
    data = R.get_CIFAR10_data(100, 10, 5, subtract_mean=False, root=cifar_archive)
    assert (tmp_path / "cache" / "cifar-10-batches-py" / "test_batch").is_file()
    assert data["X_train"].max() <= 255


def test_environment_variable_and_command(cifar_archive, tmp_path, monkeypatch, capsys):
    assert cli(["data", "--from", str(cifar_archive)]) == 0
    assert "CIFAR-10 is ready in" in capsys.readouterr().out
    data = R.get_CIFAR10_data(10, 10, 10)  # found in the cache
    assert data["X_train"].shape[0] == 10


def test_missing_data_says_what_to_do(tmp_path, capsys):
    with pytest.raises(R.DataError, match=r"CIFAR-10 was not found at .*`cnnkit data --from PATH`"):
        R.get_CIFAR10_data(root=tmp_path / "nowhere.tar.gz")
    assert cli(["data", "--from", str(tmp_path / "nowhere")]) == 1
    assert "cnnkit data: CIFAR-10 was not found" in capsys.readouterr().err


def test_corrupt_archive_is_reported(tmp_path):
    bad = tmp_path / "cifar-10-python.tar.gz"
    bad.write_bytes(b"not a tar file at all")
    with pytest.raises(R.DataError, match=r"cifar-10-python.tar.gz is corrupt or not a tar archive"):
        R.get_CIFAR10_data(root=bad)


def test_wrong_archive_contents_are_reported(tmp_path):
    import tarfile
    other = tmp_path / "other.txt"
    other.write_text("hello")
    archive = tmp_path / "wrong.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(other, arcname="other.txt")
    with pytest.raises(R.DataError, match=r"not a CIFAR-10 python-version archive"):
        R.get_CIFAR10_data(root=archive)


def test_batches_with_foreign_objects_are_refused(cifar_folder):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    (cifar_folder / "test_batch").write_bytes(pickle.dumps({"data": Evil(), "labels": []}))
    with pytest.raises(R.DataError, match=r"unexpected object builtins.print"):
        R.load_CIFAR10(cifar_folder)


def test_too_many_images_requested(cifar_folder):
    with pytest.raises(ValueError, match=r"asked for 250 training \+ 1 validation"):
        R.get_CIFAR10_data(num_training=250, num_validation=1, root=cifar_folder)


def test_integer_dtype_refused(cifar_folder):
    with pytest.raises(TypeError, match="dtype must be a float type"):
        R.get_CIFAR10_data(10, 10, 10, dtype=np.uint8, root=cifar_folder)


def test_download_checks_md5(tmp_path, cifar_archive):
    url = cifar_archive.as_uri()
    with pytest.raises(R.DataError, match=r"downloaded archive has md5 .*, expected 0+"):
        R.fetch_cifar10(dest=tmp_path / "dl", url=url, md5="0" * 32)
    import hashlib
    md5 = hashlib.md5(cifar_archive.read_bytes()).hexdigest()
    folder = R.fetch_cifar10(dest=tmp_path / "dl", url=url, md5=md5)
    assert (folder / "data_batch_1").is_file()
