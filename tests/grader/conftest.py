"""Grader fixtures: solution and stub builds (once per session), a fake CIFAR-10 with
a model rigged to a known accuracy, and one graded batch shared by the pipeline tests."""
import dataclasses
import shutil

import pytest

from cnnkit.grader.testbank import groups as testbank
from cnnkit.grader.release.build import build_package
from cnnkit.grader.course import template_source
from cnnkit.grader.demo.mistakes import MISTAKES, apply
from grader_helpers import (CONSISTENT_FAKES, CRASH_ONE_CASE, FAST_LAYER_CHEATS, SECRET,
                            add_rigged_checkpoint, edit_notebooks, write_fake_cifar)


@pytest.fixture(scope="session")
def builds(tmp_path_factory):
    """``{"solution": Path, "stub": Path}``: the source built both ways, once."""
    base = tmp_path_factory.mktemp("builds")
    build_package(template_source(), base / "solution", solutions=True)
    build_package(template_source(), base / "stub", solutions=False)
    return {"solution": base / "solution", "stub": base / "stub"}


@pytest.fixture(scope="session")
def secret_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("secret") / "course.secret"
    path.write_text(SECRET)
    return path


@pytest.fixture(scope="session")
def fake_data(tmp_path_factory):
    """Fake CIFAR-10 with 20 test images; the rigged model gets 100% on all of them."""
    return write_fake_cifar(tmp_path_factory.mktemp("data"), [True] * 20)


@pytest.fixture(scope="session")
def graded_batch(tmp_path_factory, builds, secret_file, fake_data):
    """One batch, graded once: the solution, the stubs, each typical mistake, three that use
    the fast layers or their kernels in conv_forward_naive (directly, and through a helper
    module), one that crashes its process in some cases, and one that runs out of memory in
    one group. Returns ``(BatchResult, root)``."""
    from cnnkit.grader.api import grade_submissions
    root = tmp_path_factory.mktemp("batch")
    subs = root / "submissions"
    shutil.copytree(builds["solution"], subs / "correct")
    add_rigged_checkpoint(subs / "correct")
    shutil.copytree(builds["stub"], subs / "stub")
    for m in MISTAKES:
        shutil.copytree(subs / "correct", subs / m.name)
        apply(subs / m.name, m)
    for name, edits in {**FAST_LAYER_CHEATS, **CONSISTENT_FAKES}.items():
        shutil.copytree(subs / "correct", subs / name)
        for path, old, new in edits:
            text = (subs / name / path).read_text() if (subs / name / path).exists() else ""
            assert old in text, (name, path, old)
            (subs / name / path).write_text(text.replace(old, new, 1))
    shutil.copytree(subs / "correct", subs / "edited_notebook")
    edit_notebooks(subs / "edited_notebook")
    shutil.copytree(subs / "correct", subs / "crash_one_case")
    path = subs / "crash_one_case" / "nndl" / "conv_layers.py"
    path.write_text(path.read_text().replace(*CRASH_ONE_CASE, 1))
    shutil.copytree(subs / "correct", subs / "out_of_memory")
    path = subs / "out_of_memory" / "nndl" / "conv_layers.py"
    signature = "def spatial_batchnorm_forward(x, gamma, beta, bn_param):\n"
    assert signature in path.read_text()
    path.write_text(path.read_text().replace(signature, signature + "    raise MemoryError()\n", 1))
    result = grade_submissions(subs, root / "out", workers=2, timeout=30, secret=secret_file,
                               data=fake_data, heldout=20)
    return result, root


@pytest.fixture(autouse=True)
def _no_user_data(monkeypatch, tmp_path):
    """Tests never pick up a real CIFAR-10 copy or course secret from the environment."""
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    monkeypatch.setenv("CNNKIT_SECRET", str(tmp_path / "default.secret"))


@pytest.fixture
def tiny(monkeypatch):
    """An assignment with only conv_forward_naive (2 cases), registered as 'tiny'."""
    group = dataclasses.replace(testbank.CNN.group("conv_forward_naive"), n_cases=2)
    tiny = dataclasses.replace(testbank.CNN, name="tiny", groups=(group,))
    monkeypatch.setitem(testbank.ASSIGNMENTS, "tiny", tiny)
    return tiny
