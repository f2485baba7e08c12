"""``NetworkView``: one image through a trained network, every map as a picture.

The view shows the input image, every activation map of every layer (conv,
batch norm, ReLU, max pooling) as a small heatmap, the hidden affine layers as
strips and the class scores as a bar chart. Clicking a map opens the
image-scale stepper (:mod:`cnnkit.widgets.imagescale`) below it on that layer
and channel at the cell clicked: a conv, batch-norm or ReLU map opens its
block's convolution with the batch norm and ReLU of the cell written under the
sum; a pooling map opens the max pooling. Everything is computed here, from
:func:`cnnkit.widgets.network.network_activations`, so an exported page works
without a kernel.
"""
import html
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from cnnkit.reference import CLASSES, build_model, load_checkpoint
from cnnkit.reference.checks import check_int

from . import imagescale
from .frames import conv_frames, pool_frames
from .imagescale import Images, scale_of
from .network import network_activations
from .render import colours, png_uri
from .stepper import as_float

THUMB_PX = {16: 48, 32: 32}      # thumbnail size by number of maps (more maps: 24 px)
LEGEND_IMAGE = ("<div class='cnk-note'>Maps: red positive, blue negative, white zero (one "
                "scale per layer). Hover a map for its numbers; click it to step through the "
                "computation of that map from the cell clicked.</div>")


def _load(model):
    """A model object, or one built from a checkpoint path (``.npz``/``.json``)."""
    if isinstance(model, (str, Path)):
        params, spec = load_checkpoint(model)
        return build_model(spec, params)
    return model


def _as_chw(image, channels):
    """(C, H, W) float64 from (C, H, W) or (H, W, C); TypeError/ValueError name the input."""
    a = as_float(image, "image")
    if a.ndim == 3 and a.shape[0] != channels and a.shape[-1] == channels:
        a = a.transpose(2, 0, 1)
    if a.ndim != 3 or a.shape[0] != channels:
        raise ValueError(f"image must have shape ({channels}, H, W) or (H, W, {channels}) for "
                         f"this model, got {np.shape(image)}")
    return a


def _picture(pixels):
    """RGB uint8 of an image in 0-255, or of any image scaled to its range."""
    rgb = pixels.transpose(1, 2, 0)
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    if rgb.min() < 0 or rgb.max() > 255:
        lo, hi = float(rgb.min()), float(rgb.max())
        rgb = (rgb - lo) / (hi - lo or 1.0) * 255
    return np.round(rgb).astype(np.uint8)


