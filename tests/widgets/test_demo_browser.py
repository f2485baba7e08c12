"""The exported demo page in headless Chromium, offline, with no kernel.

Exports widgets/demo/conv_demo.ipynb (with the JavaScript installed with
cnnkit), serves it on 127.0.0.1, blocks every other request, and drives the
first stepper (the CIFAR-10 convolution). Then the image-scale stepper (the
whole image) and the network view: clicking a map opens its stepper, which
steps. Set CNNKIT_SAVE_SCREENSHOT=1 to also
refresh widgets/demo/screenshot.png and widgets/demo/network.png.
"""
import os
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest

from cnnkit.widgets import NetworkView
from cnnkit.widgets.examples import (cifar_crop, cifar_image, cifar_samples, edge_filter,
                                     small_convnet)
from cnnkit.widgets.export import export_html
from cnnkit.widgets.frames import conv_frames, fmt
from offline_browser import ARGS, CHROMIUM, block_non_local, served

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[2] / "widgets" / "demo"

# Everything the test reads from the first stepper, in one round trip: what is
# outlined and blanked is read from the computed style of the board's cells.
STATE_JS = """root => {
  const f = [...root.querySelectorAll('.cnk-frame')].find(e => e.offsetParent !== null);
  const board = root.querySelector('.cnk-board');
  const outlined = td => getComputedStyle(td).boxShadow !== 'none';
  const hl = [];
  board.querySelector('table.cnk-grid').querySelectorAll('tr').forEach((tr, r) =>
    tr.querySelectorAll('td').forEach((td, s) => { if (outlined(td)) hl.push([r, s]); }));
  const outs = [...board.querySelectorAll('td[data-go]')];
  return {step: +f.dataset.step, cell: f.dataset.cell, window: hl,
          cur: outs.filter(outlined).map(td => [+td.dataset.go, td.textContent]),
          blank: outs.filter(td => getComputedStyle(td).color === 'rgba(0, 0, 0, 0)').length,
          sum: f.querySelector('.cnk-sum').textContent,
          box: +root.querySelector('.cnk-step input').value,
          readout: root.querySelector('.widget-readout').textContent.trim()};
}"""

# Time from asking for a frame (as the step box, arrows and clicks do) until the
# new frame is in the DOM and laid out, and until the next animation frame.
# The Stack holds only the selected frame, so its presence means it is shown.
RENDER_JS = """async ([root, target]) => {
  const input = root.querySelector('.cnk-step input');
  const selector = '.cnk-frame[data-step="' + target + '"]';
  const t0 = performance.now();
  const inserted = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      if (root.querySelector(selector)) { obs.disconnect(); resolve(); } });
    obs.observe(root, {childList: true, subtree: true});
  });
  input.value = target;
  input.dispatchEvent(new Event('change', {bubbles: true}));
  await inserted;
  document.body.offsetHeight;                      // style and layout, now
  const laidOut = performance.now() - t0;
  await new Promise(r => requestAnimationFrame(r));
  return [laidOut, performance.now() - t0];
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    page = export_html(DEMO / "conv_demo.ipynb", out, timeout=120)
    with served(out) as base:
        yield base, page


@pytest.fixture(scope="module")
def browser_page(site):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    base, page_path = site
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked, failed = block_non_local(page, base)
        page.goto(f"{base}/{page_path.name}")
        page.wait_for_selector(".cnk-stepper .cnk-frame", timeout=30_000)
        yield page, blocked, failed
        browser.close()


@pytest.fixture(scope="module")
def expected():
    """The demo's first stepper, computed here in Python."""
    return conv_frames(cifar_crop(), edge_filter(), np.zeros(1), {"stride": 1, "pad": 1})


def stepper(page):
    return page.locator(".cnk-stepper").first


def state(page):
    return stepper(page).evaluate(STATE_JS)


def go_to(page, step):
    """Jump with the step box (browser-side, like the arrows) and wait for the frame."""
    box = stepper(page).locator(".cnk-step input")
    box.fill(str(step))
    box.press("Enter")
    page.wait_for_function("([r, s]) => r.querySelector('.cnk-frame').dataset.step === s",
                           arg=[stepper(page).element_handle(), str(step)])


def assert_shows(st, cf, step):
    fr = cf.frames[step]
    assert st["step"] == st["box"] == step
    assert st["readout"] == str(step)
    assert st["cell"] == f"{fr.f},{fr.i},{fr.j}"
    assert st["cur"] == [[step, fmt(fr.value)]]
    assert st["blank"] == len(cf.frames) - 1 - step
    assert st["sum"] == f"out[{fr.f},{fr.i},{fr.j}] = {fr.equation()}"
    assert sorted(map(tuple, st["window"])) == [
        (r, s) for r in range(*fr.rows) for s in range(*fr.cols)]


