"""Image scale: grids drawn as heatmaps and stepped in the browser.

An input too large for a grid of numbers (a 32x32 image, many channels) is
drawn as PNG heatmaps on the colour scale of :func:`cnnkit.widgets.render.grid`.
Each step outlines the window in every input channel, outlines the output
cell, leaves the cells not computed yet blank (so the output map fills in) and
writes the sum out; hovering a map shows its numbers.

Python precomputes everything: the window of every step comes from the
frames of :mod:`cnnkit.widgets.frames` (the same records the number grids
show), every number is formatted here with :func:`~cnnkit.widgets.frames.fmt`,
and the maps are PNGs. The page only holds this data (a hidden JSON block) and
``imagescale.js``, which picks out the numbers of a step and moves the
outlines; it computes nothing, so an exported page steps without a kernel.
"""
import html
import json
from pathlib import Path

import numpy as np

from . import render
from .frames import fmt
from .render import heatmap_uri

ENGINE = (Path(__file__).resolve().parent / "imagescale.js").read_text(encoding="utf-8")
# A 1x1 GIF whose onload starts the engine: HTML set through innerHTML runs no
# <script>, but it does run inline event handlers.
BOOT_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
BOOT_JS = ("if(!window.cnkImg){(0,eval)(this.parentNode.querySelector('.cnk-engine')"
           ".textContent)}window.cnkImg.boot(this)")
SCALES = ("auto", "numbers", "image")
# Positions are CSS variables: the engine sets --r0/--c0 (window), --i/--j
# (output cell) on the panel, each map carries its --cell size in pixels.
CSS = """<style>
.cnk-img{font:12px/1.35 sans-serif;color:#111;position:relative}
.cnk-img .cnk-cols{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.cnk-img .cnk-body{flex:1 1 480px;max-height:820px;overflow-y:auto}
.cnk-img .cnk-panel{flex:1 1 540px;min-width:0}
.cnk-img .cnk-maps{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-end}
.cnk-img .cnk-map{position:relative;display:inline-block;background:#ececec;flex:none}
.cnk-img .cnk-map img{position:absolute;image-rendering:pixelated;
 left:calc(var(--pad)*var(--cell));top:calc(var(--pad)*var(--cell));
 width:calc(var(--w)*var(--cell));height:calc(var(--h)*var(--cell))}
.cnk-img .cnk-win{position:absolute;box-shadow:0 0 0 2px #f08c00;pointer-events:none;
 left:calc(var(--c0)*var(--cell));top:calc(var(--r0)*var(--cell));
 width:calc(var(--kw)*var(--cell));height:calc(var(--kh)*var(--cell))}
.cnk-img .cnk-cur{position:absolute;box-shadow:0 0 0 2px #2b8a3e;pointer-events:none;
 left:calc(var(--j)*var(--cell));top:calc(var(--i)*var(--cell));
 width:var(--cell);height:var(--cell)}
.cnk-img .cnk-mask{position:absolute;background:#f3f3f3;pointer-events:none}
.cnk-img .cnk-m1{left:calc((var(--j) + 1)*var(--cell));top:calc(var(--i)*var(--cell));
 width:calc((var(--W) - var(--j) - 1)*var(--cell));height:var(--cell)}
.cnk-img .cnk-m2{left:0;top:calc((var(--i) + 1)*var(--cell));
 width:calc(var(--W)*var(--cell));height:calc((var(--H) - var(--i) - 1)*var(--cell))}
.cnk-img .cnk-title{font-weight:600;font-size:11px;margin:6px 0 2px 0}
.cnk-img .cnk-sum{font:12px monospace;white-space:pre-wrap;word-break:break-word;
 background:#f6f6f6;padding:4px 6px;border-left:3px solid #f08c00;margin:4px 0;
 max-height:14em;overflow:auto}
.cnk-img .cnk-ctl button{font-size:13px;min-width:2.4em;margin-right:4px;cursor:pointer}
.cnk-img .cnk-ctl input{width:320px;vertical-align:middle}
.cnk-img .cnk-tip{position:absolute;display:none;background:#222;color:#fff;
 font:11px monospace;padding:1px 4px;pointer-events:none;z-index:10}
.cnk-img [data-open],.cnk-img .cnk-outmap{cursor:pointer}
.cnk-img .cnk-active{outline:3px solid #2b8a3e}
</style>"""
BIG_GRID = 12           # "auto" draws numbers up to this padded size ...
MANY_CHANNELS = 4       # ... and up to this many input channels


def pick_scale(scale, channels, height, width):
    """``"numbers"`` or ``"image"``: ``scale`` itself, or for ``"auto"`` chosen from the size."""
    if scale != "auto":
        return scale
    too_big = max(height, width) > BIG_GRID or channels > MANY_CHANNELS
    return "image" if too_big else "numbers"


def strings(a, digits=2):
    """Every value of ``a`` (row-major) formatted by :func:`fmt`, joined by spaces."""
    return " ".join(fmt(v, digits) for v in np.asarray(a, dtype=float).ravel().tolist())


def scale_of(a):
    """The colour scale of ``a``: its largest magnitude."""
    return float(np.abs(a).max()) if np.size(a) else 0.0


def filter_strip(wf, scale):
    """(C, HH, WW) filter as one (HH, C*(WW+1)-1) RGB heatmap, channels one column apart."""
    C, HH, WW = wf.shape
    strip = np.zeros((HH, C * (WW + 1) - 1))      # the gaps stay 0: white
    for c in range(C):
        strip[:, c * (WW + 1):c * (WW + 1) + WW] = wf[c]
    return heatmap_uri(strip, scale)


