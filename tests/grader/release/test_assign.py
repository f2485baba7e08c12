"""cnnkit.grader.assign: solution regions, import rewriting, deterministic builds, the CLI."""
import io
import json
import textwrap
import zipfile

import numpy as np
import pytest

from cnnkit.grader.release.build import AssignError, build_package, sync_derived
from cnnkit.grader.release.derive import rewrite_imports
from cnnkit.grader.release.regions import strip_regions
from cnnkit.grader.release.visible_cases import npz_bytes
from cnnkit.grader.cli import main

MODULE = textwrap.dedent('''\
    """A student module."""
    import numpy as np


    def double(x):
        """Twice the input.

        x : (N,) array. Returns (N,).
        """
        out = None
        ### BEGIN SOLUTION
        out = 2 * x
        ### END SOLUTION
        return out


    class Model:
        def loss(self, X):
            """Loss of the model on X."""
            if X is None:
                ### BEGIN SOLUTION
                return 0.0
                ### END SOLUTION
            return 1.0


    def helper():
        ### BEGIN HIDDEN TESTS
        assert True
        ### END HIDDEN TESTS
        return 3
    ''')


def test_stub_replaces_region_with_named_not_implemented_error():
    text, stubs = strip_regions(MODULE, "pkg/mod.py", solutions=False)
    assert stubs == {
        "double": "Implement double in pkg/mod.py: twice the input.",
        "Model.loss": "Implement Model.loss in pkg/mod.py: loss of the model on X.",
    }
    assert ("    out = None\n    # YOUR CODE HERE\n    raise NotImplementedError("
            "'Implement double in pkg/mod.py: twice the input.')\n    return out") in text
    assert ("            # YOUR CODE HERE\n            raise NotImplementedError("
            "'Implement Model.loss in pkg/mod.py: loss of the model on X.')\n"
            "        return 1.0") in text
    assert '    """Twice the input.\n\n    x : (N,) array. Returns (N,).\n    """' in text
    assert "2 * x" not in text and "assert True" not in text and "SOLUTION" not in text
    namespace = {}
    exec(compile(text, "mod.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"^Implement double in pkg/mod.py: twice"):
        namespace["double"](np.ones(2))
    assert namespace["helper"]() == 3


def test_solutions_mode_keeps_code_and_drops_markers_and_hidden_tests():
    text, stubs = strip_regions(MODULE, "pkg/mod.py", solutions=True)
    assert stubs == {}
    assert "        out = 2 * x" not in text and "    out = 2 * x\n    return out" in text
    assert "###" not in text and "assert True" not in text
    namespace = {}
    exec(compile(text, "mod.py", "exec"), namespace)
    assert namespace["double"](np.arange(3)).tolist() == [0, 2, 4]


def test_function_without_docstring_gets_a_generic_message():
    text, stubs = strip_regions("def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n",
                                "m.py", solutions=False)
    assert stubs == {"f": "Implement f in m.py: see the comments around this stub."}


@pytest.mark.parametrize("source, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    pass\n",
     r"^m.py:2: '### BEGIN SOLUTION' is never closed$"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    pass\n",
     r"^m.py:3: '### BEGIN SOLUTION' inside the region opened at line 2; regions cannot nest$"),
    ("def f():\n    pass\n    ### END SOLUTION\n",
     r"^m.py:3: '### END SOLUTION' without a matching '### BEGIN SOLUTION'$"),
    ("def f():\n    ### BEGIN HIDDEN TESTS\n    ### END SOLUTION\n    pass\n",
     r"^m.py:3: '### END SOLUTION' without a matching '### BEGIN SOLUTION'$"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n",
     r"^m.py:1: a solution region must be inside a function"),
    ("def f():\n    x = 1  ### BEGIN SOLUTION\n",
     r"^m.py:2: malformed region marker \(write it alone on its line"),
    ("def f(:\n    pass\n", r"^m.py:1: not valid Python"),
])
def test_malformed_regions_name_file_and_line(source, message):
    with pytest.raises(AssignError, match=message):
        strip_regions(source, "m.py", solutions=False)


