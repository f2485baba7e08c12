"""A trained network's activations on one image, layer by layer: pure numpy.

:func:`network_activations` runs a :class:`~cnnkit.reference.ThreeLayerConvNet`
or :class:`~cnnkit.reference.ConvNet` on one image through the reference layer
functions one at a time (convolution, spatial batch norm, ReLU, max pooling,
affine), in test mode, and keeps every intermediate map. The widgets only
present these records.
"""
from dataclasses import dataclass, field

import numpy as np

from cnnkit.reference import (ConvNet, ThreeLayerConvNet, affine_forward, batchnorm_forward,
                              conv_forward_fast, max_pool_forward_fast, relu_forward,
                              spatial_batchnorm_forward)
from cnnkit.reference.checks import check_array

POOL_2X2 = {"pool_height": 2, "pool_width": 2, "stride": 2}


@dataclass(frozen=True)
class LayerMaps:
    """One layer's output for one image.

    name : e.g. ``"conv1"``, ``"bn1"``, ``"relu1"``, ``"pool1"``, ``"affine2"``.
    kind : ``"conv"``, ``"bn"``, ``"relu"``, ``"pool"`` or ``"affine"``.
    out : (C, H, W) maps (spatial layers) or (D,) vector (affine layers and
        their batch norm and ReLU).
    x : the layer's input, (C, H, W) or (D,).
    params : what the layer applied: ``w``, ``b``, ``conv_param`` (conv);
        ``gamma``, ``beta``, ``mean``, ``var``, ``eps`` (bn, test mode);
        ``pool_param`` (pool); ``w``, ``b`` (affine).
    block : index of the block the layer belongs to (1 for conv1, bn1, ...).
    """

    name: str
    kind: str
    out: np.ndarray
    x: np.ndarray
    block: int
    params: dict = field(default_factory=dict)

    @property
    def spatial(self):
        return self.out.ndim == 3


@dataclass(frozen=True)
class NetworkActivations:
    """Every layer of one forward pass: ``image`` (C, H, W) as fed to the
    network, ``layers`` in order, ``scores`` (num_classes,) as
    ``model.loss`` returns them."""

    image: np.ndarray
    layers: list
    scores: np.ndarray

    def layer(self, name):
        for lm in self.layers:
            if lm.name == name:
                return lm
        raise KeyError(f"no layer {name!r}; layers are {', '.join(l.name for l in self.layers)}")


def _blocks(model):
    """``(conv blocks, affine blocks, final index)`` of a supported model.

    A conv block is ``(index, filter_size, batchnorm key or None, pooled)``;
    an affine block is ``(index, batchnorm key or None)``. Parameters are
    ``W{index}``, ``b{index}``, ``gamma{index}``, ``beta{index}``.
    """
    if isinstance(model, ConvNet):
        bn = model.use_batchnorm
        conv = [(i, model.sizes[i - 1], i if bn else None, model.pools[i - 1])
                for i in range(1, model.n_conv + 1)]
        affine = [(i, i if bn else None) for i in range(model.n_conv + 1, model.num_layers)]
        return conv, affine, model.num_layers
    if isinstance(model, ThreeLayerConvNet):
        bn = model.use_batchnorm
        return [(1, model.filter_size, 0 if bn else None, True)], [(2, 1 if bn else None)], 3
    raise TypeError("model must be a cnnkit.reference ThreeLayerConvNet or ConvNet, got "
                    f"{type(model).__name__}")


def _bn_stats(model, key, gamma):
    """Test-mode statistics of one batch-norm layer (zeros and ones if never trained)."""
    bn_param = model.bn_params[key]
    n = gamma.shape[0]
    return {"mean": np.asarray(bn_param.get("running_mean", np.zeros(n))),
            "var": np.asarray(bn_param.get("running_var", np.ones(n))),
            "eps": float(bn_param.get("eps", 1e-5))}


def network_activations(model, image):
    """Run ``model`` on one image, one reference layer at a time, in test mode.

    Parameters
    ----------
    model : a ThreeLayerConvNet or ConvNet (e.g. built from a checkpoint with
        :func:`cnnkit.reference.build_model`).
    image : (C, H, W) array, preprocessed as the model was trained (for the
        reference recipes: pixels 0-255 minus the mean training image).

    Returns
    -------
    NetworkActivations
    """
    conv_blocks, affine_blocks, last = _blocks(model)
    check_array(image, "image", ndim=3)
    expected = tuple(model.params["W1"].shape[1:2])
    if image.shape[:1] != expected:
        raise ValueError(f"image must have {expected[0]} channels (C, H, W) for this model, "
                         f"got shape {image.shape}")
    p = model.params
    dtype = p["W1"].dtype
    h = np.asarray(image, dtype=dtype)[None]
    layers = []

    def keep(name, kind, out, x, block, **params):
        layers.append(LayerMaps(name, kind, out[0], x[0], block, params))
        return out

    for i, size, bn_key, pooled in conv_blocks:
        conv_param = {"stride": 1, "pad": (size - 1) // 2}
        x = h
        h = keep(f"conv{i}", "conv", conv_forward_fast(h, p[f"W{i}"], p[f"b{i}"], conv_param)[0],
                 x, i, w=p[f"W{i}"], b=p[f"b{i}"], conv_param=conv_param)
        if bn_key is not None:
            h = _batchnorm(model, bn_key, i, h, keep, spatial_batchnorm_forward)
        h = keep(f"relu{i}", "relu", relu_forward(h)[0], h, i)
        if pooled:
            h = keep(f"pool{i}", "pool", max_pool_forward_fast(h, POOL_2X2)[0], h, i,
                     pool_param=dict(POOL_2X2))
    h = h.reshape(1, -1)
    for i, bn_key in affine_blocks:
        x = h
        h = keep(f"affine{i}", "affine", affine_forward(h, p[f"W{i}"], p[f"b{i}"])[0], x, i,
                 w=p[f"W{i}"], b=p[f"b{i}"])
        if bn_key is not None:
            h = _batchnorm(model, bn_key, i, h, keep, batchnorm_forward)
        h = keep(f"relu{i}", "relu", relu_forward(h)[0], h, i)
    scores = affine_forward(h, p[f"W{last}"], p[f"b{last}"])[0][0]
    return NetworkActivations(np.asarray(image, dtype=dtype), layers, scores)


def _batchnorm(model, key, i, h, keep, forward):
    gamma, beta = model.params[f"gamma{i}"], model.params[f"beta{i}"]
    stats = _bn_stats(model, key, gamma)
    bn_param = {"mode": "test", "eps": stats["eps"], "running_mean": stats["mean"].copy(),
                "running_var": stats["var"].copy()}
    return keep(f"bn{i}", "bn", forward(h, gamma, beta, bn_param)[0], h, i,
                gamma=gamma, beta=beta, **stats)