def test_page_renders_offline_with_its_own_javascript(browser_page, tmp_path):
    page, blocked, failed = browser_page
    assert page.locator(".cnk-stepper").count() == 7
    assert page.locator(".cnk-network .cnk-panel .cnk-sum").count() == 1
    assert blocked == [] and failed == []            # fonts and scripts all served locally
    assert page.locator(".jupyter-widgets-error-widget").count() == 0
    assert page.locator(".widget-play button i").first.evaluate(
        "e => getComputedStyle(e, '::before').content") not in ("none", "normal", "")
    stepper(page).screenshot(path=tmp_path / "conv_step0.png")


def test_moving_the_slider_changes_the_highlight_and_the_sum(browser_page, expected, tmp_path):
    page, _, _ = browser_page
    go_to(page, 0)
    before = state(page)
    handle = stepper(page).locator(".noUi-handle").bounding_box()
    track = stepper(page).locator(".noUi-target").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * 0.45, handle["y"] + handle["height"] / 2,
                    steps=6)
    page.mouse.up()
    page.wait_for_function(
        "r => r.querySelector('.cnk-step input').value !== '0'", arg=stepper(page).element_handle())
    after = state(page)
    assert after["step"] > 10
    assert after["sum"] != before["sum"] and after["cur"] != before["cur"]
    assert after["window"] != before["window"]
    assert_shows(after, expected, after["step"])
    shot = tmp_path / "conv_slider.png"
    stepper(page).screenshot(path=shot)
    if os.environ.get("CNNKIT_SAVE_SCREENSHOT") == "1":
        shutil.copy(shot, DEMO / "screenshot.png")


def test_play_advances_the_frames(browser_page, expected, tmp_path):
    page, _, _ = browser_page
    go_to(page, 5)
    start = state(page)["step"]
    play = stepper(page).locator(".widget-play button").first
    play.click()
    page.wait_for_function("([r, s]) => +r.querySelector('.cnk-step input').value >= s + 2",
                           arg=[stepper(page).element_handle(), start], timeout=10_000)
    play.click()                                 # the same button pauses
    after = state(page)
    assert after["step"] >= start + 2
    assert_shows(after, expected, after["step"])
    stepper(page).screenshot(path=tmp_path / "conv_played.png")


def test_clicking_an_output_cell_and_the_arrows_jump(browser_page, expected):
    page, _, _ = browser_page
    stepper(page).locator(".cnk-board td[data-go='61']").click()
    page.wait_for_function("r => r.querySelector('.cnk-frame').dataset.step === '61'",
                           arg=stepper(page).element_handle())
    assert_shows(state(page), expected, 61)
    stepper(page).locator(".cnk-nav button[data-delta='1']").click()
    stepper(page).locator(".cnk-nav button[data-delta='1']").click()
    stepper(page).locator(".cnk-nav button[data-delta='-1']").click()
    page.wait_for_function("r => r.querySelector('.cnk-frame').dataset.step === '62'",
                           arg=stepper(page).element_handle())
    assert_shows(state(page), expected, 62)


def test_a_frame_change_renders_within_50_ms(browser_page, expected):
    """Three batches of 15 random frame changes after 3 warm-ups.

    Asserts that the median change of the best batch is painted within 50 ms:
    on a shared 2-core machine a batch can wait for the CPU far longer than the
    page needs, so the best batch is the page's own speed (as timeit's best of
    several runs is). Every batch is printed.
    """
    page, _, _ = browser_page
    root = stepper(page).element_handle()
    order = np.random.default_rng(0).permutation(len(expected.frames))
    targets = [int(t) for t in np.concatenate([order, order])[:48]]
    times = [page.evaluate(RENDER_JS, [root, t]) for t in targets][3:]
    batches = [times[k:k + 15] for k in range(0, 45, 15)]
    medians = []
    for n, batch in enumerate(batches):
        laid_out, painted = [t[0] for t in batch], [t[1] for t in batch]
        medians.append(statistics.median(painted))
        print(f"\nframe change, batch {n}: in the DOM and laid out: median "
              f"{statistics.median(laid_out):.1f} ms, max {max(laid_out):.1f} ms; to the next "
              f"animation frame: median {medians[-1]:.1f} ms, max {max(painted):.1f} ms")
    assert_shows(state(page), expected, targets[-1])
    assert min(medians) < 50, medians