class Images:
    """PNG heatmaps by key: a map shown twice (thumbnail, stepper input) is stored once."""

    def __init__(self):
        self.uris = {}

    def add(self, key, uri):
        self.uris[key] = uri
        return key

    def maps(self, prefix, a, scale=None):
        """Keys of one heatmap per leading index of the (K, H, W) array ``a`` (one scale)."""
        scale = scale_of(a) if scale is None else scale
        return [self.add(f"{prefix}/{k}", heatmap_uri(a[k], scale)) for k in range(a.shape[0])]


def _geometry(frames, per_channel):
    """Window origins ``[r0, c0, ...]`` of one channel's steps, from the frames."""
    return [v for fr in frames[:per_channel] for v in (fr.rows[0], fr.cols[0])]


def conv_layer(images, name, cf, w, b, out, digits=2, input_keys=None,
               labels=("x", "out"), then=(), title="Convolution"):
    """Browser data of one convolution, stepped one output cell at a time.

    Parameters
    ----------
    images : :class:`Images` the heatmaps go to.
    name : the layer's key (also the prefix of its image keys).
    cf : :class:`~cnnkit.widgets.frames.ConvFrames` whose frames give the
        windows; one filter's frames suffice (the windows repeat per filter).
        ``cf.xp`` is the padded input, ``cf.pad`` its padding.
    w : (F, C, HH, WW) filters; b : (F,) biases; out : (F, H', W') output.
    input_keys : image keys of the unpadded input channels (default: drawn here).
    labels : names of the input and the output in the written-out sums.
    then : records of :func:`bn_layer` / :func:`relu_layer` applied to the
        same cell afterwards, written under the sum.
    title : heading of the stepper.
    """
    F, H, W = out.shape
    C, hp, wp = cf.xp.shape
    p = cf.pad
    if input_keys is None:
        input_keys = images.maps(f"{name}/in", cf.xp[:, p:hp - p, p:wp - p])
    w_scale = scale_of(w)
    return {"kind": "conv", "name": name, "title": title, "C": C, "F": F, "H": H, "W": W,
            "hp": hp, "wp": wp,
            "pad": p, "k": list(w.shape[2:]), "origins": _geometry(cf.frames, H * W),
            "x": strings(cf.xp, digits), "w": strings(w, digits), "b": strings(b, digits),
            "out": strings(out, digits), "labels": list(labels), "inputs": list(input_keys),
            "filters": [images.add(f"{name}/w/{f}", filter_strip(w[f], w_scale))
                        for f in range(F)],
            "outputs": images.maps(f"{name}/out", out), "then": list(then)}


def pool_layer(images, name, pf, out=None, digits=2, input_keys=None, labels=("x", "out"),
               title="Max pooling"):
    """Browser data of one max pooling; ``pf`` is a :class:`~cnnkit.widgets.frames.PoolFrames`
    whose frames (one channel's suffice) give the windows; ``out`` defaults to ``pf.out``;
    the other parameters are :func:`conv_layer`'s."""
    out = pf.out if out is None else out
    C, hp, wp = pf.x.shape
    _, H, W = out.shape
    if input_keys is None:
        input_keys = images.maps(f"{name}/in", pf.x)
    return {"kind": "pool", "name": name, "title": title, "C": C, "F": C, "H": H, "W": W,
            "hp": hp, "wp": wp,
            "pad": 0, "k": [pf.pool_height, pf.pool_width],
            "origins": _geometry(pf.frames, H * W), "x": strings(pf.x, digits),
            "out": strings(out, digits), "labels": list(labels), "inputs": list(input_keys),
            "outputs": images.maps(f"{name}/out", out)}


def bn_layer(name, out, gamma, beta, mean, var, eps, digits=2):
    """A batch norm (test mode) written out per cell under a convolution's sum."""
    four = lambda a: " ".join(f"{v:.4g}" for v in np.asarray(a, dtype=float).tolist())
    return {"kind": "bn", "name": name, "out": strings(out, digits), "gamma": four(gamma),
            "beta": four(beta), "mean": four(mean), "var": four(var), "eps": f"{eps:g}"}


def relu_layer(name, out, digits=2):
    """A ReLU written out per cell under a convolution's sum."""
    return {"kind": "relu", "name": name, "out": strings(out, digits)}


def _on(method):
    return f"window.cnkImg&&cnkImg.{method}(event)"


def page(cls, layers, images, start, body="", interval=250):
    """HTML of an image-scale view: ``body`` and beside it a stepper panel, the data and
    the engine.

    ``layers`` maps keys to :func:`conv_layer` / :func:`pool_layer` records;
    ``start`` is ``{"layer": key, "chs": [channels stepped], "step": k}``, the
    panel shown first; ``interval`` the milliseconds per step of its play button.
    Works set as an ipywidgets ``HTML`` value, in a live kernel or an exported page.
    """
    data = {"layers": layers, "images": images.uris, "start": start, "interval": interval}
    hidden = "display:none"
    return (f"<div class='cnk-img {cls}' onclick='{_on('click')}' oninput='{_on('input')}' "
            f"onmousemove='{_on('hover')}' onmouseleave='{_on('hover')}'>"
            f"{render.CSS}{CSS}<div class='cnk-cols'>{body}<div class='cnk-panel'></div></div>"
            "<div class='cnk-tip'></div>"
            f"<div class='cnk-data' style='{hidden}'>{html.escape(json.dumps(data))}</div>"
            f"<div class='cnk-engine' style='{hidden}'>{html.escape(ENGINE)}</div>"
            f"<img alt='' style='{hidden}' src='{BOOT_GIF}' onload=\"{BOOT_JS}\"></div>")
