"""``cnnkit bench`` on tiny shapes: it runs in seconds, with and without PyTorch."""
import importlib.util
import json
import sys

import pytest

from cnnkit.grader.cli import main
from cnnkit.reference.bench import measure as bench
from cnnkit.reference.bench import report

HAS_TORCH = importlib.util.find_spec("torch") is not None

MACHINE_KEYS = {"date", "cpu_model", "cores", "numpy", "torch", "threads", "kernels"}
CASE_KEYS = set(bench.TIMED_KEYS)


def check_result(result, with_torch):
    assert {"machine", "settings", "torch_available", "note", "cases", "naive"} <= set(result)
    assert MACHINE_KEYS <= set(result["machine"])
    assert result["torch_available"] is with_torch
    kinds = [c["kind"] for c in result["cases"]]
    assert kinds.count("conv") == len(bench.TINY_CONV_CASES)
    assert "pool" in kinds and "batchnorm" in kinds
    for case in result["cases"]:
        assert CASE_KEYS <= set(case), case["name"]
        assert case["cnnkit_ms"] > 0
        if with_torch:
            assert case["torch_ms"] > 0
            assert case["ratio"] == pytest.approx(case["cnnkit_ms"] / case["torch_ms"])
        else:
            assert case["torch_ms"] is None and case["ratio"] is None
        if case["kind"] == "conv":
            assert case["gflops"]["cnnkit"] > 0 and case["gflops"]["matmul"] > 0
            assert case["algorithm"] in ("winograd", "im2col", "im2col-nchw")
    assert {r["kind"] for r in result["naive"]} == {"conv", "pool"}
    for row in result["naive"]:
        assert row["naive_ms"] > 0 and row["fast_ms"] > 0 and row["speedup"] > 0


def test_without_torch_reports_cnnkit_only(monkeypatch):
    monkeypatch.setattr(bench, "_import_torch", lambda: None)
    result = bench.run_benchmark(repeats=1, tiny=True)
    check_result(result, with_torch=False)
    assert "pip install torch==2.13.0" in result["note"]
    assert result["machine"]["torch"] is None
    table = report.format_table(result)
    assert "torch missing" in table and "pip install torch==2.13.0" in table
    assert "conv algorithms: conv 3->4 3x3: im2col-nchw; conv 2->3 5x5: im2col-nchw." in table


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_with_torch_times_both():
    result = bench.run_benchmark(repeats=1, tiny=True)
    check_result(result, with_torch=True)
    assert result["note"] is None
    assert result["machine"]["torch"]


def test_command_line_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    args = ["bench", "--tiny", "--repeats", "1", "--json", str(path)]
    if not HAS_TORCH:
        args.append("--no-torch")
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ratio" in printed and str(path) in printed
    result = json.loads(path.read_text())
    check_result(result, with_torch=HAS_TORCH)
    assert result["settings"]["tiny"] is True and result["settings"]["repeats"] == 1


def test_command_line_rejects_bad_repeats(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--repeats", "0"])
    assert exc.value.code == 2
    assert "must be an int >= 1, got '0'" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("threadpoolctl") is None,
                    reason="threadpoolctl is not installed")
def test_threads_option_sets_the_thread_count():
    result = bench.run_benchmark(repeats=1, tiny=True, use_torch=False, threads=1)
    assert result["machine"]["threads"] == 1
    assert result["settings"]["threads_source"] == "--threads"
    assert all(info["num_threads"] == 1 for info in result["machine"]["blas"] or [])


def test_threads_option_needs_threadpoolctl(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(ValueError, match=r"needs threadpoolctl \(pip install threadpoolctl\)"):
        bench.run_benchmark(repeats=1, tiny=True, use_torch=False, threads=1)
    assert main(["bench", "--tiny", "--threads", "1", "--no-torch"]) == 2
    assert "needs threadpoolctl" in capsys.readouterr().err


def test_time_pair_flips_the_order_every_round():
    calls = []
    bench.time_pair(lambda: calls.append("ours"), lambda: calls.append("theirs"), repeats=4)
    timed = calls[4:]                       # after two warm-up rounds
    assert timed == ["ours", "theirs", "theirs", "ours", "ours", "theirs", "theirs", "ours"]


def fake_result(ratios_by_kind):
    return {"cases": [{"name": f"{kind} case", "kind": kind, "cnnkit_ms": 2.0 * ratio,
                       "torch_ms": 2.0, "ratio": ratio}
                      for kind, ratio in ratios_by_kind]}


def test_summary_gives_medians_ranges_and_runs_within_target():
    runs = [fake_result([("conv", r), ("batchnorm", 1.9)]) for r in (1.2, 1.7, 1.4)]
    conv, bn = report.summarize_runs(runs)
    assert conv["runs"] == 3 and conv["ratio"] == pytest.approx(1.4)
    assert (conv["ratio_min"], conv["ratio_max"]) == (1.2, 1.7)
    assert conv["cnnkit_ms"] == pytest.approx(2.8) and conv["torch_ms"] == 2.0
    assert (conv["target"], conv["within_target"]) == (1.5, 2)
    assert (bn["target"], bn["within_target"]) == (2.0, 3)
    table = report.format_summary([conv, bn])
    assert "over 3 runs" in table and "1.20-1.70" in table and "2/3 <=1.5" in table


def test_summary_without_torch_has_no_ratios():
    run = {"cases": [{"name": "pool", "kind": "pool", "cnnkit_ms": 1.0, "torch_ms": None,
                      "ratio": None}]}
    (pool,) = report.summarize_runs([run, run])
    assert pool["ratio"] is None and pool["within_target"] is None
    assert "-" in report.format_summary([pool])
    with pytest.raises(ValueError, match="at least one benchmark result"):
        report.summarize_runs([])


def test_command_line_runs_several_times(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "--tiny", "--repeats", "1", "--runs", "2", "--no-torch",
                 "--json", str(path)]) == 0
    captured = capsys.readouterr()
    assert "over 2 runs" in captured.out and "run 2/2" in captured.err
    result = json.loads(path.read_text())
    assert len(result["runs"]) == 2 and len(result["summary"]) == len(result["runs"][0]["cases"])
    for run in result["runs"]:
        check_result(run, with_torch=False)
