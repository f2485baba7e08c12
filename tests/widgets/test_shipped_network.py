"""The recipe behind the shipped checkpoint (widgets/demo/make_checkpoint.py), on tiny data."""
import importlib.util
from pathlib import Path

import numpy as np

from cnnkit.reference import build_model, load_checkpoint
from cnnkit.widgets import NetworkView
from cnnkit.widgets.examples import DEMO, cifar_samples, small_convnet


def load_script():
    path = Path(__file__).resolve().parents[2] / "widgets" / "demo" / "make_checkpoint.py"
    spec = importlib.util.spec_from_file_location("make_checkpoint", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recipe_writes_a_checkpoint_and_samples_the_view_reads(tmp_path, write_cifar):
    folder = write_cifar(tmp_path / "data", n_train=60, n_test=80)     # every class in test
    script = load_script()
    script.main(folder, tmp_path, num_training=250, num_validation=50, num_test=80,
                num_epochs=1)
    params, spec = load_checkpoint(tmp_path / script.NAME)
    model = build_model(spec, params)
    assert spec["kwargs"]["num_filters"] == script.RECIPE["model"]["num_filters"]
    with np.load(tmp_path / "cifar_samples.npz", allow_pickle=False) as samples:
        assert samples["images"].shape == (10, 32, 32, 3)
        assert samples["labels"].tolist() == list(range(10))
        view = NetworkView(model, samples["images"][0], mean=samples["mean_image"])
    assert view.scores.shape == (10,)


def test_the_shipped_files_are_small_and_match_the_recipe():
    sizes = {p.name: p.stat().st_size for p in DEMO.glob("small_convnet.*")}
    assert set(sizes) == {"small_convnet.npz", "small_convnet.json"}
    assert sum(sizes.values()) + (DEMO / "cifar_samples.npz").stat().st_size < 300_000
    script = load_script()
    assert small_convnet().config["num_filters"] == script.RECIPE["model"]["num_filters"]
    assert cifar_samples()["mean_image"].shape == (3, 32, 32)
