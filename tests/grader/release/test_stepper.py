"""The release's step-through helper: copied from cnnkit.widgets, working without cnnkit.

Each test runs the helper in a fresh Python inside a build of the assignment,
with ``cnnkit`` made unimportable (students do not have it), and compares
what it opens on with an independent computation.
"""
import ast
import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cnnkit.grader.demo.mistakes import MISTAKES, apply
from cnnkit.grader.release.build import build_package
from cnnkit.grader.release.layout import AssignError, source_dir
from cnnkit.grader.release.stepper import release_text, stepper_files, widgets_dir

pytest.importorskip("ipywidgets")

BLOCK = textwrap.dedent("""\
    import sys
    class _Blocked:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in {blocked!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}")
    sys.meta_path.insert(0, _Blocked())
    """)


def run_in(folder, code, blocked=("cnnkit",)):
    """Run ``code`` in a fresh Python in ``folder`` with ``blocked`` unimportable; its JSON."""
    script = BLOCK.format(blocked=set(blocked)) + "import warnings\nwarnings.simplefilter('ignore')\n"
    done = subprocess.run([sys.executable, "-c", script + textwrap.dedent(code)], cwd=folder,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The student release and a solution build with the mistakes applied."""
    base = tmp_path_factory.mktemp("stepper")
    build_package(source_dir(), base / "release")
    build_package(source_dir(), base / "mistakes", solutions=True)
    for m in MISTAKES:
        if m.name in ("wrong_padding", "pool_gradient_everywhere", "missing_bias_gradient"):
            apply(base / "mistakes", m)
    return base


def test_the_release_package_is_the_widgets_code_with_release_imports(release):
    files = sorted(p.name for p in (release / "release" / "utils" / "stepper").glob("*.py"))
    assert {"__init__.py", "student.py", "conv.py", "pool.py", "frames.py"} <= set(files)
    for name in files:
        text = (release / "release" / "utils" / "stepper" / name).read_text()
        tree = ast.parse(text)
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not any((getattr(n, "module", None) or "").startswith("cnnkit") for n in imports)
        if name == "__init__.py":
            continue
        original = (widgets_dir() / name).read_text()
        kept = [line for line in text.splitlines()[1:]
                if not line.startswith(("from utils.", "from nndl."))]
        assert kept == [line for line in original.splitlines()
                        if not line.startswith("from cnnkit.reference")
                        and not line.startswith("                              max_pool")], name


def test_a_widgets_import_the_release_cannot_ship_is_refused():
    with pytest.raises(AssignError, match=r"imports cnnkit.grader; the release ships only"):
        release_text("x", "from cnnkit.grader import api\n", {}, {})
    with pytest.raises(AssignError, match=r"imports conv_forward_naive from "
                                          r"cnnkit.reference.conv_layers, which the release"):
        release_text("x", "from cnnkit.reference import conv_forward_naive\n", {}, {})
    assert stepper_files({"stepper": None}) == {}


def test_wrong_padding_opens_on_the_first_wrong_output_cell(release):
    got = run_in(release / "mistakes", """
        import json
        import numpy as np
        from nndl.conv_layers import conv_forward_naive
        from utils.stepper import step_conv
        s = step_conv(conv_forward_naive)
        cf, check = s.frames, s.check_result
        print(json.dumps({"status": check.status, "first": check.first_wrong, "step": s.step,
                          "cell": [s.current.f, s.current.i, s.current.j],
                          "frame_cell": s.frame_html.split("data-cell='")[1].split("'")[0],
                          "x": cf.x.tolist(), "w": cf.w.tolist(), "b": cf.b.tolist(),
                          "stride": cf.stride, "pad": cf.pad, "message": check.message}))
    """)
    from cnnkit.reference import conv_forward_naive
    x, w, b = (np.array(got[k]) for k in ("x", "w", "b"))
    param = {"stride": got["stride"], "pad": got["pad"]}
    expected = conv_forward_naive(x[None], w, b, param)[0][0]
    # the mistake, computed here independently: the input padded by repeating its edge
    edge = np.pad(x, ((0, 0), (param["pad"],) * 2, (param["pad"],) * 2), mode="edge")
    studied = conv_forward_naive(edge[None], w, b, {"stride": param["stride"], "pad": 0})[0][0]
    first = tuple(int(v) for v in np.argwhere(~np.isclose(studied, expected))[0])
    assert got["status"] == "wrong" and got["pad"] > 0
    assert tuple(got["first"]) == first == tuple(got["cell"])
    assert got["frame_cell"] == ",".join(map(str, first))
    assert got["step"] == np.ravel_multi_index(first, expected.shape)
    assert f"out[0, {first[0]}, {first[1]}, {first[2]}]" in got["message"]


def test_pooling_gradient_everywhere_opens_on_the_first_wrong_dx_entry(release):
    got = run_in(release / "mistakes", """
        import json
        from nndl.conv_layers import max_pool_backward_naive, max_pool_forward_naive
        from utils.stepper import step_pool
        s = step_pool(max_pool_backward_naive)
        pf, check = s.frames, s.check_result
        fr = s.current
        print(json.dumps({"status": check.status, "first": check.first_wrong, "step": s.step,
                          "window": [fr.c, fr.rows, fr.cols], "x": pf.x.tolist(),
                          "dout": pf.dout.tolist(), "stride": pf.stride,
                          "ph": pf.pool_height, "pw": pf.pool_width,
                          "html": s.frame_html, "board": s.board_html}))
    """)
    from cnnkit.reference import max_pool_backward_naive, max_pool_forward_naive
    x, dout = np.array(got["x"]), np.array(got["dout"])
    param = {"pool_height": got["ph"], "pool_width": got["pw"], "stride": got["stride"]}
    _, cache = max_pool_forward_naive(x[None], param)
    expected = max_pool_backward_naive(dout[None], cache)[0]
    # the mistake: every window cell gets the window's gradient
    studied = np.zeros_like(x)
    for c, i, j in np.ndindex(dout.shape):
        r, s = i * param["stride"], j * param["stride"]
        studied[c, r:r + got["ph"], s:s + got["pw"]] += dout[c, i, j]
    first = tuple(int(v) for v in np.argwhere(~np.isclose(studied, expected))[0])
    assert got["status"] == "wrong"
    assert got["first"] == ["dx", list(first)]
    c, (r0, r1), (s0, s1) = got["window"]
    assert c == first[0] and r0 <= first[1] < r1 and s0 <= first[2] < s1
    assert f"dx[0,{first[0]},{first[1]},{first[2]}]" in got["html"]   # the frame says it
    assert "your dx[0,0]" in got["board"] and "cnk-wrong" in got["board"]


def test_a_missing_bias_gradient_opens_on_the_first_wrong_db(release):
    got = run_in(release / "mistakes", """
        import json
        from nndl.conv_layers import conv_backward_naive
        from utils.stepper import step_conv
        s = step_conv(conv_backward_naive)
        print(json.dumps({"first": s.check_result.first_wrong, "f": s.current.f,
                          "message": s.check_result.message}))
    """)
    assert got["first"] == ["db", [0]] and got["f"] == 0
    assert "conv_backward_naive differs from the reference (2 of 2 in db)" in got["message"]


def test_correct_code_and_stubs_are_reported_as_such(release):
    got = run_in(release / "release", """
        import json
        from nndl.conv_layers import conv_forward_naive, max_pool_forward_naive
        from utils.stepper import step_conv, step_pool
        stub = step_conv(conv_forward_naive).check_result
        print(json.dumps([stub.status, stub.message]))
    """)
    assert got[0] == "error" and "NotImplementedError: Implement conv_forward_naive" in got[1]
    got = run_in(release / "mistakes", """
        import json
        from nndl.conv_layers import max_pool_forward_naive
        from utils.stepper import step_pool
        print(json.dumps(step_pool(max_pool_forward_naive).check_result.status))
    """)
    assert got == "correct"


def test_without_ipywidgets_the_helper_says_how_to_install_it(release):
    got = run_in(release / "release", """
        import json
        from nndl.conv_layers import conv_forward_naive
        from utils.stepper import step_conv
        try:
            step_conv(conv_forward_naive)
        except ImportError as err:
            print(json.dumps(str(err)))
    """, blocked=("cnnkit", "ipywidgets"))
    assert 'pip install -e ".[notebook]"' in got and "ipywidgets" in got


def test_failed_checks_suggest_the_step_call(release):
    got = run_in(release / "mistakes", """
        import json
        from utils.feedback import CheckFailed, check_close
        try:
            check_close("conv_forward_naive", "out", [[1.0]], [[2.0]])
        except CheckFailed as err:
            print(json.dumps(str(err)))
    """)
    assert got.endswith("To see it step by step: from utils.stepper import step_conv; "
                        "step_conv(conv_forward_naive)")