def _thumb(key, uri_keys, images, layer, arr, ch, h, w, size):
    cell = max(1, size // max(h, w))
    return (f"<div class='cnk-map' data-open='{layer}' data-arr='{arr}' data-ch='{ch}' "
            f"data-rows='{h}' data-cols='{w}' title='{html.escape(key)}[{ch}]' "
            f"style='--cell:{cell}px;--pad:0;--h:{h};--w:{w};width:{w * cell}px;"
            f"height:{h * cell}px'><img alt='' src='{images.uris[uri_keys[ch]]}'></div>")


class NetworkView(widgets.HTML):
    """A trained network on one image, layer by layer, down to the arithmetic.

    Parameters
    ----------
    model : a :class:`~cnnkit.reference.ConvNet` or
        :class:`~cnnkit.reference.ThreeLayerConvNet`, or the path of a
        checkpoint written by :func:`cnnkit.reference.save_checkpoint`.
    image : (C, H, W) or (H, W, C) image, e.g. a CIFAR-10 (32, 32, 3) uint8.
    mean : (C, H, W) mean image the model was trained with; it is subtracted
        before the image enters the network (``None``: the image is fed as
        given, already preprocessed).
    label : the true class index, marked in the scores.
    classes : class names (default CIFAR-10's).
    digits : decimals shown in the written-out sums.

    Attributes
    ----------
    activations : :class:`~cnnkit.widgets.network.NetworkActivations`, every
        map shown, as data. ``scores``, ``probabilities``, ``predicted``.
    """

    def __init__(self, model, image, mean=None, label=None, classes=CLASSES, digits=2):
        model = _load(model)
        self.digits = check_int(digits, "digits", 0)
        channels = model.params["W1"].shape[1] if "W1" in getattr(model, "params", {}) else 3
        pixels = _as_chw(image, channels)
        x = pixels
        if mean is not None:
            mean = _as_chw(mean, channels)
            if mean.shape != pixels.shape:
                raise ValueError(f"mean must have the image's shape {pixels.shape}, "
                                 f"got {mean.shape}")
            x = pixels - mean
        self.activations = network_activations(model, x)
        self.scores = self.activations.scores.astype(np.float64)
        if len(classes) != self.scores.shape[0]:
            raise ValueError(f"classes must name {self.scores.shape[0]} classes, "
                             f"got {len(classes)}")
        if label is not None and not 0 <= check_int(label, "label", 0) < len(classes):
            raise ValueError(f"label must be a class index below {len(classes)}, got {label}")
        e = np.exp(self.scores - self.scores.max())
        self.probabilities = e / e.sum()
        self.predicted = int(self.scores.argmax())
        self.label, self.classes = label, list(classes)
        self.model = model
        super().__init__(self._page(pixels))
        self.add_class("cnk-network")

    def __repr__(self):
        names = ", ".join(lm.name for lm in self.activations.layers)
        return (f"NetworkView({type(self.model).__name__}: {names}; predicted "
                f"{self.classes[self.predicted]!r})")

    def maps(self, name):
        """The maps of layer ``name`` (e.g. ``"relu2"``) as shown: (C, H, W) or (D,)."""
        return self.activations.layer(name).out

    # -- the page -------------------------------------------------------
    def _layers(self, images):
        """Stepper records of every conv and pool layer, and each map's image keys."""
        layers, keys = {}, {}
        previous = images.maps("input", self.activations.image)
        pending = None
        for lm in self.activations.layers:
            if lm.kind == "conv":
                cf = conv_frames(lm.x.astype(np.float64), lm.params["w"][:1],
                                 lm.params["b"][:1], lm.params["conv_param"])
                if not np.allclose(cf.out[0], lm.out[0], rtol=1e-4, atol=1e-4):
                    raise RuntimeError(f"{lm.name}: frames disagree with the network's maps")
                pending = imagescale.conv_layer(
                    images, lm.name, cf, lm.params["w"], lm.params["b"], lm.out, self.digits,
                    previous, labels=(self._input_name(lm), lm.name),
                    title=f"Convolution {lm.name}")
                layers[lm.name] = pending
                keys[lm.name] = (lm.name, pending["outputs"], "out")
                previous = pending["outputs"]
            elif lm.kind in ("bn", "relu") and lm.spatial:
                if lm.kind == "bn":
                    extra = imagescale.bn_layer(lm.name, lm.out, lm.params["gamma"],
                                                lm.params["beta"], lm.params["mean"],
                                                lm.params["var"], lm.params["eps"], self.digits)
                else:
                    extra = imagescale.relu_layer(lm.name, lm.out, self.digits)
                pending["then"].append(extra)
                previous = images.maps(lm.name, lm.out)
                keys[lm.name] = (pending["name"], previous, lm.name)
            elif lm.kind == "pool":
                pf = pool_frames(lm.x.astype(np.float64), lm.params["pool_param"])
                layers[lm.name] = imagescale.pool_layer(
                    images, lm.name, pf, lm.out, self.digits, previous,
                    labels=(self._input_name(lm), lm.name), title=f"Max pooling {lm.name}")
                previous = layers[lm.name]["outputs"]
                keys[lm.name] = (lm.name, previous, "out")
        return layers, keys

    def _input_name(self, lm):
        names = [l.name for l in self.activations.layers]
        k = names.index(lm.name)
        return "x" if k == 0 else names[k - 1]

    def _page(self, pixels):
        images = Images()
        layers, keys = self._layers(images)
        rows = []
        for lm in self.activations.layers:
            if lm.spatial:
                opens, uri_keys, arr = keys[lm.name]
                C, h, w = lm.out.shape
                size = next((px for n, px in sorted(THUMB_PX.items()) if C <= n), 24)
                thumbs = "".join(_thumb(lm.name, uri_keys, images, opens, arr, c, h, w, size)
                                 for c in range(C))
                title = f"{lm.name}: {C} maps {h}x{w}"
            else:
                strip = np.asarray(lm.out, dtype=float)[None]
                thumbs = (f"<img alt='' style='image-rendering:pixelated;height:12px;"
                          f"width:{min(4 * strip.shape[1], 800)}px' "
                          f"src='{png_uri(colours(strip, scale_of(strip)))}'>")
                title = f"{lm.name}: {strip.shape[1]} values"
            rows.append(f"<div class='cnk-title'>{html.escape(title)}</div>"
                        f"<div class='cnk-maps'>{thumbs}</div>")
        first = next(lm for lm in self.activations.layers if lm.kind == "conv")
        _, H, W = first.out.shape
        start = {"layer": first.name, "chs": [0], "step": (H // 2) * W + W // 2}
        body = ("<div class='cnk-body'>" + self._header()
                + "<div style='display:flex;gap:16px;align-items:flex-start'>"
                + self._input_picture(pixels) + self._bars() + "</div>" + "".join(rows)
                + "</div>")
        return imagescale.page("cnk-net", layers, images, start, body)

    def _header(self):
        name = type(self.model).__name__
        verdict = f"predicted <b>{html.escape(self.classes[self.predicted])}</b>"
        if self.label is not None:
            ok = self.label == self.predicted
            verdict += (f", true class <b>{html.escape(self.classes[self.label])}</b> "
                        + ("&#10003;" if ok else "&#10007;"))
        return (f"<div class='cnk-title' style='font-size:13px'>{name} on one image: "
                f"{verdict}</div>{LEGEND_IMAGE}")

    def _input_picture(self, pixels):
        rgb = _picture(pixels)
        size = 4 * max(rgb.shape[:2]) if max(rgb.shape[:2]) <= 64 else max(rgb.shape[:2])
        return (f"<div><div class='cnk-title'>input</div><img alt='input image' "
                f"class='cnk-input' style='image-rendering:pixelated;width:{size}px' "
                f"src='{png_uri(rgb)}'></div>")

    def _bars(self):
        rows = []
        for k, (name, score, prob) in enumerate(zip(self.classes, self.scores,
                                                    self.probabilities)):
            weight = "font-weight:600;" if k == self.predicted else ""
            mark = " (true)" if k == self.label else ""
            colour = "#2b8a3e" if k == self.predicted else "#868e96"
            rows.append(
                f"<div class='cnk-bar' data-class='{k}' style='display:flex;gap:6px;"
                f"align-items:center;{weight}'><span style='width:7em;text-align:right'>"
                f"{html.escape(name)}{mark}</span><span style='display:inline-block;"
                f"width:{200 * prob:.1f}px;height:10px;background:{colour}'></span>"
                f"<span style='font:11px monospace'>{prob:.2f} (score {score:.2f})</span></div>")
        return ("<div><div class='cnk-title'>class scores (softmax probability)</div>"
                + "".join(rows) + "</div>")
