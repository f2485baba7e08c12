"""``cnnkit gradescope``: build the one zip an instructor uploads to Gradescope.

The zip holds, at its root, ``setup.sh`` and ``run_autograder`` (mode 0755),
``cnnkit-autograder.json`` (the grading settings, the secret's fingerprint,
where the held-out images come from), ``wheelhouse/`` (see
:mod:`.wheelhouse`) and ``private/``: the course secret, the held-out images
and their labels, and the release's protected notebook cells. ``setup.sh``
makes all of it readable by root alone; the labels never enter a sandbox.
"""
import json
import os
import shutil
import stat
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GraderUsageError
from ..settings import SETTINGS, check_setting
from . import scripts
from .results import check_visibility
from .runner import CONFIG, SANDBOX_USER
from .wheelhouse import TARGET_PYTHON, WheelhouseError, build_wheelhouse

#: Gradescope's default container: 768 MB for the grader, the student's process and numpy
DEFAULT_MEMORY_MB = 640


@dataclass
class Bundle:
    """What :func:`build_autograder` made."""
    path: Path
    secret_fingerprint: str
    heldout: str
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    def __repr__(self):
        size = self.path.stat().st_size / 1e6 if self.path.exists() else 0.0
        return (f"Bundle(path={str(self.path)!r}, size_mb={size:.1f}, "
                f"secret={self.secret_fingerprint!r})")


def notebook_cells(course, assignment):
    """``(cells, note)``: the release's protected notebook cells, or None and why not.

    course : an nbgrader course folder, or None for the course template cnnkit installs.
    """
    from ..course import assignment_source
    from ..notebook_check.step import instructor_cells
    source, where = assignment_source(assignment, course)  # GraderUsageError names the folder
    try:
        cells = instructor_cells(source)
    except Exception as err:
        return None, f"notebook cells are not checked: the release did not build ({err})"
    return cells, f"notebook cells checked against the release built from {where}"


def _add(z, name, data, mode):
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.create_system = 3  # Unix, so that unzip applies the mode bits below
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def check_out(out):
    out = Path(out)
    if out.suffix != ".zip":
        raise GraderUsageError(f"--out {out}: must end in .zip")
    if out.exists() and not out.is_file():
        raise GraderUsageError(f"--out {out}: exists and is not a file")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def build_autograder(out, assignment="cnn", course=None, secret=None,
                     heldout=SETTINGS["heldout"].default, data=None,
                     python=None, timeout=SETTINGS["timeout"].default,
                     memory_mb=DEFAULT_MEMORY_MB,
                     details="after_due_date", say=print):
    """Write the Gradescope autograder zip to ``out``; returns a :class:`Bundle`.

    Parameters
    ----------
    out : path of the zip (``.zip``).
    assignment : assignment name (``"cnn"``).
    course : nbgrader course folder whose release's notebook cells are protected
        (default: the course cnnkit ships).
    secret : course secret file (default as ``cnnkit grade``); packed into the zip.
    heldout : held-out test images for the accuracy test (10-10000).
    data : CIFAR-10 archive or folder the held-out images come from (default
        ``CNNKIT_DATA``, then the cnnkit cache).
    python : a CPython 3.10 interpreter that builds cnnkit's wheel (default: found).
    timeout, memory_mb : the sandbox limits of each test group, as ``cnnkit grade``.
    details : Gradescope visibility of the hidden cases' details.
    say : progress messages go here.
    """
    from ..testbank.heldout import load_heldout
    from ..testbank.secret import load_secret
    from ..testbank import get_assignment
    start = time.perf_counter()
    try:
        assign = get_assignment(assignment)
        check_visibility(details)
    except ValueError as err:
        raise GraderUsageError(str(err)) from None
    for name, value in (("timeout", timeout), ("memory_mb", memory_mb), ("heldout", heldout)):
        check_setting(name, value)
    out = check_out(out)
    secret_obj = load_secret(secret)
    with tempfile.TemporaryDirectory(prefix="cnnkit-gradescope-") as tmp:
        tmp = Path(tmp)
        say(f"held-out images: the last {heldout} of CIFAR-10's test batch")
        held, problem = load_heldout(data, int(heldout), tmp)
        if held is None:
            raise GraderUsageError(f"{problem}; pass --data PATH (a CIFAR-10 archive or folder)")
        cells, cells_note = notebook_cells(course, assign.name)
        say(cells_note)
        say(f"wheelhouse for Python {TARGET_PYTHON} (cnnkit's wheel, then its dependencies)")
        try:
            wheel_note = build_wheelhouse(tmp / "wheelhouse", python)
        except WheelhouseError as err:
            raise GraderUsageError(str(err)) from None
        say(wheel_note)
        notes = [cells_note, wheel_note]
        config = {"assignment": assign.name, "timeout": timeout, "memory_mb": int(memory_mb),
                  "hidden_details": details, "python": TARGET_PYTHON,
                  "secret_fingerprint": secret_obj.fingerprint,
                  "heldout": {"count": len(held.labels), "source": held.source},
                  "notes": notes}
        partial = out.with_name(f".{out.name}.partial")
        # the zip holds the course secret: readable by its owner only, like the secret
        handle = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        with handle, zipfile.ZipFile(handle, "w") as z:
            _add(z, "setup.sh", scripts.render(scripts.SETUP_SH, target_python=TARGET_PYTHON,
                                               sandbox_user=SANDBOX_USER), 0o755)
            _add(z, "run_autograder", scripts.RUN_AUTOGRADER, 0o755)
            _add(z, CONFIG, json.dumps(config, indent=2) + "\n", 0o644)
            for wheel in sorted((tmp / "wheelhouse").iterdir()):
                _add(z, f"wheelhouse/{wheel.name}", wheel.read_bytes(), 0o644)
            _add(z, "private/course.secret", secret_obj.key + b"\n", 0o600)
            _add(z, "private/heldout-images.npy", Path(held.images_path).read_bytes(), 0o600)
            _add(z, "private/heldout-labels.json", json.dumps(list(held.labels)), 0o600)
            if cells is not None:
                _add(z, "private/notebook-cells.json", json.dumps(cells), 0o600)
        shutil.move(partial, out)
    return Bundle(out, secret_obj.fingerprint, held.source, notes,
                  round(time.perf_counter() - start, 1))
