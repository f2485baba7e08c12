"""cifar10_accuracy: the student's checkpoint and model code run in the sandbox, the parent
scores the predicted labels; partial credit below 65%; no data is an error, not a crash."""
import dataclasses

import numpy as np
import pytest

from cnnkit.grader.testbank import groups as testbank
from cnnkit.grader.api import grade_submissions
from grader_helpers import add_rigged_checkpoint, write_fake_cifar


@pytest.fixture
def accuracy_only(monkeypatch):
    group = testbank.CNN.group("cifar10_accuracy")
    only = dataclasses.replace(testbank.CNN, name="acc", groups=(group,))
    monkeypatch.setitem(testbank.ASSIGNMENTS, "acc", only)
    return only


def student(tmp_path, name="dana"):
    folder = tmp_path / "subs" / name
    (folder / "nndl").mkdir(parents=True)
    add_rigged_checkpoint(folder)
    return folder


def accuracy_case(result):
    return result.records[0]["groups"][0]


@pytest.mark.parametrize("n_right, points", [(20, 20.0), (14, 20.0), (10, 14.55), (1, 0.0)])
def test_accuracy_is_scored_by_the_parent(accuracy_only, tmp_path, secret_file, n_right, points):
    student(tmp_path)
    data = write_fake_cifar(tmp_path / "data", [True] * n_right + [False] * (20 - n_right))
    result = grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="acc",
                               secret=secret_file, data=data, heldout=20)
    group = accuracy_case(result)
    assert group["score"] == points
    case = group["cases"][0]
    assert case["value"] == n_right / 20
    assert f"accuracy {n_right / 20:.1%} on 20 held-out CIFAR-10 test images" in case["message"]
    assert case["status"] == ("passed" if n_right / 20 >= 0.65 else "failed")


def test_heldout_images_are_the_last_of_the_test_batch(accuracy_only, tmp_path, secret_file):
    student(tmp_path)
    data = write_fake_cifar(tmp_path / "data", [False] * 10 + [True] * 10)
    result = grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="acc",
                               secret=secret_file, data=data, heldout=10)
    assert accuracy_case(result)["cases"][0]["value"] == 1.0


def test_no_data_is_an_error_with_a_clear_message(accuracy_only, tmp_path, secret_file):
    student(tmp_path)
    result = grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="acc",
                               secret=secret_file, data=tmp_path / "nowhere")
    case = accuracy_case(result)["cases"][0]
    assert case["status"] == "error"
    assert "cannot measure accuracy: no CIFAR-10 data for the accuracy test" in case["message"]
    assert "no CIFAR-10 data" in result.summary["heldout"]


def test_missing_checkpoint_says_how_to_save_one(accuracy_only, tmp_path, secret_file):
    folder = student(tmp_path)
    (folder / "checkpoints" / "challenge.npz").unlink()
    data = write_fake_cifar(tmp_path / "data", [True] * 20)
    result = grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="acc",
                               secret=secret_file, data=data, heldout=20)
    message = accuracy_case(result)["cases"][0]["message"]
    assert "no challenge checkpoint found: expected checkpoints/challenge.npz + " in message
    assert "save_checkpoint(path, model, spec)" in message


def test_pickled_checkpoint_is_refused_inside_the_sandbox(accuracy_only, tmp_path, secret_file):
    folder = student(tmp_path)
    np.savez(folder / "checkpoints" / "challenge.npz", W=np.array([object()], dtype=object))
    data = write_fake_cifar(tmp_path / "data", [True] * 20)
    result = grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="acc",
                               secret=secret_file, data=data, heldout=20)
    case = accuracy_case(result)["cases"][0]
    assert case["status"] == "error" and "allow_pickle=False" in case["message"]


def test_labels_never_enter_the_sandbox(accuracy_only, tmp_path, secret_file, monkeypatch):
    from cnnkit.grader.run import step as execute
    folder = student(tmp_path)
    data = write_fake_cifar(tmp_path / "data", [True] * 20)
    seen = {}
    real_stage = execute.stage

    def spy(ctx, submission, cases, base):
        workdir = real_stage(ctx, submission, cases, base)
        seen["files"] = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
        seen["images"] = np.load(workdir / "heldout.npy", allow_pickle=False)
        seen["inputs"] = [np.load(p).files for p in (workdir / "inputs").iterdir()]
        seen["labels"] = ctx.heldout.labels
        return workdir
    monkeypatch.setattr(execute, "stage", spy)
    grade_submissions(folder.parent, tmp_path / "out", assignment="acc", secret=secret_file,
                      data=data, heldout=20)
    assert seen["images"].shape == (20, 3, 32, 32) and seen["images"].dtype == np.float32
    assert seen["inputs"] == [[]]
    assert seen["files"] == ["checkpoint.json", "checkpoint.npz", "harness.py", "heldout.npy",
                             "inputs", "inputs/cifar10_accuracy.000.npz", "nndl",
                             "nndl/rigged.py"]
    assert len(seen["labels"]) == 20  # the labels stayed with the parent
