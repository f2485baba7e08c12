"""results.json in Gradescope's format, and the runner's promise: always a results.json."""
import json

import pytest

from cnnkit.grader.gradescope import results as gs
from cnnkit.grader.gradescope import runner

FACTS = {"cnnkit_version": "0.1.0", "secret_fingerprint": "sha256:abc", "isolation":
         "confined: ...", "isolation_gaps": ["processes: no PID namespace"]}


def record(**overrides):
    groups = [
        {"name": "conv_forward_naive", "score": 5.0, "max_score": 10, "note": "", "cases": [
            {"index": 0, "status": "passed", "message": ""},
            {"index": 1, "status": "failed",
             "message": "case 1 (stride 2, pad 1): out[0, 1]: expected 0.5, got 0.25"},
            {"index": 2, "status": "error", "message": "case 2: NameError: name 'x' is not "
                                                       "defined (nndl/conv_layers.py line 40)"}]},
        {"name": "cifar10_accuracy", "score": 8.0, "max_score": 20, "note": "", "cases": [
            {"index": 0, "status": "failed", "value": 0.32,
             "message": "case 0 (held-out): accuracy 32.0% on 1000 held-out images"}]}]
    base = {"student_id": "submission", "status": "graded", "reason": "", "total": 13.0,
            "max_total": 30, "groups": groups, "seconds": 12.345, "notebook_edits": [],
            "isolation": "confined: ..."}
    base.update(overrides)
    return base


def test_one_visible_test_per_group_and_details_after_the_due_date():
    out = gs.from_record(record(), FACTS)
    names = [t["name"] for t in out["tests"]]
    assert names == ["conv_forward_naive", "cifar10_accuracy",
                     "conv_forward_naive: hidden case details",
                     "cifar10_accuracy: hidden case details", "grader (instructors only)"]
    conv = out["tests"][0]
    assert (conv["score"], conv["max_score"], conv["status"], conv["visibility"]) == (
        5.0, 10, "failed", "visible")
    assert "1 of 3 hidden cases passed." in conv["output"]
    assert "NameError: name 'x' is not defined" in conv["output"]   # actionable
    assert "expected 0.5" not in conv["output"]                      # hidden values
    detail = out["tests"][2]
    assert detail["visibility"] == "after_due_date" and "expected 0.5" in detail["output"]
    assert detail["max_score"] == 0 and detail["status"] == "failed"
    assert "accuracy 32.0%" in out["tests"][1]["output"]
    hidden = out["tests"][-1]
    assert hidden["visibility"] == "hidden" and "processes: no PID namespace" in hidden["output"]
    assert out["score"] == 13.0 and out["execution_time"] == 12.3
    assert out["leaderboard"] == [{"name": gs.LEADERBOARD, "value": 32.0}]
    assert out["extra_data"]["secret_fingerprint"] == "sha256:abc"
    assert out["extra_data"]["isolation_gaps"] == FACTS["isolation_gaps"]
    json.dumps(out)


def test_details_visibility_is_configurable_and_checked():
    out = gs.from_record(record(), FACTS, details="visible")
    assert out["tests"][2]["visibility"] == "visible"
    with pytest.raises(ValueError, match="visibility must be one of visible, hidden, "
                                         "after_due_date, after_published, got 'later'"):
        gs.from_record(record(), FACTS, details="later")


def test_ungradable_record_says_why_at_the_top():
    out = gs.from_record(record(status="ungradable", reason="no nndl/ folder", total=0.0),
                         FACTS)
    assert out["output"] == "Not graded: no nndl/ folder"
    assert out["extra_data"]["status"] == "ungradable"


def test_grader_failure_scores_zero_and_tells_the_instructor():
    out = gs.grader_failure("RuntimeError: boom", "Traceback ...", FACTS, 3.0)
    assert out["score"] == 0.0 and "not in your code" in out["output"]
    assert out["tests"][0]["visibility"] == "hidden"
    assert "grader error: RuntimeError: boom\nTraceback ..." in out["tests"][0]["output"]
    assert out["extra_data"]["status"] == "grader_error"


def test_runner_writes_results_even_when_the_autograder_is_broken(tmp_path, capsys):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text('{"score": 1000}')  # planted
    out = runner.run_autograder(tmp_path)  # no source/, no config
    written = json.loads((tmp_path / "results" / "results.json").read_text())
    assert written == out and written["score"] == 0.0
    assert written["extra_data"]["status"] == "grader_error"
    assert "FileNotFoundError" in written["extra_data"]["error"]
    assert "grader error: FileNotFoundError" in capsys.readouterr().out


def test_runner_reports_a_failed_sandbox_self_test(tmp_path, monkeypatch):
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / runner.CONFIG).write_text(json.dumps(
        {"assignment": "cnn", "secret_fingerprint": "sha256:abc", "heldout": {"source": "x"}}))
    monkeypatch.setattr(runner, "startup_check", lambda layout, config: runner.SelfTest(
        False, "rlimits only: ...", [], "[sandbox] cannot run python: Permission denied"))
    out = runner.run_autograder(tmp_path)
    assert out["score"] == 0.0 and out["extra_data"]["status"] == "grader_error"
    assert "sandbox self-test failed" in out["extra_data"]["error"]
    assert "Permission denied" in out["tests"][0]["output"]
