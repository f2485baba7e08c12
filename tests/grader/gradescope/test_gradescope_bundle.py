"""The zip's layout and scripts, with the wheelhouse stubbed (the real one: test_gradescope_zip)."""
import json
import os
import subprocess
import zipfile

import pytest

from cnnkit.grader.errors import GraderUsageError
from cnnkit.grader.gradescope import bundle, scripts
from grader_helpers import SECRET, write_fake_cifar


@pytest.fixture
def stub_wheelhouse(monkeypatch):
    def build(dest, python=None):
        dest.mkdir(parents=True)
        (dest / "cnnkit-0.1.0-cp310-cp310-linux_x86_64.whl").write_bytes(b"wheel")
        (dest / "grader.txt").write_text("cnnkit==0.1.0\n")
        (dest / "student.txt").write_text("numpy==2.2.6\n")
        return "stub wheelhouse"
    monkeypatch.setattr(bundle, "build_wheelhouse", build)
    # building the release for its notebook cells is the slow test's business
    monkeypatch.setattr(bundle, "notebook_cells", lambda course, name: ({"a.ipynb": {}}, "cells"))


def test_zip_layout_modes_and_private_files(tmp_path, stub_wheelhouse):
    secret = tmp_path / "course.secret"
    secret.write_text(SECRET)
    data = write_fake_cifar(tmp_path / "data", [True] * 20)
    made = bundle.build_autograder(tmp_path / "out" / "autograder.zip", secret=secret,
                                   heldout=20, data=data, say=lambda t: None)
    with zipfile.ZipFile(made.path) as z:
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        config = json.loads(z.read("cnnkit-autograder.json"))
        labels = json.loads(z.read("private/heldout-labels.json"))
        assert z.read("private/course.secret").decode().strip() == SECRET.strip()
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith("private/"))
    assert set(modes) >= {"wheelhouse/grader.txt", "wheelhouse/student.txt",
                          "private/heldout-images.npy", "private/notebook-cells.json"}
    assert len(labels) == 20 and config["heldout"]["count"] == 20
    assert config["secret_fingerprint"] == made.secret_fingerprint
    assert config["hidden_details"] == "after_due_date" and config["python"] == "3.10"
    assert "stub wheelhouse" in config["notes"]
    assert not (tmp_path / "out" / ".autograder.zip.partial").exists()
    assert made.path.stat().st_mode & 0o077 == 0  # it holds the secret


def test_bad_settings_are_refused_before_any_work(tmp_path, stub_wheelhouse):
    with pytest.raises(GraderUsageError, match="must end in .zip"):
        bundle.build_autograder(tmp_path / "autograder.tar")
    with pytest.raises(GraderUsageError, match="visibility must be one of"):
        bundle.build_autograder(tmp_path / "a.zip", details="soon")
    with pytest.raises(GraderUsageError, match="heldout must be from 10 to 10000"):
        bundle.build_autograder(tmp_path / "a.zip", heldout=5)


def test_a_course_without_the_assignment_is_named(tmp_path):
    with pytest.raises(GraderUsageError, match="has no assignment 'cnn'"):
        bundle.notebook_cells(tmp_path, "cnn")


def test_scripts_are_bash_with_unix_line_endings():
    setup = scripts.render(scripts.SETUP_SH, target_python="3.10", sandbox_user="u")
    for text in (setup, scripts.RUN_AUTOGRADER):
        assert text.startswith("#!/usr/bin/env bash\n") and "\r" not in text
        assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
    assert 'TARGET="3.10"' in setup and "--no-index" in setup
    with pytest.raises(ValueError, match="placeholders left unfilled: @SANDBOX_USER@"):
        scripts.render(scripts.SETUP_SH, target_python="3.10")


def test_run_autograder_writes_results_even_when_cnnkit_cannot_start(tmp_path):
    script = tmp_path / "run_autograder"
    script.write_text(scripts.RUN_AUTOGRADER)
    done = subprocess.run(["bash", str(script)], env={"AUTOGRADER_ROOT": str(tmp_path),
                                                      "PATH": os.environ["PATH"]},
                          capture_output=True, text=True)
    assert done.returncode == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0.0 and results["extra_data"]["status"] == "grader_error"
    assert "not in your code" in results["output"]
    assert "exit status 127" in results["tests"][0]["output"]