# -- image scale ----------------------------------------------------------
# What an image-scale view shows now: its step, cell and window (set by the
# engine), the sum, where the window outline and the output cell are drawn,
# and how much of the output map is still masked.
IMAGE_JS = """root => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
  const win = root.querySelector('.cnk-panel .cnk-win');
  const m1 = root.querySelector('.cnk-m1').getBoundingClientRect();
  const m2 = root.querySelector('.cnk-m2').getBoundingClientRect();
  return {layer: root.dataset.layer, step: +root.dataset.step, cell: root.dataset.cell,
          window: root.dataset.window, sum: root.querySelector('.cnk-sum').textContent,
          outline: box(win), cur: box(root.querySelector('.cnk-cur')),
          masked: m1.width * m1.height + m2.width * m2.height,
          out: root.querySelector('.cnk-outmap img').getAttribute('src').length};
}"""

# Time from moving the panel's slider (an input event, as dragging it sends)
# until the frame is laid out and until the next animation frame.
IMAGE_RENDER_JS = """async ([root, target]) => {
  const range = root.querySelector('.cnk-range');
  const t0 = performance.now();
  range.value = target;
  range.dispatchEvent(new Event('input', {bubbles: true}));
  document.body.offsetHeight;
  const laidOut = performance.now() - t0;
  await new Promise(r => requestAnimationFrame(r));
  return [laidOut, performance.now() - t0, +root.dataset.step];
}"""


def image_view(page, selector):
    return page.locator(f"{selector} .cnk-img").first


def image_state(view):
    return view.evaluate(IMAGE_JS)


def frame_times(view, n_steps, label):
    """Best median of three batches of 15 random frame changes (after 3 warm-ups)."""
    root = view.element_handle()
    order = np.random.default_rng(1).permutation(n_steps)
    targets = [int(t) for t in np.concatenate([order, order])[:48]]
    times = [view.page.evaluate(IMAGE_RENDER_JS, [root, t]) for t in targets]
    assert [t[2] for t in times] == targets
    times = times[3:]
    medians = []
    for n in range(3):
        batch = times[15 * n:15 * n + 15]
        laid_out, painted = [t[0] for t in batch], [t[1] for t in batch]
        medians.append(statistics.median(painted))
        print(f"\n{label}, batch {n}: laid out: median {statistics.median(laid_out):.1f} ms, "
              f"max {max(laid_out):.1f} ms; next animation frame: median {medians[-1]:.1f} ms, "
              f"max {max(painted):.1f} ms")
    return medians


@pytest.fixture(scope="module")
def whole_image():
    """The demo's image-scale stepper, computed here in Python."""
    return conv_frames(cifar_image().transpose(2, 0, 1) / 255.0, edge_filter(), np.zeros(1),
                       {"stride": 1, "pad": 1})


def test_image_scale_stepper_shows_the_number_frames(browser_page, whole_image, tmp_path):
    page, _, _ = browser_page
    view = image_view(page, ".cnk-stepper:has(.cnk-img)")
    view.scroll_into_view_if_needed()
    seen = []
    for step in (0, 1, 33, 500, 1023):
        view.evaluate("(root, s) => { const r = root.querySelector('.cnk-range'); r.value = s; "
                      "r.dispatchEvent(new Event('input', {bubbles: true})); }", step)
        st = image_state(view)
        fr = whole_image.frames[step]
        assert st["step"] == step and st["cell"] == f"{fr.f},{fr.i},{fr.j}"
        assert st["window"] == f"{fr.rows[0]},{fr.cols[0]}"
        assert st["sum"] == f"out[{fr.f},{fr.i},{fr.j}] = {fr.equation()}"
        seen.append(st)
    assert seen[0]["masked"] > seen[2]["masked"] > seen[3]["masked"] > seen[4]["masked"] == 0
    # the outline moves one cell per step along a row, down a row at the row's end
    cell = seen[1]["outline"][0] - seen[0]["outline"][0]
    assert cell > 0 and seen[1]["outline"][1] == seen[0]["outline"][1]
    assert seen[2]["outline"][1] - seen[0]["outline"][1] == pytest.approx(cell)
    view.locator(".cnk-ctl button[data-d='1']").click()
    assert image_state(view)["step"] == 1024 - 1          # stays on the last step
    view.locator(".cnk-ctl button[data-d='-1']").click()
    assert image_state(view)["step"] == 1022
    # hovering a map shows its numbers: padded input cell (5, 7) is x[0, 4, 6]
    x_map = view.locator(".cnk-panel [data-arr='x'][data-ch='0']")
    box = x_map.bounding_box()
    cell = box["width"] / whole_image.xp.shape[2]
    page.mouse.move(box["x"] + 7.5 * cell, box["y"] + 5.5 * cell)
    tip = view.locator(".cnk-tip")
    assert tip.text_content() == f"x[0,4,6] = {fmt(whole_image.xp[0, 5, 7])}"
    assert tip.is_visible()
    # play steps on by itself (800 ms a step, the stepper's interval) until paused
    view.evaluate("(root) => { const r = root.querySelector('.cnk-range'); r.value = 100; "
                  "r.dispatchEvent(new Event('input', {bubbles: true})); }")
    play = view.locator(".cnk-play")
    play.click()
    page.wait_for_function("r => +r.dataset.step >= 102", arg=view.element_handle(),
                           timeout=10_000)
    play.click()
    assert play.text_content() == "play"
    paused = image_state(view)
    page.wait_for_timeout(1000)
    assert image_state(view)["step"] == paused["step"]
    fr = whole_image.frames[paused["step"]]
    assert paused["sum"] == f"out[{fr.f},{fr.i},{fr.j}] = {fr.equation()}"
    view.screenshot(path=tmp_path / "image_scale.png")
    medians = frame_times(view, len(whole_image.frames), "image-scale stepper")
    assert min(medians) < 50, medians


