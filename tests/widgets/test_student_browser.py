"""The release's step helper in an exported notebook, in headless Chromium, without a kernel.

A solution build with a wrong-padding convolution and a pooling backward that
sends each window's gradient everywhere gets a notebook calling
``step_conv(conv_forward_naive)`` and ``step_pool(max_pool_backward_naive)``;
it is exported offline and the page must open on the first wrong cell, mark
the student's wrong cells and step from there in the browser.
"""
import json

import nbformat
import pytest

from cnnkit.grader.demo.mistakes import MISTAKES, apply
from cnnkit.grader.release.build import build_package
from cnnkit.grader.course import template_source as source_dir
from cnnkit.widgets.export import export_html
from offline_browser import ARGS, CHROMIUM, block_non_local, served

pytestmark = pytest.mark.browser

CELLS = [
    "import json, warnings\nwarnings.simplefilter('ignore')\n"
    "from nndl.conv_layers import conv_forward_naive, max_pool_backward_naive\n"
    "from utils.stepper import step_conv, step_pool",
    # zeros in the top rows: edge padding equals zero padding there, so the first
    # wrong cell is further on than step 0
    "import numpy as np\nx = np.arange(1.0, 26.0).reshape(1, 5, 5)\nx[:, :2] = 0\n"
    "conv = step_conv(conv_forward_naive, x=x, w=np.ones((1, 1, 3, 3)), b=[0.0], pad=1)\nconv",
    "pool = step_pool(max_pool_backward_naive)\npool",
    "print('EXPECTED', json.dumps({'conv': [conv.step, conv.check_result.first_wrong],\n"
    "                              'pool': [pool.step, pool.check_result.first_wrong]}))",
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    playwright_api = pytest.importorskip("playwright.sync_api")
    base = tmp_path_factory.mktemp("student")
    build_package(source_dir(), base / "hw", solutions=True)
    for m in MISTAKES:
        if m.name in ("wrong_padding", "pool_gradient_everywhere"):
            apply(base / "hw", m)
    notebook = base / "hw" / "stepping.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS]),
                   notebook)
    out = base / "site"
    html_page = export_html(notebook, out, timeout=120)
    with served(out) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        block_non_local(tab, url)
        tab.goto(f"{url}/{html_page.name}")
        tab.wait_for_selector(".cnk-stepper .cnk-frame", timeout=30_000)
        yield tab
        browser.close()


def expected(tab):
    text = next(t for t in tab.locator(".jp-OutputArea-output pre").all_inner_texts()
                if t.startswith("EXPECTED"))
    return json.loads(text.split(" ", 1)[1])


def shown(stepper):
    return stepper.evaluate("""root => {
      const f = root.querySelector('.cnk-frame');
      return {step: +f.dataset.step, cell: f.dataset.cell, text: f.textContent,
              head: root.querySelector('.cnk-head').textContent,
              wrong: root.querySelectorAll('.cnk-board td.cnk-wrong').length,
              box: +root.querySelector('.cnk-step input').value};
    }""")


def test_the_convolution_opens_on_the_first_wrong_cell(page):
    step, first = expected(page)["conv"]
    conv = page.locator(".cnk-stepper").nth(0)
    st = shown(conv)
    assert st["step"] == st["box"] == step == 5 and first == [0, 1, 0]
    assert st["cell"] == ",".join(map(str, first))
    assert "Check: conv_forward_naive differs from the reference" in st["head"]
    assert st["wrong"] > 0
    assert f"your out[0,{','.join(map(str, first))}]" in st["text"] and "✗" in st["text"]
    conv.locator(".cnk-nav button[data-delta='1']").click()   # steps on in the browser
    page.wait_for_function("([r, s]) => +r.querySelector('.cnk-frame').dataset.step === s + 1",
                           arg=[conv.element_handle(), step])


def test_the_pooling_backward_opens_on_the_first_wrong_dx_entry(page):
    step, (grad, index) = expected(page)["pool"]
    pool = page.locator(".cnk-stepper").nth(1)
    st = shown(pool)
    assert grad == "dx" and st["step"] == st["box"] == step
    where = ",".join(map(str, [0] + index))
    assert f"This step feeds your first wrong entry, dx[{where}]" in st["text"]
    assert "Check: max_pool_backward_naive differs from the reference" in st["head"]
    assert st["wrong"] > 0
