"""Batch step "collect": find the student folders and fingerprint them.

Two layouts are accepted:

- plain: ``SUBMISSIONS/<student_id>/`` holding the student's copy of the
  release (``nndl/``, ``utils/``, notebooks, the challenge checkpoint); a
  copy nested one level down (``<student_id>/<anything>/nndl/``) is found too;
- nbgrader: ``SUBMISSIONS/submitted/<student_id>/<assignment>/`` (or
  ``SUBMISSIONS`` being that ``submitted`` folder).

A folder that cannot be graded (no ``nndl/``, a bad name) becomes a
:class:`Submission` with ``problem`` set, never an exception. The fingerprint
(sha256 over the relative paths and contents of regular files) lets
a re-run skip students whose files did not change.
"""
import hashlib
import os
import re
from pathlib import Path

from ..context import Submission
from ..errors import GraderUsageError
from ..files import SKIP_DIRS, regular_files

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


def fingerprint_folder(folder):
    """sha256 of the relative path and bytes of every regular file under ``folder``.

    Links, FIFOs and devices are never opened (see :mod:`cnnkit.grader.files`).
    """
    h = hashlib.sha256()
    for rel in regular_files(folder):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with open(os.path.join(folder, rel), "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as err:
            h.update(f"unreadable:{err}".encode())
    return h.hexdigest()


def package_root(folder, assignment):
    """The folder holding ``nndl/`` in a student's folder, or None."""
    if (folder / "nndl").is_dir() and not (folder / "nndl").is_symlink():
        return folder
    for candidate in [folder / assignment.name] + sorted(p for p in folder.iterdir()
                                                          if p.is_dir() and not p.is_symlink()):
        if (candidate / "nndl").is_dir() and not (candidate / "nndl").is_symlink():
            return candidate
    return None


def student_folders(root, assignment):
    """``[(student_id, folder or None, problem)]`` for the batch at ``root``."""
    nbgrader = root / "submitted"
    if root.name == "submitted" or nbgrader.is_dir():
        base = root if root.name == "submitted" else nbgrader
        found = []
        for student in sorted(p for p in base.iterdir() if p.is_dir()):
            folder = student / assignment.name
            problem = "" if folder.is_dir() else (
                f"no {assignment.name}/ folder in {student.name}'s nbgrader submission")
            found.append((student.name, folder if not problem else None, problem))
        return found
    return [(p.name, p, "") for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".") and p.name not in SKIP_DIRS]


def collect(root, assignment):
    """The :class:`Submission` of every student under ``root``, sorted by id."""
    root = Path(root)
    if not root.is_dir():
        raise GraderUsageError(f"SUBMISSIONS {root}: not a folder (expected one subfolder per "
                               "student, or an nbgrader course's submitted/ folder)")
    submissions = []
    for student_id, folder, problem in student_folders(root, assignment):
        if not STUDENT_ID.match(student_id):
            submissions.append(Submission(student_id, None, problem=(
                f"folder name {student_id!r} is not a valid student id (letters, digits, "
                "_ . @ + -)")))
            continue
        if folder is not None and folder.is_symlink():
            folder, problem = None, "the student folder is a symbolic link"
        if folder is not None and not problem:
            pkg = package_root(folder, assignment)
            if pkg is None:
                listing = ", ".join(sorted(p.name for p in folder.iterdir())[:10]) or "nothing"
                problem = (f"no nndl/ folder found (expected {student_id}/nndl/conv_layers.py); "
                           f"the folder holds: {listing}")
                folder = None
            else:
                folder = pkg
        sub = Submission(student_id, folder, problem=problem)
        if folder is not None:
            sub.fingerprint = fingerprint_folder(folder)
        submissions.append(sub)
    return submissions