@pytest.fixture(scope="module")
def network():
    samples = cifar_samples()
    return NetworkView(small_convnet(), samples["images"][3], mean=samples["mean_image"],
                       label=3)


def test_clicking_a_network_map_opens_a_stepper_that_steps(browser_page, network, tmp_path):
    page, _, _ = browser_page
    view = image_view(page, ".cnk-network")
    view.scroll_into_view_if_needed()
    before = image_state(view)
    assert before["layer"] == "conv1"
    thumb = view.locator("[data-open='conv2'][data-arr='relu2'][data-ch='5']")
    thumb.scroll_into_view_if_needed()
    box = thumb.bounding_box()
    cell = box["width"] / 16
    thumb.click(position={"x": 3.5 * cell, "y": 6.5 * cell})      # row 6, column 3
    opened = image_state(view)
    assert opened["layer"] == "conv2" and opened["cell"] == "5,6,3"
    assert opened["step"] == 6 * 16 + 3 and opened["window"] == "6,3"
    acts = network.activations
    fr = conv_frames(acts.layer("pool1").out.astype(float), network.model.params["W2"][5:6],
                     network.model.params["b2"][5:6], {"stride": 1, "pad": 1}).frames[6 * 16 + 3]
    products = fr.equation().split(" + b = ")[0]
    assert opened["sum"].startswith(f"conv2[5,6,3] = {products} + b = ")
    relu = fmt(acts.layer("relu2").out[5, 6, 3])
    assert opened["sum"].splitlines()[-1].endswith(f"= {relu}")
    view.locator(".cnk-panel").screenshot(path=tmp_path / "network_opened.png")
    view.locator(".cnk-ctl button[data-d='1']").click()
    stepped = image_state(view)
    assert stepped["step"] == opened["step"] + 1 and stepped["cell"] == "5,6,4"
    assert stepped["outline"][0] > opened["outline"][0]             # the window moved right
    assert stepped["outline"][1] == opened["outline"][1]
    assert stepped["cur"][0] > opened["cur"][0]                     # so did the output cell
    assert stepped["masked"] < opened["masked"]                     # the output map filled in
    assert stepped["sum"] != opened["sum"]
    assert view.locator(".cnk-active").count() == 1            # the map opened is marked
    view.evaluate("root => { root.querySelector('.cnk-body').scrollTop = 0; }")
    shot = tmp_path / "network.png"
    view.screenshot(path=shot)
    # a pooling map opens the max pooling
    view.locator("[data-open='pool2'][data-ch='7']").click(position={"x": 1, "y": 1})
    pooled = image_state(view)
    assert pooled["layer"] == "pool2" and pooled["cell"] == "7,0,0"
    window = acts.layer("relu2").out[7, 0:2, 0:2].ravel()
    assert pooled["sum"] == (f"pool2[7,0,0] = max({', '.join(fmt(v) for v in window)}) = "
                             f"{fmt(acts.layer('pool2').out[7, 0, 0])}")
    view.locator(".cnk-ctl button[data-d='1']").click()
    assert image_state(view)["window"] == "0,2"
    thumb.click(position={"x": 3.5 * cell, "y": 6.5 * cell})
    medians = frame_times(view, 16 * 16, "network view stepper")
    if os.environ.get("CNNKIT_SAVE_SCREENSHOT") == "1":
        save_small_png(shot, DEMO / "network.png")
    assert min(medians) < 50, medians


def save_small_png(src, dest, width=900):
    """``src`` scaled to ``width`` pixels and reduced to 128 colours, for the README."""
    from PIL import Image
    image = Image.open(src).convert("RGB")
    height = round(image.height * width / image.width)
    image.resize((width, height), Image.LANCZOS).quantize(128).save(dest, optimize=True)
