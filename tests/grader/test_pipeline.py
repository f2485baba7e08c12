"""End to end: the solutions score full marks, the stubs zero, each typical mistake
loses points in its own group only, and a crashing case costs only itself."""
import csv
import json

import pytest

from cnnkit.grader.demo.mistakes import MISTAKES
from cnnkit.grader.testbank import CNN

from grader_helpers import SECRET, by_id, scores


def test_solution_scores_full_marks(graded_batch):
    record = by_id(graded_batch[0])["correct"]
    assert record["status"] == "graded"
    assert record["total"] == CNN.max_total == 100
    for g in record["groups"]:
        assert g["score"] == g["max_score"], g
        assert all(c["status"] == "passed" for c in g["cases"]), g


def test_stubs_score_zero_with_not_implemented_messages(graded_batch):
    record = by_id(graded_batch[0])["stub"]
    assert record["total"] == 0
    for g in record["groups"]:
        if g["name"] == "cifar10_accuracy":
            assert "no challenge checkpoint found" in g["cases"][0]["message"]
            continue
        assert all(c["status"] == "error" for c in g["cases"]), g
        assert all("NotImplementedError" in c["message"] for c in g["cases"]), g


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
def test_each_typical_mistake_loses_points_in_its_group_only(graded_batch, mistake):
    got = scores(by_id(graded_batch[0])[mistake.name])
    full = {g.name: g.points for g in CNN.groups}
    assert got[mistake.group] < full[mistake.group]
    assert {k: v for k, v in got.items() if k != mistake.group} == \
           {k: v for k, v in full.items() if k != mistake.group}


def test_mistake_messages_name_case_index_expected_and_got(graded_batch):
    groups = {g["name"]: g for g in by_id(graded_batch[0])["wrong_padding"]["groups"]}
    failed = [c for c in groups["conv_forward_naive"]["cases"] if c["status"] == "failed"]
    assert failed
    msg = failed[0]["message"]
    assert msg.startswith(f"case {failed[0]['index']} (x (")
    assert "conv_param {'stride'" in msg and "expected" in msg and "out[" in msg
    reg = {g["name"]: g for g in by_id(graded_batch[0])["reg_missing_W2"]["groups"]}
    text = " ".join(c["message"] for c in reg["three_layer_convnet"]["cases"])
    assert "0.5*reg*sum(W**2)" in text


def test_backward_keeps_credit_when_it_is_the_derivative_of_a_wrong_forward(graded_batch):
    groups = {g["name"]: g for g in by_id(graded_batch[0])["batchnorm_wrong_axes"]["groups"]}
    notes = [c["message"] for c in groups["spatial_batchnorm_backward"]["cases"] if c["message"]]
    assert any("correct derivative of your forward" in m for m in notes)


def test_a_crashing_case_costs_only_that_case(graded_batch):
    record = by_id(graded_batch[0])["crash_one_case"]
    groups = {g["name"]: g for g in record["groups"]}
    cases = groups["max_pool_forward_naive"]["cases"]
    statuses = {c["status"] for c in cases}
    assert statuses == {"passed", "crashed"}
    crashed = [c for c in cases if c["status"] == "crashed"]
    assert all("exit status 3" in c["message"] for c in crashed)
    assert groups["conv_forward_naive"]["score"] == groups["conv_forward_naive"]["max_score"]


def test_running_out_of_memory_is_an_oom_status_in_that_group_only(graded_batch):
    record = by_id(graded_batch[0])["out_of_memory"]
    groups = {g["name"]: g for g in record["groups"]}
    cases = groups["spatial_batchnorm_forward"]["cases"]
    assert {c["status"] for c in cases} == {"oom"}
    assert all("ran out of memory" in c["message"] for c in cases)
    assert groups["conv_forward_naive"]["score"] == groups["conv_forward_naive"]["max_score"]


