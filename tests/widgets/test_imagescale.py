"""Image-scale steppers: the same frames as the number grids, drawn as heatmaps."""
import base64
import html
import io
import json
import re

import matplotlib.image
import numpy as np
import pytest

from cnnkit.widgets import ConvStepper, PoolStepper
from cnnkit.widgets.frames import fmt
from cnnkit.widgets.imagescale import pick_scale, strings
from cnnkit.widgets.render import colour, colours, heatmap_uri


def page_data(html_text):
    found = re.search(r"<div class='cnk-data' style='display:none'>([^<]*)</div>", html_text)
    return json.loads(html.unescape(found.group(1)))


def small_case():
    rng = np.random.default_rng(11)
    x, w, b = (rng.standard_normal(s) for s in ((2, 5, 6), (3, 2, 3, 2), (3,)))
    return np.round(x, 2), np.round(w, 2), np.round(b, 2)


def test_image_scale_frames_equal_the_number_frames():
    x, w, b = small_case()
    numbers = ConvStepper(x, w, b, stride=2, pad=1, scale="numbers", editable=False)
    image = ConvStepper(x, w, b, stride=2, pad=1, scale="image", editable=False)
    assert (numbers.scale, image.scale) == ("numbers", "image")
    assert image.frames.frames == numbers.frames.frames
    np.testing.assert_array_equal(image.frames.out, numbers.frames.out)
    layer = page_data(image.board_html)["layers"]["conv"]
    F, H, W = numbers.frames.out.shape
    per = H * W
    for fr in numbers.frames.frames:         # what the page steps through, frame by frame
        q = fr.step % per
        assert (layer["origins"][2 * q], layer["origins"][2 * q + 1]) == (fr.rows[0], fr.cols[0])
        assert layer["out"].split()[fr.step] == fmt(fr.value)
        xs = layer["x"].split()
        hp, wp = layer["hp"], layer["wp"]
        window = [xs[(c * hp + r) * wp + s] for c in range(2) for r in range(*fr.rows)
                  for s in range(*fr.cols)]
        assert window == [fmt(t[0]) for t in fr.terms]
        assert layer["w"].split()[fr.f * 12:(fr.f + 1) * 12] == [fmt(t[1]) for t in fr.terms]
        assert layer["b"].split()[fr.f] == fmt(fr.bias)
    assert len(layer["filters"]) == F and len(layer["inputs"]) == 2


def test_pool_image_scale_matches_its_frames():
    x = np.random.default_rng(2).integers(0, 5, (2, 6, 6)).astype(float)
    numbers = PoolStepper(x, stride=1, scale="numbers", editable=False)
    image = PoolStepper(x, stride=1, scale="image", editable=False)
    assert image.frames.frames == numbers.frames.frames
    layer = page_data(image.board_html)["layers"]["pool"]
    assert layer["origins"] == [v for fr in numbers.frames.frames[:25]
                                for v in (fr.rows[0], fr.cols[0])]
    assert layer["out"] == strings(numbers.frames.out)


def test_scale_is_picked_from_the_size():
    assert pick_scale("auto", 3, 10, 10) == "numbers"
    assert pick_scale("auto", 3, 34, 34) == "image"
    assert pick_scale("auto", 16, 6, 6) == "image"
    assert pick_scale("numbers", 16, 34, 34) == "numbers"
    big = ConvStepper(np.zeros((3, 32, 32)), np.ones((2, 3, 3, 3)), pad=1, editable=False)
    assert big.scale == "image" and big.n_steps == 2 * 32 * 32
    assert ConvStepper(editable=False).scale == "numbers"
    # backward and check modes have no image scale: auto keeps numbers, image is refused
    x, w = np.zeros((5, 3, 3)), np.ones((1, 5, 3, 3))          # 5 channels: image scale
    assert ConvStepper(x, w, editable=False).scale == "image"
    assert ConvStepper(x, w, mode="backward", editable=False).scale == "numbers"
    with pytest.raises(ValueError, match=r"scale='image' shows forward passes only"):
        ConvStepper(mode="backward", scale="image")
    with pytest.raises(ValueError, match=r"scale must be 'auto' or 'numbers' or 'image', "
                                         r"got 'huge'"):
        PoolStepper(scale="huge")


def test_setting_the_step_redraws_the_image_board_there():
    conv = ConvStepper(np.zeros((3, 16, 16)), np.ones((1, 3, 3, 3)), pad=1, editable=False)
    assert page_data(conv.board_html)["start"] == {"layer": "conv", "chs": [0], "step": 0}
    conv.step = 40
    assert page_data(conv.board_html)["start"]["step"] == 40
    assert (conv.current.i, conv.current.j) == (2, 8)
    assert conv.frame_html == conv.board_html


def test_an_edit_can_switch_the_scale():
    conv = ConvStepper(seed=0)
    assert conv.scale == "numbers"
    assert conv.set_params(H=20, W=20)
    assert conv.scale == "image" and conv.n_steps == 2 * 18 * 18


def test_heatmaps_use_the_grid_colours():
    values = np.array([[-2.0, 0.0, 1.0], [2.0, 0.5, -0.25]])
    uri = heatmap_uri(values)
    png = base64.b64decode(uri.split(",", 1)[1])
    pixels = np.round(matplotlib.image.imread(io.BytesIO(png), format="png") * 255)
    assert pixels.shape == (2, 3, 3)
    for r in range(2):
        for s in range(3):
            want = colour(values[r, s], 2.0)
            assert "#%02x%02x%02x" % tuple(int(v) for v in pixels[r, s]) == want
    assert colours(np.zeros(2), 0).tolist() == [[255, 255, 255]] * 2