def test_bad_indentation_of_markers_is_reported():
    source = "def f():\n    if True:\n        ### BEGIN SOLUTION\n        pass\n        ### END SOLUTION\n"
    text, _ = strip_regions(source, "m.py", solutions=False)
    assert "        raise NotImplementedError" in text
    with pytest.raises(AssignError, match=r"^m.py: the processed file is not valid Python"):
        strip_regions("def f():\n    x = [\n    ### BEGIN SOLUTION\n    1,\n    ### END SOLUTION\n"
                      "    ]\n", "m.py", solutions=False)


DERIVED = {"nndl/layers.py": "layers.py", "nndl/optim.py": "optim.py",
           "utils/data_utils.py": "data.py", "utils/_kernels.pyx": "_kernels.pyx"}


def test_imports_are_rewritten_for_the_release_layout():
    text = textwrap.dedent("""\
        from .layers import (relu_forward,
                             relu_backward)
        from .data import load
        from . import optim
        from . import data as d, _kernels
        def f():
            from . import _kernels
        """)
    assert rewrite_imports(text, "x.py", "utils/x.py", DERIVED) == textwrap.dedent("""\
        from nndl.layers import (relu_forward,
                             relu_backward)
        from .data_utils import load
        from nndl import optim
        from . import data_utils as d
        from . import _kernels
        def f():
            from . import _kernels
        """)
    same = rewrite_imports("from .layers import x\n", "x.py", "nndl/x.py", DERIVED)
    assert same == "from .layers import x\n"


@pytest.mark.parametrize("line, message", [
    ("from .conv_layers import x", r"^reference/x.py:1 imports .conv_layers, which the release "
                                   r"does not ship; add it to 'derived' in assignment.json"),
    ("from . import solver", r"^reference/x.py:1 imports .solver, which the release does not ship"),
    ("from cnnkit.reference import layers", r"^reference/x.py:1 imports cnnkit by absolute name"),
    ("from ..grader import x", r"^reference/x.py:1: cannot rewrite this import"),
    ("from . import (optim,", r"^reference/x.py:1: cannot rewrite this import"),
])
def test_imports_the_release_cannot_satisfy_are_refused(line, message):
    with pytest.raises(AssignError, match=message):
        rewrite_imports(line, "x.py", "utils/x.py", DERIVED)


