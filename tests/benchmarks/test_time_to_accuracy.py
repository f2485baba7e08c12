"""The PyTorch side of the time-to-accuracy benchmark, on a tiny recipe and tiny data."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cnnkit.reference.solver import check_due
from cnnkit.reference.train import DEFAULT_RECIPE

pytest.importorskip("torch", reason="PyTorch is not installed (`make bench` installs it)")
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "time_to_accuracy.py"
spec = importlib.util.spec_from_file_location("time_to_accuracy", SCRIPT)
tta = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tta)


def tiny_data(rng, n_train=40, n_val=10):
    return {"X_train": rng.standard_normal((n_train, 3, 8, 8), dtype=np.float32),
            "y_train": rng.integers(0, 10, n_train),
            "X_val": rng.standard_normal((n_val, 3, 8, 8), dtype=np.float32),
            "y_val": rng.integers(0, 10, n_val)}


def test_torch_model_is_the_recipe_architecture():
    model = tta.torch_model(DEFAULT_RECIPE, (3, 32, 32))
    convs = [m for m in model.modules() if type(m).__name__ == "Conv2d"]
    assert [c.out_channels for c in convs] == DEFAULT_RECIPE["model"]["num_filters"]
    assert model[-1].in_features == 128 * 4 * 4 and model[-1].out_features == 10


def test_torch_side_checks_on_the_solver_schedule(rng):
    recipe = {**DEFAULT_RECIPE, "batch_size": 10, "num_epochs": 2, "checks_per_epoch": 3,
              "num_train_samples": 5}
    result = tta.train_torch(tiny_data(rng), recipe)
    per_epoch = 40 // 10
    expected = [i for i in range(1, 2 * per_epoch + 1) if check_due(i, per_epoch, 3)]
    assert [it for it, _ in result["history"]] == expected
    assert 0 <= result["val_acc"] <= 1 and result["wall_seconds"] > 0
