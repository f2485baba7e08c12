"""NetworkView and its activations against the reference layers, one layer at a time."""
import html
import json
import re

import numpy as np
import pytest

from cnnkit.reference import (ConvNet, ThreeLayerConvNet, affine_forward, batchnorm_forward,
                              conv_forward_naive, max_pool_forward_naive, relu_forward,
                              spatial_batchnorm_forward)
from cnnkit.widgets import NetworkView
from cnnkit.widgets.examples import cifar_samples, small_convnet
from cnnkit.widgets.frames import conv_frames
from cnnkit.widgets.imagescale import strings
from cnnkit.widgets.network import network_activations

POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def with_running_stats(model, rng):
    """Give every batch norm non-trivial test-mode statistics, as training would."""
    for key, bn_param in (model.bn_params.items() if isinstance(model.bn_params, dict)
                          else enumerate(model.bn_params)):
        n = model.params[f"gamma{key if isinstance(model, ConvNet) else key + 1}"].shape[0]
        bn_param["running_mean"] = rng.standard_normal(n).astype(np.float32)
        bn_param["running_var"] = rng.uniform(0.5, 2.0, n).astype(np.float32)
    for k in model.params:
        if k.startswith(("gamma", "beta")):
            model.params[k] = rng.uniform(0.5, 1.5, model.params[k].shape).astype(np.float32)
    return model


