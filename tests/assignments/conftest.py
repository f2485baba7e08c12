"""Fixtures for the assignment tests: fake CIFAR-10, small mode, built copies of the cnn course."""
import os
import shutil

import pytest

from cnn_course import SOURCE, execute_notebook, write_fake_cifar10
from cnnkit.grader.release.build import build_package, sync_derived


@pytest.fixture(scope="session")
def fake_cifar(tmp_path_factory):
    return write_fake_cifar10(tmp_path_factory.mktemp("data") / "cifar-10-python.tar.gz")


@pytest.fixture
def small_mode(fake_cifar, tmp_path, monkeypatch):
    """Environment for running notebooks: small mode, fake data, private cache, one BLAS thread."""
    monkeypatch.setenv("CNNKIT_SMALL", "1")
    monkeypatch.setenv("CNNKIT_DATA", str(fake_cifar))
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # One BLAS thread: on a loaded 2-core machine OpenBLAS's threads make the notebooks'
    # small matrix products up to 18x slower (measured: 9.6 ms vs 0.5 ms for 10x2048x100).
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return dict(os.environ)


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """The student release of the cnn source: ``(folder, ReleaseReport)``."""
    out = tmp_path_factory.mktemp("release") / "cnn"
    return out, build_package(SOURCE, out, solutions=False)


@pytest.fixture(scope="session")
def synced_source(tmp_path_factory):
    """A copy of the cnn source with its derived files written in (the instructor's view)."""
    copy = tmp_path_factory.mktemp("source") / "cnn"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns(
        "__pycache__", "*.so", "*.c", "checkpoints", ".ipynb_checkpoints"))
    sync_derived(copy)
    return copy


@pytest.fixture
def execute():
    return execute_notebook
