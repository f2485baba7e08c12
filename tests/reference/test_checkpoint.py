"""Checkpoints: .npz parameters plus a JSON spec, no pickle, batch-norm statistics kept."""
import json

import numpy as np
import pytest

from cnnkit import reference as R


def test_round_trip_keeps_predictions(tmp_path, rng):
    model = R.ConvNet(input_dim=(3, 8, 8), num_filters=[4], hidden_dims=[6], seed=0)
    X = rng.standard_normal((5, 3, 8, 8)).astype(np.float32)
    model.loss(X, np.arange(5))  # train-mode pass fills the running statistics
    spec = {"module": "cnnkit.reference.convnet", "class": "ConvNet", "kwargs": model.config}
    npz, js = R.save_checkpoint(tmp_path / "ckpt", model, spec)
    assert json.loads(js.read_text())["class"] == "ConvNet"
    params, loaded_spec = R.load_checkpoint(tmp_path / "ckpt.npz")
    assert "bn1.running_mean" in params
    restored = R.build_model(loaded_spec, params)
    np.testing.assert_array_equal(restored.loss(X), model.loss(X))


def test_object_arrays_are_refused(tmp_path):
    np.savez(tmp_path / "evil.npz", W1=np.array([{"a": 1}], dtype=object))
    (tmp_path / "evil.json").write_text("{}")
    with pytest.raises(ValueError, match="Object arrays cannot be loaded when allow_pickle=False"):
        R.load_checkpoint(tmp_path / "evil")


def test_shape_mismatch_is_named(tmp_path):
    model = R.ConvNet(input_dim=(1, 4, 4), num_filters=[2], pool=False)
    params = dict(model.params, W1=np.zeros((3, 1, 3, 3)))
    spec = {"module": "cnnkit.reference.convnet", "class": "ConvNet", "kwargs": model.config}
    with pytest.raises(ValueError, match=r"checkpoint W1 has shape \(3, 1, 3, 3\), model expects \(2, 1, 3, 3\)"):
        R.build_model(spec, params)