def reference_layers(model, x):
    """The same forward pass written out with the naive reference layers, in float64."""
    p = {k: v.astype(np.float64) for k, v in model.params.items()}
    bn = model.bn_params if isinstance(model.bn_params, dict) else dict(enumerate(model.bn_params))
    convnet = isinstance(model, ConvNet)
    sizes = model.sizes if convnet else [model.filter_size]
    pools = model.pools if convnet else [True]
    hidden = list(range(len(sizes) + 1, model.num_layers)) if convnet else [2]
    bn_key = (lambda i: i) if convnet else (lambda i: i - 1)

    def bn_param(i):
        b = bn[bn_key(i)]
        return {"mode": "test", "running_mean": b["running_mean"].astype(np.float64),
                "running_var": b["running_var"].astype(np.float64)}

    out, h = {}, x[None].astype(np.float64)
    for i, (size, pooled) in enumerate(zip(sizes, pools), start=1):
        h = out[f"conv{i}"] = conv_forward_naive(h, p[f"W{i}"], p[f"b{i}"],
                                                 {"stride": 1, "pad": (size - 1) // 2})[0]
        if model.use_batchnorm:
            h = out[f"bn{i}"] = spatial_batchnorm_forward(h, p[f"gamma{i}"], p[f"beta{i}"],
                                                          bn_param(i))[0]
        h = out[f"relu{i}"] = relu_forward(h)[0]
        if pooled:
            h = out[f"pool{i}"] = max_pool_forward_naive(h, POOL)[0]
    h = h.reshape(1, -1)
    for i in hidden:
        h = out[f"affine{i}"] = affine_forward(h, p[f"W{i}"], p[f"b{i}"])[0]
        if model.use_batchnorm:
            h = out[f"bn{i}"] = batchnorm_forward(h, p[f"gamma{i}"], p[f"beta{i}"],
                                                  bn_param(i))[0]
        h = out[f"relu{i}"] = relu_forward(h)[0]
    last = model.num_layers if convnet else 3
    scores = affine_forward(h, p[f"W{last}"], p[f"b{last}"])[0][0]
    return {k: v[0] for k, v in out.items()}, scores


SHAPES = [(3, 12, 12), (2, 8, 8), (3, 8, 8), (1, 6, 6)]
MODELS = [
    lambda: ConvNet(input_dim=SHAPES[0], num_filters=(4, 6), filter_size=(3, 5),
                    pool=(True, False), hidden_dims=(7,), seed=1),
    lambda: ConvNet(input_dim=SHAPES[1], num_filters=(3,), use_batchnorm=False, seed=2),
    lambda: ThreeLayerConvNet(input_dim=SHAPES[2], num_filters=4, filter_size=3,
                              hidden_dim=5, weight_scale=0.3, use_batchnorm=True, seed=3),
    lambda: ThreeLayerConvNet(input_dim=SHAPES[3], num_filters=2, filter_size=5,
                              hidden_dim=3, weight_scale=0.3, seed=4),
]


@pytest.mark.parametrize("make, shape", list(zip(MODELS, SHAPES)))
def test_view_maps_equal_the_reference_layers(make, shape):
    rng = np.random.default_rng(0)
    model = with_running_stats(make(), rng)
    x = rng.standard_normal(shape) * 20
    expected, scores = reference_layers(model, x)
    view = NetworkView(model, x)
    names = [lm.name for lm in view.activations.layers]
    assert names == list(expected)
    for name, want in expected.items():
        np.testing.assert_allclose(view.maps(name), want, rtol=1e-4,
                                   atol=1e-4 * np.abs(want).max(), err_msg=name)
    np.testing.assert_allclose(view.scores, scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(view.scores, model.loss(x[None].astype(np.float32))[0],
                               rtol=1e-4, atol=1e-4)
    assert view.predicted == int(np.argmax(scores))


def page_data(view):
    found = re.search(r"<div class='cnk-data' style='display:none'>([^<]*)</div>", view.value)
    return json.loads(html.unescape(found.group(1)))


def test_the_page_carries_the_maps_and_the_frames_windows():
    rng = np.random.default_rng(5)
    model = with_running_stats(MODELS[0](), rng)
    x = rng.standard_normal((3, 12, 12))
    view = NetworkView(model, x)
    data = page_data(view)
    acts = view.activations
    conv2 = data["layers"]["conv2"]
    assert conv2["out"] == strings(acts.layer("conv2").out)
    assert [t["name"] for t in conv2["then"]] == ["bn2", "relu2"]
    assert conv2["then"][1]["out"] == strings(acts.layer("relu2").out)
    cf = conv_frames(acts.layer("pool1").out.astype(float), model.params["W2"][:1],
                     model.params["b2"][:1], {"stride": 1, "pad": 2})
    assert conv2["origins"] == [v for fr in cf.frames for v in (fr.rows[0], fr.cols[0])]
    assert conv2["x"] == strings(cf.xp)
    assert conv2["inputs"] == data["layers"]["pool1"]["outputs"]
    assert set(data["layers"]) == {"conv1", "pool1", "conv2"}
    # one thumbnail per map, each opening the layer that made it
    assert view.value.count("data-open='conv1' data-arr='bn1'") == 4
    assert view.value.count("data-open='pool1'") == 4
    assert data["start"] == {"layer": "conv1", "chs": [0], "step": 6 * 12 + 6}


def test_the_shipped_checkpoint_classifies_its_samples():
    samples, model = cifar_samples(), small_convnet()
    assert samples["images"].shape == (10, 32, 32, 3) and samples["images"].dtype == np.uint8
    x = samples["images"].transpose(0, 3, 1, 2) - samples["mean_image"]
    predicted = model.loss(x.astype(np.float32)).argmax(axis=1)
    assert (predicted == samples["labels"]).mean() >= 0.5
    view = NetworkView(model, samples["images"][3], mean=samples["mean_image"], label=3)
    assert view.predicted == predicted[3]
    np.testing.assert_allclose(view.scores, model.loss(x[3:4].astype(np.float32))[0],
                               rtol=1e-4, atol=1e-4)
    assert repr(view).startswith("NetworkView(ConvNet: conv1, bn1, relu1, pool1, conv2")


def test_checkpoint_paths_are_accepted(tmp_path):
    from cnnkit.reference import save_checkpoint
    model = MODELS[2]()
    kwargs = {"input_dim": [3, 8, 8], "num_filters": 4, "filter_size": 3, "hidden_dim": 5,
              "use_batchnorm": True}
    save_checkpoint(tmp_path / "net", model, {"module": "cnnkit.reference.cnn",
                                              "class": "ThreeLayerConvNet", "kwargs": kwargs})
    x = np.random.default_rng(0).standard_normal((8, 8, 3))       # channels last
    a = NetworkView(tmp_path / "net.npz", x)
    b = NetworkView(model, x.transpose(2, 0, 1))
    np.testing.assert_allclose(a.scores, b.scores)


def test_bad_inputs_are_named():
    model = MODELS[1]()
    with pytest.raises(TypeError, match=r"model must be a cnnkit.reference ThreeLayerConvNet "
                                        r"or ConvNet, got dict"):
        network_activations({}, np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match=r"image must have shape \(2, H, W\) or \(H, W, 2\) "
                                         r"for this model, got \(3, 8, 8\)"):
        NetworkView(model, np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match=r"mean must have the image's shape \(2, 8, 8\), "
                                         r"got \(2, 4, 4\)"):
        NetworkView(model, np.zeros((2, 8, 8)), mean=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"label must be a class index below 10, got 10"):
        NetworkView(model, np.zeros((2, 8, 8)), label=10)
    with pytest.raises(ValueError, match=r"classes must name 10 classes, got 2"):
        NetworkView(model, np.zeros((2, 8, 8)), classes=["a", "b"])