def test_npz_bytes_are_deterministic_and_load_without_pickle():
    arrays = {"b": np.arange(6.0).reshape(2, 3), "a": np.array(3)}
    blob = npz_bytes(arrays)
    assert blob == npz_bytes(dict(reversed(list(arrays.items()))))
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.namelist() == ["a.npy", "b.npy"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        assert data["b"].tolist() == arrays["b"].tolist() and int(data["a"]) == 3
    with pytest.raises(AssignError, match="visible case value 'x' is an object array"):
        npz_bytes({"x": np.array([None])})


def _tiny_source(root):
    """An assignment source with one stubbed module, one notebook-free package, derived files."""
    root.mkdir()
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(MODULE)
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    (root / "notes.txt").write_text("read me\n")
    (root / "cases.py").write_text(
        "import numpy as np\n\ndef build_cases():\n    return {'one': {'x': np.ones(3)}}\n")
    (root / "assignment.json").write_text(json.dumps({
        "derived": {"pkg/checks.py": "checks.py", "pkg/layers.py": "layers.py"},
        "visible_cases": "cases.py", "expected_dir": "pkg/expected",
        "instructor_only": ["assignment.json", "cases.py"]}))
    return root


def test_build_package_writes_stubs_derived_files_and_cases(tmp_path):
    source = _tiny_source(tmp_path / "src")
    report = build_package(source, tmp_path / "out")
    assert report.files == ["notes.txt", "pkg/__init__.py", "pkg/checks.py",
                            "pkg/expected/one.npz", "pkg/layers.py", "pkg/mod.py"]
    assert report.cases == ["one"] and report.notebooks == []
    assert sorted(report.stubs) == ["pkg/mod.py:Model.loss", "pkg/mod.py:double"]
    layers = (tmp_path / "out" / "pkg" / "layers.py").read_text()
    assert layers.startswith("# Generated from cnnkit.reference.layers (layers.py) by "
                             "`cnnkit assign`; do not edit.\n")
    assert "from .checks import bn_settings, check_array, check_keys" in layers
    with np.load(tmp_path / "out" / "pkg" / "expected" / "one.npz", allow_pickle=False) as data:
        assert data["x"].tolist() == [1.0, 1.0, 1.0]


def test_build_package_refuses_a_non_empty_output_unless_overwrite(tmp_path):
    source = _tiny_source(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(AssignError, match=r"output folder .*out exists and is not empty; choose "
                                          r"a new folder or pass overwrite=True \(--force\)"):
        build_package(source, out)
    assert (out / "keep.txt").read_text() == "mine"
    build_package(source, out, overwrite=True)
    assert not (out / "keep.txt").exists()


def test_a_leaking_data_file_stops_the_build(tmp_path):
    source = _tiny_source(tmp_path / "src")
    (source / "notes.txt").write_text("ok\n### BEGIN SOLUTION\n")
    with pytest.raises(AssignError, match=r"^notes.txt:2 still contains 'BEGIN SOLUTION' after "
                                          r"processing; the release would leak it$"):
        build_package(source, tmp_path / "out")


def test_layout_errors(tmp_path):
    with pytest.raises(AssignError, match=r"is not an assignment source folder: .*assignment.json "
                                          r"is missing"):
        build_package(tmp_path, tmp_path / "out")
    (tmp_path / "assignment.json").write_text('{"derived": {}, "extra": 1}')
    with pytest.raises(AssignError, match=r"assignment.json: unknown keys \['extra'\]"):
        build_package(tmp_path, tmp_path / "out")
    (tmp_path / "assignment.json").write_text('{"derived": {"a/b.py": "nope.py"}}')
    with pytest.raises(AssignError, match=r"^assignment.json derives a/b.py from reference/nope.py, "
                                          r"which does not exist"):
        build_package(tmp_path, tmp_path / "out")


def test_sync_writes_derived_files_into_the_source(tmp_path):
    source = _tiny_source(tmp_path / "src")
    assert sync_derived(source) == ["pkg/checks.py", "pkg/expected/one.npz", "pkg/layers.py"]
    assert (source / "pkg" / "layers.py").read_text().startswith("# Generated from")
    # derived files in the source are regenerated, not copied, by the next build
    (source / "pkg" / "layers.py").write_text("stale")
    build_package(source, tmp_path / "out")
    assert (tmp_path / "out" / "pkg" / "layers.py").read_text().startswith("# Generated from")


def test_cli(tmp_path, capsys):
    source = _tiny_source(tmp_path / "src")
    assert main(["assign", str(source), str(tmp_path / "out")]) == 0
    assert "release of" in capsys.readouterr().out
    assert main(["assign", str(source), str(tmp_path / "out")]) == 1
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["assign", str(source), str(tmp_path / "out"), "--solutions", "--force"]) == 0
    assert "2 * x" in (tmp_path / "out" / "pkg" / "mod.py").read_text()
    assert main(["assign", str(source)]) == 2
    assert "OUT is required" in capsys.readouterr().err
    assert main(["assign", str(source), "--sync"]) == 0
    assert (source / "pkg" / "checks.py").is_file()


def test_course_nbgrader_config_matches_the_generator():
    from pathlib import Path

    from traitlets.config import Config

    from cnnkit.grader.release.notebooks import NOTEBOOK_STUB
    config = Config()
    path = Path(__file__).resolve().parents[3] / "assignments" / "nbgrader_config.py"
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: config})
    assert config.ClearSolutions.code_stub == {"python": NOTEBOOK_STUB}
    for package in ("nndl", "utils", "assignment.json", "visible_cases.py"):
        assert package in config.CourseDirectory.ignore