def test_batch_files(graded_batch):
    result, root = graded_batch
    out = root / "out"
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert [r["student_id"] for r in rows] == sorted(by_id(result))
    assert list(rows[0]) == (["student_id"] + [g.name for g in CNN.groups]
                             + ["total", "max_total", "status", "reason"])
    correct = next(r for r in rows if r["student_id"] == "correct")
    assert correct["total"] == "100" and correct["status"] == "graded"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["students"] == len(rows)
    assert summary["students_by_status"] == {"graded": len(rows)}
    assert {"passed", "failed", "error", "crashed"} <= set(summary["cases_by_status"])
    assert summary["secret_fingerprint"].startswith("sha256:")
    assert summary["isolation"]
    assert summary["timing"]["submissions_per_minute"] > 0


def test_student_files_gradescope_and_feedback(graded_batch):
    out = graded_batch[1] / "out"
    results = json.loads((out / "wrong_padding" / "results.json").read_text())
    assert results["score"] == 100 - 10 + scores(by_id(graded_batch[0])["wrong_padding"])[
        "conv_forward_naive"]
    assert [t["name"] for t in results["tests"]] == [g.name for g in CNN.groups]
    for t in results["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed")
    page = (out / "wrong_padding" / "feedback.html").read_text()
    assert "conv_forward_naive" in page and "failed" in page and "expected" in page


def test_outputs_never_contain_the_secret(graded_batch):
    out = graded_batch[1] / "out"
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.strip() not in path.read_text(errors="replace"), path


@pytest.mark.parametrize("student, called", [
    ("uses_fast_layers", "utils.fast_layers.conv_forward_fast"),
    ("uses_fast_layers_indirectly", "utils.fast_layers.conv_forward_fast"),
    ("borrows_numpy_kernels", "utils._numpy_kernels.im2col_nchw"),
    ("borrows_compiled_kernels", "utils._kernels.im2col_nchw")])
def test_naive_function_using_the_fast_layers_gets_no_credit_and_is_told_why(
        graded_batch, student, called):
    record = by_id(graded_batch[0])[student]
    groups = {g["name"]: g for g in record["groups"]}
    conv = groups["conv_forward_naive"]
    assert all(c["status"] == "passed" for c in conv["cases"])  # right values...
    assert conv["score"] == 0 and conv["no_credit"]              # ...but no credit
    assert conv["note"].startswith("no credit for conv_forward_naive: a naive function must "
                                   "compute its result with its own loops")
    assert f"called {called} while being tested" in conv["note"]
    assert record["total"] == CNN.max_total - conv["max_score"]
    page = (graded_batch[1] / "out" / student / "feedback.html").read_text()
    assert "no credit for conv_forward_naive" in page


@pytest.mark.parametrize("student, forward, backward", [
    ("fake_conv", "conv_forward_naive", "conv_backward_naive"),
    ("fake_batchnorm", "spatial_batchnorm_forward", "spatial_batchnorm_backward")])
def test_a_fake_forward_with_its_exact_derivative_earns_nothing(graded_batch, student, forward,
                                                               backward):
    got = scores(by_id(graded_batch[0])[student])
    assert got[forward] == 0 and got[backward] == 0
    full = {g.name: g.points for g in CNN.groups}
    assert {k: v for k, v in got.items() if k not in (forward, backward)} == \
           {k: v for k, v in full.items() if k not in (forward, backward)}


def test_edited_notebook_cells_are_reported_against_the_instructors_copies(graded_batch):
    record = by_id(graded_batch[0])["edited_notebook"]
    assert record["total"] == CNN.max_total  # notebook cells earn nothing here either way
    assert record["notebook_edits"] == [
        {"notebook": "1-ConvLayers.ipynb", "grade_id": "setup", "problem": "cell edited"},
        {"notebook": "1-ConvLayers.ipynb", "grade_id": "conv_forward_naive",
         "problem": "cell deleted (or its nbgrader metadata removed)"}]
    assert by_id(graded_batch[0])["correct"]["notebook_edits"] == []
    results = json.loads((graded_batch[1] / "out" / "edited_notebook" / "results.json")
                         .read_text())
    assert "1-ConvLayers.ipynb cell 'conv_forward_naive': cell deleted" in results["output"]


def test_conv_backward_is_graded_even_when_the_forward_is_a_stub(graded_batch):
    got = scores(by_id(graded_batch[0])["forward_stub_only"])
    assert got["conv_forward_naive"] == 0
    assert got["conv_backward_naive"] == CNN.group("conv_backward_naive").points
