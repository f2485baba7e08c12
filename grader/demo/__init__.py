"""Embedded demo: example submissions generated from the assignment source, then graded.

:func:`generate_demo` writes three students into a folder: ``demo_correct``
(the solution build, plus an untrained model's checkpoint for the accuracy
test), ``demo_mistakes`` (typical mistakes from :mod:`.mistakes`) and
``demo_hostile`` (code that kills its process, loops forever, uses the fast
layers in a naive function and returns non-numeric data). :func:`run_demo`
grades them. Both build from the course template installed with cnnkit.
"""
import shutil
import tempfile
from pathlib import Path

from ..course import template_source
from . import mistakes

#: (path, old, new) edits that make the hostile demo student
HOSTILE = (
    ("nndl/conv_layers.py", "import numpy as np\n",
     "import numpy as np\nfrom utils.fast_layers import conv_forward_fast\n"),
    ("nndl/conv_layers.py", "    stride, pad = conv_param['stride'], conv_param['pad']\n",
     "    stride, pad = conv_param['stride'], conv_param['pad']\n"
     "    return conv_forward_fast(x, w, b, conv_param)\n"),
    ("nndl/conv_layers.py", "    ph, pw = pool_param['pool_height'], pool_param['pool_width']\n",
     "    ph, pw = pool_param['pool_height'], pool_param['pool_width']\n"
     "    import os; os._exit(0)\n"),
    ("nndl/conv_layers.py", "    bn_cache, (N, C, H, W) = cache\n",
     "    bn_cache, (N, C, H, W) = cache\n    while True:\n        pass\n"),
)
DEMO_MISTAKES = ("wrong_padding", "missing_bias_gradient", "pool_gradient_everywhere",
                 "reg_missing_W2")


def _patch(folder, path, old, new):
    file = folder / path
    text = file.read_text()
    if old not in text:
        raise ValueError(f"demo patch no longer applies: {path} has no {old!r}")
    file.write_text(text.replace(old, new, 1))


def save_untrained_checkpoint(folder):
    """An untrained ThreeLayerConvNet checkpoint at ``checkpoints/challenge`` (about 10%)."""
    from cnnkit.reference.checkpoint import save_checkpoint
    from cnnkit.reference.cnn import ThreeLayerConvNet
    kwargs = {"num_filters": 8, "filter_size": 3, "hidden_dim": 20, "seed": 0}
    spec = {"module": "nndl.cnn", "class": "ThreeLayerConvNet", "kwargs": kwargs}
    save_checkpoint(folder / "checkpoints" / "challenge", ThreeLayerConvNet(**kwargs), spec)


def generate_demo(folder):
    """Write the demo students into ``folder``; returns their ids."""
    from ..release.build import build_package
    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        solution = Path(tmp) / "solution"
        build_package(template_source(), solution, solutions=True)
        students = {"demo_correct": [], "demo_mistakes": DEMO_MISTAKES, "demo_hostile": ()}
        for student, bugs in students.items():
            target = folder / student
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(solution, target)
            for m in mistakes.MISTAKES:
                if m.name in bugs:
                    mistakes.apply(target, m)
        for edit in HOSTILE:
            _patch(folder / "demo_hostile", *edit)
        save_untrained_checkpoint(folder / "demo_correct")
    return sorted(students)


def run_demo(out, data=None, workers=1, timeout=10, progress=False):
    """Generate the demo students in ``out/submissions`` and grade them into ``out/reports``."""
    from ..api import grade_submissions
    out = Path(out)
    generate_demo(out / "submissions")
    return grade_submissions(out / "submissions", out / "reports", workers=workers,
                             timeout=timeout, data=data, progress=progress)


def generate_batch(folder, n=50):
    """``n`` example students for measuring the grader: correct, stubs and each mistake in turn.

    The correct ones carry an untrained checkpoint, so the accuracy test runs too. Returns
    their ids. Used for the submissions-per-minute figure in the grader README.
    """
    from ..release.build import build_package
    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        builds = {"correct": Path(tmp) / "solution", "stub": Path(tmp) / "stub"}
        build_package(template_source(), builds["correct"], solutions=True)
        build_package(template_source(), builds["stub"], solutions=False)
        save_untrained_checkpoint(builds["correct"])
        kinds = ["correct", "stub"] + [m.name for m in mistakes.MISTAKES]
        ids = []
        for i in range(n):
            kind = kinds[i % len(kinds)]
            target = folder / f"s{i:03d}_{kind}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(builds.get(kind, builds["correct"]), target)
            for m in mistakes.MISTAKES:
                if m.name == kind:
                    mistakes.apply(target, m)
            ids.append(target.name)
    return ids
