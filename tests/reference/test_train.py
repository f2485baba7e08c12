"""``cnnkit train`` end to end on a tiny data set."""
import json

from cnnkit.grader.cli import main as cli


def test_train_writes_checkpoint_metrics_and_plot(cifar_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    status = cli(["train", "--data", str(cifar_folder), "--out", str(out), "--epochs", "1",
                  "--num-training", "200", "--num-validation", "50", "--num-test", "20"])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"val_acc", "test_acc", "wall_seconds", "seconds_to_65"} <= set(metrics)
    assert 0 <= metrics["val_acc"] <= 1
    assert (out / "model.npz").is_file() and (out / "model.json").is_file()
    assert (out / "training.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "validation accuracy" in printed and "test accuracy" in printed


def test_train_without_data_explains(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "empty"))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    assert cli(["train", "--out", str(tmp_path / "run")]) == 1
    assert "cnnkit data --from PATH" in capsys.readouterr().err
